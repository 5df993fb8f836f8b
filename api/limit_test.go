package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultd/vaultd/admission"
	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

func doReq(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader("{}")))
	return w
}

func limitErrors(t *testing.T, w *httptest.ResponseRecorder) []string {
	t.Helper()
	var body struct{ Errors []string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	return body.Errors
}

// The CPU pool reaches engines through the request context, and its
// refusal is a 429 with Retry-After and a Vault error body.
func TestCPUGateRefusalIs429WithRetryAfter(t *testing.T) {
	pool := admission.NewPool(admission.PoolConfig{Size: 1, Queue: 1, MaxWait: time.Millisecond})
	hold, _ := pool.Acquire(context.Background())
	defer hold()
	c := &fakeCore{HandleRequestFunc: func(ctx context.Context, _ *core.Request) (*core.Response, error) {
		release, err := secrets.AcquireCPU(ctx)
		if err != nil {
			return nil, err
		}
		release()
		return &core.Response{}, nil
	}}
	h := api.New(api.Config{CPU: pool}, c).Handler()
	w := doReq(t, h, http.MethodPost, "/v1/auth/userpass/login/alice")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d Retry-After %q, want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if e := limitErrors(t, w); len(e) != 1 || !strings.Contains(e[0], "overloaded") {
		t.Fatalf("errors %q", e)
	}
}

// A storage write whose leader went away mid-flight is a 503 with
// Retry-After that says the outcome is unknown, never a 500 with raft's text.
func TestLeadershipLossIs503NotRaftText(t *testing.T) {
	c := &fakeCore{HandleRequestFunc: func(context.Context, *core.Request) (*core.Response, error) {
		return nil, fmt.Errorf("raftstore: txn: %w: %w", storage.ErrUnavailable, fmt.Errorf("raft: leadership lost while committing log"))
	}}
	w := doReq(t, api.New(api.Config{}, c).Handler(), http.MethodPut, "/v1/secret/x")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("status %d Retry-After %q, want 503 / 1", w.Code, w.Header().Get("Retry-After"))
	}
	e := limitErrors(t, w)
	if len(e) != 1 || strings.Contains(e[0], "raft") || !strings.Contains(e[0], "unknown") {
		t.Fatalf("errors %q", e)
	}
}

// A write whose storage precondition kept failing (storage.ErrConflict:
// nothing was written) is a 409 that says so, not a 500 and not the
// "outcome unknown" 503.
func TestStorageConflictIs409(t *testing.T) {
	c := &fakeCore{HandleRequestFunc: func(context.Context, *core.Request) (*core.Response, error) {
		return nil, fmt.Errorf("kv: txn: raftstore: apply: check %q: %w", "logical/x/metadata/k", storage.ErrConflict)
	}}
	w := doReq(t, api.New(api.Config{}, c).Handler(), http.MethodPut, "/v1/secret/data/k")
	if w.Code != http.StatusConflict {
		t.Fatalf("status %d, want 409", w.Code)
	}
	e := limitErrors(t, w)
	if len(e) != 1 || !strings.Contains(e[0], "nothing was written") || strings.Contains(e[0], "logical/") {
		t.Fatalf("errors %q", e)
	}
}

// Above the request limit, client requests get 503 with Retry-After at
// once; health, seal status, leader and the cluster port never do.
func TestRequestLimiter(t *testing.T) {
	lim := admission.NewLimiter(admission.LimiterConfig{MinLimit: 1, MaxLimit: 1, InitialLimit: 1})
	entered, unblock := make(chan struct{}), make(chan struct{})
	c := &fakeCore{
		StatusFunc: func(context.Context) core.Status { return core.Status{Initialized: true} },
		HandleRequestFunc: func(_ context.Context, req *core.Request) (*core.Response, error) {
			if req.Path == "secret/slow" {
				close(entered)
				<-unblock
			}
			return &core.Response{}, nil
		},
	}
	srv := api.New(api.Config{Limiter: lim}, c)
	h := srv.Handler()
	done := make(chan struct{})
	go func() { defer close(done); doReq(t, h, http.MethodGet, "/v1/secret/slow") }()
	<-entered
	w := doReq(t, h, http.MethodGet, "/v1/secret/other")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("over the limit: status %d Retry-After %q, want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	for _, p := range []string{"/v1/sys/health", "/v1/sys/seal-status", "/v1/sys/leader"} {
		if w := doReq(t, h, http.MethodGet, p); w.Code != http.StatusOK {
			t.Errorf("%s under a full limiter: %d, want 200", p, w.Code)
		}
	}
	// A forwarded request carries the client address the standby saw.
	fr := httptest.NewRequest(http.MethodGet, "/v1/secret/other", strings.NewReader("{}"))
	fr.Header.Set(api.HeaderClientAddr, "10.0.0.1")
	fw := httptest.NewRecorder()
	srv.ClusterHandler().ServeHTTP(fw, fr)
	if fw.Code != http.StatusNoContent {
		t.Errorf("cluster-port handler under a full limiter: %d, want 204", fw.Code)
	}
	close(unblock)
	<-done
	if w := doReq(t, h, http.MethodGet, "/v1/secret/other"); w.Code != http.StatusNoContent {
		t.Fatalf("after the slot freed: %d", w.Code)
	}
}

// A request that core refuses with ErrStandby (the node stopped being
// active after the forwarder let it through, so nothing was proposed) is
// forwarded once to the new active node, body intact, instead of failing.
func TestStandbyAfterAdmissionIsForwarded(t *testing.T) {
	var active atomic.Bool
	active.Store(true)
	c := &fakeCore{HandleRequestFunc: func(context.Context, *core.Request) (*core.Response, error) {
		active.Store(false) // leadership lost just before core looked
		return nil, core.ErrStandby
	}}
	var forwardedBody string
	fwd := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if active.Load() {
				next.ServeHTTP(w, r)
				return
			}
			b, _ := io.ReadAll(r.Body)
			forwardedBody = string(b)
			w.WriteHeader(http.StatusNoContent) // the new active answered
		})
	}
	h := api.New(api.Config{Forward: fwd}, c).Handler()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPut, "/v1/secret/x", strings.NewReader(`{"a":"b"}`)))
	if w.Code != http.StatusNoContent || forwardedBody != `{"a":"b"}` {
		t.Fatalf("status %d, forwarded body %q; want 204 from the new active with the body intact", w.Code, forwardedBody)
	}
	// Already forwarded to us: never forwarded again, a 503 with Retry-After.
	active.Store(true)
	w = httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPut, "/v1/secret/x", strings.NewReader(`{}`))
	r.Header.Set("X-Vaultd-Forwarded-By", "n2")
	h.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("forwarded request: status %d Retry-After %q, want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
}
