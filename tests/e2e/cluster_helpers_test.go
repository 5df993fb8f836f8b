package e2e

import (
	"fmt"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// unsealJoiners unseals retry_join nodes once their join challenge has
// arrived (seal-status shows the cluster's threshold and shares) and waits
// until each is an unsealed standby.
func unsealJoiners(t *testing.T, joiners []*clusterNode, keys []string, threshold, shares int) {
	t.Helper()
	for _, n := range joiners {
		c := newClient(t, n.addr, "")
		waitFor(t, 20*time.Second, n.id+" to get a join challenge", func() bool {
			st, err := c.Sys().SealStatus()
			return err == nil && st.Initialized && st.T == threshold && st.N == shares
		})
		for _, k := range keys[:threshold] {
			if _, err := c.Sys().Unseal(k); err != nil {
				t.Fatalf("unseal %s: %v", n.id, err)
			}
		}
	}
	for _, n := range joiners {
		c := newClient(t, n.addr, "")
		waitFor(t, 20*time.Second, n.id+" to be an unsealed standby", func() bool {
			h, err := c.Sys().Health()
			return err == nil && !h.Sealed && h.Standby
		})
	}
}

// waitAgreedActive waits until one node is active and every node names it
// as the leader, and returns its index. Promotion to voter may cost one
// re-election on a loaded machine.
func waitAgreedActive(t *testing.T, nodes []*clusterNode) int {
	t.Helper()
	a := -1
	waitFor(t, 20*time.Second, "all nodes to agree on the active node", func() bool {
		if a = activeOf(t, nodes, -1); a < 0 {
			return false
		}
		for _, n := range nodes {
			li, err := newClient(t, n.addr, "").Sys().Leader()
			if err != nil || li.LeaderAddress != nodes[a].addr {
				return false
			}
		}
		return true
	})
	return a
}

// startCluster starts three nodes (node2 and node3 retry_join node1),
// initialises node1 with one key share, unseals all three and waits until
// they agree on the active node. It returns the nodes and the root token.
func startCluster(t *testing.T) ([]*clusterNode, string) {
	t.Helper()
	var api, cl [3]int
	for i := range api {
		api[i], cl[i] = freePort(t), freePort(t)
	}
	first := fmt.Sprintf("http://127.0.0.1:%d", api[0])
	nodes := []*clusterNode{
		startNode(t, "node1", api[0], cl[0], nil),
		startNode(t, "node2", api[1], cl[1], []string{first}),
		startNode(t, "node3", api[2], cl[2], []string{first}),
	}
	c := newClient(t, nodes[0].addr, "")
	init, err := c.Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatalf("init node1: %v", err)
	}
	unsealWith(t, c, init.KeysB64)
	// Autopilot promotes joiners after server_stabilization_time (10 s by
	// default): shorten it so the tests do not wait for nothing.
	rc := newClient(t, nodes[0].addr, init.RootToken)
	waitFor(t, 20*time.Second, "node1 to take the autopilot configuration", func() bool {
		_, err := rc.Logical().Write("sys/storage/raft/autopilot/configuration", map[string]any{"server_stabilization_time": "1s"})
		return err == nil
	})
	unsealJoiners(t, nodes[1:], init.KeysB64, 1, 1)
	a := waitAgreedActive(t, nodes)
	waitFor(t, 30*time.Second, "autopilot to promote both joiners", func() bool {
		return len(voters(t, newClient(t, nodes[a].addr, init.RootToken))) == 3
	})
	return nodes, init.RootToken
}
