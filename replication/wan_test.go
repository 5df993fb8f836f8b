package replication_test

import (
	"context"
	"fmt"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/vaultd/vaultd/replication"
	"github.com/vaultd/vaultd/storage"
)

// wanConn delays every byte by oneWay in each direction (a WAN link's
// latency, without a bandwidth limit): reads are held until oneWay after
// they arrived, writes leave oneWay after they were made.
type wanConn struct {
	net.Conn
	oneWay time.Duration
	in     chan packet
	out    chan packet
	rbuf   []byte
	rerr   error
	once   sync.Once
	done   chan struct{}
}

type packet struct {
	b   []byte
	at  time.Time
	err error
}

func newWANConn(c net.Conn, oneWay time.Duration) *wanConn {
	w := &wanConn{Conn: c, oneWay: oneWay, in: make(chan packet, 1024), out: make(chan packet, 1024), done: make(chan struct{})}
	go func() { // reader: stamp arrivals
		for {
			buf := make([]byte, 64<<10)
			n, err := c.Read(buf)
			w.in <- packet{b: buf[:n], at: time.Now(), err: err}
			if err != nil {
				return
			}
		}
	}()
	go func() { // writer: send each write oneWay after it was made
		for {
			select {
			case p := <-w.out:
				time.Sleep(time.Until(p.at.Add(oneWay)))
				if _, err := c.Write(p.b); err != nil {
					return
				}
			case <-w.done:
				return
			}
		}
	}()
	return w
}

func (w *wanConn) Read(p []byte) (int, error) {
	for len(w.rbuf) == 0 {
		if w.rerr != nil {
			return 0, w.rerr
		}
		pk := <-w.in
		time.Sleep(time.Until(pk.at.Add(w.oneWay)))
		w.rbuf, w.rerr = pk.b, pk.err
	}
	n := copy(p, w.rbuf)
	w.rbuf = w.rbuf[n:]
	return n, nil
}

func (w *wanConn) Write(p []byte) (int, error) {
	select {
	case w.out <- packet{b: append([]byte(nil), p...), at: time.Now()}:
		return len(p), nil
	case <-w.done:
		return 0, net.ErrClosed
	}
}

func (w *wanConn) Close() error {
	w.once.Do(func() { close(w.done) })
	return w.Conn.Close()
}

// TestDR_WANLatency measures the stream over a link with 50 ms round-trip
// latency (25 ms each way, emulated on the secondary's connection): the
// throughput of catching up a burst of writes, and the lag of single
// writes. It asserts only that everything arrives; the figures are logged
// (docs/replication.md).
func TestDR_WANLatency(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pst, sst := node(t, "p1"), node(t, "s1")
	prim, err := replication.NewPrimary(ctx, replication.PrimaryConfig{Source: source{pst}, Storage: pst})
	if err != nil {
		t.Fatal(err)
	}
	token, err := prim.AddSecondary(ctx, "far")
	if err != nil {
		t.Fatal(err)
	}
	dial := serve(t, ctx, prim)("far")
	sec, err := replication.NewSecondary(ctx, replication.SecondaryConfig{ID: "far", Token: token, Target: target{sst},
		Dial: func(ctx context.Context) (net.Conn, error) {
			c, err := dial(ctx)
			if err != nil {
				return nil, err
			}
			return newWANConn(c, 25*time.Millisecond), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	statusOf = func() any { return sec.Status() }
	t.Cleanup(func() { statusOf = nil })
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sec.Run(rctx) }()
	defer func() { stop(); <-done }()
	put(t, ctx, pst, "logical/first", "1")
	waitFor(t, 20*time.Second, "first sync", func() bool { return get(ctx, sst, "logical/first") == "1" })

	// A burst: 4 writers, 1000 writes.
	const burst = 1000
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < burst; i += 4 {
				if err := pst.Put(ctx, &storage.Entry{Key: fmt.Sprintf("logical/b/%04d", i), Value: []byte("v")}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	wrote := time.Since(start)
	var maxLag uint64
	waitFor(t, 30*time.Second, "burst replicated", func() bool {
		maxLag = max(maxLag, sec.Status().LagEntries)
		return get(ctx, sst, fmt.Sprintf("logical/b/%04d", burst-1)) == "v" && sec.Status().LagEntries == 0
	})
	total := time.Since(start)
	keys, err := sst.List(ctx, "logical/b/")
	if err != nil || len(keys) != burst {
		t.Fatalf("secondary holds %d of %d burst keys (%v)", len(keys), burst, err)
	}
	t.Logf("50 ms RTT: %d writes took %s on the primary and were all on the secondary after %s (%.0f writes/s end to end); max lag seen %d entries",
		burst, wrote.Round(time.Millisecond), total.Round(time.Millisecond), burst/total.Seconds(), maxLag)

	// Single writes: time from the primary's ack to the secondary having it.
	var lags []time.Duration
	for i := range 10 {
		k := fmt.Sprintf("logical/s/%d", i)
		put(t, ctx, pst, k, "v")
		w := time.Now()
		waitFor(t, 10*time.Second, "single write", func() bool { return get(ctx, sst, k) == "v" })
		lags = append(lags, time.Since(w))
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	t.Logf("50 ms RTT: single-write replication lag median %s, worst %s (10 writes)", lags[5].Round(time.Millisecond), lags[9].Round(time.Millisecond))
	if lags[0] < 25*time.Millisecond {
		t.Fatalf("a write arrived in %s over a 25 ms one-way link: the latency emulation is not in the path", lags[0])
	}
}
