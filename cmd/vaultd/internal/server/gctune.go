package server

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The garbage collector's headroom. Go lets the heap grow by GOGC = 100 %
// of the live heap before it collects. vaultd's live heap is mostly the
// replicated state (every stored ciphertext is in memory), so with a large
// state the default doubles the memory a node needs: 1.6 GiB of live heap
// at 1 M KV v2 secrets meant ≈ 3.5 GiB resident per node
// (docs/benchmarks.md, "Scale"). tuneGC keeps the headroom at
// max(live/4, gcMinHeadroom) instead: small heaps keep Go's default, large
// ones collect sooner. A collection is cheap here, because the state's
// values are pointer-free byte slices that the GC does not scan.
// An explicit GOGC in the environment disables it.
const (
	gcMinHeadroom = 64 << 20
	gcTuneEvery   = 5 * time.Second
	gcMinPercent  = 25
)

// gcPercentFor is tuneGC's rule for a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return 100
	}
	head := max(live/4, gcMinHeadroom)
	return int(min(100, max(gcMinPercent, head*100/live)))
}

// tuneGC runs until ctx ends.
func tuneGC(ctx context.Context, log *slog.Logger) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	cur := 100
	t := time.NewTicker(gcTuneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		live := sample[0].Value.Uint64()
		if want := gcPercentFor(live); want != cur {
			debug.SetGCPercent(want)
			log.Debug("garbage collector headroom adjusted to the live heap", "gogc", want, "live_heap_mib", live>>20)
			cur = want
		}
	}
}
