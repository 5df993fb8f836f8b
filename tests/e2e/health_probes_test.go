package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// probeAnswer is the body of sys/health/ready and sys/health/live.
type probeAnswer struct {
	Ready  *bool `json:"ready"`
	Live   *bool `json:"live"`
	Checks []struct {
		Name    string `json:"name"`
		OK      bool   `json:"ok"`
		Message string `json:"message"`
	} `json:"checks"`
}

func (p probeAnswer) failing() []string {
	var out []string
	for _, c := range p.Checks {
		if !c.OK {
			out = append(out, c.Name)
		}
	}
	return out
}

func probe(t *testing.T, addr, path string) (int, probeAnswer) {
	t.Helper()
	resp, body := rawDo(t, http.MethodGet, addr+path, nil)
	var pa probeAnswer
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusServiceUnavailable {
		if err := json.Unmarshal([]byte(body), &pa); err != nil {
			t.Fatalf("%s: %v in %s", path, err, body)
		}
	}
	return resp.StatusCode, pa
}

// waitProbe waits until path answers code with exactly the failing checks
// named (none for 200).
func waitProbe(t *testing.T, addr, path string, code int, failing ...string) probeAnswer {
	t.Helper()
	var pa probeAnswer
	var got int
	waitFor(t, 30*time.Second, fmt.Sprintf("%s%s to answer %d failing %v", addr, path, code, failing), func() bool {
		got, pa = probe(t, addr, path)
		return got == code && strings.Join(pa.failing(), ",") == strings.Join(failing, ",")
	})
	return pa
}

// TestHealthProbes_RemovedAndQuorumLoss: a removed node is neither ready
// nor live; a node whose peers are gone is live but not ready (quorum);
// sys/health keeps Vault's codes meanwhile.
func TestHealthProbes_RemovedAndQuorumLoss(t *testing.T) {
	nodes, root := startCluster(t)
	a := waitAgreedActive(t, nodes)
	for _, n := range nodes {
		waitProbe(t, n.addr, "/v1/sys/health/ready", 200)
		waitProbe(t, n.addr, "/v1/sys/health/live", 200)
		if code, _ := probe(t, n.addr, "/v1/sys/health/ready?standbyok=false"); (code == 200) != (n == nodes[a]) {
			t.Errorf("%s: ready?standbyok=false = %d", n.id, code)
		}
	}
	if code, _ := probe(t, nodes[a].addr, "/v1/sys/health/ready?max_lag=many"); code != http.StatusBadRequest {
		t.Errorf("a bad max_lag answered %d, want 400", code)
	}
	// Remove one standby, once it has seen itself among the voters (a
	// node removed before that cannot tell removal from joining).
	victim := nodes[(a+1)%3]
	waitFor(t, 15*time.Second, victim.id+" to see three voters", func() bool {
		v, _ := scrape(t, victim, root).sum("vault_raft_peers", map[string]string{"suffrage": "voter"})
		return v == 3
	})
	start := time.Now()
	waitFor(t, 5*time.Second, victim.id+" to check its membership", func() bool {
		code, _ := probe(t, victim.addr, "/v1/sys/health/live") // Removed() reuses an answer for 250 ms
		return code == 200 && time.Since(start) > 600*time.Millisecond
	})
	ca := newClient(t, nodes[a].addr, root)
	if _, err := ca.Logical().Write("sys/storage/raft/remove-peer", map[string]any{"server_id": victim.id}); err != nil {
		t.Fatalf("remove-peer: %v", err)
	}
	pa := waitProbe(t, victim.addr, "/v1/sys/health/live", 503, "removed")
	if pa.Live == nil || *pa.Live {
		t.Errorf("removed node: live = %v", pa.Live)
	}
	// A removed node seals itself: sealedok leaves only the removal.
	waitProbe(t, victim.addr, "/v1/sys/health/ready?sealedok=true", 503, "removed")
	// Kill the other standby: the active node is alone among two voters.
	other := nodes[(a+2)%3]
	other.p.Kill()
	pa = waitProbe(t, nodes[a].addr, "/v1/sys/health/ready?sealedok=true", 503, "quorum")
	if pa.Ready == nil || *pa.Ready {
		t.Errorf("after quorum loss: ready = %v", pa.Ready)
	}
	waitProbe(t, nodes[a].addr, "/v1/sys/health/live", 200)
	// sys/health keeps Vault's contract: no new codes, no new fields.
	resp, body := rawDo(t, http.MethodGet, victim.addr+"/v1/sys/health", nil)
	if resp.StatusCode != 530 || strings.Contains(body, "checks") {
		t.Errorf("removed node sys/health = %d %s", resp.StatusCode, body)
	}
}

// TestHealthProbes_BlockedAudit: an audit device that stops accepting
// writes (vaultd's stdout, a pipe nobody reads) makes the node unready
// after audit_blocked_after, and not live with a short threshold; once
// the device drains, the node is ready again.
func TestHealthProbes_BlockedAudit(t *testing.T) {
	port := freePort(t)
	addr := fmt.Sprintf("http://127.0.0.1:%d", port)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, "server", "-dev", "-dev-root-token-id=root", fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port))
	cmd.Stdout, cmd.Stderr = pw, io.Discard
	cmd.Env = append(os.Environ(), "VAULT_ADDR=", "VAULT_TOKEN=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	var drain sync.Once
	drainAll := func() { drain.Do(func() { go func() { _, _ = io.Copy(io.Discard, pr) }() }) }
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		drainAll()
		<-exited
		pr.Close()
	})
	waitFor(t, 20*time.Second, "the dev server", func() bool {
		resp, err := http.Get(addr + "/v1/sys/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	c := newClient(t, addr, "root")
	if err := c.Sys().EnableAuditWithOptions("out", &vaultapi.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": "stdout"}}); err != nil {
		t.Fatal(err)
	}
	waitProbe(t, addr, "/v1/sys/health/ready", 200)
	// Fill the pipe (64 KiB) with audit entries until a request hangs.
	stuck := make(chan struct{}, 200)
	for i := range 200 {
		go func() {
			hc := &http.Client{Timeout: 60 * time.Second}
			req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/v1/secret/data/pad%d", addr, i),
				strings.NewReader(`{"data":{"v":"`+strings.Repeat("x", 1024)+`"}}`))
			req.Header.Set("X-Vault-Token", "root")
			if resp, err := hc.Do(req); err == nil {
				resp.Body.Close()
			}
			stuck <- struct{}{}
		}()
	}
	pa := waitProbe(t, addr, "/v1/sys/health/ready?audit_blocked_after=1s", 503, "audit")
	for _, ch := range pa.Checks {
		if ch.Name == "audit" && !strings.Contains(ch.Message, "blocked") {
			t.Errorf("audit check message %q", ch.Message)
		}
	}
	waitProbe(t, addr, "/v1/sys/health/live?audit_blocked_after=1s", 503, "audit")
	if code, _ := probe(t, addr, "/v1/sys/health/live"); code != 200 {
		t.Errorf("live with the default threshold (60s) = %d while blocked a few seconds", code)
	}
	// An authenticated scrape is audited like any request (as in Vault),
	// so it waits too; the metrics show the time blocked afterwards.
	drainAll()
	for range 200 {
		select {
		case <-stuck:
		case <-time.After(60 * time.Second):
			t.Fatal("requests still stuck after the audit device drained")
		}
	}
	waitProbe(t, addr, "/v1/sys/health/ready?audit_blocked_after=1s", 200)
	s := scrape(t, &clusterNode{id: "dev", addr: addr}, "root")
	if v := s.must(t, "dev", "vault_audit_blocked_seconds", nil); v < 1 {
		t.Errorf("vault_audit_blocked_seconds = %v after requests waited > 1s", v)
	}
	if v := s.must(t, "dev", "vault_audit_oldest_pending_ms", nil); v != 0 {
		t.Errorf("vault_audit_oldest_pending_ms = %v once drained", v)
	}
}
