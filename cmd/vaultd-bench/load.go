package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// Operations the -op flag accepts.
const (
	modeWrite = "write"
	modeRead  = "read"
	modeMixed = "mixed"
	modeCAS   = "cas"
)

// ErrSetup is returned when the keys cannot be written before the run.
var ErrSetup = errors.New("preparing keys")

// load describes one measured run.
type load struct {
	clients   []kvClient // one per target; worker w uses clients[w%len]
	mode      string
	workers   int
	keys      []string // relative KV paths, e.g. bench/17
	readRatio float64  // fraction of reads in mixed mode
	warmup    time.Duration
	duration  time.Duration
	// honorRetryAfter: after a 429/503 with Retry-After a login worker
	// waits that long (with jitter) before its next request, as a
	// well-behaved client does.
	honorRetryAfter bool
	// workloads (vault-benchmark's tests, workloads.go): when set, every
	// worker picks one by weight for each request instead of the KV modes.
	workloads   []*workload
	totalWeight int
}

func keyNames(prefix string, n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = prefix + "/" + strconv.Itoa(i)
	}
	return ks
}

// prepare writes every key once so that reads and check-and-set writes find
// them, spreading the writes over the workers and targets.
func (l *load) prepare(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, l.workers)
	for w := range l.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := l.clients[w%len(l.clients)]
			for i := w; i < len(l.keys); i += l.workers {
				if _, st, err := c.Write(ctx, l.keys[i], -1, false); err != nil {
					errc <- fmt.Errorf("%w: write %s: status %s: %v", ErrSetup, l.keys[i], statusName(st), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc // nil when the channel is empty
}

// run drives the load for warmup+duration and returns the workers' records
// of the requests that both started and finished inside the measured window.
func (l *load) run(ctx context.Context) ([]*recorder, time.Duration) {
	start := time.Now()
	from := start.Add(l.warmup)
	until := from.Add(l.duration)
	ctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	recs := make([]*recorder, l.workers)
	var wg sync.WaitGroup
	for w := range l.workers {
		recs[w] = newRecorder()
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.worker(ctx, w, recs[w], from, until)
		}()
	}
	wg.Wait()
	end := time.Now()
	if end.After(until) {
		end = until
	}
	return recs, end.Sub(from)
}

func (l *load) worker(ctx context.Context, w int, rec *recorder, from, until time.Time) {
	c := l.clients[w%len(l.clients)]
	rng := rand.New(rand.NewPCG(uint64(w)+1, 0x5eed))
	record := func(k opKind, t0 time.Time, status int, err error) {
		t1 := time.Now()
		if t0.Before(from) || t1.After(until) || ctx.Err() != nil {
			return // warmup, or cut off by the end of the run
		}
		rec.add(k, t1.Sub(t0), status, err)
	}
	if l.mode == modeCAS {
		l.casWorker(ctx, w, c, record)
		return
	}
	if len(l.workloads) > 0 {
		rc, ok := c.(*rawClient)
		if !ok {
			return // parseFlags refuses workloads with -client api
		}
		for ctx.Err() == nil {
			wl := pick(l.workloads, l.totalWeight, rng)
			req := wl.next(rng)
			t0 := time.Now()
			st, err := rc.send(ctx, req)
			record(wl.kind, t0, st, err)
		}
		return
	}
	if l.mode == modeLogin {
		rc, ok := c.(*rawClient)
		if !ok {
			return // parseFlags refuses -op login with -client api
		}
		for ctx.Err() == nil {
			t0 := time.Now()
			st, ra, err := rc.login(ctx)
			record(opLogin, t0, st, err)
			if l.honorRetryAfter && ra > 0 {
				wait := ra/2 + time.Duration(rng.Int64N(int64(ra))) // 0.5–1.5 × Retry-After
				select {
				case <-ctx.Done():
				case <-time.After(wait):
				}
			}
		}
		return
	}
	for ctx.Err() == nil {
		key := l.keys[rng.IntN(len(l.keys))]
		read := l.mode == modeRead || (l.mode == modeMixed && rng.Float64() < l.readRatio)
		t0 := time.Now()
		if read {
			_, st, err := c.Read(ctx, key, false)
			record(opRead, t0, st, err)
		} else {
			_, st, err := c.Write(ctx, key, -1, false)
			record(opWrite, t0, st, err)
		}
	}
}

// casWorker does check-and-set writes on the keys it owns (key i belongs to
// worker i % workers, so workers do not conflict unless there are fewer keys
// than workers). A key's version is learnt with a recorded read, and again
// after any failed write.
func (l *load) casWorker(ctx context.Context, w int, c kvClient, record func(opKind, time.Time, int, error)) {
	var own []string
	for i := w; i < len(l.keys); i += l.workers {
		own = append(own, l.keys[i])
	}
	if len(own) == 0 {
		own = []string{l.keys[w%len(l.keys)]}
	}
	ver := make([]int, len(own))
	for i := range ver {
		ver[i] = -1
	}
	for i := 0; ctx.Err() == nil; i = (i + 1) % len(own) {
		t0 := time.Now()
		if ver[i] < 0 {
			v, st, err := c.Read(ctx, own[i], true)
			record(opRead, t0, st, err)
			if err == nil {
				ver[i] = v
			}
			continue
		}
		v, st, err := c.Write(ctx, own[i], ver[i], true)
		record(opCAS, t0, st, err)
		if err != nil {
			ver[i] = -1
			continue
		}
		ver[i] = v
	}
}
