package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrFailover is returned when the failover measurement cannot run.
var ErrFailover = errors.New("failover measurement")

// Failover is the result of -failover.
type Failover struct {
	Killed    string `json:"killed_node"`
	KilledPID int    `json:"killed_pid"`
	NewActive string `json:"new_active"`
	// Unavailable runs from the SIGKILL to the completion of the first
	// successful write that was sent after it.
	Unavailable Millis `json:"unavailable_ms"`
	// Gap runs from the last write that succeeded before the kill to the
	// first that succeeded after it (what a client observes).
	Gap          Millis         `json:"gap_ms"`
	ErrorsByCode map[string]int `json:"errors_by_status,omitempty"`
}

type event struct {
	start, end time.Time
	status     int
	ok         bool
}

// measureFailover runs a write load through the standbys of a spawned
// cluster, kills the active node with SIGKILL after warmup and waits until
// writes succeed again (at most timeout).
func measureFailover(ctx context.Context, c *cluster, mk func(addr string) (kvClient, error), l *load, timeout time.Duration) (*Failover, error) {
	if len(c.nodes) < 3 {
		return nil, fmt.Errorf("%w: needs -spawn 3 or more", ErrFailover)
	}
	act, err := c.activeNode(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFailover, err)
	}
	l.clients = l.clients[:0]
	for _, n := range c.nodes {
		if n == act {
			continue
		}
		kc, err := mk(n.addr)
		if err != nil {
			return nil, err
		}
		l.clients = append(l.clients, kc)
	}
	if err := l.prepare(ctx); err != nil {
		return nil, fmt.Errorf("%w: writes through the standbys fail before the kill (is request forwarding implemented?): %v", ErrFailover, err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	logs := make([][]event, l.workers)
	var killNanos atomic.Int64 // unix nanos of the kill, 0 before it
	recovered := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := range l.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kc := l.clients[w%len(l.clients)]
			for i := w; runCtx.Err() == nil; i++ {
				t0 := time.Now()
				_, st, err := kc.Write(runCtx, l.keys[i%len(l.keys)], -1, false)
				if runCtx.Err() != nil {
					return
				}
				logs[w] = append(logs[w], event{t0, time.Now(), st, err == nil})
				if k := killNanos.Load(); err == nil && k != 0 && t0.UnixNano() >= k {
					once.Do(func() { close(recovered) })
				}
				if err != nil {
					time.Sleep(5 * time.Millisecond) // do not spin on connection refused
				}
			}
		}()
	}
	time.Sleep(max(l.warmup, time.Second))
	pid := act.cmd.Process.Pid
	killAt := time.Now()
	killNanos.Store(killAt.UnixNano())
	act.kill()
	// Keep the load on until a write sent after the kill has succeeded.
	select {
	case <-recovered:
	case <-time.After(timeout):
	case <-ctx.Done():
	}
	time.Sleep(200 * time.Millisecond)
	stop()
	wg.Wait()
	newAct, err := c.activeNode(ctx, act)
	if err != nil {
		return nil, fmt.Errorf("%w: no new active within %s", ErrFailover, timeout)
	}
	var all []event
	for _, l := range logs {
		all = append(all, l...)
	}
	slices.SortFunc(all, func(a, b event) int { return a.end.Compare(b.end) })
	f := &Failover{Killed: act.id, KilledPID: pid, NewActive: newAct.id, ErrorsByCode: map[string]int{}}
	var lastOK, back time.Time
	for _, e := range all {
		if e.ok && e.end.Before(killAt) {
			lastOK = e.end
		}
		if !e.ok && e.end.After(killAt) {
			f.ErrorsByCode[statusName(e.status)]++
		}
		if e.ok && !e.start.Before(killAt) && back.IsZero() {
			back = e.end
		}
	}
	if back.IsZero() {
		return nil, fmt.Errorf("%w: no write succeeded within %s of the kill", ErrFailover, timeout)
	}
	f.Unavailable = Millis(back.Sub(killAt))
	if !lastOK.IsZero() {
		f.Gap = Millis(back.Sub(lastOK))
	}
	return f, nil
}
