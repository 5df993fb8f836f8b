package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// raftCluster starts n processes (node1 bootstraps, the others retry_join
// it), initialises with one share, unseals all and waits for n voters.
func raftCluster(t *testing.T, n int) (nodes []*clusterNode, key, root string) {
	t.Helper()
	api, cl := make([]int, n), make([]int, n)
	for i := range api {
		api[i], cl[i] = freePort(t), freePort(t)
	}
	for i := 0; i < n; i++ {
		var joins []string
		if i > 0 {
			joins = []string{fmt.Sprintf("http://127.0.0.1:%d", api[0])}
		}
		nodes = append(nodes, startNode(t, fmt.Sprintf("node%d", i+1), api[i], cl[i], joins))
	}
	c0 := newClient(t, nodes[0].addr, "")
	res, err := c0.Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	key, root = res.KeysB64[0], res.RootToken
	unsealWith(t, c0, []string{key})
	if n > 1 {
		// Autopilot promotes joiners after server_stabilization_time (10 s
		// by default): shorten it so the tests do not wait for nothing.
		rc := newClient(t, nodes[0].addr, root)
		waitFor(t, 20*time.Second, "node1 to take the autopilot configuration", func() bool {
			_, err := rc.Logical().Write("sys/storage/raft/autopilot/configuration", map[string]any{"server_stabilization_time": "1s"})
			return err == nil
		})
	}
	for _, nd := range nodes[1:] {
		c := newClient(t, nd.addr, "")
		waitFor(t, 20*time.Second, nd.id+" to unseal", func() bool {
			st, err := c.Sys().Unseal(key)
			return err == nil && !st.Sealed
		})
	}
	waitFor(t, 30*time.Second, fmt.Sprintf("%d voters", n), func() bool {
		return len(voters(t, newClient(t, nodes[0].addr, root))) == n
	})
	return nodes, key, root
}

// voters lists the voters of sys/storage/raft/configuration (nil on error).
func voters(t *testing.T, c *vaultapi.Client) []string {
	t.Helper()
	s, err := c.Logical().Read("sys/storage/raft/configuration")
	if err != nil || s == nil {
		return nil
	}
	var out []string
	servers, _ := s.Data["config"].(map[string]any)["servers"].([]any)
	for _, sv := range servers {
		m := sv.(map[string]any)
		if v, _ := m["voter"].(bool); v {
			out = append(out, m["node_id"].(string))
		}
	}
	return out
}

func kvPut(t *testing.T, c *vaultapi.Client, key, v string) {
	t.Helper()
	if _, err := c.Logical().Write("secret/data/"+key, map[string]any{"data": map[string]any{"v": v}}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func kvValue(c *vaultapi.Client, key string) (string, error) {
	s, err := c.Logical().Read("secret/data/" + key)
	if err != nil || s == nil {
		return "", err
	}
	v, _ := s.Data["data"].(map[string]any)["v"].(string)
	return v, nil
}

// TestRaftOps_Processes: list peers, snapshot save through a standby and
// restore with the data intact, a snapshot of another cluster refused
// without force, autopilot state, and a removed peer that knows it.
func TestRaftOps_Processes(t *testing.T) {
	nodes, key, root := raftCluster(t, 3)
	act := activeOf(t, nodes, -1)
	if act < 0 {
		t.Fatal("no active node")
	}
	sb := (act + 1) % 3 // a standby
	ca := newClient(t, nodes[act].addr, root)
	cs := newClient(t, nodes[sb].addr, root)
	if _, err := ca.Logical().Write("sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	kvPut(t, ca, "a", "before")

	// List peers through a standby (forwarded): three voters, one leader.
	s, err := cs.Logical().Read("sys/storage/raft/configuration")
	if err != nil {
		t.Fatalf("configuration via standby: %v", err)
	}
	leaders := 0
	for _, sv := range s.Data["config"].(map[string]any)["servers"].([]any) {
		if sv.(map[string]any)["leader"] == true {
			leaders++
		}
	}
	if len(voters(t, cs)) != 3 || leaders != 1 {
		t.Fatalf("configuration = %v", s.Data)
	}

	// Autopilot: with a 1 s stabilization time, three healthy voters
	// tolerate one failure.
	if _, err := ca.Logical().Write("sys/storage/raft/autopilot/configuration", map[string]any{"server_stabilization_time": "1s"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "autopilot: healthy, failure tolerance 1", func() bool {
		st, err := cs.Sys().RaftAutopilotState()
		return err == nil && st != nil && st.Healthy && st.FailureTolerance == 1 && len(st.Voters) == 3
	})

	// Snapshot saved through a standby (forwarded byte for byte), restored
	// on the active node: later writes are gone, earlier ones are back.
	var snap bytes.Buffer
	if err := cs.Sys().RaftSnapshot(&snap); err != nil {
		t.Fatalf("snapshot save via standby: %v", err)
	}
	if bytes.Contains(snap.Bytes(), []byte(root)) || bytes.Contains(snap.Bytes(), []byte(key)) {
		t.Fatal("the snapshot holds the root token or the unseal key")
	}
	kvPut(t, ca, "a", "after")
	kvPut(t, ca, "b", "later")
	if err := ca.Sys().RaftSnapshotRestore(bytes.NewReader(snap.Bytes()), false); err != nil {
		t.Fatalf("restore: %v", err)
	}
	waitFor(t, 20*time.Second, "the restored data through a standby", func() bool {
		v, err := kvValue(cs, "a")
		return err == nil && v == "before"
	})
	if v, err := kvValue(ca, "b"); err != nil || v != "" {
		t.Fatalf("secret b after restore = %q, %v; want absent", v, err)
	}
	kvPut(t, cs, "c", "written after the restore")

	// A snapshot of another cluster is refused without force.
	other, okey, oroot := raftCluster(t, 1)
	_ = okey
	oc := newClient(t, other[0].addr, oroot)
	var foreign bytes.Buffer
	if err := oc.Sys().RaftSnapshot(&foreign); err != nil {
		t.Fatal(err)
	}
	if err := ca.Sys().RaftSnapshotRestore(bytes.NewReader(foreign.Bytes()), false); !isStatus(err, 400) {
		t.Fatalf("foreign restore without force: err = %v, want 400", err)
	}
	if v, err := kvValue(ca, "c"); err != nil || v == "" {
		t.Fatalf("data after a refused restore: %q, %v", v, err)
	}

	// Remove a standby: the cluster has two voters, and the removed node
	// knows it (health 530, removed_from_cluster), refuses to serve and
	// cannot be unsealed, even after a restart.
	victim := nodes[sb]
	if _, err := ca.Logical().Write("sys/storage/raft/remove-peer", map[string]any{"server_id": victim.id}); err != nil {
		t.Fatalf("remove-peer: %v", err)
	}
	waitFor(t, 10*time.Second, "two voters", func() bool { return len(voters(t, ca)) == 2 })
	checkRemoved := func() {
		t.Helper()
		waitFor(t, 15*time.Second, victim.id+" to report removed_from_cluster with 530", func() bool {
			resp, body := rawDo(t, http.MethodGet, victim.addr+"/v1/sys/health", nil)
			return resp.StatusCode == 530 && bytes.Contains([]byte(body), []byte(`"removed_from_cluster":true`))
		})
		resp, _ := rawDo(t, http.MethodGet, victim.addr+"/v1/secret/data/a", map[string]string{"X-Vault-Token": root})
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("removed node served a read: %d", resp.StatusCode)
		}
		if _, err := newClient(t, victim.addr, "").Sys().Unseal(key); !isStatus(err, 503) {
			t.Fatalf("unseal of a removed node: err = %v, want 503", err)
		}
	}
	checkRemoved()
	victim.p = restart(t, victim.p, true)
	checkRemoved()
	// The rest of the cluster still serves.
	if v, err := kvValue(newClient(t, nodes[act].addr, root), "c"); err != nil || v == "" {
		t.Fatalf("cluster after removal: %q, %v", v, err)
	}
}
