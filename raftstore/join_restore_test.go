package raftstore_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vaultd/vaultd/raftstore"
	"github.com/vaultd/vaultd/storage"
)

// TestStore_ReplaysCommittedLogAtOpen: a restarted node has its committed
// entries in the FSM as soon as Open returns, before it hears from any
// leader (a restarted cluster member must read its seal configuration to
// be unsealed before it can talk to peers), and keeps its membership.
func TestStore_ReplaysCommittedLogAtOpen(t *testing.T) {
	dir := t.TempDir()
	cfg := nodeConfig(t, "n1", dir)
	cfg.PerformanceMultiplier = 5 // no election within 1.5 s of Open
	ctx := ctxTimeout(t, 20*time.Second)
	s := openStore(t, cfg)
	if err := s.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"core/seal-config", "core/keyring"} {
		if err := s.Put(ctx, &storage.Entry{Key: k, Value: []byte("ct-" + k)}); err != nil {
			t.Fatal(err)
		}
	}
	// A membership change after the data (as a join is), then more writes.
	if err := s.AddNonvoter(ctx, "n2", "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: "later", Value: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cfg.BindAddr = addr
	s2, err := raftstore.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s2.Close() })
	// raft hands the replayed entries to the FSM goroutine as it starts;
	// they must be there long before any election could happen.
	opened := time.Now()
	waitFor(t, time.Second, "the committed entries replayed", func() bool {
		for _, k := range []string{"core/seal-config", "core/keyring"} {
			e, err := s2.Get(ctx, k)
			if err != nil || string(e.Value) != "ct-"+k {
				return false
			}
		}
		return true
	})
	if s2.IsLeader() || s2.Raft().LastContact().After(opened) {
		t.Fatal("test assumption broken: the node heard from a leader or became one")
	}
	srvs, err := s2.Configuration(ctx)
	if err != nil || len(srvs) != 2 {
		t.Fatalf("configuration after restart = %v, %v; want n1 and n2", srvs, err)
	}
	waitLeader(t, 10*time.Second, s2)
	waitFor(t, 5*time.Second, "the entry after the membership change applied", func() bool {
		e, err := s2.Get(ctx, "later")
		return err == nil && string(e.Value) == "x"
	})
}

// TestStore_OpenWithLongCommittedLog: a node restarted with more committed
// entries after its last snapshot than hashicorp/raft can replay before its
// FSM goroutine starts (128 batches of MaxAppendEntries) still opens, and
// has every entry once it leads again. Before the bound in
// commitTracker.GetCommitIndex, Open hung forever here.
func TestStore_OpenWithLongCommittedLog(t *testing.T) {
	dir := t.TempDir()
	cfg := nodeConfig(t, "n1", dir)
	cfg.Logger = nil
	// One snapshot by hand (which truncates the bootstrap configuration
	// entry away, as any long-running node has), then none: every later
	// entry stays in the log.
	cfg.SnapshotThreshold, cfg.SnapshotInterval, cfg.TrailingLogs = 1<<40, time.Hour, 1
	ctx := ctxTimeout(t, 60*time.Second)
	s := openStore(t, cfg)
	if err := s.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := s.Put(ctx, &storage.Entry{Key: fmt.Sprintf("early/%d", i), Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Raft().Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	const n = 128*256 + 2000
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 64 {
				if err := s.Put(ctx, &storage.Entry{Key: fmt.Sprintf("k/%d", i), Value: []byte("v")}); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// Let the throttled commit-index persist catch up with the last batch.
	time.Sleep(100 * time.Millisecond)
	if err := s.Put(ctx, &storage.Entry{Key: "last", Value: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cfg.BindAddr = addr
	opened := make(chan error, 1)
	var s2 *raftstore.Store
	go func() {
		var err error
		s2, err = raftstore.Open(cfg)
		opened <- err
	}()
	select {
	case err := <-opened:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Open did not return within 30 s (the start-up replay blocked)")
	}
	t.Cleanup(func() { _ = s2.Close() })
	waitLeader(t, 10*time.Second, s2)
	waitFor(t, 10*time.Second, "every entry applied", func() bool {
		e, err := s2.Get(ctx, "last")
		if err != nil || string(e.Value) != "x" {
			return false
		}
		_, err = s2.Get(ctx, fmt.Sprintf("k/%d", n-1))
		return err == nil
	})
}
