package raftstore

import (
	"log/slog"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// leaderWatch counts the leader changes this node observes and logs each
// one (issue 11: a storm of client work must not cost leadership, and
// operators need to see when it does).
type leaderWatch struct {
	r       *raft.Raft
	obs     *raft.Observer
	ch      chan raft.Observation
	changes atomic.Uint64
	done    chan struct{}
}

func startLeaderWatch(r *raft.Raft, log *slog.Logger, closed <-chan struct{}) *leaderWatch {
	w := &leaderWatch{r: r, ch: make(chan raft.Observation, 64), done: make(chan struct{})}
	w.obs = raft.NewObserver(w.ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	r.RegisterObserver(w.obs)
	go func() {
		defer close(w.done)
		var last raft.ServerID
		for {
			select {
			case <-closed:
				return
			case o := <-w.ch:
				lo := o.Data.(raft.LeaderObservation)
				if lo.LeaderID == last {
					continue
				}
				last = lo.LeaderID
				if lo.LeaderID == "" {
					log.Warn("raft leader lost", "leader_changes", w.changes.Load())
					continue
				}
				n := w.changes.Add(1)
				log.Info("raft leader changed", "leader_id", string(lo.LeaderID), "leader_addr", string(lo.LeaderAddr), "leader_changes", n)
			}
		}
	}()
	return w
}

func (w *leaderWatch) stop() {
	w.r.DeregisterObserver(w.obs)
	<-w.done
}

// LeaderChanges is how many times this node has seen a new leader elected
// since it started (the first election counts). A node that loses contact
// with the leader and sees the same node elected again counts that too.
// Observations are dropped rather than block raft, so under extreme load
// the count is a lower bound.
func (s *Store) LeaderChanges() uint64 { return s.watch.changes.Load() }
