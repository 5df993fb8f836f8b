package raftstore

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/raft"

	"github.com/vaultd/vaultd/storage"
)

// Standby reads (issue 12): the active node hands out a read index, a
// standby waits until its own FSM has applied it and then reads locally;
// the change hook lets the layers above keep their caches of storage
// exact on every node. docs/consistency.md has the argument.

// ChangeHook is called from raft's FSM goroutine after each applied batch
// with the storage keys it wrote (puts and deletes, in log order, possibly
// repeated), or with all == true after a snapshot restore replaced the
// whole state. It runs before WaitApplied callers waiting for the batch's
// index are released, so a reader released by WaitApplied never sees a
// cache that the batch should have invalidated. It must be quick and must
// not call back into the Store's write path.
type ChangeHook func(keys []string, all bool)

// SetChangeHook installs (or, with nil, removes) the change hook.
func (s *Store) SetChangeHook(h ChangeHook) {
	if h == nil {
		s.fsm.hook.Store(nil)
		return
	}
	s.fsm.hook.Store(&h)
}

// appliedWaiter releases WaitApplied callers as the FSM's index grows.
type appliedWaiter struct {
	mu      sync.Mutex
	index   uint64        // the highest index released
	changed chan struct{} // closed and replaced whenever index grows
}

func (w *appliedWaiter) advance(index uint64) {
	w.mu.Lock()
	if index != 0 {
		// Batches only move it up; a restore may move it either way (an
		// operator restore of an older snapshot).
		w.index = index
	}
	if w.changed != nil {
		close(w.changed)
		w.changed = nil
	}
	w.mu.Unlock()
}

func (w *appliedWaiter) get() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.index
}

func (w *appliedWaiter) state() (uint64, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.changed == nil {
		w.changed = make(chan struct{})
	}
	return w.index, w.changed
}

// notifyApplied runs the hook for a batch and then releases the waiters.
// ops(i) is the decoded operations of logs[i] (nil for other log types and
// rejected commands).
func (f *fsm) notifyApplied(logs []*raft.Log, ops func(i int) []storage.Op) {
	if len(logs) == 0 {
		return
	}
	if hp := f.hook.Load(); hp != nil {
		var keys []string
		for i := range logs {
			for _, op := range ops(i) {
				keys = append(keys, op.Key)
			}
		}
		if len(keys) > 0 {
			(*hp)(keys, false)
		}
	}
	f.wait.advance(logs[len(logs)-1].Index)
}

// notifyRestored runs the hook for a restore and releases the waiters.
func (f *fsm) notifyRestored(index uint64) {
	if hp := f.hook.Load(); hp != nil {
		(*hp)(nil, true)
	}
	f.wait.advance(index)
}

// AppliedIndex is the index of the last raft log this node's FSM applied
// (and whose change hook has run). Every write acknowledged on this node
// has an index at most this.
func (s *Store) AppliedIndex() uint64 {
	idx := s.fsm.wait.get()
	if idx == 0 {
		idx, _ = s.fsm.applied() // nothing applied since start: the restored snapshot's
	}
	return idx
}

// WaitApplied returns once this node's FSM has applied index (and the
// change hook has seen it), or ctx's error. It does not contact any other
// node.
func (s *Store) WaitApplied(ctx context.Context, index uint64) error {
	for {
		have, ch := s.fsm.wait.state()
		if have == 0 {
			have, _ = s.fsm.applied()
		}
		if have >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("raftstore: waiting for index %d (applied %d): %w: %w", index, have, ErrTimeout, ctx.Err())
		case <-s.closed:
			return fmt.Errorf("raftstore: wait applied: %w", ErrClosed)
		}
	}
}

// ReadIndex is the leader's half of a standby read: the index of the last
// log this node's FSM applied, taken after the call, confirmed by
// VerifyLeader (the lease, or a quorum round). Every write acknowledged
// before the call was applied here before it was acknowledged (or, from an
// earlier leader, by the Barrier this node ran in its current term: core
// runs one before it serves, and ReadIndex runs one if the term moved on
// since), so a
// node whose FSM has applied the returned index reflects all of them.
// It is the applied index and not raft's commit index on purpose: raft
// delivers only commands and configuration changes to the FSM, so a
// commit index that ends on a no-op or barrier entry would never be
// reached by a follower's FSM. ErrNotLeader (wrapped) when the check fails.
func (s *Store) ReadIndex(ctx context.Context) (uint64, error) {
	if s.raft.State() != raft.Leader {
		return 0, fmt.Errorf("raftstore: read index: %w", ErrNotLeader)
	}
	if s.barrierTerm.Load() != s.raft.CurrentTerm() {
		// No Barrier in this term yet (core runs one before it serves, but
		// leadership may have been lost and regained since): entries an
		// earlier leader committed and acknowledged may not be applied
		// here yet.
		if err := s.Barrier(ctx); err != nil {
			return 0, err
		}
	}
	idx := s.AppliedIndex()
	if err := s.VerifyLeader(ctx); err != nil {
		return 0, err
	}
	return idx, nil
}
