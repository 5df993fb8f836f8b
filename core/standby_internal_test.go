package core

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
