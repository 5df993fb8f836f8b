package admission

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// PoolConfig sizes a Pool. Zero values take the defaults.
type PoolConfig struct {
	// Size is how many CPU-heavy calls run at once; default GOMAXPROCS.
	Size int
	// Queue is how many more may wait at most; default 64·Size. Fewer are
	// let in when the expected wait (queue length × the mean hold time ÷
	// Size) would exceed MaxWait: those are refused at once rather than
	// after waiting in vain.
	Queue int
	// MaxWait bounds one wait; default 2s. A request's own context
	// deadline, when earlier, wins.
	MaxWait time.Duration
}

// Pool bounds CPU-heavy work. Waiters are served in arrival order.
// The zero value is not usable; use NewPool.
type Pool struct {
	size    int
	queue   int64
	maxWait time.Duration
	slots   chan struct{}
	waiting atomic.Int64

	mu      sync.Mutex
	service time.Duration // EWMA of one call's hold time (starts at 10ms)

	admitted, rejected atomic.Uint64
}

// NewPool builds a pool from cfg (defaults for zero fields).
func NewPool(cfg PoolConfig) *Pool {
	if cfg.Size <= 0 {
		cfg.Size = runtime.GOMAXPROCS(0)
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 64 * cfg.Size
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 2 * time.Second
	}
	return &Pool{size: cfg.Size, queue: int64(cfg.Queue), maxWait: cfg.MaxWait,
		slots: make(chan struct{}, cfg.Size), service: 10 * time.Millisecond}
}

// Acquire takes a slot, waiting in the bounded queue for at most MaxWait.
// It returns a *Rejection when the queue is full or the wait runs out, and
// ctx.Err() when the caller gave up. release must be called exactly once.
func (p *Pool) Acquire(ctx context.Context) (func(), error) {
	select {
	case p.slots <- struct{}{}:
		return p.admit(), nil
	default:
	}
	if n := p.waiting.Add(1); n > p.queue || p.expectedWait(n) > p.maxWait {
		p.waiting.Add(-1)
		return nil, p.reject()
	}
	defer p.waiting.Add(-1)
	t := time.NewTimer(p.maxWait)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
		return p.admit(), nil
	case <-t.C:
		return nil, p.reject()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Pool) admit() func() {
	p.admitted.Add(1)
	start := time.Now()
	var once sync.Once
	return func() {
		once.Do(func() {
			d := time.Since(start)
			p.mu.Lock()
			p.service += (d - p.service) / 8
			p.mu.Unlock()
			<-p.slots
		})
	}
}

// expectedWait is how long the n-th waiter can expect to wait.
func (p *Pool) expectedWait(n int64) time.Duration {
	p.mu.Lock()
	svc := p.service
	p.mu.Unlock()
	return time.Duration(n) * svc / time.Duration(p.size)
}

func (p *Pool) reject() error {
	p.rejected.Add(1)
	p.mu.Lock()
	svc := p.service
	p.mu.Unlock()
	// Everyone queued ahead drains at size per service time.
	wait := time.Duration(p.waiting.Load()+int64(p.size)) * svc / time.Duration(p.size)
	return &Rejection{What: "CPU-heavy request", RetryAfter: retryHint(wait)}
}

// PoolStats is a snapshot of a Pool's counters.
type PoolStats struct {
	Size, InUse, Waiting, Queue int
	MaxWait                     time.Duration
	Admitted, Rejected          uint64
}

// Stats reports the pool's state.
func (p *Pool) Stats() PoolStats {
	return PoolStats{Size: p.size, InUse: len(p.slots), Waiting: int(p.waiting.Load()), Queue: int(p.queue), MaxWait: p.maxWait,
		Admitted: p.admitted.Load(), Rejected: p.rejected.Load()}
}
