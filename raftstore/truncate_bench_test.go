package raftstore

import (
	"bytes"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// BenchmarkTruncateStall measures what raft's log truncation does to the
// write path: a bolt log of 20 k entries of 2 KiB (a KV v2 write's size),
// appends of 64-entry batches in a loop (the leader's StoreLogs), and
// meanwhile the truncation of the oldest 10 k entries, in one transaction
// ("one") or in truncateChunk-entry transactions ("chunked"). It reports
// the longest append and the 99th percentile of the appends that overlapped
// the truncation, and how long the truncation took; "none" is the same
// without truncation (40 ms of appends alone).
func BenchmarkTruncateStall(b *testing.B) {
	for _, mode := range []string{"none", "one", "chunked"} {
		b.Run(mode, func(b *testing.B) {
			var maxs, p99s, dels []float64
			for range b.N {
				b.StopTimer()
				bolt, err := raftboltdb.New(raftboltdb.Options{
					Path:        filepath.Join(b.TempDir(), "raft.db"),
					BoltOptions: &bbolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType},
				})
				if err != nil {
					b.Fatal(err)
				}
				data := bytes.Repeat([]byte{7}, 2048)
				next := uint64(1)
				batch := func() []*raft.Log {
					ls := make([]*raft.Log, 64)
					for i := range ls {
						ls[i] = &raft.Log{Index: next, Term: 1, Type: raft.LogCommand, Data: data}
						next++
					}
					return ls
				}
				for next <= 20000 {
					if err := bolt.StoreLogs(batch()); err != nil {
						b.Fatal(err)
					}
				}
				var store raft.LogStore = bolt
				if mode == "chunked" {
					store = chunkedTruncate{LogStore: bolt, pause: time.Millisecond}
				}
				b.StartTimer()
				done := make(chan time.Duration)
				var wg sync.WaitGroup
				var lat []time.Duration
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-done:
							return
						default:
						}
						t0 := time.Now()
						if err := store.StoreLogs(batch()); err != nil {
							b.Error(err)
							return
						}
						lat = append(lat, time.Since(t0))
					}
				}()
				time.Sleep(20 * time.Millisecond)
				t0 := time.Now()
				if mode == "none" {
					time.Sleep(40 * time.Millisecond) // appends only: the baseline
				} else if err := store.DeleteRange(1, 10000); err != nil {
					b.Fatal(err)
				}
				del := time.Since(t0)
				time.Sleep(20 * time.Millisecond)
				close(done)
				wg.Wait()
				b.StopTimer()
				_ = bolt.Close()
				slices.Sort(lat)
				maxs = append(maxs, ms(lat[len(lat)-1]))
				p99s = append(p99s, ms(lat[len(lat)*99/100]))
				dels = append(dels, ms(del))
				b.StartTimer()
			}
			b.ReportMetric(median(maxs), "max-append-ms")
			b.ReportMetric(median(p99s), "p99-append-ms")
			b.ReportMetric(median(dels), "truncate-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}
