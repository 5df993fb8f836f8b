package clusterops

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// promoteOps is a RaftOps that can promote.
type promoteOps struct {
	fakeOps
	promoted []string
}

func (p *promoteOps) AddVoter(_ context.Context, id, addr string) error {
	p.promoted = append(p.promoted, id+"@"+addr)
	for i := range p.status.Peers {
		if p.status.Peers[i].ID == id {
			p.status.Peers[i].Voter = true
		}
	}
	return nil
}

// TestAutopilotPromote: a recorded joiner becomes a voter only once it is
// healthy (caught up within max_trailing_logs) and stable; a non-voter
// without a record never does; records of voters and of long-gone
// servers are dropped; nothing is promoted once the loop's context ends.
func TestAutopilotPromote(t *testing.T) {
	ctx := context.Background()
	ops := &promoteOps{}
	bar := testBarrier{inmem.New(), newGCMSealer(t)}
	s := New(Config{NodeID: "a", Barrier: bar, Ops: ops})
	cfg := defaultAutopilotConfig()
	cfg.MaxTrailingLogs = 10
	cfg.ServerStabilizationTime = time.Hour
	a := &autopilot{log: s.log, ops: ops, svc: s, cfg: cfg, stable: map[string]time.Time{}}

	if err := s.WantVoter(ctx, "b", "b:8201", true); err != nil {
		t.Fatal(err)
	}
	old, _ := json.Marshal(promoteRecord{Address: "gone:8201", RequestedAt: time.Now().Add(-2 * staleRecordAge)})
	if err := bar.Put(ctx, &storage.Entry{Key: autopilotPromoteKey + "gone", Value: old}); err != nil {
		t.Fatal(err)
	}
	status := func(bLast, bApplied uint64) {
		now := time.Now()
		c := Contact{Known: true, LastContact: now}
		ops.status = Status{Term: 2, LastIndex: 1000, LastTerm: 2, FSMApplied: 999, Peers: []Peer{
			{ID: "a", Address: "a:8201", Voter: true, Leader: true, Self: true, Contact: c},
			{ID: "b", Address: "b:8201", Contact: c, Voter: slices.ContainsFunc(ops.promoted, func(s string) bool { return s == "b@b:8201" }),
				Progress: Progress{Known: true, At: now, LastIndex: bLast, Applied: bApplied, RefLastIndex: 1000, RefApplied: 999}},
			{ID: "c", Address: "c:8201", Contact: c,
				Progress: Progress{Known: true, At: now, LastIndex: 1000, Applied: 999, RefLastIndex: 1000, RefApplied: 999}},
		}}
	}

	// b is still installing the snapshot: not promoted.
	status(0, 0)
	if _, err := a.evaluate(ctx, true); err != nil {
		t.Fatal(err)
	}
	if len(ops.promoted) != 0 {
		t.Fatalf("promoted while trailing: %v", ops.promoted)
	}
	// The gone server's old record is dropped.
	if _, err := bar.Get(ctx, autopilotPromoteKey+"gone"); err == nil {
		t.Fatal("a stale record of a server not in the configuration was kept")
	}
	// Caught up, but not stable for server_stabilization_time yet.
	status(995, 990)
	if st, err := a.evaluate(ctx, true); err != nil || !st.Servers[1].Healthy || st.Servers[1].Stable {
		t.Fatalf("caught up: %+v %v", st.Servers[1], err)
	}
	if len(ops.promoted) != 0 {
		t.Fatalf("promoted before it was stable: %v", ops.promoted)
	}
	// Not active any more: nothing happens even once it is stable.
	cfg.ServerStabilizationTime = 0
	a.setConfig(cfg)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, _ = a.evaluate(cctx, true)
	if len(ops.promoted) != 0 {
		t.Fatalf("promoted while not active: %v", ops.promoted)
	}
	// Stable and active: b is promoted, c (no record) stays a non-voter.
	if _, err := a.evaluate(ctx, true); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ops.promoted, []string{"b@b:8201"}) {
		t.Fatalf("promoted %v, want only b", ops.promoted)
	}
	if _, err := bar.Get(ctx, autopilotPromoteKey+"b"); err == nil {
		t.Fatal("b's record outlived its promotion")
	}
	status(1000, 999)
	if _, err := a.evaluate(ctx, true); err != nil || len(ops.promoted) != 1 {
		t.Fatalf("promoted again: %v %v", ops.promoted, err)
	}
	// A record kept only in memory (a DR secondary) works the same way.
	if err := s.WantVoter(ctx, "c", "c:8201", false); err != nil {
		t.Fatal(err)
	}
	if keys, _ := bar.List(ctx, autopilotPromoteKey); len(keys) != 0 {
		t.Fatalf("in-memory record written to storage: %v", keys)
	}
	status(1000, 999)
	if _, err := a.evaluate(ctx, true); err != nil || !slices.Contains(ops.promoted, "c@c:8201") {
		t.Fatalf("in-memory record: %v %v", ops.promoted, err)
	}
}
