package core_test

import (
	"testing"
	"time"

	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/secrets"
)

func init() { core.SetRotationCheckEvery(20 * time.Millisecond) }

func keyStatus(t *testing.T, n *node) map[string]any {
	t.Helper()
	return n.must(n.root, secrets.OpRead, "sys/key-status", nil).Data
}

func termOf(t *testing.T, n *node) int { return keyStatus(t, n)["term"].(int) }

// Issue 10 item 9: the barrier rotates its data key before max_operations
// encryptions of one term, and data written before stays readable.
func TestAutoRotate_MaxOperations(t *testing.T) {
	n := newNodeAt(t, time.Now())
	n.must(n.root, secrets.OpUpdate, "sys/mounts/kv", map[string]any{"type": "kv"})
	n.must(n.root, secrets.OpUpdate, "kv/before", map[string]any{"v": "1"})
	n.wantErr(n.root, secrets.OpUpdate, "sys/rotate/config", map[string]any{"max_operations": 10}, secrets.ErrInvalidRequest)
	n.wantErr(n.root, secrets.OpUpdate, "sys/rotate/config", map[string]any{"interval": "1h"}, secrets.ErrInvalidRequest)
	n.must(n.root, secrets.OpUpdate, "sys/rotate/config", map[string]any{"max_operations": 1000000})
	cfg := n.must(n.root, secrets.OpRead, "sys/rotate/config", nil).Data
	if cfg["max_operations"] != uint64(1000000) || cfg["enabled"] != true || cfg["interval"] != 0 {
		t.Fatalf("sys/rotate/config = %v", cfg)
	}
	t0 := termOf(t, n)
	time.Sleep(100 * time.Millisecond)
	if termOf(t, n) != t0 {
		t.Fatal("rotated below max_operations")
	}
	if err := n.c.AddEncryptionsForTest(1000000); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "automatic rotation", func() bool { return termOf(t, n) == t0+1 })
	ks := keyStatus(t, n)
	if ks["encryptions"].(uint64) >= 1000000 || ks["max_operations"] != uint64(1000000) {
		t.Fatalf("key-status after rotation = %v", ks)
	}
	if d := n.must(n.root, secrets.OpRead, "kv/before", nil).Data; d["v"] != "1" {
		t.Fatalf("data from the old term = %v", d)
	}
	// enabled=false keeps counting but never rotates.
	n.must(n.root, secrets.OpUpdate, "sys/rotate/config", map[string]any{"enabled": false})
	if err := n.c.AddEncryptionsForTest(2000000); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if termOf(t, n) != t0+1 {
		t.Fatal("rotated with enabled=false")
	}
}

// Issue 10 item 9: rotation on an interval (the term's age).
func TestAutoRotate_Interval(t *testing.T) {
	n := newNodeAt(t, time.Now())
	n.must(n.root, secrets.OpUpdate, "sys/rotate/config", map[string]any{"interval": "24h"})
	if ks := keyStatus(t, n); ks["rotation_period"] != "24h0m0s" {
		t.Fatalf("key-status rotation_period = %v", ks["rotation_period"])
	}
	t0 := termOf(t, n)
	time.Sleep(100 * time.Millisecond)
	if termOf(t, n) != t0 {
		t.Fatal("rotated before the interval")
	}
	n.clock.Advance(25 * time.Hour)
	// The barrier stamps install times with the real clock, so on this
	// test's clock every new term is "older" than 24h too and rotates again:
	// wait for at least one rotation.
	waitFor(t, 10*time.Second, "interval rotation", func() bool { return termOf(t, n) > t0 })
}

// Issue 10 item 9: the count survives a restart of the active node (here
// seal and unseal, which tears down and sets up like a failover): the new
// active node resumes from the persisted count, never from zero.
func TestAutoRotate_CountSurvivesRestart(t *testing.T) {
	n := newNodeAt(t, time.Now())
	if err := n.c.AddEncryptionsForTest(500000); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // several checks: the count is persisted
	n.must(n.root, secrets.OpUpdate, "sys/seal", nil)
	n.unseal()
	waitFor(t, 10*time.Second, "the resumed count", func() bool {
		return keyStatus(t, n)["encryptions"].(uint64) >= 500000
	})
}
