package testcluster_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/testcluster"
)

// TestStepDown_HandsOffAndStays: after sys/step-down a different node is
// active, and the old active does not take leadership back: it stays a
// standby for several election timeouts (raft's election timeout is
// 300–600 ms at performance multiplier 1; the window is 3 s). Seen before
// the fix: the old active won the next election 50–400 ms after it
// stepped down.
func TestStepDown_HandsOffAndStays(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.WithPerformanceMultiplier(3))
	c.InitAndUnseal(t)
	c.WaitMembers(t)
	// Writes keep arriving through every node while leadership moves: the
	// old active's log runs ahead of the transfer target's.
	mustWrite(t, c.Client(t, c.Active(t).Index), "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	var written atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	for w := range 6 {
		cl := c.Client(t, w%3)
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
	for round := range 6 {
		old := c.Active(t)
		if err := c.Client(t, old.Index).Sys().StepDown(); err != nil {
			t.Fatalf("round %d: step-down: %v", round, err)
		}
		var next *testcluster.Node
		waitFor(t, "another node to become active", func() bool {
			for _, nd := range c.Nodes() {
				if nd != old && nd.Core.IsActive() {
					next = nd
					return true
				}
			}
			return false
		})
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			if old.Store.IsLeader() || old.Core.IsActive() {
				t.Fatalf("round %d: %s stepped down, %s took over, and %s is leader again", round, old.ID, next.ID, old.ID)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if a := c.Active(t); a == old {
			t.Fatalf("round %d: the old active %s is active again", round, old.ID)
		}
		t.Logf("round %d: %s -> %s (%d writes so far)", round, old.ID, next.ID, written.Load())
	}
}
