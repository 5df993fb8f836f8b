package server

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
)

// Each HTTP connection is served by a goroutine that starts with a small
// stack. A vaultd request runs 40-60 frames deep (middleware, core, an
// engine, encoding/json's recursive decoder), so on a new connection the
// stack was doubled three or four times, each time copying and adjusting
// every frame already on it. Clients that open a connection per request
// or close idle ones early (the official Go client keeps GOMAXPROCS+1
// idle connections per host, so HashiCorp's vault-benchmark with 50
// workers opens new connections all the time) paid that on most
// requests: runtime.newstack was 10-12 % of the active node's CPU in
// vault-benchmark's kvv1_read and transit_encrypt runs
// (docs/benchmarks.md, "vault-benchmark workloads: hot spots").
//
// growStackOnce grows the stack once per connection, at the top of the
// first request, to the size a request needs (one copy of a shallow
// stack), before the request descends.

// stackFrame is the frame growStack asks for: the stack becomes the next
// power of two above it (32 KiB), which covers a request's depth.
const stackFrame = 16 << 10

// noPreGrow switches the growth off (the A/B benchmark only).
var noPreGrow atomic.Bool

type connStackKey struct{}

// connStackContext is http.Server.ConnContext: one flag per connection.
func connStackContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connStackKey{}, new(atomic.Bool))
}

// growStackOnce wraps the server's handler.
func growStackOnce(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if grown, _ := r.Context().Value(connStackKey{}).(*atomic.Bool); grown != nil && !noPreGrow.Load() && grown.CompareAndSwap(false, true) {
			growStack(0)
		}
		h.ServeHTTP(w, r)
	})
}

// growStack has a stackFrame-sized frame: calling it makes the runtime
// grow the goroutine's stack to fit in one step.
//
//go:noinline
func growStack(i int) byte {
	var buf [stackFrame]byte
	buf[i] = 1
	return buf[(i+1)%stackFrame]
}
