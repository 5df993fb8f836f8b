package api_test

import (
	"bufio"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/admission"
	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/api/monitor"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/secrets"
)

// capsCore answers sys/capabilities-self with caps for the token "good"
// and refuses every other token, recording the requests it saw.
func capsCore(rec *recorder, caps []string) *fakeCore {
	return &fakeCore{HandleRequestFunc: func(_ context.Context, req *core.Request) (*core.Response, error) {
		rec.add(req)
		if req.ClientToken != "good" {
			return nil, secrets.Errorf(secrets.ErrPermissionDenied, "permission denied")
		}
		if req.Path != "sys/capabilities-self" || req.Operation != secrets.OpUpdate {
			return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unexpected %s %s", req.Operation, req.Path)
		}
		return &core.Response{Data: map[string]any{"capabilities": caps, "sys/monitor": caps}}, nil
	}}
}

func TestMonitor_StreamsWithSudo(t *testing.T) {
	b := monitor.New()
	log := slog.New(b.Handler(slog.DiscardHandler))
	var rec recorder
	srv := newServer(t, api.Config{Monitor: b}, capsCore(&rec, []string{"read", "sudo"}))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/sys/monitor?log_level=debug&log_format=json", nil)
	req.Header.Set("X-Vault-Token", "good")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	if got := rec.take(t); got.Path != "sys/capabilities-self" || got.Data["paths"] == nil {
		t.Fatalf("authorization request %+v", got)
	}
	// The subscription exists once the headers are out: a record logged
	// now arrives.
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(10 * time.Second)
	for {
		log.Debug("hello from the node", "n", 1)
		select {
		case l := <-lines:
			if !strings.Contains(l, `"msg":"hello from the node"`) || !strings.Contains(l, `"level":"DEBUG"`) {
				t.Fatalf("line %q", l)
			}
			b.Close() // node shutdown ends the stream
			for range lines {
			}
			return
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal("no line streamed")
		}
	}
}

func TestMonitor_Refusals(t *testing.T) {
	b := monitor.New()
	var rec recorder
	noSudo := newServer(t, api.Config{Monitor: b}, capsCore(&rec, []string{"read"}))
	good := map[string]string{"X-Vault-Token": "good"}
	for _, tc := range []struct {
		name, query string
		hdr         map[string]string
		code        int
		err         string
	}{
		{"no sudo", "", good, http.StatusForbidden, "permission denied"},
		{"no token", "", nil, http.StatusForbidden, "permission denied"},
		{"bad token", "", map[string]string{"X-Vault-Token": "bad"}, http.StatusForbidden, "permission denied"},
		{"bad level", "?log_level=loud", good, http.StatusBadRequest, `unknown log level "loud"`},
		{"bad format", "?log_format=xml", good, http.StatusBadRequest, `unknown log format "xml"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, noSudo, http.MethodGet, "/v1/sys/monitor"+tc.query, nil, tc.hdr)
			if r.code != tc.code {
				t.Fatalf("status %d, want %d (%s)", r.code, tc.code, r.body)
			}
			if errs := errorsOf(t, r.body); len(errs) != 1 || !strings.Contains(errs[0], tc.err) {
				t.Fatalf("errors %q, want %q", errs, tc.err)
			}
		})
	}
	// After shutdown, a root token gets 503 instead of a stream.
	root := newServer(t, api.Config{Monitor: b}, capsCore(&rec, []string{"root"}))
	b.Close()
	if r := do(t, root, http.MethodGet, "/v1/sys/monitor", nil, good); r.code != http.StatusServiceUnavailable {
		t.Fatalf("after Close: status %d, want 503", r.code)
	}
}

// A monitor stream lasts as long as the operator watches: it holds no
// slot of the request limiter (which would starve other requests and feed
// the limiter one huge latency sample).
func TestMonitor_ExemptFromTheRequestLimiter(t *testing.T) {
	b := monitor.New()
	defer b.Close()
	lim := admission.NewLimiter(admission.LimiterConfig{MinLimit: 1, MaxLimit: 1, InitialLimit: 1})
	var rec recorder
	srv := newServer(t, api.Config{Monitor: b, Limiter: lim}, capsCore(&rec, []string{"root"}))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/sys/monitor", nil)
	req.Header.Set("X-Vault-Token", "good")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("monitor: status %d", resp.StatusCode)
	}
	// The stream is open; an ordinary request is still admitted.
	r := do(t, srv, http.MethodGet, "/v1/secret/x", nil, map[string]string{"X-Vault-Token": "good"})
	if r.code == http.StatusServiceUnavailable || r.code == http.StatusTooManyRequests {
		t.Fatalf("a request during a monitor stream was refused by the limiter: %d %s", r.code, r.body)
	}
}

// max_request_duration does not cut a monitor stream (Vault gives its
// streaming endpoints no timeout).
func TestMonitor_OutlivesMaxRequestDuration(t *testing.T) {
	b := monitor.New()
	defer b.Close()
	log := slog.New(b.Handler(slog.DiscardHandler))
	var rec recorder
	srv := newServer(t, api.Config{Monitor: b, MaxRequestDuration: 50 * time.Millisecond}, capsCore(&rec, []string{"root"}))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/sys/monitor", nil)
	req.Header.Set("X-Vault-Token", "good")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// Well past the request deadline, a record still arrives.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		log.Info("still streaming")
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended at max_request_duration")
			}
			if strings.Contains(l, "still streaming") {
				select {
				case <-time.After(300 * time.Millisecond): // 6 × the request deadline
				case <-ctx.Done():
				}
				log.Info("later")
				for l := range lines {
					if strings.Contains(l, "later") {
						return
					}
				}
				t.Fatal("the stream ended at max_request_duration")
			}
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("no line streamed")
}
