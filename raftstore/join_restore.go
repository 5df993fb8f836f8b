package raftstore

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// commitTrackingKey is the stable-store key of the last known commit index.
var commitTrackingKey = []byte("vaultd_commit_index")

// commitTracker makes the log store a raft.CommitTrackingLogStore so that
// raft (Config.RestoreCommittedLogs) replays the entries known committed
// into the FSM as it starts, before it hears from any leader (up to the
// newest configuration entry; see GetCommitIndex). A restarted node thus has its seal
// configuration, sealed root key and keyring locally before it can talk to
// any peer, which it cannot do until it is unsealed: the cluster TLS
// material is behind the barrier (see clusterport).
//
// raft stages a commit index before each StoreLogs; the tracker persists
// it in the stable store right after that StoreLogs succeeds. A crash in
// between leaves an older index, which only means fewer entries replayed
// at start (the rest arrive from the leader). The staged index never
// exceeds what is in the log after that StoreLogs (raft stages
// min(leaderCommit, last new index)), and committed entries are never
// overwritten, so the persisted index never names an uncommitted entry.
// GetCommitIndex clamps to LastIndex anyway, as the interface requires.
//
// Persisting costs one extra bolt transaction (an fsync), so under load it
// is throttled to one per persistEvery; the first eagerPersists batches
// after start (init, joins) are always persisted. The lag this allows is
// harmless for the same reason as a crash in between.
type commitTracker struct {
	raft.LogStore
	stable raft.StableStore
	staged atomic.Uint64
	// applied is the FSM's last applied index (after raft restored the
	// newest snapshot, when GetCommitIndex is called); nil: 0.
	applied func() uint64

	mu      sync.Mutex // serialises persisting; raft calls StoreLogs from one goroutine
	last    time.Time
	batches int
}

const (
	persistEvery  = 50 * time.Millisecond
	eagerPersists = 64

	// maxReplay bounds the entries replayed at start. hashicorp/raft
	// (v1.8) replays them inside NewRaft, before it starts the goroutine
	// that applies them: every maxAppendEntries entries go into a channel
	// of 128 batches, and one more batch blocks NewRaft forever. A node
	// restarted with more than 128 × maxAppendEntries committed entries
	// after its last snapshot (easy once the snapshot threshold grows with
	// the state, snaptune.go) hung at start; 1 M secrets made it certain.
	// Entries past the bound are applied from the local log as soon as
	// the node hears the commit index from a leader.
	maxReplay = 100 * maxAppendEntries
)

var _ raft.CommitTrackingLogStore = (*commitTracker)(nil)

func (c *commitTracker) StageCommitIndex(idx uint64) error {
	c.staged.Store(idx)
	return nil
}

func (c *commitTracker) StoreLog(l *raft.Log) error { return c.StoreLogs([]*raft.Log{l}) }

func (c *commitTracker) StoreLogs(logs []*raft.Log) error {
	idx := c.staged.Load()
	if err := c.LogStore.StoreLogs(logs); err != nil {
		return err
	}
	if idx == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.batches >= eagerPersists && now.Sub(c.last) < persistEvery {
		return nil
	}
	c.batches++
	c.last = now
	return c.stable.SetUint64(commitTrackingKey, idx)
}

func (c *commitTracker) GetCommitIndex() (uint64, error) {
	idx, err := c.stable.GetUint64(commitTrackingKey)
	if errors.Is(err, raftboltdb.ErrKeyNotFound) {
		return 0, nil // nothing tracked yet
	}
	if err != nil {
		return 0, err
	}
	last, err := c.LogStore.LastIndex()
	if err != nil {
		return 0, err
	}
	idx = min(idx, last)
	var applied uint64
	if c.applied != nil {
		applied = c.applied()
	}
	idx = min(idx, applied+maxReplay)
	first, err := c.LogStore.FirstIndex()
	if err != nil {
		return 0, err
	}
	// Entries up to applied are in the restored snapshot (its
	// configuration included): only the replayed range needs the scan.
	first = max(first, applied+1)
	// raft v1.8 rebuilds its membership only from configuration entries
	// after the replayed range (NewRaft scans from lastApplied+1), so a
	// replay that covered a configuration entry would leave the node with
	// an empty configuration. Stop the replay just before the newest
	// configuration entry; entries from there on are replayed as usual
	// once the node hears from a leader (or elects itself).
	for i := idx; i >= first && i > 0; i-- {
		var l raft.Log
		if err := c.LogStore.GetLog(i, &l); err != nil {
			if errors.Is(err, raft.ErrLogNotFound) {
				continue
			}
			return 0, err
		}
		if l.Type == raft.LogConfiguration {
			return i - 1, nil
		}
	}
	return idx, nil
}
