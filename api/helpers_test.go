package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/version"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fakeCore is an api.Core whose behaviour each test sets through the Func
// fields. An unset field answers with a neutral value (or an error for
// Init/Unseal/HandleRequest, which then reads as a 500).
type fakeCore struct {
	StatusFunc        func(ctx context.Context) core.Status
	InitFunc          func(ctx context.Context, req core.InitRequest, enc core.ShareEncrypter) (core.InitResult, error)
	UnsealFunc        func(ctx context.Context, share []byte) (core.Status, error)
	ResetUnsealFunc   func(ctx context.Context) core.Status
	LeaderFunc        func(ctx context.Context) core.LeaderInfo
	HandleRequestFunc func(ctx context.Context, req *core.Request) (*core.Response, error)
}

var _ api.Core = (*fakeCore)(nil)

var errUnset = errors.New("fakeCore: method not set by the test")

func (f *fakeCore) Status(ctx context.Context) core.Status {
	if f.StatusFunc == nil {
		return core.Status{}
	}
	return f.StatusFunc(ctx)
}

func (f *fakeCore) Init(ctx context.Context, req core.InitRequest, enc core.ShareEncrypter) (core.InitResult, error) {
	if f.InitFunc == nil {
		return core.InitResult{}, errUnset
	}
	return f.InitFunc(ctx, req, enc)
}

func (f *fakeCore) Unseal(ctx context.Context, share []byte) (core.Status, error) {
	if f.UnsealFunc == nil {
		return core.Status{}, errUnset
	}
	return f.UnsealFunc(ctx, share)
}

func (f *fakeCore) UnsealMigrate(ctx context.Context, share []byte, migrate bool) (core.Status, error) {
	if migrate {
		return core.Status{}, errUnset
	}
	return f.Unseal(ctx, share)
}

func (f *fakeCore) ResetUnseal(ctx context.Context) core.Status {
	if f.ResetUnsealFunc == nil {
		return core.Status{}
	}
	return f.ResetUnsealFunc(ctx)
}

func (f *fakeCore) Leader(ctx context.Context) core.LeaderInfo {
	if f.LeaderFunc == nil {
		return core.LeaderInfo{}
	}
	return f.LeaderFunc(ctx)
}

func (f *fakeCore) HandleRequest(ctx context.Context, req *core.Request) (*core.Response, error) {
	if f.HandleRequestFunc == nil {
		return nil, errUnset
	}
	return f.HandleRequestFunc(ctx, req)
}

// recorder captures the core.Requests HandleRequest saw.
type recorder struct {
	mu   sync.Mutex
	reqs []*core.Request
}

func (r *recorder) add(req *core.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
}

// take returns the only request seen since the previous take and resets.
func (r *recorder) take(t *testing.T) *core.Request {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) != 1 {
		t.Fatalf("core saw %d requests, want 1", len(r.reqs))
	}
	req := r.reqs[0]
	r.reqs = nil
	return req
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// echoCore records every request and answers with resp (or 204 when nil).
func echoCore(rec *recorder, resp *core.Response) *fakeCore {
	return &fakeCore{HandleRequestFunc: func(_ context.Context, req *core.Request) (*core.Response, error) {
		rec.add(req)
		if resp == nil {
			return &core.Response{}, nil
		}
		return resp, nil
	}}
}

// lockedBuffer is an io.Writer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newServer starts an httptest server over fc.
func newServer(t *testing.T, cfg api.Config, fc api.Core) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(api.New(cfg, fc).Handler())
	t.Cleanup(srv.Close)
	return srv
}

// newClient is the official Vault client for srv, with no retries and no
// token taken from the environment.
func newClient(t *testing.T, srv *httptest.Server) *vaultapi.Client {
	t.Helper()
	cfg := vaultapi.DefaultConfig()
	cfg.Address = srv.URL
	cfg.MaxRetries = 0
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatalf("vault client: %v", err)
	}
	c.ClearToken()
	c.ClearNamespace()
	return c
}

type rawResp struct {
	code   int
	header http.Header
	body   []byte
}

// do sends one raw request; body may be nil.
func do(t *testing.T, srv *httptest.Server, method, path string, body io.Reader, hdr map[string]string) rawResp {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return rawResp{code: resp.StatusCode, header: resp.Header, body: b}
}

// errorsOf decodes {"errors":[...]} and fails unless the body is exactly
// that shape.
func errorsOf(t *testing.T, body []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("error body is not JSON: %v: %q", err, body)
	}
	raw, ok := m["errors"]
	if !ok || len(m) != 1 {
		t.Fatalf("error body %q: want exactly the key \"errors\"", body)
	}
	var errs []string
	if err := json.Unmarshal(raw, &errs); err != nil || errs == nil {
		t.Fatalf("errors %s: want a JSON array of strings (err %v)", raw, err)
	}
	return errs
}

var (
	uuidRE       = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	serverTimeRE = regexp.MustCompile(`"server_time_utc":[0-9]+`)
)

// normalize replaces the parts that change per run.
func normalize(b []byte) []byte {
	b = uuidRE.ReplaceAll(b, []byte("<request-id>"))
	b = bytes.ReplaceAll(b, []byte(`"version":"`+version.Get().Version+`"`), []byte(`"version":"<version>"`))
	b = bytes.ReplaceAll(b, []byte(`"build_date":"`+version.Get().BuildDate+`"`), []byte(`"build_date":"<build-date>"`))
	return serverTimeRE.ReplaceAll(b, []byte(`"server_time_utc":0`))
}

// golden compares got (normalized) with testdata/name byte for byte;
// -update rewrites the file.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	got = normalize(got)
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s mismatch\n got: %s\nwant: %s", path, got, want)
	}
}

func jsonBody(t *testing.T, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
