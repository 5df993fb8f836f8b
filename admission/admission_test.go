package admission

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPoolBoundsAndQueue(t *testing.T) {
	p := NewPool(PoolConfig{Size: 2, Queue: 1, MaxWait: time.Minute})
	ctx := context.Background()
	r1, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		r, err := p.Acquire(ctx) // queued
		if err == nil {
			r()
		}
		got <- err
	}()
	waitFor(t, func() bool { return p.Stats().Waiting == 1 })
	_, err = p.Acquire(ctx) // queue full: refused at once
	var rej *Rejection
	if !errors.As(err, &rej) || !errors.Is(err, ErrOverloaded) || rej.Unavailable {
		t.Fatalf("4th Acquire: %v, want a 429 Rejection", err)
	}
	if s := RetryAfterSeconds(rej); s < 1 || s > 30 {
		t.Fatalf("Retry-After %d out of [1,30]", s)
	}
	r1()
	r1() // idempotent
	if err := <-got; err != nil {
		t.Fatalf("queued Acquire: %v", err)
	}
	r2()
	if s := p.Stats(); s.InUse != 0 || s.Admitted != 3 || s.Rejected != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestPoolWaitDeadlineAndCancel(t *testing.T) {
	p := NewPool(PoolConfig{Size: 1, Queue: 4, MaxWait: 20 * time.Millisecond})
	r, _ := p.Acquire(context.Background())
	defer r()
	if _, err := p.Acquire(context.Background()); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("wait past MaxWait: %v, want ErrOverloaded", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if w := p.Stats().Waiting; w != 0 {
		t.Fatalf("waiting %d after refusals", w)
	}
}

func TestPoolNeverExceedsSize(t *testing.T) {
	p := NewPool(PoolConfig{Size: 3, Queue: 1000, MaxWait: 10 * time.Second})
	var cur, peak atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := p.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			n := cur.Add(1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			cur.Add(-1)
			r()
		}()
	}
	wg.Wait()
	if peak.Load() > 3 {
		t.Fatalf("peak concurrency %d > size 3", peak.Load())
	}
}

// fakeClock drives the limiter's latency samples.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// drive runs n requests at concurrency c, each taking rtt, and reports
// how many were refused.
func drive(l *Limiter, clk *fakeClock, n, c int, rtt time.Duration) (refused int) {
	for i := 0; i < n; i += c {
		var dones []func()
		for range c {
			d, err := l.Acquire()
			if err != nil {
				refused++
				continue
			}
			dones = append(dones, d)
		}
		clk.t = clk.t.Add(rtt)
		for _, d := range dones {
			d()
		}
	}
	return refused
}

func TestLimiterAdapts(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	l := NewLimiter(LimiterConfig{MinLimit: 8, MaxLimit: 1000, InitialLimit: 50})
	l.now = clk.now
	// Saturating load at steady latency: the limit grows.
	drive(l, clk, 20000, 60, 5*time.Millisecond)
	grown := l.Stats().Limit
	if grown <= 50 {
		t.Fatalf("limit %d did not grow under steady latency", grown)
	}
	// Latency climbs tenfold at full concurrency: the limit shrinks.
	drive(l, clk, 4000, grown, 50*time.Millisecond)
	shrunk := l.Stats().Limit
	if shrunk >= grown {
		t.Fatalf("limit %d did not shrink from %d when latency rose", shrunk, grown)
	}
	if shrunk < 8 {
		t.Fatalf("limit %d below MinLimit", shrunk)
	}
	// Above the limit, requests are refused with 503.
	var held []func()
	for range shrunk {
		d, err := l.Acquire()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, d)
	}
	_, err := l.Acquire()
	var rej *Rejection
	if !errors.As(err, &rej) || !rej.Unavailable {
		t.Fatalf("above the limit: %v, want a 503 Rejection", err)
	}
	for _, d := range held {
		d()
	}
	if s := l.Stats(); s.InFlight != 0 || s.Rejected == 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestLimiterIdleDoesNotShrink(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	l := NewLimiter(LimiterConfig{MinLimit: 8, InitialLimit: 100})
	l.now = clk.now
	// A few slow requests at low concurrency tell nothing about capacity.
	drive(l, clk, 2000, 2, 200*time.Millisecond)
	if got := l.Stats().Limit; got != 100 {
		t.Fatalf("limit %d changed under app-limited load", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// A waiter whose expected wait exceeds MaxWait is refused at once, not
// after waiting in vain (were it queued, this test would sit for a minute).
func TestPoolRefusesHopelessWaitsAtOnce(t *testing.T) {
	p := NewPool(PoolConfig{Size: 1, Queue: 100, MaxWait: time.Minute})
	p.service = 40 * time.Second // as if each call held its slot 40s
	r, _ := p.Acquire(context.Background())
	got := make(chan error, 1)
	go func() {
		r, err := p.Acquire(context.Background()) // expects 40s ≤ 1m: queued
		if err == nil {
			r()
		}
		got <- err
	}()
	waitFor(t, func() bool { return p.Stats().Waiting == 1 })
	_, err := p.Acquire(context.Background()) // expects 80s > 1m: refused now
	var rej *Rejection
	if !errors.As(err, &rej) {
		t.Fatalf("hopeless waiter: %v, want a Rejection", err)
	}
	if s := RetryAfterSeconds(rej); s != 30 {
		t.Fatalf("Retry-After %ds, want the 30s cap for an 80s backlog", s)
	}
	r()
	if err := <-got; err != nil {
		t.Fatalf("queued waiter: %v", err)
	}
}
