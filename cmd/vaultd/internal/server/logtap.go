package server

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
)

// recentLogLines is how many log lines a node keeps for sys/monitor's
// recent=true (and so for `vaultd debug`).
const recentLogLines = 2000

// logTap keeps the node's recent log lines and feeds sys/monitor
// subscribers. It sees every record the node logs (its configured level)
// and, while a subscriber asks for a lower level, those records too.
// Log lines never hold secrets (docs/security.md); sys/monitor needs sudo.
type logTap struct {
	mu     sync.Mutex
	ring   [][]byte
	next   int
	subs   map[*logSub]struct{}
	minSub atomic.Int64 // lowest level a subscriber wants; maxLevel when none
	closed chan struct{}
	once   sync.Once
}

type logSub struct {
	level   slog.Level
	ch      chan []byte
	dropped atomic.Uint64
}

const maxLevel = int64(1 << 30)

func newLogTap() *logTap {
	t := &logTap{subs: map[*logSub]struct{}{}, closed: make(chan struct{})}
	t.minSub.Store(maxLevel)
	return t
}

// close ends every subscription (server shutdown).
func (t *logTap) close() { t.once.Do(func() { close(t.closed) }) }

func (t *logTap) subscribe(level slog.Level) *logSub {
	s := &logSub{level: level, ch: make(chan []byte, 512)}
	t.mu.Lock()
	t.subs[s] = struct{}{}
	t.recomputeLocked()
	t.mu.Unlock()
	return s
}

func (t *logTap) unsubscribe(s *logSub) {
	t.mu.Lock()
	delete(t.subs, s)
	t.recomputeLocked()
	t.mu.Unlock()
}

func (t *logTap) recomputeLocked() {
	m := maxLevel
	for s := range t.subs {
		m = min(m, int64(s.level))
	}
	t.minSub.Store(m)
}

// recent returns the kept lines, oldest first.
func (t *logTap) recent() [][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([][]byte, 0, len(t.ring))
	if len(t.ring) == recentLogLines {
		out = append(out, t.ring[t.next:]...)
		out = append(out, t.ring[:t.next]...)
	} else {
		out = append(out, t.ring...)
	}
	return out
}

func (t *logTap) add(line []byte, level slog.Level, keep bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if keep {
		if len(t.ring) < recentLogLines {
			t.ring = append(t.ring, line)
		} else {
			t.ring[t.next] = line
			t.next = (t.next + 1) % recentLogLines
		}
	}
	for s := range t.subs {
		if level < s.level {
			continue
		}
		select {
		case s.ch <- line:
		default:
			s.dropped.Add(1) // a slow reader never blocks logging
		}
	}
}

// tapHandler sends every record to the node's handler and, formatted as
// a text line, to the tap.
type tapHandler struct {
	inner slog.Handler
	tap   *logTap
	ops   []func(slog.Handler) slog.Handler // WithAttrs/WithGroup, in order
}

func (t *logTap) wrap(h slog.Handler) slog.Handler { return &tapHandler{inner: h, tap: t} }

func (h *tapHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l) || int64(l) >= h.tap.minSub.Load()
}

func (h *tapHandler) Handle(ctx context.Context, r slog.Record) error {
	keep := h.inner.Enabled(ctx, r.Level)
	var err error
	if keep {
		err = h.inner.Handle(ctx, r)
	}
	if keep || int64(r.Level) >= h.tap.minSub.Load() {
		var buf bytes.Buffer
		var th slog.Handler = slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug - 4})
		for _, op := range h.ops {
			th = op(th)
		}
		if th.Handle(ctx, r) == nil {
			h.tap.add(buf.Bytes(), r.Level, keep)
		}
	}
	return err
}

func (h *tapHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &tapHandler{inner: h.inner.WithAttrs(as), tap: h.tap,
		ops: append(h.ops[:len(h.ops):len(h.ops)], func(x slog.Handler) slog.Handler { return x.WithAttrs(as) })}
}

func (h *tapHandler) WithGroup(name string) slog.Handler {
	return &tapHandler{inner: h.inner.WithGroup(name), tap: h.tap,
		ops: append(h.ops[:len(h.ops):len(h.ops)], func(x slog.Handler) slog.Handler { return x.WithGroup(name) })}
}
