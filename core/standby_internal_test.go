package core

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// Concurrent reads share read index requests, and no read is answered by
// a request that was already in flight when it arrived (that request may
// predate writes acknowledged before the read).
func TestIndexBatcher_SharesAndNeverJoinsInFlight(t *testing.T) {
	var b indexBatcher
	var calls atomic.Uint64
	release := make(chan struct{})
	started := make(chan uint64, 16)
	fetch := func(ctx context.Context) (uint64, error) {
		n := calls.Add(1)
		started <- n
		<-release
		return n * 100, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	first := make(chan uint64, 1)
	go func() {
		idx, _, err := b.get(ctx, fetch)
		if err != nil {
			t.Error(err)
		}
		first <- idx
	}()
	if n := <-started; n != 1 {
		t.Fatalf("first request = %d", n)
	}
	// Request 1 is in flight: these callers must wait for request 2.
	var wg sync.WaitGroup
	got := make([]uint64, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			idx, _, err := b.get(ctx, fetch)
			if err != nil {
				t.Error(err)
			}
			got[i] = idx
		}()
	}
	waitUntil(t, func() bool { // all eight joined the next request
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.pending != nil && b.pending.waiters == len(got)
	})
	release <- struct{}{} // finish request 1
	if idx := <-first; idx != 100 {
		t.Fatalf("first caller got %d, want 100", idx)
	}
	if n := <-started; n != 2 {
		t.Fatalf("second request = %d", n)
	}
	release <- struct{}{}
	wg.Wait()
	for i, idx := range got {
		if idx < 200 {
			t.Fatalf("caller %d was answered by the request in flight when it arrived (index %d)", i, idx)
		}
	}
	if calls.Load() != 2 {
		t.Fatalf("%d requests for 9 reads, want 2: not shared", calls.Load())
	}
	close(release)
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

type fakeReads struct{ applied uint64 }

func (f fakeReads) ReadIndex(context.Context) (uint64, error) { return f.applied, nil }
func (f fakeReads) WaitApplied(context.Context, uint64) error { return nil }
func (f fakeReads) AppliedIndex() uint64                      { return f.applied }

// stateCore is a Core with just what state tokens need.
func stateCore(t testing.TB, clusterID string, salt byte, applied uint64) *Core {
	t.Helper()
	b := inmem.New()
	if err := b.Put(context.Background(), &storage.Entry{Key: tokens.SaltKey, Value: bytes.Repeat([]byte{salt}, 32)}); err != nil {
		t.Fatal(err)
	}
	c := &Core{cfg: Config{Reads: fakeReads{applied}}, tokens: tokens.NewStore(b, time.Now)}
	if err := c.tokens.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.info.Store(&clusterInfo{ID: clusterID})
	return c
}

func TestStateToken_RoundTripAndRefusals(t *testing.T) {
	c := stateCore(t, "cluster-a", 1, 42)
	tok := c.StateToken()
	if idx, err := c.stateIndex([]string{tok}); err != nil || idx != 42 {
		t.Fatalf("own token: %d, %v", idx, err)
	}
	other := stateCore(t, "cluster-b", 2, 99).StateToken()
	sameIDOtherSalt := stateCore(t, "cluster-a", 3, 99).StateToken()
	for name, bad := range map[string]string{
		"another cluster": other, "another salt": sameIDOtherSalt, "not base64": "%%%", "empty": "",
		"no mac": base64.StdEncoding.EncodeToString([]byte("v1:cluster-a:50:0")),
	} {
		if _, err := c.stateIndex([]string{tok, bad}); !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want a 400", name, err)
		}
	}
	c2 := stateCore(t, "cluster-a", 1, 7)
	if idx, err := c.stateIndex([]string{tok, c2.StateToken()}); err != nil || idx != 42 {
		t.Fatalf("highest of two: %d, %v", idx, err)
	}
}

func FuzzStateToken(f *testing.F) {
	c := stateCore(f, "cluster-a", 1, 42)
	f.Add(c.StateToken())
	f.Add("")
	f.Add(base64.StdEncoding.EncodeToString([]byte("v1:cluster-a:1:0:00")))
	f.Fuzz(func(t *testing.T, s string) {
		idx, err := c.stateIndex([]string{s})
		if err == nil && idx != 42 {
			// Only a state this cluster signed parses, and it signed only
			// index 42.
			t.Fatalf("accepted a token the cluster did not make: %q (index %d)", s, idx)
		}
	})
}
