package kubernetes_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vaultd/vaultd/serviceregistration/kubernetes"
	"github.com/vaultd/vaultd/tests/fakek8s"
)

// state is a settable state source.
type state struct {
	mu sync.Mutex
	s  kubernetes.State
}

func (s *state) get(context.Context) kubernetes.State { s.mu.Lock(); defer s.mu.Unlock(); return s.s }
func (s *state) set(v kubernetes.State)               { s.mu.Lock(); s.s = v; s.mu.Unlock() }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func labelsAre(srv *fakek8s.Server, want map[string]string) func() bool {
	return func() bool {
		got, _ := srv.Labels("vault", "vault-0")
		for k, v := range want {
			if got[k] != v {
				return false
			}
		}
		return true
	}
}

type harness struct {
	srv    *fakek8s.Server
	st     *state
	reg    *kubernetes.Registration
	dir    string
	cancel context.CancelFunc
	done   chan struct{}
}

func start(t *testing.T, podLabels map[string]string, resync time.Duration) *harness {
	t.Helper()
	srv := fakek8s.New(t, "sa-token-1")
	srv.AddPod("vault", "vault-0", podLabels)
	host, port := srv.HostPort()
	h := &harness{srv: srv, st: &state{}, dir: srv.ServiceAccountDir(t), done: make(chan struct{})}
	env := map[string]string{"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}
	reg, err := kubernetes.New(kubernetes.Config{
		Namespace: "vault", PodName: "vault-0", ServiceAccountDir: h.dir, Version: "0.1.0+dev",
		State: h.st.get, Getenv: func(k string) string { return env[k] },
		Resync: resync, RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.reg = reg
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { reg.Run(ctx); close(h.done) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	h.cancel()
	<-h.done
}

func TestLabelsFollowState(t *testing.T) {
	h := start(t, map[string]string{"app.kubernetes.io/name": "vaultd"}, time.Hour)
	waitFor(t, "initial labels", labelsAre(h.srv, map[string]string{
		"vault-active": "false", "vault-sealed": "false", "vault-initialized": "false",
		"vault-perf-standby": "false", "vault-version": "0.1.0_dev", "app.kubernetes.io/name": "vaultd",
	}))
	steps := []struct {
		s    kubernetes.State
		want map[string]string
	}{
		{kubernetes.State{Initialized: true, Sealed: true}, map[string]string{"vault-initialized": "true", "vault-sealed": "true", "vault-active": "false"}},
		{kubernetes.State{Initialized: true}, map[string]string{"vault-sealed": "false", "vault-active": "false"}},
		{kubernetes.State{Initialized: true, Active: true}, map[string]string{"vault-active": "true"}},
		{kubernetes.State{Initialized: true}, map[string]string{"vault-active": "false"}}, // step-down
		{kubernetes.State{Initialized: true, Sealed: true, Active: true}, map[string]string{"vault-active": "false", "vault-sealed": "true"}},
	}
	for i, st := range steps {
		h.st.set(st.s)
		h.reg.Notify()
		waitFor(t, "labels of step "+string(rune('0'+i)), labelsAre(h.srv, st.want))
	}
	// Only changed labels are sent, with the JSON-patch content type and
	// the pod's token; one GET confirmed the labels map at start.
	gets, patches := 0, 0
	for _, r := range h.srv.Requests() {
		if r.Bearer != "sa-token-1" {
			t.Fatalf("request with bearer %q", r.Bearer)
		}
		switch r.Method {
		case "GET":
			gets++
		case "PATCH":
			patches++
			if r.ContentType != "application/json-patch+json" {
				t.Fatalf("PATCH with content type %q", r.ContentType)
			}
		}
	}
	if gets != 1 || patches != 1+len(steps) {
		t.Fatalf("%d GETs and %d PATCHes, want 1 and %d", gets, patches, 1+len(steps))
	}
	// Notify without a change sends nothing.
	h.reg.Notify()
	time.Sleep(100 * time.Millisecond)
	if n := len(h.srv.Requests()); n != gets+patches {
		t.Fatalf("a Notify without a state change sent %d requests", n-gets-patches)
	}
}

func TestPodWithoutLabels(t *testing.T) {
	h := start(t, nil, time.Hour)
	waitFor(t, "labels on a pod that had none", labelsAre(h.srv, map[string]string{"vault-active": "false", "vault-sealed": "false"}))
}

func TestRetriesAndNeverBlocks(t *testing.T) {
	srv := fakek8s.New(t, "tok")
	srv.AddPod("vault", "vault-0", map[string]string{})
	srv.FailNext(6, 503)
	host, port := srv.HostPort()
	st := &state{}
	st.set(kubernetes.State{Initialized: true, Active: true})
	reg, err := kubernetes.New(kubernetes.Config{
		Namespace: "vault", PodName: "vault-0", ServiceAccountDir: srv.ServiceAccountDir(t), State: st.get,
		Getenv: func(k string) string {
			return map[string]string{"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}[k]
		},
		RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Notify never blocks, whatever the API server does.
	start := time.Now()
	for range 10000 {
		reg.Notify()
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("10000 Notify calls took %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { reg.Run(ctx); close(done) }()
	waitFor(t, "labels after the API server recovers", labelsAre(srv, map[string]string{"vault-active": "true"}))
	if n := len(srv.Requests()); n < 7 {
		t.Fatalf("%d requests: the failures were not retried", n)
	}
	// Shutdown marks the pod not active.
	cancel()
	<-done
	if l, _ := srv.Labels("vault", "vault-0"); l["vault-active"] != "false" {
		t.Fatalf("after shutdown vault-active = %q", l["vault-active"])
	}
}

func TestTokenRotationAndResync(t *testing.T) {
	h := start(t, map[string]string{}, 100*time.Millisecond)
	waitFor(t, "initial labels", labelsAre(h.srv, map[string]string{"vault-sealed": "false"}))
	h.srv.SetToken("sa-token-2")
	if err := os.WriteFile(filepath.Join(h.dir, "token"), []byte("sa-token-2"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Someone removes a label by hand: the resync puts it back.
	h.srv.AddPod("vault", "vault-0", map[string]string{})
	waitFor(t, "labels restored by resync", labelsAre(h.srv, map[string]string{"vault-sealed": "false", "vault-active": "false"}))
	last := h.srv.Requests()
	if b := last[len(last)-1].Bearer; b != "sa-token-2" {
		t.Fatalf("after rotation the bearer is %q", b)
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	srv := fakek8s.New(t, "tok")
	dir := srv.ServiceAccountDir(t)
	host, port := srv.HostPort()
	env := func(k string) string {
		return map[string]string{"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}[k]
	}
	st := (&state{}).get
	cases := []kubernetes.Config{
		{PodName: "p", ServiceAccountDir: dir, State: st, Getenv: env},
		{Namespace: "n", ServiceAccountDir: dir, State: st, Getenv: env},
		{Namespace: "n", PodName: "p", ServiceAccountDir: dir, State: st, Getenv: func(string) string { return "" }},
		{Namespace: "n", PodName: "p", ServiceAccountDir: t.TempDir(), State: st, Getenv: env},
	}
	for i, c := range cases {
		if _, err := kubernetes.New(c); !errors.Is(err, kubernetes.ErrConfig) {
			t.Errorf("case %d: err = %v, want ErrConfig", i, err)
		}
	}
}
