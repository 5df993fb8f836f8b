package tokens

import (
	"container/heap"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// expirationTick is how often the expiration manager looks for expired
// tokens. Expired tokens are refused at lookup the moment they expire; the
// manager only cleans them (and their children and cubbyholes) up.
const expirationTick = 500 * time.Millisecond

// expiration tracks token expiry times in memory on the active node and
// revokes tokens once they expire. It is rebuilt from storage every time a
// node becomes active (so it survives failover) and stopped on step-down.
// The zero value is ready: track/untrack are no-ops until start.
type expiration struct {
	mu      sync.Mutex // guards everything below
	running bool
	h       expHeap
	latest  map[string]time.Time // idHash → the expiry the heap should act on
	cancel  context.CancelFunc
	done    chan struct{}
}

type expItem struct {
	at     time.Time
	idHash string
}

type expHeap []expItem

func (h expHeap) Len() int           { return len(h) }
func (h expHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expHeap) Push(x any)        { *h = append(*h, x.(expItem)) }
func (h *expHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// track records (or moves) idHash's expiry. A zero time untracks it.
func (e *expiration) track(idHash string, at time.Time) {
	if at.IsZero() {
		e.untrack(idHash)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.running {
		return
	}
	if cur, ok := e.latest[idHash]; ok && cur.Equal(at) {
		return
	}
	e.latest[idHash] = at
	heap.Push(&e.h, expItem{at: at, idHash: idHash})
}

func (e *expiration) untrack(idHash string) {
	e.mu.Lock()
	if e.running {
		delete(e.latest, idHash) // its heap item is skipped when popped
	}
	e.mu.Unlock()
}

// due pops every tracked token whose expiry is not after now.
func (e *expiration) due(now time.Time) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for e.h.Len() > 0 && !e.h[0].at.After(now) {
		it := heap.Pop(&e.h).(expItem)
		if cur, ok := e.latest[it.idHash]; ok && cur.Equal(it.at) {
			delete(e.latest, it.idHash)
			out = append(out, it.idHash)
		}
	}
	return out
}

// StartExpiration loads every token's expiry and starts the manager.
// Tokens whose last use was in flight when a previous active node stopped
// (NumUses = -1) are revoked now.
func (ts *Store) StartExpiration(ctx context.Context, log *slog.Logger) error {
	ts.StopExpiration()
	e := &ts.exp
	e.mu.Lock()
	e.running = true
	e.h = e.h[:0]
	e.latest = map[string]time.Time{}
	e.mu.Unlock()
	var usedUp []string
	err := ts.ForEach(ctx, func(te *Entry) error {
		if te.NumUses < 0 {
			usedUp = append(usedUp, te.IDHash)
			return nil
		}
		e.track(te.IDHash, te.ExpireTime)
		return nil
	})
	if err != nil {
		ts.StopExpiration()
		return err
	}
	for _, h := range usedUp {
		if err := ts.RevokeTree(ctx, h); err != nil {
			log.Warn("revoking a used-up token failed; will retry on the next setup", "error", err)
		}
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	e.mu.Lock()
	e.cancel, e.done = cancel, done
	e.mu.Unlock()
	go ts.expirationLoop(rctx, log, done)
	return nil
}

// StopExpiration stops the manager and waits for it. Idempotent.
func (ts *Store) StopExpiration() {
	e := &ts.exp
	e.mu.Lock()
	cancel, done := e.cancel, e.done
	e.cancel, e.done, e.running = nil, nil, false
	e.h, e.latest = nil, nil
	e.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (ts *Store) expirationLoop(ctx context.Context, log *slog.Logger, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(expirationTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ts.RevokeExpired(ctx, log)
	}
}

// RevokeExpired revokes every tracked token that has expired by now. A
// token renewed meanwhile is re-tracked instead.
func (ts *Store) RevokeExpired(ctx context.Context, log *slog.Logger) int {
	now := ts.now()
	n := 0
	for _, h := range ts.exp.due(now) {
		if ctx.Err() != nil {
			return n
		}
		te, err := ts.GetByHash(ctx, h)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			log.Warn("expiration: reading a token failed; will retry", "error", err)
			ts.exp.track(h, now.Add(expirationTick))
			continue
		}
		if !te.Expired(now) {
			ts.exp.track(h, te.ExpireTime)
			continue
		}
		if err := ts.RevokeTree(ctx, h); err != nil {
			log.Warn("expiration: revoking an expired token failed; will retry", "error", err)
			ts.exp.track(h, now.Add(expirationTick))
			continue
		}
		ts.stats.expired.Add(1)
		n++
	}
	return n
}
