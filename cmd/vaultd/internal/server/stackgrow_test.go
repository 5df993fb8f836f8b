package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
)

// BenchmarkKVv2_ReadClientChurn is BenchmarkKVv2_Read with more workers
// than the official client keeps idle connections (GOMAXPROCS+1), as
// vault-benchmark runs: most requests arrive on a new connection, whose
// goroutine's stack must grow. Run with and without growStackOnce.
func BenchmarkKVv2_ReadClientChurn(b *testing.B) {
	_, c := startRaftNode(b)
	kv := c.KVv2("secret")
	for i := range 64 {
		if _, err := kv.Put(context.Background(), fmt.Sprintf("r/%d", i), map[string]any{"v": "x"}); err != nil {
			b.Fatal(err)
		}
	}
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("pregrow=%v", on), func(b *testing.B) {
			noPreGrow.Store(!on)
			defer noPreGrow.Store(false)
			b.SetParallelism(8 * (runtime.GOMAXPROCS(0) + 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					if _, err := kv.Get(context.Background(), fmt.Sprintf("r/%d", i%64)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// growStackOnce serves every request and grows the stack on a
// connection's first request only (its flag is set then).
func TestGrowStackOnce(t *testing.T) {
	calls := 0
	h := growStackOnce(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls++ }))
	ctx := connStackContext(context.Background(), nil)
	flag := ctx.Value(connStackKey{}).(*atomic.Bool)
	r := httptest.NewRequest(http.MethodGet, "/v1/sys/health", nil).WithContext(ctx)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if !flag.Load() || calls != 1 {
		t.Fatalf("first request: grown %v, calls %d", flag.Load(), calls)
	}
	h.ServeHTTP(httptest.NewRecorder(), r)
	if calls != 2 {
		t.Fatalf("second request not served: calls %d", calls)
	}
	// A request without the connection's flag (no ConnContext) is served.
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if calls != 3 {
		t.Fatalf("request without a flag not served: calls %d", calls)
	}
}
