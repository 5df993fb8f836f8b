package raftstore_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/vaultd/vaultd/raftstore"
)

// testWriter forwards to t.Output() until the test's cleanup runs, then
// drops writes: raft goroutines may still log while they shut down, and
// writing to a finished test panics.
type testWriter struct {
	mu   sync.Mutex
	w    io.Writer
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	return w.w.Write(p)
}

// testLogger logs to the test's output (shown with -v or on failure).
// Register it before anything that logs, so its cleanup runs last.
func testLogger(t testing.TB) *slog.Logger {
	tw := &testWriter{w: t.Output()}
	t.Cleanup(func() {
		tw.mu.Lock()
		tw.done = true
		tw.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(tw, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// nodeConfig is a config for a real node: bolt in dir, TCP on a free
// loopback port (port 0; the bound address is Store.Addr).
func nodeConfig(t testing.TB, id, dir string) raftstore.Config {
	cfg := raftstore.DefaultConfig()
	cfg.NodeID = id
	cfg.DataDir = dir
	cfg.BindAddr = "127.0.0.1:0"
	cfg.Logger = testLogger(t)
	cfg.ApplyTimeout = 5 * time.Second
	return cfg
}

// openStore opens cfg and closes the store at the end of the test.
func openStore(t testing.TB, cfg raftstore.Config) *raftstore.Store {
	t.Helper()
	s, err := raftstore.Open(cfg)
	if err != nil {
		t.Fatalf("Open(%s): %v", cfg.NodeID, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close(%s): %v", cfg.NodeID, err)
		}
	})
	return s
}

// bootstrapped returns a single-node store that is leader.
func bootstrapped(t testing.TB, cfg raftstore.Config) *raftstore.Store {
	t.Helper()
	s := openStore(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Bootstrap(ctx); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	return s
}

// inmemConfig is a config for an in-memory single node.
func inmemConfig(t testing.TB, id string) raftstore.Config {
	cfg := raftstore.DefaultConfig()
	cfg.NodeID = id
	cfg.InMemory = true
	cfg.BindAddr = ""
	cfg.Logger = testLogger(t)
	return cfg
}

// waitFor polls cond every 5ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// waitLeader waits until one of stores is leader and returns it.
func waitLeader(t testing.TB, timeout time.Duration, stores ...*raftstore.Store) *raftstore.Store {
	t.Helper()
	var leader *raftstore.Store
	waitFor(t, timeout, "a leader", func() bool {
		for _, s := range stores {
			if s.IsLeader() {
				leader = s
				return true
			}
		}
		return false
	})
	return leader
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
