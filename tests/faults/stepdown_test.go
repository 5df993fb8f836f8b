package faults

import (
	"testing"
	"time"
)

// TestStepDown_StaysHandedOff: sys/step-down on real processes (default
// performance_multiplier 3: raft's election timeout is 0.9–1.8 s). After
// each step-down a different node becomes active, and the old active does
// not take leadership back: for 5 s (several election timeouts) it is not
// the active node, polled through every node's sys/health.
func TestStepDown_StaysHandedOff(t *testing.T) {
	pc := newProcCluster(t, 3)
	pc.InitAndUnseal()
	for round := range 3 {
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
		t.Logf("round %d: %s -> %s, and it stayed", round, old.ID, next.ID)
	}
}
