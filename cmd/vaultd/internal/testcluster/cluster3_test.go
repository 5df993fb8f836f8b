package testcluster_test

import (
	"testing"
	"time"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/testcluster"
)

// TestRaftOps_ThreeNodes: autopilot sees three healthy voters, a standby
// serves the operator endpoints through forwarding, and a removed peer
// knows it was removed and stops serving.
func TestRaftOps_ThreeNodes(t *testing.T) {
	c := testcluster.New(t, 3)
	c.InitAndUnseal(t)
	act := c.Active(t)
	sbs := c.Standbys(t)
	if len(sbs) != 2 {
		t.Fatalf("%d standbys, want 2", len(sbs))
	}
	ca := c.Client(t, act.Index)
	cs := c.Client(t, sbs[0].Index)
	mustWrite(t, ca, "sys/storage/raft/autopilot/configuration", map[string]any{"server_stabilization_time": "500ms"})
	waitFor(t, "three stable healthy voters", func() bool {
		st, err := cs.Sys().RaftAutopilotState()
		return err == nil && st != nil && st.Healthy && st.FailureTolerance == 1 && len(st.Voters) == 3 &&
			st.Servers[sbs[1].ID] != nil && st.Servers[sbs[1].ID].Status == "voter"
	})

	victim := sbs[1]
	mustWrite(t, cs, "sys/storage/raft/remove-peer", map[string]any{"server_id": victim.ID})
	waitFor(t, "the victim to know it was removed", func() bool { return victim.Store.Removed() })
	if !victim.Core.RemovedFromCluster() {
		t.Fatal("core does not report the removal")
	}
	if !victim.Core.Sealed() {
		t.Fatal("a removed node stays unsealed")
	}
	h, err := c.Client(t, victim.Index).Sys().Health()
	if err != nil || !h.Sealed {
		t.Fatalf("health of the removed node: %+v, %v", h, err)
	}
	// Persisted: still removed after a restart.
	c.Stop(victim.Index)
	c.Start(t, victim.Index)
	if !c.Node(victim.Index).Store.Removed() {
		t.Fatal("the removed flag did not survive a restart")
	}
	st, err := ca.Sys().RaftAutopilotState()
	if err != nil || len(st.Voters) != 2 {
		t.Fatalf("autopilot after removal: %v, %v", st, err)
	}
}

// TestAutopilot_DeadServerCleanup: with cleanup_dead_servers on, a stopped
// standby is removed once the leader has not heard from it for
// dead_server_last_contact_threshold, not before.
func TestAutopilot_DeadServerCleanup(t *testing.T) {
	c := testcluster.New(t, 3)
	c.InitAndUnseal(t)
	// A 503 here means the active lost leadership during the write (a
	// loaded machine re-elects); the answer says to retry, and the write is
	// idempotent.
	var act *testcluster.Node
	waitFor(t, "the autopilot configuration to be written", func() bool {
		act = c.Active(t)
		_, err := c.Client(t, act.Index).Logical().Write("sys/storage/raft/autopilot/configuration", map[string]any{
			"cleanup_dead_servers": true, "min_quorum": 2,
			"last_contact_threshold": "500ms", "dead_server_last_contact_threshold": "2s",
		})
		return err == nil
	})
	var dead, other *testcluster.Node
	for _, n := range c.Nodes() {
		switch {
		case n == act:
		case dead == nil:
			dead = n
		default:
			other = n
		}
	}
	c.Stop(dead.Index)
	start := time.Now()
	// Asked through the surviving standby: it forwards to whichever of the
	// two live nodes leads.
	co := c.Client(t, other.Index)
	waitFor(t, "autopilot to remove the dead server", func() bool {
		st, err := co.Sys().RaftAutopilotState()
		return err == nil && len(st.Voters) == 2 && st.Servers[dead.ID] == nil
	})
	if d := time.Since(start); d < 2*time.Second {
		t.Fatalf("removed after %s, before the 2s threshold", d)
	}
	// The min_quorum and per-pass budget rules are pinned by core's
	// TestDeadServers; a second failure here would also cost the quorum.
	// Only the dead server went: the two live nodes are the voters and one
	// of them leads. Which one is not pinned: with two voters on a starved
	// machine a missed heartbeat re-elects (seen under load), as in Vault.
	live := map[string]bool{act.ID: true, other.ID: true}
	waitFor(t, "a leader among the two live voters", func() bool {
		st, err := co.Sys().RaftAutopilotState()
		if err != nil || len(st.Voters) != 2 || !live[st.Leader] {
			return false
		}
		for _, v := range st.Voters {
			if !live[v] {
				t.Fatalf("after cleanup the voters are %v, want the live nodes %s and %s", st.Voters, act.ID, other.ID)
			}
		}
		return true
	})
}

// TestSealActive_HandsOverToAStandby: sealing the active node through
// sys/seal moves raft leadership away, as Vault's active node steps down
// when sealed, so an unsealed standby becomes active and serves writes
// while the sealed node waits for its keyholders.
func TestSealActive_HandsOverToAStandby(t *testing.T) {
	c := testcluster.New(t, 3)
	c.InitAndUnseal(t)
	act := c.Active(t)
	if err := c.Client(t, act.Index).Sys().Seal(); err != nil {
		t.Fatalf("seal the active node: %v", err)
	}
	if !act.Core.Sealed() {
		t.Fatal("the active node is not sealed after sys/seal")
	}
	var next *testcluster.Node
	waitFor(t, "a standby to become active", func() bool {
		for _, n := range c.Nodes() {
			if n.Index != act.Index && n.Core.IsActive() {
				next = n
				return true
			}
		}
		return false
	})
	if act.Store.IsLeader() {
		t.Fatal("the sealed node kept raft leadership")
	}
	mustWrite(t, c.Client(t, next.Index), "sys/policies/acl/after-seal", map[string]any{"policy": `path "x" { capabilities = ["read"] }`})
}
