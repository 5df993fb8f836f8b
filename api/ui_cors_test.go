package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/ui"
)

func uiServer(t *testing.T, withUI bool, origins ...string) http.Handler {
	t.Helper()
	cfg := api.Config{CORSOrigins: func(context.Context) []string { return origins }}
	if withUI {
		cfg.UI = ui.Handler(ui.Config{Self: "http://127.0.0.1:8200"})
	}
	fc := &fakeCore{
		StatusFunc: func(context.Context) core.Status { return core.Status{Initialized: true} },
		HandleRequestFunc: func(context.Context, *core.Request) (*core.Response, error) {
			return &core.Response{Data: map[string]any{"ok": true}}, nil
		},
	}
	return api.New(cfg, fc).Handler()
}

func serve(h http.Handler, method, path string, hdr map[string]string) *http.Response {
	r := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result()
}

func TestUIMountedOnlyWhenEnabled(t *testing.T) {
	on := uiServer(t, true)
	for _, p := range []string{"/", "/ui"} {
		resp := serve(on, http.MethodGet, p, nil)
		if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "/ui/" {
			t.Errorf("ui on: GET %s = %d → %q, want 307 → /ui/", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp := serve(on, http.MethodGet, "/ui/", nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("ui on: GET /ui/ = %d, headers %v", resp.StatusCode, resp.Header)
	}
	if resp := serve(on, http.MethodGet, "/ui/js/", nil); resp.StatusCode != 404 {
		t.Errorf("ui on: directory /ui/js/ = %d, want 404", resp.StatusCode)
	}

	off := uiServer(t, false)
	for _, p := range []string{"/", "/ui", "/ui/", "/ui/index.html", "/ui/js/app.js"} {
		if resp := serve(off, http.MethodGet, p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("ui off: GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
	// The API is unaffected either way.
	for _, h := range []http.Handler{on, off} {
		if resp := serve(h, http.MethodGet, "/v1/sys/seal-status", nil); resp.StatusCode != 200 {
			t.Errorf("seal-status = %d", resp.StatusCode)
		}
	}
}

func TestCORSOnlyForClusterOrigins(t *testing.T) {
	h := uiServer(t, true, "http://127.0.0.2:8200")
	pre := map[string]string{"Origin": "http://127.0.0.2:8200", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-vault-token,content-type"}
	resp := serve(h, http.MethodOptions, "/v1/sys/unseal", pre)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("allowed preflight = %d, want 204", resp.StatusCode)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "http://127.0.0.2:8200" {
		t.Errorf("Allow-Origin = %q", got)
	}
	if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Error("credentials must not be allowed: tokens travel in headers")
	}
	for _, want := range []string{"X-Vault-Token", "Content-Type"} {
		if !containsFold(resp.Header.Get("Access-Control-Allow-Headers"), want) {
			t.Errorf("Allow-Headers %q lacks %s", resp.Header.Get("Access-Control-Allow-Headers"), want)
		}
	}
	// An authenticated cross-origin preflight reaches the logical paths too.
	if resp := serve(h, http.MethodOptions, "/v1/secret/data/x", pre); resp.StatusCode != http.StatusNoContent {
		t.Errorf("preflight on a logical path = %d", resp.StatusCode)
	}
	resp = serve(h, http.MethodGet, "/v1/sys/seal-status", map[string]string{"Origin": "http://127.0.0.2:8200"})
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.2:8200" {
		t.Errorf("allowed GET = %d, Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}

	evil := map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "PUT"}
	if resp := serve(h, http.MethodOptions, "/v1/sys/unseal", evil); resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign preflight = %d, Allow-Origin %q; want 403 and none", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp = serve(h, http.MethodGet, "/v1/sys/seal-status", map[string]string{"Origin": "http://evil.example"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign GET got Allow-Origin %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}
	// No configured origins: nobody.
	none := uiServer(t, true)
	if resp := serve(none, http.MethodOptions, "/v1/sys/unseal", pre); resp.StatusCode != http.StatusForbidden {
		t.Errorf("preflight with no cluster origins = %d, want 403", resp.StatusCode)
	}
}

func containsFold(list, item string) bool {
	for _, p := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(p), item) {
			return true
		}
	}
	return false
}

// A forwarded request's answer already carries the active node's CORS
// headers; the browser must still see exactly one Allow-Origin.
func TestCORSForwardedAnswerHasOneAllowOrigin(t *testing.T) {
	cfg := api.Config{
		CORSOrigins: func(context.Context) []string { return []string{"http://127.0.0.2:8200"} },
		Forward: func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("Access-Control-Allow-Origin", r.Header.Get("Origin")) // as the active node answered
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(`{"data":{}}`))
			})
		},
	}
	h := api.New(cfg, &fakeCore{}).Handler()
	resp := serve(h, http.MethodGet, "/v1/secret/data/x", map[string]string{"Origin": "http://127.0.0.2:8200", "X-Vault-Token": "t"})
	if got := resp.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != "http://127.0.0.2:8200" {
		t.Fatalf("Allow-Origin = %q, want exactly one", got)
	}
}
