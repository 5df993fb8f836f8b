package raftstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/vaultd/vaultd/raftstore"
	"github.com/vaultd/vaultd/storage"
)

// cutStream is a TCP StreamLayer that can isolate its node: once cut,
// its dials fail, its accepted connections are closed at once, and every
// connection it had is closed.
type cutStream struct {
	net.Listener
	cut   atomic.Bool
	mu    sync.Mutex
	conns []net.Conn
}

func (c *cutStream) track(conn net.Conn) {
	c.mu.Lock()
	c.conns = append(c.conns, conn)
	c.mu.Unlock()
}

func (c *cutStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if c.cut.Load() {
		return nil, errors.New("cut")
	}
	conn, err := net.DialTimeout("tcp", string(addr), timeout)
	if err == nil {
		c.track(conn)
	}
	return conn, err
}

func (c *cutStream) Accept() (net.Conn, error) {
	for {
		conn, err := c.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if c.cut.Load() {
			conn.Close()
			continue
		}
		c.track(conn)
		return conn, nil
	}
}

func (c *cutStream) isolate() {
	c.cut.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// TestLease_IsolatedLeaderStopsBeforeNewWrites cuts the leader off while
// it answers reads as fast as it can, and lets the rest elect a leader
// and take writes. No read the old leader let through may have started
// after the first write the new leader acknowledged (it could not see that
// write: a stale read). (raft's own step-down after LeaderLeaseTimeout also
// ends the old leader's reads; the lease must not outlive it, and this
// test would catch a lease that kept answering once raft stepped down or
// a new leader took writes.)
func TestLease_IsolatedLeaderStopsBeforeNewWrites(t *testing.T) {
	ctx := ctxTimeout(t, 2*time.Minute)
	var nodes []*raftstore.Store
	var streams []*cutStream
	for i := 1; i <= 3; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cs := &cutStream{Listener: ln}
		cfg := nodeConfig(t, fmt.Sprintf("p%d", i), t.TempDir())
		cfg.BindAddr, cfg.Stream = "", cs
		nodes, streams = append(nodes, openStore(t, cfg)), append(streams, cs)
	}
	old := nodes[0]
	if err := old.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range nodes[1:] {
		if err := old.AddVoter(ctx, s.LocalID(), s.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "a lease read on the leader", func() bool {
		before := stat(old, "lease_reads")
		return old.VerifyLeader(ctx) == nil && stat(old, "lease_reads") > before
	})

	// Reader on the old leader: the start time of every read it let through.
	var lastPassStart atomic.Int64 // UnixNano of the start of the newest passing check
	stopReads := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stopReads:
				return
			default:
			}
			start := time.Now()
			vctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := old.VerifyLeader(vctx)
			cancel()
			if err == nil {
				lastPassStart.Store(start.UnixNano())
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	waitFor(t, 10*time.Second, "the reader's first pass", func() bool { return lastPassStart.Load() != 0 })
	streams[0].isolate()
	cutAt := time.Now()

	// The others elect a leader; record when it acknowledges its first write.
	newLeader := waitLeader(t, 30*time.Second, nodes[1:]...)
	var firstAck time.Time
	waitFor(t, 30*time.Second, "a write on the new leader", func() bool {
		if err := newLeader.Put(ctx, &storage.Entry{Key: "after/cut", Value: []byte("x")}); err != nil {
			return false
		}
		firstAck = time.Now()
		return true
	})
	// Let the old leader keep trying for a while after that.
	time.Sleep(300 * time.Millisecond)
	close(stopReads)
	<-readerDone

	last := time.Unix(0, lastPassStart.Load())
	t.Logf("last read let through started %v after the cut; the new leader's first write was acknowledged %v after it",
		last.Sub(cutAt), firstAck.Sub(cutAt))
	if !last.Before(firstAck) {
		t.Fatalf("the isolated leader let a read through that started %v after the new leader acknowledged a write", last.Sub(firstAck))
	}
}
