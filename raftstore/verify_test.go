package raftstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// fakeRound is a raft.Future the test resolves by hand.
type fakeRound struct {
	release chan error
}

func (f *fakeRound) Error() error { return <-f.release }

// fakeRaft hands out fakeRounds and reports each start.
type fakeRaft struct {
	started chan *fakeRound
}

func (r *fakeRaft) VerifyLeader() raft.Future {
	f := &fakeRound{release: make(chan error, 1)}
	r.started <- f
	return f
}

func recvRound(t *testing.T, ch <-chan *fakeRound) *fakeRound {
	t.Helper()
	select {
	case f := <-ch:
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no VerifyLeader round started")
		return nil
	}
}

// TestVerifier_NextRoundSemantics pins the coalescing contract: callers that
// arrive while a round is in flight are not answered by it, but all share
// the single next round.
func TestVerifier_NextRoundSemantics(t *testing.T) {
	fr := &fakeRaft{started: make(chan *fakeRound, 10)}
	v := newVerifier(fr.VerifyLeader, nil)
	ctx := t.Context()

	firstDone := make(chan error, 1)
	go func() { firstDone <- v.verify(ctx) }()
	round1 := recvRound(t, fr.started)

	// 50 callers arrive while round 1 is in flight.
	const n = 50
	var answered atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	var queued sync.WaitGroup
	queued.Add(n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			queued.Done()
			err := v.verify(ctx)
			answered.Add(1)
			errs <- err
		}()
	}
	queued.Wait()
	// Make sure they all joined the pending round before round 1 ends.
	deadline := time.Now().Add(5 * time.Second)
	for {
		v.mu.Lock()
		joined := v.pending != nil && v.pending.waiters == n
		v.mu.Unlock()
		if joined {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("late callers did not queue for the next round")
		}
		time.Sleep(time.Millisecond)
	}

	round1.release <- nil
	if err := <-firstDone; err != nil {
		t.Fatalf("first caller: %v", err)
	}
	round2 := recvRound(t, fr.started)
	if got := answered.Load(); got != 0 {
		t.Fatalf("%d late callers were answered by the round that started before them", got)
	}
	notLeader := raft.ErrNotLeader
	round2.release <- notLeader
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, raft.ErrNotLeader) {
			t.Fatalf("late caller err = %v, want round 2's ErrNotLeader", err)
		}
	}
	if got := v.rounds.Load(); got != 2 {
		t.Fatalf("rounds = %d, want 2 for 51 callers", got)
	}
	select {
	case f := <-fr.started:
		t.Fatalf("unexpected extra round %p", f)
	default:
	}
	v.wait()
}

func TestVerifier_ContextCancel(t *testing.T) {
	fr := &fakeRaft{started: make(chan *fakeRound, 10)}
	v := newVerifier(fr.VerifyLeader, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- v.verify(ctx) }()
	round := recvRound(t, fr.started)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("verify after cancel = %v, want context.Canceled", err)
	}
	round.release <- nil
	v.wait()
	// The runner is idle again: a new caller starts a new round.
	go func() { done <- v.verify(t.Context()) }()
	recvRound(t, fr.started).release <- nil
	if err := <-done; err != nil {
		t.Fatalf("verify = %v", err)
	}
	v.wait()
}

// TestVerifier_StopEndsStuckRound: raft never answers a VerifyLeader still
// queued when it shuts down; closing the store must end the round anyway.
func TestVerifier_StopEndsStuckRound(t *testing.T) {
	fr := &fakeRaft{started: make(chan *fakeRound, 10)}
	stop := make(chan struct{})
	v := newVerifier(fr.VerifyLeader, stop)
	done := make(chan error, 1)
	go func() { done <- v.verify(t.Context()) }()
	recvRound(t, fr.started) // never released
	close(stop)
	select {
	case err := <-done:
		if !errors.Is(err, raft.ErrRaftShutdown) {
			t.Fatalf("verify = %v, want ErrRaftShutdown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("verify still blocked after stop")
	}
	v.wait()
}
