package raftstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/vaultd/vaultd/raftstore"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/storagetest"
)

func TestConfig_Validate(t *testing.T) {
	ok := raftstore.DefaultConfig()
	ok.NodeID, ok.DataDir = "n1", "/tmp/x"
	tests := []struct {
		name   string
		mutate func(c *raftstore.Config)
		valid  bool
	}{
		{"defaults with id and dir", func(c *raftstore.Config) {}, true},
		{"in memory needs no dir", func(c *raftstore.Config) { c.DataDir, c.InMemory, c.BindAddr = "", true, "" }, true},
		{"multiplier 10", func(c *raftstore.Config) { c.PerformanceMultiplier = 10 }, true},
		{"no node id", func(c *raftstore.Config) { c.NodeID = "" }, false},
		{"no data dir", func(c *raftstore.Config) { c.DataDir = "" }, false},
		{"no bind addr", func(c *raftstore.Config) { c.BindAddr = "" }, false},
		{"bad bind addr", func(c *raftstore.Config) { c.BindAddr = "nonsense" }, false},
		{"unspecified advertise", func(c *raftstore.Config) { c.AdvertiseAddr = "0.0.0.0:8201" }, false},
		{"zero apply timeout", func(c *raftstore.Config) { c.ApplyTimeout = 0 }, false},
		{"zero multiplier", func(c *raftstore.Config) { c.PerformanceMultiplier = 0 }, false},
		{"huge multiplier", func(c *raftstore.Config) { c.PerformanceMultiplier = 11 }, false},
		{"zero snapshot threshold", func(c *raftstore.Config) { c.SnapshotThreshold = 0 }, false},
		{"tiny snapshot interval", func(c *raftstore.Config) { c.SnapshotInterval = time.Millisecond }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mutate(&c)
			err := c.Validate()
			if tt.valid && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !tt.valid && !errors.Is(err, raftstore.ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig", err)
			}
		})
	}
	if _, err := raftstore.Open(raftstore.Config{}); !errors.Is(err, raftstore.ErrInvalidConfig) {
		t.Fatalf("Open(zero Config) = %v, want ErrInvalidConfig", err)
	}
}

// TestStore_Conformance runs the storage suite on a bootstrapped single
// node: in memory, and with bolt on disk and real TCP.
func TestStore_Conformance(t *testing.T) {
	t.Run("InMemory", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Backend {
			return bootstrapped(t, inmemConfig(t, "n1"))
		})
	})
	t.Run("DiskTCP", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Backend {
			return bootstrapped(t, nodeConfig(t, "n1", t.TempDir()))
		})
	})
}

func TestStore_BootstrapLifecycle(t *testing.T) {
	ctx := ctxTimeout(t, 20*time.Second)
	s := openStore(t, nodeConfig(t, "n1", t.TempDir()))

	if has, err := s.HasState(); err != nil || has {
		t.Fatalf("HasState before bootstrap = %v, %v; want false", has, err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: "k", Value: []byte("v")}); !errors.Is(err, raftstore.ErrNotLeader) {
		t.Fatalf("Put before bootstrap = %v, want ErrNotLeader", err)
	}
	if err := s.VerifyLeader(ctx); !errors.Is(err, raftstore.ErrNotLeader) {
		t.Fatalf("VerifyLeader before bootstrap = %v, want ErrNotLeader", err)
	}
	if err := s.Barrier(ctx); !errors.Is(err, raftstore.ErrNotLeader) {
		t.Fatalf("Barrier before bootstrap = %v, want ErrNotLeader", err)
	}

	start := time.Now()
	if err := s.Bootstrap(ctx); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	t.Logf("single node elected itself in %s", time.Since(start))
	if !s.IsLeader() {
		t.Fatal("not leader after Bootstrap")
	}
	select {
	case v := <-s.LeadershipChanges():
		if !v {
			t.Fatal("first leadership change = false, want true")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no leadership notification after Bootstrap")
	}
	if id, addr := s.Leader(); id != "n1" || addr != s.Addr() {
		t.Fatalf("Leader() = %q %q, want n1 %q", id, addr, s.Addr())
	}
	if has, err := s.HasState(); err != nil || !has {
		t.Fatalf("HasState after bootstrap = %v, %v; want true", has, err)
	}
	if err := s.Bootstrap(ctx); !errors.Is(err, raftstore.ErrAlreadyBootstrapped) {
		t.Fatalf("second Bootstrap = %v, want ErrAlreadyBootstrapped", err)
	}
	servers, err := s.Configuration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) != 1 || servers[0] != (raftstore.Server{ID: "n1", Address: s.Addr(), Voter: true, Leader: true}) {
		t.Fatalf("Configuration = %+v", servers)
	}
	if err := s.VerifyLeader(ctx); err != nil {
		t.Fatalf("VerifyLeader: %v", err)
	}
	if err := s.Barrier(ctx); err != nil {
		t.Fatalf("Barrier: %v", err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: "k", Value: []byte("v")}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	applied, committed := s.Indexes()
	if applied == 0 || committed < applied {
		t.Fatalf("Indexes = %d, %d", applied, committed)
	}
	if s.Term() == 0 {
		t.Fatal("Term() = 0")
	}
	st := s.Stats()
	if st["state"] != "Leader" || st["fsm_keys"] != "1" {
		t.Fatalf("Stats = %v", st)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The final false (if delivered) and then the channel is closed.
	for v := range s.LeadershipChanges() {
		if v {
			t.Fatal("leadership true after Close")
		}
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, raftstore.ErrClosed) {
		t.Fatalf("Get after Close = %v, want ErrClosed", err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: "k", Value: nil}); !errors.Is(err, raftstore.ErrClosed) {
		t.Fatalf("Put after Close = %v, want ErrClosed", err)
	}
	if err := s.VerifyLeader(ctx); !errors.Is(err, raftstore.ErrClosed) {
		t.Fatalf("VerifyLeader after Close = %v, want ErrClosed", err)
	}
	if err := s.Barrier(ctx); !errors.Is(err, raftstore.ErrClosed) {
		t.Fatalf("Barrier after Close = %v, want ErrClosed", err)
	}
}

func TestStore_InvalidInput(t *testing.T) {
	s := bootstrapped(t, inmemConfig(t, "n1"))
	ctx := ctxTimeout(t, 10*time.Second)
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"nil entry", func() error { return s.Put(ctx, nil) }, raftstore.ErrInvalidArgument},
		{"bad key put", func() error { return s.Put(ctx, &storage.Entry{Key: "a//b"}) }, storage.ErrInvalidKey},
		{"bad key delete", func() error { return s.Delete(ctx, "../x") }, storage.ErrInvalidKey},
		{"bad key get", func() error { _, err := s.Get(ctx, "/abs"); return err }, storage.ErrInvalidKey},
		{"bad list prefix", func() error { _, err := s.List(ctx, "noslash"); return err }, storage.ErrInvalidKey},
		{"unknown op kind", func() error {
			return s.Txn(ctx, []storage.Op{{Kind: storage.OpPut, Key: "ok"}, {Kind: 7, Key: "x"}})
		}, raftstore.ErrInvalidArgument},
		{"empty voter id", func() error { return s.AddVoter(ctx, "", "127.0.0.1:1") }, raftstore.ErrInvalidArgument},
		{"empty server id", func() error { return s.RemoveServer(ctx, "") }, raftstore.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if keys, err := s.List(ctx, ""); err != nil || len(keys) != 0 {
		t.Fatalf("rejected writes left data: %v, %v", keys, err)
	}
	if err := s.Txn(ctx, nil); err != nil {
		t.Fatalf("empty Txn = %v", err)
	}
}

func TestStore_ContextDeadline(t *testing.T) {
	s := bootstrapped(t, inmemConfig(t, "n1"))
	expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	if err := s.Put(expired, &storage.Entry{Key: "k", Value: []byte("v")}); !errors.Is(err, raftstore.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put(expired ctx) = %v, want ErrTimeout and DeadlineExceeded", err)
	}
	cancelled, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if err := s.Put(cancelled, &storage.Entry{Key: "k", Value: []byte("v")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put(cancelled ctx) = %v, want context.Canceled", err)
	}
	if err := s.VerifyLeader(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("VerifyLeader(cancelled ctx) = %v, want context.Canceled", err)
	}
	if _, err := s.Get(t.Context(), "k"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get = %v; a write with an expired context must not be applied", err)
	}
}

func TestStore_TransferLeadershipSingleNode(t *testing.T) {
	s := bootstrapped(t, inmemConfig(t, "n1"))
	if err := s.TransferLeadership(ctxTimeout(t, 5*time.Second)); err == nil {
		t.Fatal("TransferLeadership with no other voter succeeded")
	}
}

// TestStore_RestartFromDisk: acknowledged writes survive Close and reopen,
// both replayed from the log and restored from a snapshot plus the log
// after it.
func TestStore_RestartFromDisk(t *testing.T) {
	dir := t.TempDir()
	cfg := nodeConfig(t, "n1", dir)
	cfg.TrailingLogs = 5 // a snapshot truncates the log: restart must use it
	ctx := ctxTimeout(t, 30*time.Second)

	want := map[string]string{}
	write := func(s *raftstore.Store, prefix string, n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			k, v := fmt.Sprintf("%s/%03d", prefix, i), fmt.Sprintf("ct-%s-%d", prefix, i)
			if err := s.Put(ctx, &storage.Entry{Key: k, Value: []byte(v)}); err != nil {
				t.Fatalf("Put(%s): %v", k, err)
			}
			want[k] = v
		}
	}
	check := func(s *raftstore.Store) {
		t.Helper()
		for k, v := range want {
			e, err := s.Get(ctx, k)
			if err != nil || string(e.Value) != v {
				t.Fatalf("after restart Get(%q) = %v, %v; want %q", k, e, err, v)
			}
		}
		for _, gone := range []string{"a/000", "a/001"} {
			if _, err := s.Get(ctx, gone); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("deleted %q is back after restart: %v", gone, err)
			}
		}
	}
	reopen := func(s *raftstore.Store) *raftstore.Store {
		t.Helper()
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		c := cfg
		c.BindAddr = s.Addr() // same address as in the stored configuration
		s2 := openStore(t, c)
		if has, err := s2.HasState(); err != nil || !has {
			t.Fatalf("HasState after reopen = %v, %v", has, err)
		}
		if err := s2.Bootstrap(ctx); !errors.Is(err, raftstore.ErrAlreadyBootstrapped) {
			t.Fatalf("Bootstrap after reopen = %v, want ErrAlreadyBootstrapped", err)
		}
		waitLeader(t, 10*time.Second, s2)
		if err := s2.Barrier(ctx); err != nil {
			t.Fatalf("Barrier: %v", err)
		}
		return s2
	}

	s := openStore(t, cfg)
	if err := s.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	write(s, "a", 30)
	if err := s.Txn(ctx, []storage.Op{{Kind: storage.OpDelete, Key: "a/000"}, {Kind: storage.OpDelete, Key: "a/001"}}); err != nil {
		t.Fatal(err)
	}
	delete(want, "a/000")
	delete(want, "a/001")

	t.Run("log replay", func(t *testing.T) {
		s = reopen(s)
		check(s)
	})

	t.Run("snapshot then more writes", func(t *testing.T) {
		write(s, "b", 20)
		if err := s.Raft().Snapshot().Error(); err != nil {
			t.Fatalf("forced snapshot: %v", err)
		}
		write(s, "c", 20)
		snaps, err := filepath.Glob(filepath.Join(dir, "snapshots", "*", "state.bin"))
		if err != nil || len(snaps) == 0 {
			t.Fatalf("no snapshot on disk: %v %v", snaps, err)
		}
		if idx := s.Raft().Stats()["last_snapshot_index"]; idx == "0" {
			t.Fatalf("last_snapshot_index = %s after a forced snapshot", idx)
		}
		s = reopen(s)
		check(s)
		if got := s.Stats()["fsm_keys"]; got != fmt.Sprint(len(want)) {
			t.Fatalf("fsm_keys = %s, want %d", got, len(want))
		}
	})

	if _, err := os.Stat(filepath.Join(dir, "raft.db")); err != nil {
		t.Fatalf("raft.db: %v", err)
	}
}

// TestStore_SnapshotSaveRestoreSingle: save, change, restore, and bad
// streams leave data untouched.
func TestStore_SnapshotSaveRestoreSingle(t *testing.T) {
	s := bootstrapped(t, inmemConfig(t, "n1"))
	ctx := ctxTimeout(t, 20*time.Second)
	for i := 0; i < 10; i++ {
		if err := s.Put(ctx, &storage.Entry{Key: fmt.Sprintf("k/%d", i), Value: []byte{byte(i), 0xff}}); err != nil {
			t.Fatal(err)
		}
	}
	var snap bytes.Buffer
	if err := s.SaveSnapshot(ctx, &snap); err != nil {
		t.Fatalf("SaveSnapshot: %v", err)
	}
	if !bytes.HasPrefix(snap.Bytes(), []byte("VDSNAP\x01")) {
		t.Fatalf("snapshot header = %q", snap.Bytes()[:7])
	}
	if err := s.Txn(ctx, []storage.Op{{Kind: storage.OpDelete, Key: "k/0"}, {Kind: storage.OpPut, Key: "new", Value: []byte("x")}}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"truncated", snap.Bytes()[:snap.Len()-10]},
		{"bad checksum", flipLast(snap.Bytes())},
		{"wrong version", withByte(snap.Bytes(), 6, 9)},
		{"empty", nil},
	} {
		// A seekable stream (a file: verified, then read again by raft)
		// and a plain one (buffered) are refused alike.
		if err := s.RestoreSnapshot(ctx, bytes.NewReader(tc.data)); !errors.Is(err, raftstore.ErrBadSnapshot) {
			t.Fatalf("RestoreSnapshot(%s) = %v, want ErrBadSnapshot", tc.name, err)
		}
		if err := s.RestoreSnapshot(ctx, struct{ io.Reader }{bytes.NewReader(tc.data)}); !errors.Is(err, raftstore.ErrBadSnapshot) {
			t.Fatalf("RestoreSnapshot(%s, not seekable) = %v, want ErrBadSnapshot", tc.name, err)
		}
		if _, err := s.Get(ctx, "new"); err != nil {
			t.Fatalf("after rejected %s restore, data changed: %v", tc.name, err)
		}
	}

	if err := s.RestoreSnapshot(ctx, bytes.NewReader(snap.Bytes())); err != nil {
		t.Fatalf("RestoreSnapshot: %v", err)
	}
	if _, err := s.Get(ctx, "new"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get(new) after restore = %v, want ErrNotFound", err)
	}
	e, err := s.Get(ctx, "k/0")
	if err != nil || !bytes.Equal(e.Value, []byte{0, 0xff}) {
		t.Fatalf("Get(k/0) after restore = %v, %v", e, err)
	}
	// Writes keep working after a restore.
	if err := s.Put(ctx, &storage.Entry{Key: "after", Value: []byte("1")}); err != nil {
		t.Fatalf("Put after restore: %v", err)
	}
	// The same from a stream that cannot seek.
	if err := s.RestoreSnapshot(ctx, struct{ io.Reader }{bytes.NewReader(snap.Bytes())}); err != nil {
		t.Fatalf("RestoreSnapshot (not seekable): %v", err)
	}
	if _, err := s.Get(ctx, "after"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get(after) after the second restore = %v, want ErrNotFound", err)
	}
}

func flipLast(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)-1] ^= 1
	return c
}

func withByte(b []byte, i int, v byte) []byte {
	c := bytes.Clone(b)
	c[i] = v
	return c
}

// TestStore_ConcurrentWritesCoalesce: many concurrent writers share raft
// batches (BatchApplyCh), so the FSM sees fewer ApplyBatch calls than
// entries.
func TestStore_ConcurrentWritesCoalesce(t *testing.T) {
	s := bootstrapped(t, nodeConfig(t, "n1", t.TempDir()))
	ctx := ctxTimeout(t, 30*time.Second)
	stat := func(name string) int {
		var n int
		fmt.Sscan(s.Stats()[name], &n)
		return n
	}
	b0, e0 := stat("fsm_apply_batches"), stat("fsm_apply_entries")
	const writers, each = 64, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := s.Put(ctx, &storage.Entry{Key: fmt.Sprintf("w/%d/%d", w, i), Value: []byte("x")}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	batches, entries := stat("fsm_apply_batches")-b0, stat("fsm_apply_entries")-e0
	t.Logf("%d writes arrived in %d FSM batches (%.1f per batch)", entries, batches, float64(entries)/float64(batches))
	if entries < writers*each {
		t.Fatalf("FSM applied %d entries, want at least %d", entries, writers*each)
	}
	if float64(entries)/float64(batches) < 2 {
		t.Fatalf("%d entries in %d batches: concurrent writes did not coalesce", entries, batches)
	}
}

// countingStream is a StreamLayer over TCP that counts outgoing dials.
type countingStream struct {
	net.Listener
	dials atomic.Int64
}

func (c *countingStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c.dials.Add(1)
	return net.DialTimeout("tcp", string(addr), timeout)
}

// TestStore_CustomStream: raft traffic goes through Config.Stream, and
// AdvertiseAddr is what the cluster records and dials.
func TestStore_CustomStream(t *testing.T) {
	ctx := ctxTimeout(t, 30*time.Second)
	var streams []*countingStream
	var nodes []*raftstore.Store
	for i := 1; i <= 2; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cs := &countingStream{Listener: ln}
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		cfg := nodeConfig(t, fmt.Sprintf("n%d", i), t.TempDir())
		cfg.BindAddr = ""
		cfg.Stream = cs
		cfg.AdvertiseAddr = "localhost:" + port
		s := openStore(t, cfg)
		if s.Addr() != cfg.AdvertiseAddr {
			t.Fatalf("Addr() = %q, want the advertised %q", s.Addr(), cfg.AdvertiseAddr)
		}
		streams, nodes = append(streams, cs), append(nodes, s)
	}
	if err := nodes[0].Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].AddVoter(ctx, "n2", nodes[1].Addr()); err != nil {
		t.Fatalf("AddVoter: %v", err)
	}
	if err := nodes[0].Put(ctx, &storage.Entry{Key: "over/stream", Value: []byte("ok")}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	waitFor(t, 10*time.Second, "replication over the custom stream", func() bool {
		e, err := nodes[1].Get(ctx, "over/stream")
		return err == nil && string(e.Value) == "ok"
	})
	if streams[0].dials.Load() == 0 {
		t.Fatal("the leader never dialed through Config.Stream")
	}
	if _, addr := nodes[1].Leader(); addr != nodes[0].Addr() {
		t.Fatalf("follower sees leader at %q, want %q", addr, nodes[0].Addr())
	}
}

// TestStore_SaveSnapshotSized: the size announced before streaming is
// exactly the length of the stream, which is the same as SaveSnapshot's.
func TestStore_SaveSnapshotSized(t *testing.T) {
	s := bootstrapped(t, inmemConfig(t, "n1"))
	ctx := context.Background()
	for i := range 300 {
		v := bytes.Repeat([]byte{byte(i)}, i*7) // lengths across varint sizes
		if err := s.Put(ctx, &storage.Entry{Key: fmt.Sprintf("k/%d", i), Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	var plain, sized bytes.Buffer
	if err := s.SaveSnapshot(ctx, &plain); err != nil {
		t.Fatal(err)
	}
	var announced int64 = -1
	if err := s.SaveSnapshotSized(ctx, func(n int64) (io.Writer, error) { announced = n; return &sized, nil }); err != nil {
		t.Fatal(err)
	}
	if announced != int64(sized.Len()) || !bytes.Equal(plain.Bytes(), sized.Bytes()) {
		t.Fatalf("announced %d, wrote %d (SaveSnapshot: %d)", announced, sized.Len(), plain.Len())
	}
}
