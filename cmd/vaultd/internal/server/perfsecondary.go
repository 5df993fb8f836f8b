package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/vaultd/vaultd/api/forward"
	"github.com/vaultd/vaultd/core"
)

// A performance secondary forwards every request that writes to the
// primary's active node over HTTPS (the primary's API address from the
// activation, verified with the ca_file/ca_path given at enable): the
// client's token, headers and body go as they are, and the primary's
// answer comes back unchanged (core/perfsecondary.go, docs/replication.md).

// perfLocalWrites are the write paths a performance secondary serves
// itself: its own replication role, its own raft cluster, its own seal
// state.
var perfLocalWrites = []string{"sys/replication/", "sys/storage/raft/", "sys/step-down", "sys/seal", "sys/unseal"}

// perfWrites reports whether r must go to the primary: anything but a
// read or list, and a read that asks for a wrapped answer (wrapping
// writes a token).
func perfWrites(r *http.Request) bool {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	for _, p := range perfLocalWrites {
		if strings.HasPrefix(path, p) {
			return false
		}
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, "LIST":
		return r.Header.Get("X-Vault-Wrap-TTL") != ""
	}
	return true
}

// perfGate sends the writes of a performance secondary's clients to the
// primary, on every node of the secondary (a standby too: it needs no
// detour through its own active node).
func perfGate(c *core.Core, p *primaryProxy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.IsPerfSecondary() && !c.Sealed() && r.Header.Get(forward.HeaderForwardedBy) == "" && perfWrites(r) {
			if localMount(r) {
				writeErr(w, http.StatusBadRequest, "local mounts are not supported on a performance secondary in this version: every mount replicates from the primary (mount it there without local=true)")
				return
			}
			p.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// localMount reports whether r enables a mount or auth method with
// local=true (the body is read and put back; bodyLimit bounds it).
// Forwarded, such a mount would be made on the primary and replicate,
// the opposite of what local asks for: it is refused instead.
func localMount(r *http.Request) bool {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	if !strings.HasPrefix(path, "sys/mounts/") && !strings.HasPrefix(path, "sys/auth/") || r.Body == nil {
		return false
	}
	b, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return false // the primary answers the truncated body's error
	}
	var d struct {
		Local any `json:"local"`
	}
	if json.Unmarshal(b, &d) != nil {
		return false
	}
	switch v := d.Local.(type) {
	case bool:
		return v
	case string:
		ok, _ := strconv.ParseBool(v)
		return ok
	}
	return false
}

// primaryProxy is the reverse proxy to the primary's API.
type primaryProxy struct {
	c   *core.Core
	log *slog.Logger

	mu  sync.Mutex
	key string // addr, ca file, ca path of rp
	rp  *httputil.ReverseProxy
}

func newPrimaryProxy(c *core.Core, log *slog.Logger) *primaryProxy {
	return &primaryProxy{c: c, log: log.With("component", "perf-forward")}
}

func (p *primaryProxy) proxy() (*httputil.ReverseProxy, error) {
	addr, caFile, caPath, ok := p.c.PerfPrimary()
	if !ok {
		return nil, fmt.Errorf("this cluster is not a performance secondary")
	}
	key := addr + "\x00" + caFile + "\x00" + caPath
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rp != nil && p.key == key {
		return p.rp, nil
	}
	u := strings.TrimSuffix(addr, "/")
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		u = "https://" + u
	}
	target, err := url.Parse(u)
	if err != nil {
		return nil, fmt.Errorf("the primary's API address: %w", err)
	}
	tr, err := primaryTransport(caFile, caPath)
	if err != nil {
		return nil, err
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = target.Host
		},
		Transport: tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.log.Warn("forwarding a request to the primary failed", "path", r.URL.Path, "error", err)
			writeErr(w, http.StatusBadGateway, "this performance secondary could not forward the request to the primary: "+err.Error())
		},
	}
	if old := p.rp; old != nil {
		if t, ok := old.Transport.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
	}
	p.rp, p.key = rp, key
	return rp, nil
}

// handler is p as api.Config.ForwardPrimary (nil without replication).
func (p *primaryProxy) handler() http.Handler {
	if p == nil {
		return nil
	}
	return p
}

// ServeHTTP forwards r to the primary.
func (p *primaryProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rp, err := p.proxy()
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	rp.ServeHTTP(w, r)
}
