package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// series is one scrape: every sample of the Prometheus text format.
type series []sample

type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseProm reads the Prometheus text format (the subset client_golang
// writes: no timestamps, label values without escaped quotes).
func parseProm(t *testing.T, text string) series {
	t.Helper()
	var out series
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad sample line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad value in %q: %v", line, err)
		}
		s := sample{name: line[:i], labels: map[string]string{}, value: v}
		if j := strings.IndexByte(s.name, '{'); j >= 0 {
			for _, kv := range strings.Split(strings.TrimSuffix(s.name[j+1:], "}"), ",") {
				k, val, _ := strings.Cut(kv, "=")
				s.labels[k] = strings.Trim(val, `"`)
			}
			s.name = s.name[:j]
		}
		out = append(out, s)
	}
	return out
}

// sum adds the samples named name whose labels include want.
func (ss series) sum(name string, want map[string]string) (float64, bool) {
	total, found := 0.0, false
	for _, s := range ss {
		if s.name != name {
			continue
		}
		ok := true
		for k, v := range want {
			if s.labels[k] != v {
				ok = false
			}
		}
		if ok {
			total += s.value
			found = true
		}
	}
	return total, found
}

func (ss series) must(t *testing.T, node, name string, want map[string]string) float64 {
	t.Helper()
	v, ok := ss.sum(name, want)
	if !ok {
		t.Fatalf("%s: no series %s%v in the scrape", node, name, want)
	}
	return v
}

// scrape reads a node's own metrics in the Prometheus format.
func scrape(t *testing.T, n *clusterNode, token string) series {
	t.Helper()
	resp, body := rawDo(t, http.MethodGet, n.addr+"/v1/sys/metrics?format=prometheus", map[string]string{"X-Vault-Token": token})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: sys/metrics = %d %s", n.id, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("%s: Content-Type %q", n.id, ct)
	}
	return parseProm(t, body)
}

// TestMetrics_ClusterTrafficAndFailover scrapes every node of a 3-node
// cluster: each serves its own metrics (a standby too, with a token the
// active node vouches for), the named series move with traffic sent
// through a standby, and after the active node is killed the new active
// node's series show the failover.
func TestMetrics_ClusterTrafficAndFailover(t *testing.T) {
	nodes, root := startCluster(t)
	a := waitAgreedActive(t, nodes)
	standby := (a + 1) % len(nodes)
	rc := newClient(t, nodes[a].addr, root)
	if err := rc.Sys().Mount("kv", &vaultapi.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}

	// Every node answers with its own state, standbys included.
	before := make([]series, len(nodes))
	for i, n := range nodes {
		s := scrape(t, n, root)
		before[i] = s
		wantActive := 0.0
		if i == a {
			wantActive = 1
		}
		if got := s.must(t, n.id, "vault_core_active", nil); got != wantActive {
			t.Errorf("%s: vault_core_active = %v, want %v", n.id, got, wantActive)
		}
		if got := s.must(t, n.id, "vault_core_unsealed", nil); got != 1 {
			t.Errorf("%s: vault_core_unsealed = %v", n.id, got)
		}
		if got := s.must(t, n.id, "vault_raft_state", map[string]string{"state": "Leader"}); got != wantActive {
			t.Errorf("%s: raft Leader state = %v, want %v", n.id, got, wantActive)
		}
		if got := s.must(t, n.id, "vault_raft_peers", map[string]string{"suffrage": "voter"}); got != 3 {
			t.Errorf("%s: %v voters, want 3", n.id, got)
		}
		s.must(t, n.id, "go_goroutines", nil)
		s.must(t, n.id, "process_resident_memory_bytes", nil)
	}
	if v := before[a].must(t, nodes[a].id, "vault_token_count", nil); v < 1 {
		t.Errorf("active: vault_token_count = %v", v)
	}
	if _, ok := before[standby].sum("vault_token_count", nil); ok {
		t.Error("a standby reports vault_token_count (a stale copy of the active's)")
	}

	// Traffic through a standby: forwarded, then served by the active node.
	const writes = 15
	sc := newClient(t, nodes[standby].addr, root)
	for i := range writes {
		if _, err := sc.Logical().Write(fmt.Sprintf("kv/m%d", i), map[string]any{"v": i}); err != nil {
			t.Fatal(err)
		}
	}
	// A KV read a standby answers itself (after a read index), and one it
	// is told to forward (X-Vault-Inconsistent: forward-active-node).
	if _, err := sc.Logical().Read("kv/nope"); err != nil {
		t.Fatal(err)
	}
	fc := newClient(t, nodes[standby].addr, root)
	fc.AddHeader("X-Vault-Inconsistent", "forward-active-node")
	if _, err := fc.Logical().Read("kv/nope"); err != nil {
		t.Fatal(err)
	}
	after := scrape(t, nodes[a], root)
	delta := func(name string, labels map[string]string) float64 {
		return after.must(t, "active", name, labels) - before[a].must(t, "active", name, labels)
	}
	logical := map[string]string{"class": "logical", "method": "PUT", "code": "204"}
	if got, _ := after.sum("vault_core_handle_request_count", logical); got < writes {
		t.Errorf("active: %v logical PUT 204 requests, want >= %d", got, writes)
	}
	if got, _ := after.sum("vault_core_handle_request_count", map[string]string{"class": "logical", "code": "404"}); got < 1 {
		t.Errorf("active: the 404 read is not counted (%v)", got)
	}
	if d := delta("vault_barrier_encrypt", nil); d < writes {
		t.Errorf("active: barrier encryptions +%v, want >= %d", d, writes)
	}
	if d := delta("vault_raft_commitTime_count", nil); d < writes {
		t.Errorf("active: raft commits +%v, want >= %d", d, writes)
	}
	if d := delta("vault_raft_boltdb_storeLogs_count", nil); d < 1 {
		t.Errorf("active: raft.db appends +%v", d)
	}
	if d := delta("vault_token_lookup", nil); d < writes {
		t.Errorf("active: token lookups +%v, want >= %d", d, writes)
	}
	sAfter := scrape(t, nodes[standby], root)
	if d := sAfter.must(t, "standby", "vault_ha_rpc_client_forward_count", nil) - before[standby].must(t, "standby", "vault_ha_rpc_client_forward_count", nil); d < writes+1 {
		t.Errorf("standby: forwarded +%v requests, want >= %d", d, writes+1)
	}
	if d := sAfter.must(t, "standby", "vaultd_standby_reads_local", nil) - before[standby].must(t, "standby", "vaultd_standby_reads_local", nil); d < 1 {
		t.Errorf("standby: answered +%v reads itself, want >= 1", d)
	}
	if got, _ := sAfter.sum("vault_core_handle_request_count", logical); got < writes {
		t.Errorf("standby: %v logical PUT requests seen, want >= %d", got, writes)
	}
	// Every node applies the writes: its applied index follows the leader's.
	lead := after.must(t, "active", "vault_raft_storage_stats_commit_index", nil)
	for i, n := range nodes {
		waitFor(t, 15*time.Second, n.id+" to apply the writes", func() bool {
			v, _ := scrape(t, n, root).sum("vault_raft_storage_stats_applied_index", nil)
			return v >= lead && v > before[i].must(t, n.id, "vault_raft_storage_stats_applied_index", nil)
		})
	}

	// Authorisation: read on sys/metrics, checked by the active node for a
	// standby too; the default policy alone is refused.
	if err := rc.Sys().PutPolicy("metrics", `path "sys/metrics" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	mt, err := rc.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{"metrics"}})
	if err != nil {
		t.Fatal(err)
	}
	dt, err := rc.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*clusterNode{nodes[a], nodes[standby]} {
		scrape(t, n, mt.Auth.ClientToken)
		for tok, want := range map[string]int{dt.Auth.ClientToken: 403, "": 403, "hvs.bogus": 403} {
			if resp, body := rawDo(t, http.MethodGet, n.addr+"/v1/sys/metrics", map[string]string{"X-Vault-Token": tok}); resp.StatusCode != want {
				t.Errorf("%s: token %.8q… got %d %s, want %d", n.id, tok, resp.StatusCode, body, want)
			}
		}
	}
	// The JSON format (the default) has Vault's shape.
	var js struct {
		Gauges   []struct{ Name string }
		Counters []struct{ Name string }
		Samples  []struct {
			Name  string
			Count float64
		}
	}
	if err := getJSON(nodes[standby].addr+"/v1/sys/metrics", root, &js); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range js.Samples {
		if s.Name == "vault.core.handle_request" && s.Count > 0 {
			found = true
		}
	}
	if !found || len(js.Gauges) == 0 || len(js.Counters) == 0 {
		t.Errorf("JSON metrics lack vault.core.handle_request samples or gauges/counters: %d gauges, %d counters", len(js.Gauges), len(js.Counters))
	}

	// One request, one ID: the standby's request ID is carried to the
	// active node, which answers with it and logs it with the forwarder
	// (a read the standby is told to forward rather than answer itself).
	sec, err := fc.Logical().Read("kv/m1")
	if err != nil || sec == nil || sec.RequestID == "" {
		t.Fatalf("read through the standby: %v %+v", err, sec)
	}
	waitFor(t, 10*time.Second, "the request ID in both nodes' logs", func() bool {
		act := nodes[a].p.Log.String()
		return strings.Contains(nodes[standby].p.Log.String(), "request_id="+sec.RequestID) &&
			strings.Contains(act, "request_id="+sec.RequestID+" ") &&
			strings.Contains(act, "forwarded_by="+nodes[standby].id)
	})
	// A client cannot choose the ID: the header is honoured only over the
	// cluster port.
	req := rc.NewRequest(http.MethodGet, "/v1/kv/m1")
	req.Headers.Set("X-Vaultd-Request-Id", "11111111-1111-1111-1111-111111111111")
	resp, err := rc.RawRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		RequestID string `json:"request_id"`
	}
	if err := resp.DecodeJSON(&env); err != nil || env.RequestID == "" || env.RequestID == "11111111-1111-1111-1111-111111111111" {
		t.Errorf("a client-chosen request ID was adopted (or none): %q %v", env.RequestID, err)
	}
	resp.Body.Close()

	// Failover: kill the active node; the new active node's series say so.
	oldTerm := before[standby].must(t, "standby", "vault_raft_term", nil)
	oldChanges := make([]float64, len(nodes))
	for i, n := range nodes {
		if i != a {
			oldChanges[i] = scrape(t, n, root).must(t, n.id, "vault_raft_leader_changes", nil)
		}
	}
	nodes[a].p.Kill()
	na := -1
	waitFor(t, 30*time.Second, "a new active node", func() bool {
		na = activeOf(t, nodes, a)
		return na >= 0
	})
	var ns series
	waitFor(t, 15*time.Second, "the new active node's metrics to show it", func() bool {
		ns = scrape(t, nodes[na], root)
		v, _ := ns.sum("vault_core_active", nil)
		return v == 1
	})
	if v := ns.must(t, "new active", "vault_raft_term", nil); v <= oldTerm {
		t.Errorf("new active: raft term %v, want > %v", v, oldTerm)
	}
	for i, n := range nodes {
		if i == a {
			continue
		}
		waitFor(t, 15*time.Second, n.id+" to count the leader change", func() bool {
			v, _ := scrape(t, n, root).sum("vault_raft_leader_changes", nil)
			return v > oldChanges[i]
		})
	}
	// The new leader sees heartbeats to the dead node fail.
	waitFor(t, 20*time.Second, "the new leader to report the dead follower", func() bool {
		v, ok := scrape(t, nodes[na], root).sum("vault_raft_storage_follower_heartbeat_failing", map[string]string{"peer_id": nodes[a].id})
		return ok && v == 1
	})
	// The old standby still serves its own metrics, now as a standby of
	// the new active node.
	for i, n := range nodes {
		if i == a || i == na {
			continue
		}
		s := scrape(t, n, root)
		if v := s.must(t, n.id, "vault_core_active", nil); v != 0 {
			t.Errorf("%s: vault_core_active = %v on a standby", n.id, v)
		}
	}
}

func getJSON(url, token string, v any) error {
	c, err := vaultapi.NewClient(&vaultapi.Config{Address: strings.SplitN(url, "/v1/", 2)[0]})
	if err != nil {
		return err
	}
	c.SetToken(token)
	r := c.NewRequest(http.MethodGet, "/v1/"+strings.SplitN(url, "/v1/", 2)[1])
	resp, err := c.RawRequest(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return resp.DecodeJSON(v)
}
