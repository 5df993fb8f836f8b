package ui_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzHandlerPath: whatever the path, the handler answers 200 only for a
// real embedded file (or the index and nodes.json), 404 otherwise, never
// panics, and always sends the CSP.
func FuzzHandlerPath(f *testing.F) {
	for _, s := range []string{"", "index.html", "js/app.js", "js/", "../ui.go", "js/../app.css", "%2e%2e/ui.go", "//app.css", "app.css/", "nodes.json", "static/app.css", "js/pages/kv.js"} {
		f.Add(s)
	}
	h := newHandler()
	f.Fuzz(func(t *testing.T, rel string) {
		u := &url.URL{Path: "/ui/" + rel}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL = u
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Header().Get("Content-Security-Policy") == "" {
			t.Fatalf("%q: no CSP", rel)
		}
		switch rec.Code {
		case http.StatusNotFound:
		case http.StatusOK:
			if rel != "" && rel != "nodes.json" && (!fs.ValidPath(rel) || strings.HasSuffix(rel, "/")) {
				t.Fatalf("%q: served a non-canonical path", rel)
			}
		default:
			t.Fatalf("%q: status %d", rel, rec.Code)
		}
	})
}
