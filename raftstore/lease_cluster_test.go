package raftstore_test

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/vaultd/vaultd/raftstore"
)

func stat(s *raftstore.Store, k string) uint64 {
	v, _ := strconv.ParseUint(s.Stats()[k], 10, 64)
	return v
}

// TestLease_ThreeNodes: on a healthy 3-node cluster the leader answers
// VerifyLeader from its lease (no quorum round per call), followers never
// pass, and after a leadership transfer the old leader no longer passes
// while the new one gets a lease of its own.
func TestLease_ThreeNodes(t *testing.T) {
	ctx := ctxTimeout(t, 2*time.Minute)
	var nodes []*raftstore.Store
	for i := 1; i <= 3; i++ {
		nodes = append(nodes, openStore(t, nodeConfig(t, fmt.Sprintf("n%d", i), t.TempDir())))
	}
	n1 := nodes[0]
	if err := n1.Bootstrap(ctx); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	for _, s := range nodes[1:] {
		if err := n1.AddVoter(ctx, s.LocalID(), s.Addr()); err != nil {
			t.Fatalf("AddVoter(%s): %v", s.LocalID(), err)
		}
	}
	waitFor(t, 20*time.Second, "a lease read on n1", func() bool {
		before := stat(n1, "lease_reads")
		return n1.VerifyLeader(ctx) == nil && stat(n1, "lease_reads") > before
	})
	// Under load a heartbeat can be late and a call fall back to a round;
	// every call must pass, and the lease must keep serving calls.
	hits := stat(n1, "lease_reads")
	calls := 0
	waitFor(t, 30*time.Second, "200 VerifyLeader calls served by the lease", func() bool {
		if err := n1.VerifyLeader(ctx); err != nil {
			t.Fatalf("VerifyLeader on the healthy leader: %v", err)
		}
		calls++
		return stat(n1, "lease_reads")-hits >= 200
	})
	t.Logf("%d calls, %d served by the lease, %d quorum rounds in all", calls, stat(n1, "lease_reads")-hits, stat(n1, "verify_leader_rounds"))
	for _, f := range nodes[1:] {
		if err := f.VerifyLeader(ctx); !errors.Is(err, raftstore.ErrNotLeader) {
			t.Fatalf("VerifyLeader on follower %s = %v, want ErrNotLeader", f.LocalID(), err)
		}
	}

	if err := n1.TransferLeadership(ctx); err != nil {
		t.Fatalf("TransferLeadership: %v", err)
	}
	if err := n1.VerifyLeader(ctx); !errors.Is(err, raftstore.ErrNotLeader) {
		t.Fatalf("VerifyLeader on the old leader after the transfer = %v, want ErrNotLeader", err)
	}
	newLeader := waitLeader(t, 20*time.Second, nodes[1:]...)
	waitFor(t, 20*time.Second, "a lease read on the new leader", func() bool {
		before := stat(newLeader, "lease_reads")
		return newLeader.VerifyLeader(ctx) == nil && stat(newLeader, "lease_reads") > before
	})
}

// TestLease_RestartWaitsOutPromise: a node with raft state waits one
// HeartbeatTimeout before it starts raft (it may have promised a leader
// not to vote for anyone else for that long before it went down).
func TestLease_RestartWaitsOutPromise(t *testing.T) {
	dir := t.TempDir()
	cfg := nodeConfig(t, "r1", dir)
	s, err := raftstore.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Bootstrap(ctxTimeout(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s2 := openStore(t, cfg)
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("reopening a node with state took %s, want at least the heartbeat timeout (300ms)", took)
	}
	waitLeader(t, 30*time.Second, s2)
}
