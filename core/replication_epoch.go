package core

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/vaultd/vaultd/replication"
	"github.com/vaultd/vaultd/secrets"
)

// Epoch confirmation (docs/replication.md, "Fencing"): a primary leader
// that has known secondaries asks them, over the replication port, for the
// newest replication epoch they know before it accepts its first client
// write. A promoted secondary answers its new epoch, and this primary
// fences itself instead of acknowledging a write that the new primary
// would never see. Without it, an old primary that came back accepted
// writes for up to 2 s after its unseal, until the new primary's fencing
// notice (replication.Notify) reached it, and those acknowledged writes
// were discarded at failback.

// epochProbeTimeout bounds one probe (dial, TLS, one frame each way); the
// probes run in parallel, so a write waits at most about this long once
// per leadership term.
const epochProbeTimeout = 3 * time.Second

// epochConfirm is one leadership term's confirmation: done is closed when
// it has finished; err is set when it could not run (then the next write
// tries again).
type epochConfirm struct {
	done chan struct{}
	err  error
}

// epochGate holds the current term's confirmation (reset by drRepl.stop,
// when the node stops leading).
type epochGate struct {
	mu sync.Mutex
	c  *epochConfirm
}

func (g *epochGate) reset() {
	g.mu.Lock()
	g.c = nil
	g.mu.Unlock()
}

// confirmEpoch runs before a client write on the active node of a primary
// (HandleRequest): the first write of a leadership term waits for the
// epoch confirmation; it returns the fenced refusal when a newer epoch was
// found.
func (c *Core) confirmEpoch(ctx context.Context, op secrets.Operation, path string) error {
	r := c.repl
	if r == nil || r.cfg == nil || op == secrets.OpRead || op == secrets.OpList || strings.HasPrefix(path, "sys/replication/") {
		return nil
	}
	m := r.role()
	if m.Mode != ModePrimary || m.FencedBy > 0 || !c.cluster.IsLeader() {
		return nil
	}
	r.epochs.mu.Lock()
	ec := r.epochs.c
	if ec == nil || (ec.err != nil && isClosed(ec.done)) {
		ec = &epochConfirm{done: make(chan struct{})}
		r.epochs.c = ec
		go r.runEpochConfirm(ec)
	}
	r.epochs.mu.Unlock()
	select {
	case <-ec.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if ec.err != nil {
		return fmt.Errorf("%w: confirming the replication epoch before the first write: %v", ErrStandby, ec.err)
	}
	return c.ReplicationRefusal(op, path)
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// runEpochConfirm probes every address each known secondary announced, in
// parallel, with a replication-peer certificate for that secondary (a
// promoted secondary's nodes trust this cluster's CA: their certificates
// come from it). The newest epoch any of them reports above this
// primary's fences it. Unreachable secondaries are no evidence either way:
// the write is then served (the window docs/replication.md describes).
func (r *drRepl) runEpochConfirm(ec *epochConfirm) {
	defer close(ec.done)
	ctx, cancel := context.WithTimeout(context.Background(), 2*epochProbeTimeout)
	defer cancel()
	epoch, fencedBy, peers, found, err := replication.PrimaryPeers(ctx, r.c.physical)
	if err != nil {
		ec.err = err
		return
	}
	if !found || fencedBy > 0 || len(peers) == 0 {
		return
	}
	ca, err := r.c.clusterCA(ctx)
	if err != nil {
		ec.err = err
		return
	}
	type answer struct {
		id, addr string
		epoch    uint64
		err      error
	}
	answers := make(chan answer)
	n := 0
	for id, addrs := range peers {
		mat, err := r.cfg.IssuePeer(ca, id)
		if err != nil {
			ec.err = err
			return
		}
		for _, a := range addrs {
			n++
			go func() {
				pctx, pcancel := context.WithTimeout(ctx, epochProbeTimeout)
				defer pcancel()
				e, err := replication.ProbeEpoch(pctx, func(ctx context.Context) (net.Conn, error) {
					return r.cfg.Dial(ctx, hostPort(a), mat)
				}, id)
				answers <- answer{id: id, addr: a, epoch: e, err: err}
			}()
		}
	}
	newest, reached := uint64(0), 0
	for range n {
		a := <-answers
		if a.err != nil {
			r.c.log.Debug("replication: epoch probe", "secondary", a.id, "addr", a.addr, "error", a.err)
			continue
		}
		reached++
		newest = max(newest, a.epoch)
	}
	if newest > epoch {
		r.c.log.Warn("replication: a secondary knows a newer epoch; this primary fences itself before accepting a write", "epoch", epoch, "newer_epoch", newest)
		r.mu.Lock()
		p := r.primary
		r.mu.Unlock()
		if p != nil {
			err = p.Demote(ctx, newest) // OnFenced records the role
		} else {
			r.onFenced(newest)
		}
		if err != nil || r.role().FencedBy == 0 {
			// Not recorded: refuse in memory all the same.
			m := r.role()
			m.FencedBy = max(m.FencedBy, newest)
			r.mode.Store(&m)
		}
		return
	}
	if reached == 0 {
		r.c.log.Warn("replication: no known secondary answered the epoch probe; accepting writes unconfirmed (a promoted secondary's fencing notice still ends this when it arrives)", "addresses", n)
		return
	}
	r.c.log.Info("replication: epoch confirmed before the first write", "epoch", epoch, "answers", reached, "addresses", n)
}
