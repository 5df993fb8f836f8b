package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/tests/internal/vaultproc"
)

// clusterNode is one process of the 3-node test cluster.
type clusterNode struct {
	id   string
	p    *proc
	addr string
}

// clusterConfig writes a raft node config with retry_join blocks.
func clusterConfig(t *testing.T, dir, id string, apiPort, clPort int, joins []string) string {
	t.Helper()
	return vaultproc.Node{Dir: dir, ID: id, APIPort: apiPort, ClusterPort: clPort, Joins: joins, LogLevel: "debug"}.Write(t)
}

func startNode(t *testing.T, id string, apiPort, clPort int, joins []string) *clusterNode {
	t.Helper()
	dir := t.TempDir()
	cfg := clusterConfig(t, dir, id, apiPort, clPort, joins)
	addr := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	p := startProc(t, addr, "server", "-config", cfg)
	p.DataDir, p.Config = dir, cfg
	t.Cleanup(func() {
		if d := os.Getenv("VAULTD_E2E_LOGDIR"); d != "" {
			_ = os.WriteFile(filepath.Join(d, id+".log"), []byte(p.Log.String()), 0o600)
		}
		if t.Failed() {
			t.Logf("---- %s log ----\n%s", id, tail(p.Log.String(), 60))
		}
	})
	return &clusterNode{id: id, p: p, addr: addr}
}

// activeOf returns the index of the active node (-1 if none answers so).
func activeOf(t *testing.T, nodes []*clusterNode, skip int) int {
	for i, n := range nodes {
		if i == skip {
			continue
		}
		h, err := newClient(t, n.addr, "").Sys().Health()
		if err == nil && !h.Sealed && !h.Standby {
			return i
		}
	}
	return -1
}

func rawDo(t *testing.T, method, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	cl := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		k, err := resp.Body.Read(buf)
		b.Write(buf[:k])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}

func TestCluster_JoinForwardFailover(t *testing.T) {
	parent := t // processes started in subtests must outlive them
	var api, cl [4]int
	for i := range api {
		api[i], cl[i] = freePort(t), freePort(t)
	}
	url := func(i int) string { return fmt.Sprintf("http://127.0.0.1:%d", api[i]) }
	dead := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	// node1 bootstraps; node2 also lists node3 (not a leader: refused, retried);
	// node3 also lists an unreachable address (clear error, retried).
	nodes := []*clusterNode{
		startNode(t, "node1", api[0], cl[0], nil),
		startNode(t, "node2", api[1], cl[1], []string{url(2), url(0)}),
		startNode(t, "node3", api[2], cl[2], []string{dead, url(0)}),
	}
	clients := make([]*vaultapi.Client, 3)
	for i, n := range nodes {
		clients[i] = newClient(t, n.addr, "")
	}

	// sys/init sent to two fresh nodes at once never yields two clusters:
	// node2 is configured to join, so it refuses.
	var wg sync.WaitGroup
	var init1 *vaultapi.InitResponse
	var err1, err2 error
	wg.Add(2)
	go func() {
		defer wg.Done()
		init1, err1 = clients[0].Sys().Init(&vaultapi.InitRequest{SecretShares: 5, SecretThreshold: 3})
	}()
	go func() {
		defer wg.Done()
		_, err2 = clients[1].Sys().Init(&vaultapi.InitRequest{SecretShares: 5, SecretThreshold: 3})
	}()
	wg.Wait()
	if err1 != nil {
		t.Fatalf("init node1: %v", err1)
	}
	if !isStatus(err2, 400) {
		t.Fatalf("init on a retry_join node = %v, want 400", err2)
	}
	keys, root := init1.KeysB64, init1.RootToken
	start := time.Now()
	unsealWith(t, clients[0], keys)

	// Autopilot promotes the joiners once caught up and stable for
	// server_stabilization_time (10 s by default): shorten it.
	rc := newClient(t, nodes[0].addr, root)
	waitFor(t, 20*time.Second, "node1 to take the autopilot configuration", func() bool {
		_, err := rc.Logical().Write("sys/storage/raft/autopilot/configuration", map[string]any{"server_stabilization_time": "1s"})
		return err == nil
	})
	unsealJoiners(t, nodes[1:], keys, 3, 5)
	t.Logf("first unseal to three unsealed nodes: %s", time.Since(start))
	a0 := waitAgreedActive(t, nodes)
	for _, c := range clients {
		c.SetToken(root)
	}
	// The failover below needs a quorum of two once the active node dies.
	waitFor(t, 30*time.Second, "autopilot to promote both joiners", func() bool {
		return len(voters(t, clients[a0])) == 3
	})
	if !strings.Contains(nodes[2].p.Log.String(), "join attempt failed") {
		t.Errorf("node3 did not report the unreachable retry_join leader")
	}

	t.Run("forwarding", func(t *testing.T) {
		sb0 := (activeOf(t, nodes, -1) + 1) % 3
		if err := clients[sb0].Sys().Mount("secret", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
			t.Fatalf("mount through a standby: %v", err)
		}
		if _, err := clients[(sb0+1)%3].KVv2("secret").Put(context.Background(), "app", map[string]any{"v": "1"}); err != nil {
			t.Fatalf("write through a standby: %v", err)
		}
		for i, c := range clients {
			s, err := c.KVv2("secret").Get(context.Background(), "app")
			if err != nil || s.Data["v"] != "1" {
				t.Fatalf("read via %s = %v, %v", nodes[i].id, s, err)
			}
		}
		// Byte-for-byte relay: the same body (bar the request id) direct and forwarded.
		act := activeOf(t, nodes, -1)
		sb := (act + 1) % 3
		_, direct := rawDo(t, "GET", url(act)+"/v1/sys/mounts/secret/tune", map[string]string{"X-Vault-Token": root})
		resp, fwd := rawDo(t, "GET", url(sb)+"/v1/sys/mounts/secret/tune", map[string]string{"X-Vault-Token": root})
		if resp.StatusCode != 200 || stripRequestID(direct) != stripRequestID(fwd) {
			t.Fatalf("forwarded answer differs: %d\n%s\n%s", resp.StatusCode, direct, fwd)
		}
		// X-Vault-No-Request-Forwarding → 307 to the active api_addr.
		resp, _ = rawDo(t, "GET", url(sb)+"/v1/secret/data/app", map[string]string{"X-Vault-Token": root, "X-Vault-No-Request-Forwarding": "true"})
		if resp.StatusCode != 307 || !strings.HasPrefix(resp.Header.Get("Location"), url(act)+"/v1/secret/data/app") {
			t.Fatalf("no-forwarding: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		// A request already forwarded is never forwarded again.
		resp, body := rawDo(t, "GET", url(sb)+"/v1/secret/data/app", map[string]string{"X-Vault-Token": root, "X-Vaultd-Forwarded-By": "node9"})
		if resp.StatusCode != 503 || !strings.Contains(body, "not forwarding it again") {
			t.Fatalf("loop guard: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("ha-status and peers", func(t *testing.T) {
		s, err := clients[(activeOf(t, nodes, -1)+2)%3].Logical().Read("sys/ha-status")
		if err != nil {
			t.Fatal(err)
		}
		ns, _ := s.Data["nodes"].([]any)
		if len(ns) != 3 {
			t.Fatalf("ha-status nodes = %v", s.Data)
		}
		actives := 0
		for _, n := range ns {
			m := n.(map[string]any)
			if m["active_node"] == true {
				actives++
				if m["api_address"] != url(activeOf(t, nodes, -1)) {
					t.Errorf("active api_address = %v", m["api_address"])
				}
			}
		}
		if actives != 1 {
			t.Fatalf("ha-status: %d active nodes: %v", actives, ns)
		}
		act := activeOf(t, nodes, -1)
		li, err := clients[(act+1)%3].Sys().Leader()
		if err != nil || li.IsSelf || li.LeaderAddress != url(act) || !li.HAEnabled {
			t.Fatalf("standby sys/leader = %+v, %v", li, err)
		}
		waitFor(t, 10*time.Second, "known-peers to list 3 nodes with api_addr", func() bool {
			_, body := rawDo(t, "GET", url(2)+"/v1/sys/storage/raft/known-peers", nil)
			var kp struct {
				Data struct {
					Peers []struct {
						NodeID  string `json:"node_id"`
						APIAddr string `json:"api_addr"`
					} `json:"peers"`
				} `json:"data"`
			}
			if json.Unmarshal([]byte(body), &kp) != nil || len(kp.Data.Peers) != 3 {
				return false
			}
			for _, p := range kp.Data.Peers {
				if p.APIAddr == "" {
					return false
				}
			}
			return true
		})
	})

	t.Run("wrong unseal key never joins", func(t *testing.T) {
		n4 := startNode(t, "node4", api[3], cl[3], []string{url(1)}) // a standby: the challenge is forwarded
		c4 := newClient(t, n4.addr, "")
		waitFor(t, 20*time.Second, "node4 to get a join challenge", func() bool {
			st, err := c4.Sys().SealStatus()
			return err == nil && st.Initialized && st.T == 3
		})
		// sys/storage/raft/join: a member refuses; an unreachable leader is a clear error.
		if _, err := clients[1].Logical().Write("sys/storage/raft/join", map[string]any{"leader_api_addr": url(0)}); !isStatus(err, 400) {
			t.Fatalf("join on a member = %v, want 400", err)
		}
		_, err := c4.Logical().Write("sys/storage/raft/join", map[string]any{"leader_api_addr": dead})
		if !isStatus(err, 502) || !strings.Contains(err.Error(), "leader unreachable") {
			t.Fatalf("join to an unreachable leader = %v, want 502 leader unreachable", err)
		}
		for range 3 {
			b := make([]byte, 33)
			_, _ = rand.Read(b)
			_, err = c4.Sys().Unseal(base64.StdEncoding.EncodeToString(b))
		}
		if !isStatus(err, 400) {
			t.Fatalf("unseal with wrong shares = %v, want 400", err)
		}
		st, err := c4.Sys().SealStatus()
		if err != nil || !st.Sealed {
			t.Fatalf("node4 after wrong key: %+v %v", st, err)
		}
		s, err := clients[0].Logical().Read("sys/ha-status")
		if err != nil {
			t.Fatal(err)
		}
		if ns, _ := s.Data["nodes"].([]any); len(ns) != 3 {
			t.Fatalf("node4 joined with a wrong key: %v", ns)
		}
		n4.p.Kill()
	})

	t.Run("kill -9 the active under load", func(t *testing.T) {
		victim := activeOf(t, nodes, -1)
		if victim < 0 {
			t.Fatal("no active node")
		}
		type ack struct{ key, val string }
		var mu sync.Mutex
		var acked []ack
		var firstAfterKill time.Time
		var killedAt, deadAt time.Time
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					node := (g + i) % 3
					c := newClient(t, nodes[node].addr, root)
					c.SetClientTimeout(5 * time.Second)
					k, v := fmt.Sprintf("load/g%d-%d", g, i), fmt.Sprintf("%d-%d", g, i)
					began := time.Now()
					_, err := c.KVv2("secret").Put(context.Background(), k, map[string]any{"v": v})
					if err != nil {
						time.Sleep(20 * time.Millisecond)
						continue
					}
					mu.Lock()
					acked = append(acked, ack{k, v})
					// Count only writes sent after the victim was gone.
					if !deadAt.IsZero() && began.After(deadAt) && firstAfterKill.IsZero() && node != victim {
						firstAfterKill = time.Now()
					}
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Second)
		mu.Lock()
		before := len(acked)
		killedAt = time.Now()
		mu.Unlock()
		nodes[victim].p.Kill() // returns once the process is gone
		mu.Lock()
		deadAt = time.Now()
		mu.Unlock()

		// Forwarding while the active is dead answers within a bounded time.
		survivor := (victim + 1) % 3
		t0 := time.Now()
		req := clients[survivor].NewRequest("GET", "/v1/secret/data/app")
		resp, err := clients[survivor].RawRequestWithContext(context.Background(), req)
		if resp != nil {
			resp.Body.Close()
		}
		if d := time.Since(t0); d > 8*time.Second {
			t.Errorf("request through a standby with a dead active took %s", d)
		}
		if err != nil && !isStatus(err, 503) {
			t.Errorf("request right after the kill = %v, want success or 503", err)
		}
		t.Logf("request through a standby right after the kill: status %d in %s", statusOf(resp), time.Since(t0))

		waitFor(t, 15*time.Second, "a new active node", func() bool { return activeOf(t, nodes, victim) >= 0 })
		time.Sleep(1500 * time.Millisecond)
		close(stop)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if firstAfterKill.IsZero() {
			t.Fatal("no write succeeded through a survivor after the kill")
		}
		t.Logf("failover: kill -9 → next acknowledged write through a survivor: %s (%d writes before, %d total)",
			firstAfterKill.Sub(killedAt), before, len(acked))
		c := clients[survivor]
		for _, a := range acked {
			s, err := c.KVv2("secret").Get(context.Background(), a.key)
			if err != nil || s.Data["v"] != a.val {
				t.Fatalf("acknowledged write %s lost: %v %v", a.key, s, err)
			}
		}

		// The victim restarts, is unsealed, catches up and serves.
		np := startProc(parent, nodes[victim].addr, "server", "-config", nodes[victim].p.Config)
		np.DataDir, np.Config = nodes[victim].p.DataDir, nodes[victim].p.Config
		nodes[victim].p = np
		parent.Cleanup(func() {
			if d := os.Getenv("VAULTD_E2E_LOGDIR"); d != "" {
				_ = os.WriteFile(filepath.Join(d, nodes[victim].id+"-restarted.log"), []byte(np.Log.String()), 0o600)
			}
			if parent.Failed() {
				parent.Logf("---- restarted %s log ----\n%s", nodes[victim].id, tail(np.Log.String(), 60))
			}
		})
		vc := newClient(t, nodes[victim].addr, "")
		st, err := vc.Sys().SealStatus()
		if err != nil || !st.Initialized || !st.Sealed {
			t.Fatalf("restarted victim: %+v %v", st, err)
		}
		for _, k := range keys[:3] {
			if _, err := vc.Sys().Unseal(k); err != nil {
				t.Fatalf("unseal restarted victim: %v", err)
			}
		}
		waitFor(t, 20*time.Second, "the restarted victim to be an unsealed standby", func() bool {
			h, err := vc.Sys().Health()
			return err == nil && !h.Sealed && h.Standby
		})
		vc.SetToken(root)
		active := activeOf(t, nodes, victim)
		ali, err := clients[active].Sys().Leader()
		if err != nil {
			t.Fatal(err)
		}
		t0 = time.Now()
		waitFor(t, 20*time.Second, "the restarted victim to know the active node and catch up", func() bool {
			li, err := vc.Sys().Leader()
			return err == nil && li.LeaderAddress == url(active) && li.RaftAppliedIndex >= ali.RaftCommittedIndex
		})
		t.Logf("restarted victim caught up %s after its unseal", time.Since(t0))
		last := acked[len(acked)-1]
		s, err := vc.KVv2("secret").Get(context.Background(), last.key)
		if err != nil || s.Data["v"] != last.val {
			t.Fatalf("read through the restarted victim: %v %v", s, err)
		}
		if _, err := vc.KVv2("secret").Put(context.Background(), "after-restart", map[string]any{"v": "ok"}); err != nil {
			t.Fatalf("write through the restarted victim: %v", err)
		}
	})

	t.Run("step-down", func(t *testing.T) {
		act := activeOf(t, nodes, -1)
		if err := clients[(act+1)%3].Sys().StepDown(); err != nil { // forwarded to the active
			t.Fatalf("step-down: %v", err)
		}
		waitFor(t, 15*time.Second, "another node to become active", func() bool {
			a := activeOf(t, nodes, -1)
			return a >= 0 && a != act
		})
	})
}

func statusOf(r *vaultapi.Response) int {
	if r == nil {
		return 0
	}
	return r.StatusCode
}

func stripRequestID(s string) string {
	var m map[string]any
	if json.Unmarshal([]byte(s), &m) != nil {
		return s
	}
	delete(m, "request_id")
	b, _ := json.Marshal(m)
	return string(b)
}
