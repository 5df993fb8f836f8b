package core

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/seal"
)

// auditCounters are the node's cumulative audit counts and the audit
// writes in progress (to tell a blocked device). The zero value is ready.
type auditCounters struct {
	requests, responses       atomic.Uint64
	reqFailures, respFailures atomic.Uint64
	reqNanos, respNanos       atomic.Int64 // time spent waiting for the devices

	mu       sync.Mutex
	seq      uint64
	inflight map[uint64]time.Time // write → when it started
}

// begin records a write in progress; the returned func ends it.
func (a *auditCounters) begin(response bool) func(failed bool) {
	start := time.Now()
	a.mu.Lock()
	if a.inflight == nil {
		a.inflight = map[uint64]time.Time{}
	}
	a.seq++
	id := a.seq
	a.inflight[id] = start
	a.mu.Unlock()
	return func(failed bool) {
		d := time.Since(start)
		a.mu.Lock()
		delete(a.inflight, id)
		a.mu.Unlock()
		if response {
			a.responses.Add(1)
			a.respNanos.Add(int64(d))
			if failed {
				a.respFailures.Add(1)
			}
			return
		}
		a.requests.Add(1)
		a.reqNanos.Add(int64(d))
		if failed {
			a.reqFailures.Add(1)
		}
	}
}

// oldest is how long the oldest audit write in progress has waited (0
// when none is).
func (a *auditCounters) oldest(now time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	var d time.Duration
	for _, t := range a.inflight {
		d = max(d, now.Sub(t))
	}
	return d
}

// AuditStats are the node's audit counts since the process started.
type AuditStats struct {
	// Requests and Responses count the entries sent to the devices;
	// the failures count those no device recorded (the request was
	// refused or failed closed).
	Requests, Responses               uint64
	RequestFailures, ResponseFailures uint64
	// RequestTime and ResponseTime are the total time requests waited for
	// the devices (time blocked on audit).
	RequestTime, ResponseTime time.Duration
	// Blocked is how long the oldest audit write still in progress has
	// waited; a device that stopped accepting writes shows here first.
	Blocked time.Duration
	// Devices is the number of enabled audit devices (active node only).
	Devices int
}

// Stats is a snapshot of one node's state and counters for the metrics.
type Stats struct {
	Sealed, Active, Initialized bool
	Barrier                     seal.Stats
	// KeyTerm and KeyEncryptions describe the barrier's active key term
	// (0 while sealed).
	KeyTerm        int
	KeyEncryptions uint64
	Tokens         tokens.Stats
	Audit          AuditStats
}

// Stats returns the node's state and counters. It never fails and does
// not touch storage.
func (c *Core) Stats() Stats {
	st := Stats{Sealed: c.barrier.Sealed(), Active: c.active.Load(), Initialized: c.initialized.Load(),
		Barrier: c.barrier.Stats(), Tokens: c.tokens.Stats()}
	if ki, err := c.barrier.KeyStatus(); err == nil {
		st.KeyTerm, st.KeyEncryptions = ki.Term, ki.Encryptions
	}
	a := &c.auditStats
	st.Audit = AuditStats{
		Requests: a.requests.Load(), Responses: a.responses.Load(),
		RequestFailures: a.reqFailures.Load(), ResponseFailures: a.respFailures.Load(),
		RequestTime: time.Duration(a.reqNanos.Load()), ResponseTime: time.Duration(a.respNanos.Load()),
		Blocked: a.oldest(time.Now()),
	}
	if b := c.ident.audit.Broker(); b != nil {
		st.Audit.Devices = len(b.Paths())
	}
	return st
}

// TokenCount returns how many tokens are stored (active node only: a
// standby answers ErrStandby). It lists storage: call it at scrape time,
// not per request.
func (c *Core) TokenCount(ctx context.Context) (int, error) {
	if !c.active.Load() {
		return 0, ErrStandby
	}
	return c.tokens.Count(ctx)
}
