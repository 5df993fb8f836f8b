package raftstore

import (
	"errors"
	"fmt"
	"slices"

	"github.com/hashicorp/raft"

	"github.com/vaultd/vaultd/storage"
)

// Change feed: the committed storage transactions of the raft log, in
// order, as the barrier wrote them (values are ciphertexts). It is the
// source side of cross-cluster replication (issue 16): a consumer keeps the
// index it has applied and asks for what follows. Nothing serves it over
// the network yet.

// Change is one committed storage transaction.
type Change struct {
	// Index and Term are the raft log position of the transaction.
	Index, Term uint64
	// Ops are the transaction's writes; values are copies.
	Ops []storage.Op
}

// ErrCompacted: the log no longer holds the entries from the requested
// index (they were folded into a snapshot, or an operator restore replaced
// the state). The consumer must resynchronise from a snapshot and continue
// from the snapshot's index.
var ErrCompacted = errors.New("raftstore: the raft log no longer holds the requested index")

// Changes returns at most limit storage transactions whose index is at
// least from and at most this node's applied index (so every one is
// committed), and the index to ask for next. Raft entries that are not
// storage commands (configuration changes, barriers) are skipped but
// advance next. An empty result with next == from means nothing new.
func (s *Store) Changes(from uint64, limit int) (changes []Change, next uint64, err error) {
	if s.isClosed() {
		return nil, from, fmt.Errorf("raftstore: changes: %w", ErrClosed)
	}
	if from == 0 {
		from = 1
	}
	if limit <= 0 {
		limit = 1
	}
	first, err := s.logs.FirstIndex()
	if err != nil {
		return nil, from, fmt.Errorf("raftstore: changes: %w", err)
	}
	// The FSM's own index, not raft's AppliedIndex: raft advances that when
	// it hands entries to the FSM, before they are applied, and whether a
	// conditional entry took effect is known only once it is.
	applied, _ := s.fsm.applied()
	if from > applied {
		return nil, from, nil
	}
	if first == 0 || from < first {
		return nil, from, fmt.Errorf("%w: asked for %d, the log starts at %d", ErrCompacted, from, first)
	}
	s.fsm.forgetRejectedBelow(first)
	next = from
	for idx := from; idx <= applied && len(changes) < limit; idx++ {
		var l raft.Log
		if err := s.logs.GetLog(idx, &l); err != nil {
			if errors.Is(err, raft.ErrLogNotFound) {
				// Compacted between FirstIndex and here.
				return nil, from, fmt.Errorf("%w: entry %d is gone", ErrCompacted, idx)
			}
			return nil, from, fmt.Errorf("raftstore: changes: entry %d: %w", idx, err)
		}
		next = idx + 1
		if l.Type != raft.LogCommand {
			continue
		}
		ops, err := decodeCommand(l.Data)
		if err != nil {
			return nil, from, fmt.Errorf("raftstore: changes: entry %d: %w", idx, err)
		}
		if hasCheck(ops) {
			// A conditional Txn took effect only if its preconditions held
			// when the FSM applied it; the FSM remembers which did not.
			rejected, known := s.fsm.wasRejected(idx)
			if !known {
				return nil, from, fmt.Errorf("%w: the outcome of conditional entry %d predates this node's last snapshot restore", ErrCompacted, idx)
			}
			if rejected {
				continue
			}
			ops = slices.DeleteFunc(ops, func(op storage.Op) bool { return op.Kind == storage.OpCheck })
		}
		for i := range ops {
			if ops[i].Value != nil {
				ops[i].Value = append([]byte(nil), ops[i].Value...)
			}
		}
		changes = append(changes, Change{Index: l.Index, Term: l.Term, Ops: ops})
	}
	return changes, next, nil
}
