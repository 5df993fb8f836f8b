package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
)

func TestGCPercentFor(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 100},        // no reading yet: Go's default
		{1 << 20, 800},  // 1 MiB: capped
		{8 << 20, 700},  // next cycle at 64 MiB
		{16 << 20, 300}, // next cycle at 64 MiB
		{32 << 20, 100}, // half the goal: the default
		{64 << 20, 50},  // 32 MiB of headroom
		{128 << 20, 25}, // live/4 from here on
		{1 << 30, 25},   // a large state is not doubled in memory
	} {
		if got := gcPercentFor(c.live); got != c.want {
			t.Errorf("gcPercentFor(%d MiB) = %d, want %d", c.live>>20, got, c.want)
		}
		if goal := c.live * uint64(100+gcPercentFor(c.live)) / 100; c.live > 0 && c.live < gcMinGoal/2 && goal > gcMinGoal {
			t.Errorf("live %d MiB: goal %d MiB above the minimum goal", c.live>>20, goal>>20)
		}
	}
}

// BenchmarkKeptAliveRequests is the shape the tuner is for: many
// kept-alive connections, each request decoding and encoding a small JSON
// document (as a KV read does), a small live heap. The same binary runs
// with Go's default percentage and with the tuner's; the difference is
// the collector's work (GCs/1000req).
func BenchmarkKeptAliveRequests(b *testing.B) {
	doc := []byte(`{"request_id":"x","data":{"data":{"foo":"` + strings.Repeat("a", 100) + `"},"metadata":{"created_time":"2026-01-01T00:00:00Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":1}}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		_ = json.Unmarshal(doc, &v)
		_ = json.NewEncoder(w).Encode(v)
	}))
	defer srv.Close()
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	for _, c := range []struct {
		name string
		pct  func() int
	}{
		{"gogc=100", func() int { return 100 }},
		{"tuned", func() int { runtime.GC(); metrics.Read(live); return gcPercentFor(live[0].Value.Uint64()) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			old := debug.SetGCPercent(c.pct())
			defer debug.SetGCPercent(old)
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr}
			b.SetParallelism(16)
			b.ReportAllocs()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			gcs := ms.NumGC
			defer func() {
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(ms.NumGC-gcs)*1000/float64(b.N), "GCs/1000req")
			}()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := cl.Get(srv.URL)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}
