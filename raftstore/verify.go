package raftstore

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// verifier coalesces leadership checks. Every caller joins the next raft
// VerifyLeader round that starts after it called: if no round is running, it
// starts one at once; if one is in flight, it waits for the round after it
// (the one in flight may have started before the caller's read arrived, so
// it cannot vouch for it). One quorum round therefore serves every read that
// arrived while the previous round was in flight (etcd's ReadIndex batching).
type verifier struct {
	start func() raft.Future // raft.(*Raft).VerifyLeader
	stop  <-chan struct{}    // closed by Store.Close

	mu      sync.Mutex   // guards running, pending
	running bool         // a round goroutine is active
	pending *verifyRound // the next round; callers arriving now join it

	rounds atomic.Uint64  // rounds started, for Stats and tests
	wg     sync.WaitGroup // the round goroutine
}

type verifyRound struct {
	done    chan struct{} // closed when err is set
	err     error
	waiters int // callers that joined (guarded by verifier.mu)
}

func newVerifier(start func() raft.Future, stop <-chan struct{}) *verifier {
	return &verifier{start: start, stop: stop}
}

// verify waits for a round that started after the call. It returns raft's
// error unmapped, or ctx's error.
func (v *verifier) verify(ctx context.Context) error {
	v.mu.Lock()
	if v.pending == nil {
		v.pending = &verifyRound{done: make(chan struct{})}
	}
	r := v.pending
	r.waiters++
	if !v.running {
		v.running = true
		v.pending = nil
		v.wg.Add(1)
		go v.run(r)
	}
	v.mu.Unlock()

	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run executes rounds back to back while callers keep arriving.
func (v *verifier) run(r *verifyRound) {
	defer v.wg.Done()
	for r != nil {
		v.rounds.Add(1)
		r.err = v.round()
		close(r.done)

		v.mu.Lock()
		r = v.pending
		v.pending = nil
		if r == nil {
			v.running = false
		}
		v.mu.Unlock()
	}
}

// round runs one raft VerifyLeader. A running raft resolves the future:
// with a quorum's heartbeat answers, ErrNotLeader, or ErrLeadershipLost on
// step-down (at most LeaderLeaseTimeout after losing the quorum). But raft
// buffers VerifyLeader requests, and one still queued when raft shuts down
// is never answered, so the round also ends when the Store closes (the
// helper goroutine then stays parked on that dead future).
func (v *verifier) round() error {
	f := v.start()
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-v.stop:
		return raft.ErrRaftShutdown
	}
}

// wait blocks until no round is running (used by Close after raft shut down).
func (v *verifier) wait() { v.wg.Wait() }

// leadershipPump moves raft's leadership notifications (Config.NotifyCh,
// which raft blocks on) into an unbounded FIFO, so raft never waits for the
// consumer and no transition is dropped or reordered.
type leadershipPump struct {
	in     chan bool // handed to raft as NotifyCh
	out    chan bool // LeadershipChanges
	stopCh chan struct{}
	done   chan struct{}
}

func newLeadershipPump() *leadershipPump {
	p := &leadershipPump{
		in:     make(chan bool, 16),
		out:    make(chan bool, 16),
		stopCh: make(chan struct{}),
		done:   make(chan struct{}),
	}
	go p.run()
	return p
}

func (p *leadershipPump) run() {
	defer close(p.done)
	var queue []bool
	for {
		var send chan bool
		var head bool
		if len(queue) > 0 {
			send, head = p.out, queue[0]
		}
		select {
		case v := <-p.in:
			queue = append(queue, v)
		case send <- head:
			queue = queue[1:]
		case <-p.stopCh:
			// raft has shut down: take what it sent last (its final
			// "false"), deliver what fits without blocking, in order.
			for drained := false; !drained; {
				select {
				case v := <-p.in:
					queue = append(queue, v)
				default:
					drained = true
				}
			}
			for _, v := range queue {
				select {
				case p.out <- v:
					continue
				default:
				}
				break
			}
			close(p.out)
			return
		}
	}
}

// stop ends the pump and closes out. Call once, after raft has shut down.
func (p *leadershipPump) stop() {
	close(p.stopCh)
	<-p.done
}
