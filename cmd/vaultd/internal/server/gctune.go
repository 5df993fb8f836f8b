package server

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The Go collector starts a cycle each time the heap grows by GOGC % (100)
// over the live heap. vaultd's live heap is small (a few MiB), so under
// load it collected about ten times a second: in profiles of
// vault-benchmark's read and transit workloads the collector's mark
// workers were 4-5 % of the active node's CPU, 0.5 % with the next cycle
// near 64 MiB (docs/benchmarks.md, "vault-benchmark workloads: hot
// spots").
//
// gcTuner gives a small heap headroom: while the live heap is under
// gcMinGoal/2 it raises the percentage so the next cycle starts near
// gcMinGoal instead of at twice the live heap (at most gcMaxPercent).
//
// A large heap gets less than Go's 100 %: the live heap of a node with a
// large state is mostly that state (every stored ciphertext is in
// memory), and doubling it doubled the node's memory (441-492 MiB of RSS
// for a 150 MiB state at 100 k KV v2 secrets; docs/benchmarks.md,
// "Scale"). Above gcMinGoal/2 the headroom is max(live/4, gcMinGoal/2),
// i.e. from 100 % at 32 MiB down to 25 % from 128 MiB on. Cycles stay
// cheap there: the state's values are pointer-free byte slices that the
// collector does not scan.
//
// An operator's GOGC (or GOMEMLIMIT) wins: the tuner then does nothing.
const (
	gcMinGoal    = 64 << 20
	gcMaxPercent = 800
	gcTuneEvery  = time.Second
)

// gcPercentFor is the GC percentage for a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return 100
	}
	if live < gcMinGoal/2 {
		return min(gcMaxPercent, int(gcMinGoal*100/live)-100)
	}
	return int(max(live/4, gcMinGoal/2) * 100 / live)
}

// startGCTuner runs the tuner until ctx ends; it returns at once when the
// operator set GOGC or GOMEMLIMIT.
func startGCTuner(ctx context.Context, log *slog.Logger) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	cur := 100
	tune := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if p := gcPercentFor(sample[0].Value.Uint64()); p != cur {
			debug.SetGCPercent(p)
			cur = p
		}
	}
	tune()
	go func() {
		t := time.NewTicker(gcTuneEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				tune()
			}
		}
	}()
	log.Debug("GC tuner on (GOGC and GOMEMLIMIT unset)", "min_goal_bytes", gcMinGoal, "max_percent", gcMaxPercent)
}
