package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/telemetry"
)

func get(t *testing.T, url, token string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// capsCore answers sys/capabilities-self from a token → capabilities map
// (ErrSealed when sealed), and 404s everything else.
func metricsCapsCore(sealed bool, caps map[string][]string, seen *[]string) *fakeCore {
	return &fakeCore{HandleRequestFunc: func(ctx context.Context, req *core.Request) (*core.Response, error) {
		*seen = append(*seen, req.Path)
		if sealed {
			return nil, core.ErrSealed
		}
		if req.Path != "sys/capabilities-self" {
			return nil, secrets.ErrNotFound
		}
		c, ok := caps[req.ClientToken]
		if !ok {
			return nil, secrets.ErrPermissionDenied
		}
		return &core.Response{Data: map[string]any{"capabilities": c, "sys/metrics": c}}, nil
	}}
}

func TestSysMetrics_Auth(t *testing.T) {
	reg := telemetry.New(telemetry.Config{PrometheusRetention: time.Hour})
	q := telemetry.NewRequests(reg)
	var seen []string
	fc := metricsCapsCore(false, map[string][]string{"reader": {"read"}, "root": {"root"}, "other": {"deny"}, "lister": {"list"}}, &seen)
	srv := newServer(t, api.Config{Telemetry: reg, Requests: q}, fc)
	get(t, srv.URL+"/v1/sys/seal-status", "") // so that vault_core_handle_request has a series
	for tok, want := range map[string]int{"reader": 200, "root": 200, "other": 403, "lister": 403, "": 403, "unknown": 403} {
		code, body, _ := get(t, srv.URL+"/v1/sys/metrics?format=prometheus", tok)
		if code != want {
			t.Errorf("token %q: %d %s, want %d", tok, code, body, want)
		}
		if code == 200 && !strings.Contains(body, "# TYPE vault_core_handle_request histogram") {
			t.Errorf("token %q: the scrape lacks vault_core_handle_request:\n%.500s", tok, body)
		}
		if code == 403 && !strings.Contains(body, "permission denied") {
			t.Errorf("token %q: 403 body %s", tok, body)
		}
	}
	for _, p := range seen {
		if p != "sys/capabilities-self" {
			t.Errorf("core saw %q: sys/metrics must be answered by the node itself", p)
		}
	}
	// The request series count the scrapes by class and status.
	_, body, _ := get(t, srv.URL+"/v1/sys/metrics?format=prometheus", "reader")
	for _, want := range []string{
		`vault_core_handle_request_count{class="metrics",code="200",method="GET"}`,
		`vault_core_handle_request_count{class="metrics",code="403",method="GET"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the scrape lacks %s", want)
		}
	}
	if code, body, _ := get(t, srv.URL+"/v1/sys/metrics?format=xml", "reader"); code != 400 || !strings.Contains(body, "unsupported format") {
		t.Errorf("format=xml: %d %s", code, body)
	}
}

func TestSysMetrics_JSONShape(t *testing.T) {
	reg := telemetry.New(telemetry.Config{PrometheusRetention: time.Hour})
	q := telemetry.NewRequests(reg)
	srv := newServer(t, api.Config{Telemetry: reg, Requests: q, UnauthenticatedMetrics: true}, &fakeCore{})
	get(t, srv.URL+"/v1/sys/health", "")
	code, body, hdr := get(t, srv.URL+"/v1/sys/metrics", "")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s %s", code, hdr.Get("Content-Type"), body)
	}
	var j struct {
		Timestamp string
		Gauges    []struct {
			Name   string
			Value  float64
			Labels map[string]string
		}
		Counters []struct{ Name string }
		Samples  []struct {
			Name   string
			Count  float64
			Sum    float64
			Mean   float64
			Labels map[string]string
		}
	}
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		t.Fatal(err)
	}
	if j.Timestamp == "" || len(j.Gauges) == 0 {
		t.Errorf("no timestamp or gauges: %.300s", body)
	}
	found := false
	for _, s := range j.Samples {
		if s.Name == "vault.core.handle_request" && s.Labels["class"] == "node" && s.Count == 1 && s.Mean == s.Sum {
			found = true
		}
	}
	if !found {
		t.Errorf("no vault.core.handle_request sample for the sys/health call: %+v", j.Samples)
	}
}

// Without a token the node serves its metrics only with
// unauthenticated_metrics_access; a sealed node cannot check a token.
func TestSysMetrics_UnauthenticatedAndSealed(t *testing.T) {
	reg := telemetry.New(telemetry.Config{PrometheusRetention: time.Hour})
	var seen []string
	open := newServer(t, api.Config{Telemetry: reg, UnauthenticatedMetrics: true}, metricsCapsCore(true, nil, &seen))
	if code, body, _ := get(t, open.URL+"/v1/sys/metrics?format=prometheus", ""); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Errorf("unauthenticated access on a sealed node: %d %.200s", code, body)
	}
	if len(seen) != 0 {
		t.Errorf("unauthenticated access asked core %v", seen)
	}
	closed := newServer(t, api.Config{Telemetry: reg}, metricsCapsCore(true, nil, &seen))
	if code, body, _ := get(t, closed.URL+"/v1/sys/metrics", "sometoken"); code != 503 || !strings.Contains(body, "sealed") {
		t.Errorf("token on a sealed node: %d %s, want 503", code, body)
	}
}

func TestSysMetrics_PrometheusDisabled(t *testing.T) {
	reg := telemetry.New(telemetry.Config{PrometheusRetention: 0})
	srv := newServer(t, api.Config{Telemetry: reg, UnauthenticatedMetrics: true}, &fakeCore{})
	if code, body, _ := get(t, srv.URL+"/v1/sys/metrics?format=prometheus", ""); code != 400 || !strings.Contains(body, "prometheus is not enabled") {
		t.Errorf("prometheus_retention_time = 0: %d %s", code, body)
	}
	if code, _, _ := get(t, srv.URL+"/v1/sys/metrics", ""); code != 200 {
		t.Errorf("JSON with prometheus disabled: %d", code)
	}
}

// Without a registry, sys/metrics is an ordinary routed path.
func TestSysMetrics_NotWired(t *testing.T) {
	var seen []string
	srv := newServer(t, api.Config{}, metricsCapsCore(false, nil, &seen))
	if code, _, _ := get(t, srv.URL+"/v1/sys/metrics", "t"); code != 404 || len(seen) != 1 || seen[0] != "sys/metrics" {
		t.Errorf("%d, core saw %v", code, seen)
	}
}
