package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

// registeredNames starts a raft node (it need not be initialised: every
// series is registered by Start) and returns the names of its series.
func registeredNames(t *testing.T) []string {
	t.Helper()
	cfg := &config.Config{
		Storage: &config.Storage{Type: "raft", Path: t.TempDir(), NodeID: "names"},
		Listeners: []config.Listener{{Type: "tcp", Address: "127.0.0.1:0", ClusterAddress: freeAddr(t),
			TLSDisable: true, MaxRequestSize: 1 << 20}},
	}
	n, err := Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n.Telemetry.Names()
}

// metricRef finds the series names a PromQL expression uses: every vaultd
// series starts with vault_, go_ or process_.
var metricRef = regexp.MustCompile(`\b(?:vault|go|process)_[A-Za-z0-9_]+\b`)

// known reports whether name is a registered family, or a histogram's
// _bucket/_sum/_count series of one.
func known(names []string, name string) bool {
	if slices.Contains(names, name) {
		return true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suf); ok && slices.Contains(names, base) {
			return true
		}
	}
	return false
}

// TestGrafanaDashboard: docs/grafana-dashboard.json parses, has panels,
// and every expression (and template query) uses only series a raft node
// registers.
func TestGrafanaDashboard(t *testing.T) {
	names := registeredNames(t)
	if len(names) < 40 {
		t.Fatalf("only %d series registered: %v", len(names), names)
	}
	b, err := os.ReadFile("../../../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr string `json:"expr"`
	}
	type panel struct {
		Type    string   `json:"type"`
		Title   string   `json:"title"`
		Targets []target `json:"targets"`
	}
	var d struct {
		Title      string  `json:"title"`
		UID        string  `json:"uid"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("the dashboard is not valid JSON: %v", err)
	}
	if d.Title == "" || d.UID == "" {
		t.Error("the dashboard has no title or uid")
	}
	var exprs []string
	titles := map[string]bool{}
	for _, p := range d.Panels {
		if p.Type == "row" {
			titles[p.Title] = true
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, row := range []string{"Cluster overview", "Requests", "Raft health", "Seal and HA state per node"} {
		if !titles[row] {
			t.Errorf("the dashboard has no %q row", row)
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			if s, ok := q["query"].(string); ok {
				exprs = append(exprs, s)
			}
		}
	}
	used := map[string]bool{}
	for _, e := range exprs {
		refs := metricRef.FindAllString(e, -1)
		if len(refs) == 0 {
			t.Errorf("expression %q uses no vaultd series", e)
		}
		for _, r := range refs {
			used[r] = true
			if !known(names, r) {
				t.Errorf("expression %q uses %s, which vaultd does not register", e, r)
			}
		}
	}
	for _, must := range []string{"vault_core_active", "vault_core_unsealed", "vault_core_handle_request_bucket", "vault_raft_commitTime_bucket", "vault_raft_leader_changes"} {
		if !used[must] {
			t.Errorf("the dashboard does not use %s", must)
		}
	}
}

// TestObservabilityDocListsEveryMetric: docs/observability.md names every
// vault_* series a raft node registers (go_* and process_* are the
// standard collectors, documented as a group), and nothing it does not.
func TestObservabilityDocListsEveryMetric(t *testing.T) {
	names := registeredNames(t)
	b, err := os.ReadFile("../../../../docs/observability.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, name := range names {
		if strings.HasPrefix(name, "vault_") && !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("docs/observability.md does not list `%s`", name)
		}
	}
	for _, ref := range regexp.MustCompile("`(vault_[A-Za-z0-9_]+)`").FindAllStringSubmatch(doc, -1) {
		if !known(names, ref[1]) {
			t.Errorf("docs/observability.md lists `%s`, which vaultd does not register", ref[1])
		}
	}
}
