package raftstore

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/btree"
	"github.com/hashicorp/raft"

	"github.com/vaultd/vaultd/storage"
)

// applyResult is what the FSM returns for every command it applies; the
// leader's ApplyFuture.Response() carries it back to the caller. Err is a
// deterministic rejection (the same on every node), e.g. an invalid key, in
// which case the whole Txn was applied nowhere.
type applyResult struct {
	Err error
}

// hasCheck reports whether ops hold a precondition (storage.OpCheck).
func hasCheck(ops []storage.Op) bool {
	for _, op := range ops {
		if op.Kind == storage.OpCheck {
			return true
		}
	}
	return false
}

// fsm is the replicated state: an ordered map of ciphertexts in memory.
//
// Contract (from hashicorp/raft's fsm.go): Apply/ApplyBatch, Snapshot and
// Restore are called from raft's single FSM goroutine; Apply may run
// concurrently with FSMSnapshot.Persist, which is why Snapshot captures an
// O(1) copy-on-write clone of the tree. Get/List (the Store's reads) run
// concurrently with all of them, under mu.
type fsm struct {
	mu    sync.RWMutex        // guards tree, index, term
	tree  *btree.BTreeG[item] // never nil; copy-on-write clones are handed to snapshots
	index uint64              // raft index of the last log applied (commands and configuration changes)
	term  uint64              // its term

	// rejected holds the indexes of the commands whose precondition
	// (storage.OpCheck) failed, so applied nothing, among those this FSM
	// applied since restoredAt, the index of the snapshot it was last
	// restored from (0: it applied the log from the start). The change
	// feed needs it: the log alone does not say whether a conditional
	// entry took effect. restoredAt is guarded by mu, rejected by rejMu
	// (taken inside mu when both are), so the change feed can prune it
	// without holding up applies and reads.
	restoredAt uint64
	rejMu      sync.Mutex
	rejected   map[uint64]struct{}

	// paused, when set, holds ApplyBatch until it is closed
	// (Store.PauseApplyForTesting).
	paused atomic.Pointer[chan struct{}]

	batches, entries atomic.Uint64 // ApplyBatch calls and logs applied, for Stats
	// bytes is the size of every key and value held (what a snapshot
	// writes, less framing); written under mu, read without it.
	bytes   atomic.Int64
	metrics Metrics // never nil once the Store set it

	// hook, when set, sees the keys of every applied batch (readindex.go);
	// waiters are released only after it returned.
	hook atomic.Pointer[ChangeHook]
	wait appliedWaiter // readindex.go
}

var (
	_ raft.BatchingFSM = (*fsm)(nil)
	_ raft.FSMSnapshot = (*fsmSnapshot)(nil)
)

func newFSM() *fsm { return &fsm{tree: newTree(), rejected: map[uint64]struct{}{}} }

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch implements raft.BatchingFSM: the whole batch is applied under
// one lock. Each LogCommand gets an *applyResult; other log types (raft
// sends LogConfiguration) get nil.
//
// A command that cannot be decoded (unknown version or kind, malformed
// bytes) panics: this node is too old or the log is corrupt, and crashing is
// the only way not to diverge from the other replicas.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	if p := f.paused.Load(); p != nil {
		<-*p
	}
	// Decode outside the lock; decoding is pure.
	type decoded struct {
		ops []storage.Op
		err error // deterministic rejection
	}
	dec := make([]decoded, len(logs))
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue
		}
		ops, err := decodeCommand(l.Data)
		if err != nil {
			panic(fmt.Sprintf("raftstore: fsm: cannot apply raft log %d (term %d): %v", l.Index, l.Term, err))
		}
		if err := validateOps(ops); err != nil {
			dec[i].err = fmt.Errorf("raftstore: apply: %w", err)
			continue
		}
		dec[i].ops = ops
	}

	f.batches.Add(1)
	f.entries.Add(uint64(len(logs)))
	out := make([]any, len(logs))
	start := time.Now()
	f.mu.Lock()
	defer func() {
		f.mu.Unlock()
		if f.metrics != nil {
			f.metrics.FSMApply(time.Since(start), len(logs))
		}
		f.notifyApplied(logs, func(i int) []storage.Op { return dec[i].ops })
	}()
	for i, l := range logs {
		f.index, f.term = l.Index, l.Term
		if l.Type != raft.LogCommand {
			continue
		}
		if dec[i].err != nil {
			out[i] = &applyResult{Err: dec[i].err}
			continue
		}
		// Preconditions first, against the state before this command (and
		// after every earlier one): deterministic, so every node accepts or
		// refuses the command alike.
		if err := f.checkLocked(dec[i].ops); err != nil {
			f.rejMu.Lock()
			f.rejected[l.Index] = struct{}{}
			f.rejMu.Unlock()
			out[i] = &applyResult{Err: err}
			continue
		}
		for _, op := range dec[i].ops {
			if op.Kind == storage.OpCheck {
				continue
			}
			if op.Kind == storage.OpPut {
				// Copy: the value aliases the log's buffer.
				v := make([]byte, len(op.Value))
				copy(v, op.Value)
				delta := int64(len(op.Key) + len(v))
				if old, ok := f.tree.ReplaceOrInsert(item{key: op.Key, value: v}); ok {
					delta -= int64(len(old.key) + len(old.value))
				}
				f.bytes.Add(delta)
			} else if old, ok := f.tree.Delete(item{key: op.Key}); ok {
				f.bytes.Add(-int64(len(old.key) + len(old.value)))
			}
		}
		out[i] = &applyResult{}
	}
	return out
}

// checkLocked evaluates every storage.OpCheck of ops against the tree;
// f.mu is held.
func (f *fsm) checkLocked(ops []storage.Op) error {
	for _, op := range ops {
		if op.Kind != storage.OpCheck {
			continue
		}
		it, ok := f.tree.Get(item{key: op.Key})
		if err := storage.CheckOp(op, it.value, ok); err != nil {
			return fmt.Errorf("raftstore: apply: check %q: %w", op.Key, err)
		}
	}
	return nil
}

// wasRejected reports whether the command at index failed its
// precondition; known is false when this FSM cannot tell (it was restored
// from a snapshot at or past index, so it never applied that entry).
func (f *fsm) wasRejected(index uint64) (rejected, known bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if index <= f.restoredAt || index > f.index {
		return false, false
	}
	f.rejMu.Lock()
	defer f.rejMu.Unlock()
	_, rejected = f.rejected[index]
	return rejected, true
}

// forgetRejectedBelow drops the record of rejected commands below index
// (the log no longer holds them).
func (f *fsm) forgetRejectedBelow(index uint64) {
	f.rejMu.Lock()
	defer f.rejMu.Unlock()
	for i := range f.rejected {
		if i < index {
			delete(f.rejected, i)
		}
	}
}

// get returns a copy of key's value.
func (f *fsm) get(key string) ([]byte, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	it, ok := f.tree.Get(item{key: key})
	if !ok {
		return nil, false
	}
	v := make([]byte, len(it.value))
	copy(v, it.value)
	return v, true
}

// list returns the sorted direct children of prefix (storage.Backend.List).
// It seeks past every sub-prefix instead of walking it, so its cost is in
// the number of children, not the size of the subtree.
func (f *fsm) list(prefix string) []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]string, 0)
	pivot := prefix
	for {
		var next string
		found := false
		f.tree.AscendGreaterOrEqual(item{key: pivot}, func(it item) bool {
			if strings.HasPrefix(it.key, prefix) {
				next, found = it.key, true
			}
			return false
		})
		if !found {
			return out
		}
		rest := next[len(prefix):]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			out = append(out, rest[:i+1])
			// '0' is the byte after '/': skip everything below prefix+rest[:i+1].
			pivot = prefix + rest[:i] + "0"
		} else {
			out = append(out, rest)
			// Keys never contain NUL, so this is the key's immediate successor.
			pivot = next + "\x00"
		}
	}
}

// applied returns the index and term of the last log applied.
func (f *fsm) applied() (index, term uint64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.index, f.term
}

// size is the number of keys.
func (f *fsm) size() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.tree.Len()
}

// Snapshot implements raft.FSM in O(1): it captures a copy-on-write clone.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return f.snapshot(), nil
}

func (f *fsm) snapshot() *fsmSnapshot {
	// Clone mutates the original's copy-on-write context: exclusive lock.
	f.mu.Lock()
	defer f.mu.Unlock()
	return &fsmSnapshot{tree: f.tree.Clone(), meta: snapshotMeta{Index: f.index, Term: f.term}, metrics: f.metrics}
}

// Restore implements raft.FSM: it parses and verifies the whole stream into
// a new tree, and only then swaps it in. On error the state is untouched.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	tree, meta, err := readSnapshot(rc)
	if err != nil {
		return fmt.Errorf("raftstore: restore: %w", err)
	}
	var n int64
	tree.Ascend(func(it item) bool {
		n += int64(len(it.key) + len(it.value))
		return true
	})
	f.mu.Lock()
	f.tree, f.index, f.term = tree, meta.Index, meta.Term
	f.restoredAt = meta.Index
	f.rejMu.Lock()
	f.rejected = map[uint64]struct{}{}
	f.rejMu.Unlock()
	f.bytes.Store(n)
	f.mu.Unlock()
	f.notifyRestored(meta.Index)
	return nil
}

// fsmSnapshot is an immutable point-in-time view of the FSM.
type fsmSnapshot struct {
	tree    *btree.BTreeG[item]
	meta    snapshotMeta
	metrics Metrics // nil: none
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	start := time.Now()
	cs := &countingSink{SnapshotSink: sink}
	if err := writeSnapshot(cs, s.meta, s.tree); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("raftstore: persist snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return err
	}
	if s.metrics != nil {
		s.metrics.Snapshot(time.Since(start), cs.n)
	}
	return nil
}

// Release implements raft.FSMSnapshot. The clone is garbage collected.
func (s *fsmSnapshot) Release() {}
