package forward

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// Headers.
const (
	// HeaderForwardedBy names the standby that forwarded a request.
	HeaderForwardedBy = "X-Vaultd-Forwarded-By"
	// HeaderNoForwarding asks a standby for a 307 redirect instead.
	HeaderNoForwarding = "X-Vault-No-Request-Forwarding"
	// HeaderRequestID carries the standby's request ID to the active node,
	// which adopts it for requests that arrive over the cluster port, so
	// one request has one ID in both nodes' logs and in the answer.
	HeaderRequestID = "X-Vaultd-Request-Id"
)

// Active is what the forwarder needs from core (*core.Core satisfies it).
type Active interface {
	IsActive() bool
	// ActiveAddr returns the active node's api_addr and cluster_addr.
	ActiveAddr(ctx context.Context) (apiAddr, clusterAddr string, err error)
}

// DialFunc opens a forwarding connection to a cluster address (host:port).
type DialFunc func(ctx context.Context, addr string) (net.Conn, error)

// Options tunes the timeouts; zero values take the defaults.
type Options struct {
	// LookupTimeout bounds finding the active node's address (default 2 s).
	LookupTimeout time.Duration
	// DialTimeout bounds connecting to it (default 3 s).
	DialTimeout time.Duration
	// ResponseTimeout bounds waiting for the response headers (default 60 s).
	ResponseTimeout time.Duration
	// Observe, when set, is called once for every request this standby
	// tried to forward (not for loops refused nor redirects), with how long
	// it took and whether forwarding itself failed (no active node known,
	// or the active node unreachable): the forwarding metrics.
	Observe func(d time.Duration, failed bool)
	// RequestID, when set, returns the request ID of a request being
	// forwarded (sent in HeaderRequestID).
	RequestID func(ctx context.Context) string
	// Local, when set, picks the requests a standby tries to answer
	// itself (linearizable standby reads): they go to the wrapped handler,
	// which forwards them with ForceForward when it cannot.
	Local func(r *http.Request) bool
}

type forceKey struct{}

// ForceForward marks r to be forwarded even if Options.Local would pick it
// (the local attempt declined it).
func ForceForward(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), forceKey{}, true))
}

// Forwarder forwards standby requests to the active node.
type Forwarder struct {
	active  Active
	localID string
	log     *slog.Logger
	opts    Options
	proxy   *httputil.ReverseProxy
}

type ctxKey struct{}

// New builds a Forwarder. dial is used for every forwarded connection.
func New(a Active, dial DialFunc, localID string, log *slog.Logger, opts Options) *Forwarder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.LookupTimeout <= 0 {
		opts.LookupTimeout = 2 * time.Second
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 3 * time.Second
	}
	if opts.ResponseTimeout <= 0 {
		opts.ResponseTimeout = 60 * time.Second
	}
	f := &Forwarder{active: a, localID: localID, log: log.With("component", "forward"), opts: opts}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
			defer cancel()
			return dial(ctx, addr)
		},
		ResponseHeaderTimeout: opts.ResponseTimeout,
		IdleConnTimeout:       90 * time.Second,
		HTTP2:                 &http.HTTP2Config{SendPingTimeout: 10 * time.Second, PingTimeout: 3 * time.Second},
	}
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true) // prior knowledge over the mTLS conn dial returns
	tr.Protocols = &protos
	f.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			target, _ := pr.In.Context().Value(ctxKey{}).(*url.URL)
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set(HeaderForwardedBy, f.localID)
			pr.Out.Header.Del(HeaderRequestID) // never a client's
			if f.opts.RequestID != nil {
				if id := f.opts.RequestID(pr.In.Context()); id != "" {
					pr.Out.Header.Set(HeaderRequestID, id)
				}
			}
			// Rewrite drops inbound X-Forwarded-*; keep the client's address.
			if xff := pr.In.Header.Values("X-Forwarded-For"); len(xff) > 0 {
				pr.Out.Header["X-Forwarded-For"] = xff
			}
			pr.SetXForwarded()
		},
		Transport:    tr,
		ErrorHandler: f.proxyError,
		ErrorLog:     slog.NewLogLogger(f.log.Handler(), slog.LevelDebug),
	}
	return f
}

// Wrap returns a handler that serves on the active node and forwards on a
// standby.
func (f *Forwarder) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.active.IsActive() {
			next.ServeHTTP(w, r)
			return
		}
		if by := r.Header.Get(HeaderForwardedBy); by != "" {
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("request forwarded by node %q reached node %q, which is not active; not forwarding it again", by, f.localID))
			return
		}
		if f.opts.Local != nil && r.Context().Value(forceKey{}) == nil && f.opts.Local(r) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(r.Context(), f.opts.LookupTimeout)
		apiAddr, clusterAddr, err := f.active.ActiveAddr(ctx)
		cancel()
		if f.active.IsActive() {
			// This node became active while looking (it had just won an
			// election): serve here rather than forward to itself.
			next.ServeHTTP(w, r)
			return
		}
		if err != nil || clusterAddr == "" {
			f.log.Debug("no active node to forward to", "error", err)
			f.observe(start, true)
			writeError(w, http.StatusServiceUnavailable, "no active node is known to this standby; retry after the cluster has elected one")
			return
		}
		if r.Header.Get(HeaderNoForwarding) != "" {
			u, err := url.Parse(strings.TrimSuffix(apiAddr, "/") + r.URL.RequestURI())
			if apiAddr == "" || err != nil {
				writeError(w, http.StatusServiceUnavailable, "the active node has no usable api_addr to redirect to")
				return
			}
			http.Redirect(w, r, u.String(), http.StatusTemporaryRedirect)
			return
		}
		target := &url.URL{Scheme: "http", Host: hostPort(clusterAddr)}
		f.log.Debug("forwarding to the active node", "method", r.Method, "path", r.URL.Path, "request_id", f.requestID(r), "active_cluster_addr", clusterAddr)
		failed := false
		ctx = context.WithValue(r.Context(), ctxKey{}, target)
		ctx = context.WithValue(ctx, failedKey{}, &failed)
		f.proxy.ServeHTTP(w, r.WithContext(ctx))
		f.observe(start, failed)
	})
}

type failedKey struct{}

func (f *Forwarder) requestID(r *http.Request) string {
	if f.opts.RequestID == nil {
		return ""
	}
	return f.opts.RequestID(r.Context())
}

func (f *Forwarder) observe(start time.Time, failed bool) {
	if f.opts.Observe != nil {
		f.opts.Observe(time.Since(start), failed)
	}
}

func (f *Forwarder) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if p, ok := r.Context().Value(failedKey{}).(*bool); ok {
		*p = true
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away
	}
	f.log.Warn("forwarding to the active node failed", "path", r.URL.Path, "request_id", f.requestID(r), "error", err)
	writeError(w, http.StatusServiceUnavailable, "error forwarding the request to the active node: the active node is unreachable; retry shortly")
}

// hostPort strips a scheme from a cluster address ("https://h:p" → "h:p").
func hostPort(a string) string {
	if u, err := url.Parse(a); err == nil && u.Host != "" {
		return u.Host
	}
	return a
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1") // transient: an election or a restart
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []string{msg}})
}
