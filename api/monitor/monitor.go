// Package monitor fans a node's slog records out to live subscribers: the
// log stream GET /v1/sys/monitor serves (Vault's `vault monitor`).
//
// A Broker wraps the node's log handler (Handler): every record still goes
// to the node's own log as before, and is also formatted for each
// subscriber whose level admits it, in its format ("standard": slog's text
// form, "json": one JSON object), one line per record. Records a
// subscriber is too slow to take are dropped and counted, never blocking
// the logger; the subscriber is told how many it missed. The stream sees
// exactly what the log sees: nothing logged by vaultd carries a secret,
// and this package adds nothing to the records.
//
// Package monitor imports the standard library only.
package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// LevelTrace is Vault's "trace": below debug, so it admits every record.
const LevelTrace = slog.LevelDebug - 4

// ParseLevel reads a Vault log level name: trace, debug, info, warn
// (warning), error.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace":
		return LevelTrace, nil
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error", "err":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q (trace, debug, info, warn or error)", s)
}

// Formats of a subscription.
const (
	FormatStandard = "standard"
	FormatJSON     = "json"
)

// ParseFormat reads a log format name: standard (the default) or json.
func ParseFormat(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", FormatStandard:
		return FormatStandard, nil
	case FormatJSON:
		return FormatJSON, nil
	}
	return "", fmt.Errorf("unknown log format %q (standard or json)", s)
}

// ErrClosed is returned by Subscribe once the broker is closed.
var ErrClosed = errors.New("monitor: closed")

// Buffer is how many lines a subscriber may lag before lines are dropped.
const Buffer = 512

// Broker is the fan-out point of one node's log. Its zero value is not
// usable; call New.
type Broker struct {
	mu     sync.Mutex // guards subs and closed
	subs   map[*Subscription]struct{}
	closed bool
}

// New returns a broker with no subscribers.
func New() *Broker { return &Broker{subs: map[*Subscription]struct{}{}} }

// Subscription is one live stream. Lines arrive on C (each ends in
// "\n"); C is closed when the subscription ends (Close, or the broker is
// closed).
type Subscription struct {
	C      <-chan []byte
	c      chan []byte
	level  slog.Level
	format string
	b      *Broker

	dropped int // guarded by b.mu
}

// Subscribe starts a stream of the records at level or above, in format.
func (b *Broker) Subscribe(level slog.Level, format string) (*Subscription, error) {
	f, err := ParseFormat(format)
	if err != nil {
		return nil, err
	}
	c := make(chan []byte, Buffer)
	s := &Subscription{C: c, c: c, level: level, format: f, b: b}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	b.subs[s] = struct{}{}
	return s, nil
}

// Close ends the subscription; it is safe to call more than once.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if _, ok := s.b.subs[s]; ok {
		delete(s.b.subs, s)
		close(s.c)
	}
}

// Close ends every subscription and refuses new ones (server shutdown:
// the streaming requests return, so the HTTP server can stop).
func (b *Broker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		delete(b.subs, s)
		close(s.c)
	}
}

// minLevel is the lowest level any subscriber wants, and whether there is
// a subscriber at all.
func (b *Broker) minLevel() (slog.Level, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	first := true
	var lv slog.Level
	for s := range b.subs {
		if first || s.level < lv {
			lv, first = s.level, false
		}
	}
	return lv, !first
}

// Handler returns next wrapped so that every record also reaches the
// broker's subscribers. next keeps its own level: a record below it is
// still streamed to a subscriber that asked for it.
func (b *Broker) Handler(next slog.Handler) slog.Handler {
	return &handler{b: b, next: next}
}

type handler struct {
	b    *Broker
	next slog.Handler
	// ops are the WithAttrs/WithGroup calls made on this handler, in
	// order, replayed on the subscribers' formatters.
	ops []func(slog.Handler) slog.Handler
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool {
	if h.next.Enabled(ctx, l) {
		return true
	}
	min, ok := h.b.minLevel()
	return ok && l >= min
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.next.Enabled(ctx, r.Level) {
		err = h.next.Handle(ctx, r)
	}
	h.publish(ctx, r)
	return err
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	return h.with(h.next.WithAttrs(as), func(x slog.Handler) slog.Handler { return x.WithAttrs(as) })
}

func (h *handler) WithGroup(name string) slog.Handler {
	return h.with(h.next.WithGroup(name), func(x slog.Handler) slog.Handler { return x.WithGroup(name) })
}

func (h *handler) with(next slog.Handler, op func(slog.Handler) slog.Handler) slog.Handler {
	ops := make([]func(slog.Handler) slog.Handler, len(h.ops), len(h.ops)+1)
	copy(ops, h.ops)
	return &handler{b: h.b, next: next, ops: append(ops, op)}
}

// publish formats r once per format in use and offers the line to every
// subscriber that wants it, without blocking.
func (h *handler) publish(ctx context.Context, r slog.Record) {
	b := h.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.subs) == 0 {
		return
	}
	lines := map[string][]byte{}
	for s := range b.subs {
		if r.Level < s.level {
			continue
		}
		line, ok := lines[s.format]
		if !ok {
			line = h.format(ctx, r, s.format)
			lines[s.format] = line
		}
		if line == nil {
			continue
		}
		if s.dropped > 0 {
			note := fmt.Appendf(nil, "Monitor dropped %d logs during monitor request\n", s.dropped)
			select {
			case s.c <- note:
				s.dropped = 0
			default:
				s.dropped++
				continue
			}
		}
		select {
		case s.c <- line:
		default:
			s.dropped++
		}
	}
}

func (h *handler) format(ctx context.Context, r slog.Record, format string) []byte {
	var buf bytes.Buffer
	opts := &slog.HandlerOptions{Level: LevelTrace}
	var f slog.Handler
	if format == FormatJSON {
		f = slog.NewJSONHandler(&buf, opts)
	} else {
		f = slog.NewTextHandler(&buf, opts)
	}
	for _, op := range h.ops {
		f = op(f)
	}
	if err := f.Handle(ctx, r.Clone()); err != nil {
		return nil
	}
	return buf.Bytes()
}
