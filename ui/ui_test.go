package ui_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/ui"
)

func newHandler() http.Handler {
	return ui.Handler(ui.Config{
		Self: "http://127.0.0.1:8200",
		Nodes: func(context.Context) []string {
			return []string{"http://127.0.0.1:8200", "HTTP://127.0.0.2:8200/", "not a url", "ftp://x"}
		},
	})
}

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	h := newHandler()
	for _, p := range []string{"/ui/", "/ui/js/app.js", "/ui/app.css", "/ui/nodes.json", "/ui/missing.js", "/ui/js/", "/ui/../ui.go"} {
		resp := get(t, h, http.MethodGet, p)
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "frame-ancestors 'none'",
			"connect-src 'self' http://127.0.0.1:8200 http://127.0.0.2:8200;"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "ftp:") || strings.Contains(csp, "not a url") {
			t.Errorf("%s: CSP is not strict: %q", p, csp)
		}
		if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s: X-Frame-Options = %q", p, got)
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options = %q", p, got)
		}
		if got := resp.Header.Get("Set-Cookie"); got != "" {
			t.Errorf("%s: sets a cookie %q", p, got)
		}
	}
}

func TestServesFilesWithTypes(t *testing.T) {
	h := newHandler()
	for p, ct := range map[string]string{
		"/ui/":               "text/html",
		"/ui/index.html":     "text/html",
		"/ui/js/app.js":      "text/javascript",
		"/ui/js/pages/kv.js": "text/javascript",
		"/ui/app.css":        "text/css",
		"/ui/favicon.svg":    "image/svg+xml",
		"/ui/nodes.json":     "application/json",
	} {
		resp := get(t, h, http.MethodGet, p)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", p, resp.StatusCode)
			continue
		}
		if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, ct) {
			t.Errorf("%s: Content-Type %q, want %s", p, got, ct)
		}
	}
	body, _ := io.ReadAll(get(t, h, http.MethodGet, "/ui/").Body)
	if !strings.Contains(string(body), `<script type="module" src="/ui/js/app.js">`) {
		t.Errorf("index.html does not load the app module")
	}
	if head := get(t, h, http.MethodHead, "/ui/app.css"); head.StatusCode != 200 {
		t.Errorf("HEAD: %d", head.StatusCode)
	}
}

// No HTML file may carry an inline script, style or event handler: the
// CSP would block it, so it would be a silent bug.
func TestNoInlineScriptsOrStyles(t *testing.T) {
	h := newHandler()
	body, _ := io.ReadAll(get(t, h, http.MethodGet, "/ui/index.html").Body)
	s := strings.ToLower(string(body))
	for _, bad := range []string{"<style", " style=", " onclick=", " onload=", "javascript:"} {
		if strings.Contains(s, bad) {
			t.Errorf("index.html contains %q", bad)
		}
	}
	if strings.Count(s, "<script") != strings.Count(s, "<script type=\"module\" src=") {
		t.Errorf("index.html has a script without src")
	}
}

func TestNoListingsAndNotFound(t *testing.T) {
	h := newHandler()
	for _, p := range []string{"/ui/js/", "/ui/js", "/ui/js/pages/", "/ui/nope.js", "/ui/static/index.html",
		"/ui/../ui.go", "/ui/js/../app.css", "/ui//app.css", "/ui/app.css/", "/other", "/ui"} {
		resp := get(t, h, http.MethodGet, p)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, resp.StatusCode)
		}
		b, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(b), "app.js") || strings.Contains(string(b), "<a href") {
			t.Errorf("%s: answer looks like a listing: %q", p, b)
		}
	}
	if resp := get(t, h, http.MethodPost, "/ui/"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /ui/: %d, want 405", resp.StatusCode)
	}
}

func TestNodesJSON(t *testing.T) {
	resp := get(t, newHandler(), http.MethodGet, "/ui/nodes.json")
	var got struct {
		Self  string   `json:"self"`
		Nodes []string `json:"nodes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Self != "http://127.0.0.1:8200" || strings.Join(got.Nodes, ",") != "http://127.0.0.1:8200,http://127.0.0.2:8200" {
		t.Errorf("nodes.json = %+v", got)
	}
}

// Every file the UI ships is reachable, and every module it imports exists.
func TestEmbeddedModulesResolve(t *testing.T) {
	h := newHandler()
	for _, p := range []string{"js/app.js", "js/api.js", "js/dom.js", "js/nodes.js", "js/pages/cluster.js", "js/pages/init.js",
		"js/pages/unseal.js", "js/pages/login.js", "js/pages/kv.js", "js/pages/policies.js", "js/pages/transit.js"} {
		resp := get(t, h, http.MethodGet, "/ui/"+p)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
		b, _ := io.ReadAll(resp.Body)
		for _, line := range strings.Split(string(b), "\n") {
			_, rest, ok := strings.Cut(line, " from '")
			if !ok || !strings.HasPrefix(line, "import") {
				continue
			}
			mod, _, _ := strings.Cut(rest, "'")
			dir := p[:strings.LastIndex(p, "/")]
			target := cleanJoin(dir, mod)
			if r := get(t, h, http.MethodGet, "/ui/"+target); r.StatusCode != 200 {
				t.Errorf("%s imports %s (%s): %d", p, mod, target, r.StatusCode)
			}
		}
	}
}

func cleanJoin(dir, rel string) string {
	parts := strings.Split(dir, "/")
	for _, seg := range strings.Split(rel, "/") {
		switch seg {
		case ".":
		case "..":
			parts = parts[:len(parts)-1]
		default:
			parts = append(parts, seg)
		}
	}
	p := strings.Join(parts, "/")
	if !fs.ValidPath(p) {
		return "invalid"
	}
	return p
}

func TestOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8200":        "http://127.0.0.1:8200",
		"HTTPS://Vault.Example:8200/x": "https://vault.example:8200",
		"127.0.0.1:8200":               "",
		"":                             "",
		"javascript:alert(1)":          "",
	} {
		if got := ui.Origin(in); got != want {
			t.Errorf("Origin(%q) = %q, want %q", in, got, want)
		}
	}
}
