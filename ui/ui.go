// Package ui serves vaultd's web UI: hand-written ES modules and CSS
// embedded in the binary, no build step. The UI talks to vaultd only
// through the public HTTP API (/v1/...), from the browser, directly to
// each node's api_addr (CORS, see api.Config.CORSOrigins).
//
// The handler serves exact files only: no directory listings, 404 for
// anything else, and every answer carries a strict Content-Security-Policy
// (no inline scripts or styles, connections only to this node and the
// cluster's other nodes), X-Frame-Options: DENY and nosniff.
package ui

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// Prefix is where the UI is mounted.
const Prefix = "/ui/"

// Config configures the UI handler.
type Config struct {
	// Self is this node's api_addr.
	Self string
	// Nodes returns the api_addr of every cluster node this node knows of
	// (itself included). The browser may connect to these origins (CSP
	// connect-src) and the cluster and unseal pages start with them.
	Nodes func(ctx context.Context) []string
}

// Handler serves the UI under Prefix (the caller routes /ui/* to it).
func Handler(cfg Config) http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	return &handler{cfg: cfg, files: sub}
}

type handler struct {
	cfg   Config
	files fs.FS
}

// Origin returns the scheme://host[:port] of an address, or "" when the
// address is not an absolute http(s) URL.
func Origin(addr string) string {
	u, err := url.Parse(strings.TrimSpace(addr))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

func (h *handler) nodes(ctx context.Context) []string {
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		if o := Origin(a); o != "" && !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	add(h.cfg.Self)
	if h.cfg.Nodes != nil {
		for _, a := range h.cfg.Nodes(ctx) {
			add(a)
		}
	}
	return out
}

func (h *handler) securityHeaders(w http.ResponseWriter, r *http.Request) {
	connect := []string{"'self'"}
	for _, o := range h.nodes(r.Context()) {
		connect = append(connect, o)
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src "+strings.Join(connect, " ")+"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.securityHeaders(w, r)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rel, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch rel {
	case "":
		rel = "index.html"
	case "nodes.json":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"self": Origin(h.cfg.Self), "nodes": h.nodes(r.Context())})
		return
	}
	// Only clean, exact file names: no "..", no "//", no directories.
	if rel != path.Clean(rel) || strings.HasPrefix(rel, "/") || (rel != "index.html" && strings.HasSuffix(r.URL.Path, "/")) || !fs.ValidPath(rel) {
		http.NotFound(w, r)
		return
	}
	b, err := fs.ReadFile(h.files, rel)
	if err != nil { // missing, or a directory
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(rel))
	switch path.Ext(rel) {
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b)
}
