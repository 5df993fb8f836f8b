package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Which requests a performance secondary sends to the primary.
func TestPerfWrites(t *testing.T) {
	for _, c := range []struct {
		method, path, wrap string
		want               bool
	}{
		{http.MethodGet, "/v1/secret/data/a", "", false},
		{"LIST", "/v1/secret/metadata/", "", false},
		{http.MethodGet, "/v1/secret/data/a", "60s", true}, // wrapping writes a token
		{http.MethodPut, "/v1/secret/data/a", "", true},
		{http.MethodPost, "/v1/auth/userpass/login/bob", "", true},
		{http.MethodPost, "/v1/auth/token/renew-self", "", true},
		{http.MethodDelete, "/v1/secret/data/a", "", true},
		{http.MethodPatch, "/v1/secret/data/a", "", true},
		{http.MethodPost, "/v1/sys/wrapping/unwrap", "", true},
		{http.MethodPost, "/v1/sys/replication/performance/secondary/update-primary", "", false},
		{http.MethodPost, "/v1/sys/storage/raft/snapshot", "", false},
		{http.MethodPut, "/v1/sys/step-down", "", false},
		{http.MethodPut, "/v1/sys/seal", "", false},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		if c.wrap != "" {
			r.Header.Set("X-Vault-Wrap-TTL", c.wrap)
		}
		if got := perfWrites(r); got != c.want {
			t.Errorf("%s %s (wrap %q): %v, want %v", c.method, c.path, c.wrap, got, c.want)
		}
	}
}

// local=true on a mount or an auth method is spotted (and the body kept
// for the forward otherwise).
func TestLocalMount(t *testing.T) {
	for _, c := range []struct {
		path, body string
		want       bool
	}{
		{"/v1/sys/mounts/x", `{"type":"kv","local":true}`, true},
		{"/v1/sys/mounts/x", `{"type":"kv","local":"true"}`, true},
		{"/v1/sys/auth/up", `{"type":"userpass","local":true}`, true},
		{"/v1/sys/mounts/x", `{"type":"kv"}`, false},
		{"/v1/sys/mounts/x", `{"type":"kv","local":false}`, false},
		{"/v1/sys/mounts/x", `not json`, false},
		{"/v1/secret/data/x", `{"local":true}`, false},
	} {
		r := httptest.NewRequest(http.MethodPost, c.path, strings.NewReader(c.body))
		if got := localMount(r); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.path, c.body, got, c.want)
		}
		if b, _ := io.ReadAll(r.Body); string(b) != c.body {
			t.Errorf("%s: body after the check %q, want %q", c.path, b, c.body)
		}
	}
}
