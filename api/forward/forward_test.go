package forward

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeActive is a configurable view of who is active.
type fakeActive struct {
	active      atomic.Bool
	api, clAddr string
	err         error
	lookups     atomic.Int32
}

func (f *fakeActive) IsActive() bool { return f.active.Load() }
func (f *fakeActive) ActiveAddr(context.Context) (string, string, error) {
	f.lookups.Add(1)
	return f.api, f.clAddr, f.err
}

// activeServer is the "active node": an h2c server (the cluster port's
// forwarding protocol minus TLS) running next behind its own Forwarder.
func activeServer(t *testing.T, next http.Handler) (addr string, seen chan *http.Request) {
	t.Helper()
	seen = make(chan *http.Request, 10)
	me := &fakeActive{}
	me.active.Store(true)
	f := New(me, nil, "active", nil, Options{})
	srv := httptest.NewUnstartedServer(f.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r
		next.ServeHTTP(w, r)
	})))
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	srv.Config.Protocols = &p
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), seen
}

func tcpDial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

func TestForward_RelaysByteForByte(t *testing.T) {
	body := `{"data":{"v":"1"},"weird":  "spacing"}` + "\n"
	addr, seen := activeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Custom", "a")
		w.Header().Add("X-Custom", "b")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, body+string(b))
	}))
	sb := &fakeActive{api: "http://active:8200", clAddr: "https://" + addr}
	f := New(sb, tcpDial, "standby-1", nil, Options{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("PUT", "/v1/secret/data/app?x=1", strings.NewReader("payload"))
	req.Header.Set("X-Vault-Token", "tok")
	f.Wrap(http.NotFoundHandler()).ServeHTTP(rec, req)
	if rec.Code != http.StatusTeapot || rec.Body.String() != body+"payload" {
		t.Fatalf("relayed %d %q", rec.Code, rec.Body.String())
	}
	if got := rec.Header().Values("X-Custom"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("headers not relayed: %v", rec.Header())
	}
	r := <-seen
	if r.Header.Get(HeaderForwardedBy) != "standby-1" || r.Header.Get("X-Vault-Token") != "tok" || r.URL.RawQuery != "x=1" || r.Method != "PUT" {
		t.Fatalf("forwarded request = %s %s %v", r.Method, r.URL, r.Header)
	}
}

func TestForward_ActivePassesThrough(t *testing.T) {
	a := &fakeActive{}
	a.active.Store(true)
	f := New(a, func(context.Context, string) (net.Conn, error) { return nil, errors.New("must not dial") }, "n1", nil, Options{})
	rec := httptest.NewRecorder()
	f.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })).ServeHTTP(rec, httptest.NewRequest("GET", "/v1/x", nil))
	if rec.Code != 204 || a.lookups.Load() != 0 {
		t.Fatalf("active: %d lookups=%d", rec.Code, a.lookups.Load())
	}
}

func TestForward_Errors(t *testing.T) {
	deadAddr := func() string { // a port nobody listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a := l.Addr().String()
		l.Close()
		return a
	}()
	hang := func(ctx context.Context, _ string) (net.Conn, error) { <-ctx.Done(); return nil, ctx.Err() }
	cases := []struct {
		name   string
		view   *fakeActive
		dial   DialFunc
		hdr    map[string]string
		code   int
		substr string
	}{
		{"loop guard", &fakeActive{clAddr: "https://x:1"}, tcpDial, map[string]string{HeaderForwardedBy: "n2"}, 503, "not forwarding it again"},
		{"no active node", &fakeActive{err: errors.New("no leader")}, tcpDial, nil, 503, "no active node"},
		{"dead active", &fakeActive{clAddr: "https://" + deadAddr}, tcpDial, nil, 503, "unreachable"},
		{"dial hangs", &fakeActive{clAddr: "https://10.255.255.1:8201"}, hang, nil, 503, "unreachable"},
		{"no forwarding header", &fakeActive{api: "http://active:8200/", clAddr: "https://x:1"}, tcpDial, map[string]string{HeaderNoForwarding: "true"}, 307, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := New(tc.view, tc.dial, "n1", nil, Options{DialTimeout: 300 * time.Millisecond, LookupTimeout: 300 * time.Millisecond})
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/v1/secret/data/app?version=2", nil)
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			start := time.Now()
			f.Wrap(http.NotFoundHandler()).ServeHTTP(rec, req)
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("took %s", d)
			}
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.substr) {
				t.Fatalf("got %d %s", rec.Code, rec.Body.String())
			}
			if tc.code == 503 && rec.Header().Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
			if tc.code == 307 && rec.Header().Get("Location") != "http://active:8200/v1/secret/data/app?version=2" {
				t.Fatalf("Location = %q", rec.Header().Get("Location"))
			}
		})
	}
}

// The request ID hook's value travels in HeaderRequestID (a client's own
// header never does), and Observe sees every forwarded request and
// whether forwarding failed.
func TestForward_RequestIDAndObserve(t *testing.T) {
	addr, seen := activeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	type obs struct {
		failed bool
	}
	var got []obs
	opts := Options{
		RequestID: func(ctx context.Context) string { return "the-standby-id" },
		Observe:   func(d time.Duration, failed bool) { got = append(got, obs{failed}) },
	}
	f := New(&fakeActive{clAddr: "https://" + addr}, tcpDial, "standby-1", nil, opts)
	req := httptest.NewRequest("GET", "/v1/kv/x", nil)
	req.Header.Set(HeaderRequestID, "client-chosen")
	rec := httptest.NewRecorder()
	f.Wrap(http.NotFoundHandler()).ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("code %d", rec.Code)
	}
	if r := <-seen; r.Header.Get(HeaderRequestID) != "the-standby-id" || len(r.Header.Values(HeaderRequestID)) != 1 {
		t.Errorf("forwarded request ID header %v", r.Header.Values(HeaderRequestID))
	}
	// No active node known, then an unreachable one: both failures.
	for _, a := range []*fakeActive{{}, {clAddr: "https://127.0.0.1:1"}} {
		f := New(a, tcpDial, "standby-1", nil, opts)
		f.Wrap(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v1/kv/x", nil))
	}
	if len(got) != 3 || got[0].failed || !got[1].failed || !got[2].failed {
		t.Errorf("observations %+v, want ok, failed, failed", got)
	}
}
