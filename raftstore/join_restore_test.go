package raftstore_test

import (
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
