package faults

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStepDown_StaysHandedOff: sys/step-down on real processes (default
// performance_multiplier 3: raft's election timeout is 0.9–1.8 s) while
// writes arrive through every node. After each step-down a different node
// becomes active, and the old active does not take leadership back: for
// 5 s (several election timeouts) it is not the active node, polled
// through every node's sys/health. Before the campaign hold (raftstore
// StepDownHold) the old active won the next election within a second in
// about one round in three under write load.
func TestStepDown_StaysHandedOff(t *testing.T) {
	pc := newProcCluster(t, 3)
	pc.InitAndUnseal()
	act := pc.WaitActive(30 * time.Second)
	if _, err := pc.Client(act, 20*time.Second).Logical().Write("sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var written atomic.Int64
	defer func() { close(stop); wg.Wait() }()
	for w := range 6 {
		cl := pc.Client(pc.Nodes[w%len(pc.Nodes)], 5*time.Second)
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := cl.Logical().Write(fmt.Sprintf("secret/data/load-%d", w), map[string]any{"data": map[string]any{"i": i}}); err == nil {
					written.Add(1)
				}
			}
		})
	}
	for round := range 4 {
		old := pc.WaitActive(30 * time.Second)
		if err := pc.Client(old, 20*time.Second).Sys().StepDown(); err != nil {
			t.Fatalf("round %d: step-down on %s: %v", round, old.ID, err)
		}
		var next *node
		waitFor(t, 30*time.Second, "another node to become active", func() bool {
			next = pc.Active()
			return next != nil && next != old
		})
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if a := pc.Active(); a == old {
				t.Fatalf("round %d: %s stepped down, %s took over, and %s is active again", round, old.ID, next.ID, old.ID)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("round %d: %s -> %s, and it stayed (%d writes so far)", round, old.ID, next.ID, written.Load())
	}
	if written.Load() == 0 {
		t.Fatal("no write succeeded: the load never ran")
	}
}

// TestStepDown_NewActiveCutOff: right after a step-down the new active
// node is cut off from both peers, so it loses its quorum and the other
// two hold an election. raft alone would let the old active win it (its
// log is as long as anyone's, the third node votes for it); during the
// step-down hold it does not campaign, so the third node becomes active,
// or nobody is until the link heals and the new active is back. Either
// way the old active is not active again for the 4 s of the cut.
func TestStepDown_NewActiveCutOff(t *testing.T) {
	pc := setup(t, 3)
	old := pc.WaitActive(30 * time.Second)
	if err := pc.Client(old, 20*time.Second).Sys().StepDown(); err != nil {
		t.Fatalf("step-down on %s: %v", old.ID, err)
	}
	var next *node
	waitFor(t, 30*time.Second, "another node to become active", func() bool {
		next = pc.Active()
		return next != nil && next != old
	})
	var third *node
	for _, nd := range pc.Nodes {
		if nd != old && nd != next {
			third = nd
		}
	}
	if err := pc.Net.Isolate(next.IP, old.IP, third.IP); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	deadline := cut.Add(4 * time.Second)
	took := ""
	for time.Now().Before(deadline) {
		switch a := pc.Active(); a {
		case old:
			t.Fatalf("%s stepped down, %s took over and was cut off %s later, and %s is active again",
				old.ID, next.ID, time.Since(cut).Round(time.Millisecond), old.ID)
		case third:
			took = third.ID
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := pc.Net.Heal(); err != nil {
		t.Fatal(err)
	}
	act := pc.WaitActive(30 * time.Second)
	t.Logf("%s -> %s, cut off; during the cut the active was %q; after healing %s", old.ID, next.ID, took, act.ID)
}
