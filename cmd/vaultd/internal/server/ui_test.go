package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

// startUINode starts an inmem node with the given ui setting and
// retry_join leaders (only recorded: inmem storage never joins).
func startUINode(t *testing.T, ui bool) *Node {
	t.Helper()
	cfg := &config.Config{
		UI:      ui,
		Storage: &config.Storage{Type: "inmem"},
		Listeners: []config.Listener{{
			Type: "tcp", Address: "127.0.0.1:0", TLSDisable: true, MaxRequestSize: 1 << 20,
		}},
	}
	n, err := Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

func httpGet(t *testing.T, url string) *http.Response {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// The ui key of the configuration is applied: off means no UI at all.
func TestUIConfigApplied(t *testing.T) {
	off := startUINode(t, false)
	for _, p := range []string{"/", "/ui", "/ui/", "/ui/js/app.js"} {
		if resp := httpGet(t, off.APIAddr+p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("ui = false: GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
	on := startUINode(t, true)
	if resp := httpGet(t, on.APIAddr+"/"); resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("ui = true: GET / = %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp := httpGet(t, on.APIAddr+"/ui/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ui = true: GET /ui/ = %d", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' "+on.APIAddr) {
		t.Errorf("CSP %q does not name this node's api_addr", csp)
	}
}

// The -dev configurations turn the UI on, as Vault's -dev does.
func TestDevConfigsEnableUI(t *testing.T) {
	if !DevConfig("127.0.0.1:0").UI {
		t.Error("-dev: ui is off")
	}
	addrs := []devAddrs{{API: "127.0.0.1:1", Cluster: "127.0.0.1:2"}, {API: "127.0.0.1:3", Cluster: "127.0.0.1:4"}}
	for i := range addrs {
		if !devNodeConfig(i, addrs, t.TempDir()).UI {
			t.Errorf("-dev-cluster node %d: ui is off", i+1)
		}
	}
}

// Cluster origins: this node, the retry_join leaders, normalised and
// without duplicates; these are the only origins CORS admits.
func TestClusterOriginsFromConfig(t *testing.T) {
	n := startUINode(t, true)
	cfg := &config.Config{Storage: &config.Storage{Type: "raft", RetryJoin: []config.RetryJoin{
		{LeaderAPIAddr: "HTTP://127.0.0.2:8200/"}, {LeaderAPIAddr: "http://127.0.0.3:8200"}, {LeaderAPIAddr: "http://127.0.0.2:8200"},
	}}}
	o := newClusterOrigins(cfg, "http://127.0.0.1:8200", n.Core)
	got := strings.Join(o.Origins(context.Background()), ",")
	if got != "http://127.0.0.1:8200,http://127.0.0.2:8200,http://127.0.0.3:8200" {
		t.Errorf("origins = %s", got)
	}
}
