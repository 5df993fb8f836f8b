package raftstore_test

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultd/vaultd/raftstore"
	"github.com/vaultd/vaultd/storage"
)

// BenchmarkStore_Put measures a single bootstrapped node with many parallel
// writers (1 KiB values). Concurrent Puts coalesce into raft batches
// (BatchApplyCh + ApplyBatch), so ops/s grows with the number of writers
// far beyond one fsync per write.
func BenchmarkStore_Put(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  func(b *testing.B) raftstore.Config
	}{
		{"Bolt", func(b *testing.B) raftstore.Config { return nodeConfig(b, "n1", b.TempDir()) }},
		{"InMemory", func(b *testing.B) raftstore.Config { return inmemConfig(b, "n1") }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := bc.cfg(b)
			cfg.Logger = nil // keep raft's logs out of the benchmark
			s := bootstrapped(b, cfg)
			value := bytes.Repeat([]byte{0xc7}, 1024)
			var seq atomic.Int64
			ctx := context.Background()
			b.SetParallelism(32) // 32 writers per GOMAXPROCS
			b.SetBytes(int64(len(value)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := fmt.Sprintf("bench/%d", seq.Add(1))
					if err := s.Put(ctx, &storage.Entry{Key: k, Value: value}); err != nil {
						b.Errorf("Put: %v", err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
		})
	}
}

// BenchmarkStore_PutSnapshotting is Store_Put on bolt with overwrites of
// 4096 keys (a KV workload's shape: the state stays the same size) while
// raft snapshots and truncates the log as often as the defaults let it at
// a few thousand writes/s: "never" sets a threshold no run reaches, "often"
// checks every 200 ms with a 2048-entry threshold. The difference is what
// snapshots and log truncation cost the write path.
func BenchmarkStore_PutSnapshotting(b *testing.B) {
	for _, bc := range []struct {
		name      string
		threshold uint64
		interval  time.Duration
	}{
		{"never", 1 << 40, time.Hour},
		{"often", 2048, 200 * time.Millisecond},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := nodeConfig(b, "n1", b.TempDir())
			cfg.Logger = nil
			cfg.SnapshotThreshold, cfg.SnapshotInterval, cfg.TrailingLogs = bc.threshold, bc.interval, 2048
			s := bootstrapped(b, cfg)
			value := bytes.Repeat([]byte{0xc7}, 1024)
			var seq atomic.Int64
			ctx := context.Background()
			b.SetParallelism(32)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := fmt.Sprintf("bench/%d", seq.Add(1)%4096)
					if err := s.Put(ctx, &storage.Entry{Key: k, Value: value}); err != nil {
						b.Errorf("Put: %v", err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
		})
	}
}
