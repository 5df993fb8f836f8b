package replication_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultd/vaultd/raftstore"
	"github.com/vaultd/vaultd/replication"
	"github.com/vaultd/vaultd/storage"
)

// cluster opens three raft stores on loopback TCP with bolt in temp dirs,
// bootstraps them as one cluster and returns them with the leader first.
func cluster(t *testing.T, ctx context.Context, name string) []*raftstore.Store {
	t.Helper()
	var nodes []*raftstore.Store
	for i := 1; i <= 3; i++ {
		cfg := raftstore.DefaultConfig()
		cfg.NodeID = fmt.Sprintf("%s%d", name, i)
		cfg.DataDir = t.TempDir()
		cfg.BindAddr = "127.0.0.1:0"
		cfg.ApplyTimeout = 10 * time.Second
		cfg.PerformanceMultiplier = 5 // six raft nodes on a shared 2-core machine
		cfg.Logger = slog.New(slog.DiscardHandler)
		s, err := raftstore.Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		nodes = append(nodes, s)
	}
	if err := nodes[0].Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, name+" leader", nodes[0].IsLeader)
	for _, s := range nodes[1:] {
		// A loaded machine may cost the leader its lease, and leadership
		// may move to a node already added: add through whichever node
		// leads, until the configuration lists the new one.
		waitFor(t, 60*time.Second, "add "+s.LocalID(), func() bool {
			for _, l := range nodes {
				if !l.IsLeader() {
					continue
				}
				_ = l.AddVoter(ctx, s.LocalID(), s.Addr())
				servers, err := l.Configuration(ctx)
				if err != nil {
					return false
				}
				for _, srv := range servers {
					if srv.ID == s.LocalID() {
						return true
					}
				}
			}
			return false
		})
	}
	// The caller writes through the leader: put it first.
	waitFor(t, 30*time.Second, name+" leader", func() bool {
		for i, l := range nodes {
			if l.IsLeader() {
				nodes[0], nodes[i] = nodes[i], nodes[0]
				return true
			}
		}
		return false
	})
	return nodes
}

// leaderTarget writes through whichever node of a cluster leads, as the
// server runs the secondary on its active node.
type leaderTarget struct{ nodes []*raftstore.Store }

func (l leaderTarget) leader() *raftstore.Store {
	for _, s := range l.nodes {
		if s.IsLeader() {
			return s
		}
	}
	return l.nodes[0] // fails with ErrNotLeader; the stream retries
}

func (l leaderTarget) Get(ctx context.Context, k string) (*storage.Entry, error) {
	return l.leader().Get(ctx, k)
}
func (l leaderTarget) Put(ctx context.Context, e *storage.Entry) error { return l.leader().Put(ctx, e) }
func (l leaderTarget) Delete(ctx context.Context, k string) error      { return l.leader().Delete(ctx, k) }
func (l leaderTarget) List(ctx context.Context, p string) ([]string, error) {
	return l.leader().List(ctx, p)
}
func (l leaderTarget) Txn(ctx context.Context, ops []storage.Op) error {
	return l.leader().Txn(ctx, ops)
}
func (l leaderTarget) Restore(ctx context.Context, r io.Reader) error {
	return l.leader().RestoreSnapshot(ctx, r)
}

// TestDR_ThreeAndThree: a 3-node primary and a 3-node DR secondary on
// loopback (raft over TCP, bolt on disk, the stream over the mTLS cluster
// port). A writer writes sequence-numbered keys on the primary while the
// secondary streams; the lag is sampled. The secondary cluster fails over
// mid-stream and its new leader continues from the replicated index
// without a resync. The primary cluster is killed
// mid-write; the secondary is promoted. Every node of the secondary
// cluster holds the same data (it was applied through the secondary's own
// raft), a gap-free prefix of the primary's writes that covers every write
// acknowledged before the secondary last reported itself caught up. The
// promotion is durable: the promoted cluster never streams again.
func TestDR_ThreeAndThree(t *testing.T) {
	if testing.Short() {
		t.Skip("3+3 raft clusters")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prim, sec := cluster(t, ctx, "p"), cluster(t, ctx, "s")
	pl, sl := prim[0], sec[0]

	primary, err := replication.NewPrimary(ctx, replication.PrimaryConfig{Source: source{pl}, Storage: pl})
	if err != nil {
		t.Fatal(err)
	}
	token, err := primary.AddSecondary(ctx, "dr")
	if err != nil {
		t.Fatal(err)
	}
	dial := serve(t, ctx, primary)("dr")
	secondary, err := replication.NewSecondary(ctx, replication.SecondaryConfig{ID: "dr", Token: token,
		Dial: dial, Target: leaderTarget{sec}, Wait: 200 * time.Millisecond, Retry: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	statusOf = func() any { return secondary.Status() }
	t.Cleanup(func() { statusOf = nil })
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- secondary.Run(rctx) }()

	// The writer: key w/<n> = n, one at a time, n counts acknowledged writes.
	var acked atomic.Int64
	wctx, wstop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var werr atomic.Value
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := int64(0); wctx.Err() == nil; {
			var err error
			for _, s := range prim { // the leader may move under load
				if s.IsLeader() {
					err = s.Put(wctx, &storage.Entry{Key: fmt.Sprintf("logical/w/%06d", n), Value: []byte(strconv.FormatInt(n, 10))})
					break
				}
				err = errors.New("no leader")
			}
			if err != nil {
				// Unknown outcome: write the same n again (idempotent).
				werr.Store(err.Error())
				time.Sleep(10 * time.Millisecond)
				continue
			}
			n++
			acked.Store(n)
		}
	}()

	// Sample the lag while writing; remember what the secondary said it
	// held when it last reported no lag.
	var maxLagEntries uint64
	var maxLagTime time.Duration
	var caughtUpAcked int64
	sample := func(d time.Duration) {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			before, t0 := acked.Load(), time.Now()
			time.Sleep(20 * time.Millisecond)
			st := secondary.Status()
			maxLagEntries, maxLagTime = max(maxLagEntries, st.LagEntries), max(maxLagTime, st.LagTime)
			if st.State == "stream-wals" && st.LagEntries == 0 && st.LastPull.After(t0) {
				// The pull was sent after the first `before` writes were
				// acknowledged (applied on the primary's leader), and the
				// secondary reports holding all the answer had.
				caughtUpAcked = max(caughtUpAcked, before)
			}
		}
	}
	sample(1500 * time.Millisecond)

	// The secondary cluster fails over mid-stream: its new leader picks
	// up from the replicated index (its own raft carried it), no resync.
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	held := secondary.Status().LastIndex
	waitFor(t, 30*time.Second, "secondary leadership transfer", func() bool {
		return sl.TransferLeadership(ctx) == nil || !sl.IsLeader()
	})
	waitFor(t, 30*time.Second, "a new secondary leader", func() bool {
		for _, s := range sec {
			if s != sl && s.IsLeader() {
				sl = s
				return true
			}
		}
		return false
	})
	waitFor(t, 20*time.Second, "the new leader applied", func() bool {
		st := replication.SecondaryStatus{}
		if s2, err := replication.NewSecondary(ctx, replication.SecondaryConfig{ID: "dr", Token: token, Dial: dial, Target: target{sl}}); err == nil {
			st = s2.Status()
		}
		return st.LastIndex >= held
	})
	secondary, err = replication.NewSecondary(ctx, replication.SecondaryConfig{ID: "dr", Token: token,
		Dial: dial, Target: leaderTarget{sec}, Wait: 200 * time.Millisecond, Retry: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop = context.WithCancel(ctx)
	done = make(chan error, 1)
	go func() { done <- secondary.Run(rctx) }()
	t.Logf("secondary failover: %s took over at primary index %d", sl.LocalID(), secondary.Status().LastIndex)
	sample(1500 * time.Millisecond)
	if r := secondary.Status().Resyncs; r != 0 {
		t.Fatalf("the new secondary leader resynced %d times instead of continuing the log", r)
	}

	n := acked.Load()
	if n < 50 {
		t.Fatalf("only %d writes (writer: %v)", n, werr.Load())
	}
	// Kill the whole primary cluster mid-write.
	for _, s := range prim {
		_ = s.Close()
	}
	wstop()
	wg.Wait()
	time.Sleep(300 * time.Millisecond) // let the stream notice; it retries and fails
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	st := secondary.Status()
	t.Logf("%d writes acknowledged on the primary in about 3 s; lag under load: up to %d entries, %s; at the kill the secondary held primary index %d (primary at %d at the last contact)",
		n, maxLagEntries, maxLagTime, st.LastIndex, st.PrimaryIndex)

	start := time.Now()
	epoch, err := secondary.Promote(ctx)
	if err != nil || epoch != 2 {
		t.Fatalf("Promote = %d, %v", epoch, err)
	}
	if _, err := replication.NewPrimary(ctx, replication.PrimaryConfig{Source: source{sl}, Storage: leaderTarget{sec}, MinEpoch: epoch}); err != nil {
		t.Fatal(err)
	}
	t.Logf("promotion (replication layer only) took %s", time.Since(start))

	// Every secondary node converges on the leader's applied state.
	applied, _ := sl.Indexes()
	for _, s := range sec {
		waitFor(t, 20*time.Second, s.LocalID()+" applied", func() bool { a, _ := s.Indexes(); return a >= applied })
	}
	var heldN []int
	for i, s := range sec {
		keys, err := s.List(ctx, "logical/w/")
		if err != nil {
			t.Fatal(err)
		}
		for j, k := range keys {
			if k != fmt.Sprintf("%06d", j) {
				t.Fatalf("%s: key %d is %q: the replicated writes have a gap", s.LocalID(), j, k)
			}
			if e, err := s.Get(ctx, "logical/w/"+k); err != nil || string(e.Value) != strconv.Itoa(j) {
				t.Fatalf("%s: %s = %v, %v", s.LocalID(), k, e, err)
			}
		}
		heldN = append(heldN, len(keys))
		if heldN[i] != heldN[0] {
			t.Fatalf("secondary nodes disagree: %v writes", heldN)
		}
	}
	if caughtUpAcked == 0 {
		t.Log("the secondary never reported itself caught up while writing (loaded machine)")
	}
	if int64(heldN[0]) < caughtUpAcked {
		t.Fatalf("the secondary reported itself caught up with at least %d writes but holds %d", caughtUpAcked, heldN[0])
	}
	t.Logf("RPO: %d of %d acknowledged writes not replicated at the kill", n-int64(heldN[0]), n)

	// The promotion is durable.
	again, err := replication.NewSecondary(ctx, replication.SecondaryConfig{ID: "dr", Token: token, Dial: serve(t, ctx, primary)("dr"), Target: leaderTarget{sec}})
	if err != nil {
		t.Fatal(err)
	}
	if again.Status().State != "promoted" || runOnce(ctx, again) == nil {
		t.Fatal("a promoted cluster streams from its old primary again")
	}
}
