package raftstore

import (
	"time"

	"github.com/hashicorp/raft"
)

// Metrics receives the Store's timings. raftstore declares it so that it
// needs no metrics library; the composition root implements it over the
// node's registry. Methods must be cheap and safe for concurrent use.
type Metrics interface {
	// Commit: one write proposed on this node, from Apply until this
	// node's FSM applied it (a quorum has it in its log).
	Commit(d time.Duration)
	// FSMApply: one batch of entries applied to the FSM.
	FSMApply(d time.Duration, entries int)
	// StoreLogs: entries appended to raft.db, fsync included.
	StoreLogs(d time.Duration)
	// Snapshot: one snapshot persisted (written and fsynced), and its size.
	Snapshot(d time.Duration, size int64)
}

type nopMetrics struct{}

func (nopMetrics) Commit(time.Duration)          {}
func (nopMetrics) FSMApply(time.Duration, int)   {}
func (nopMetrics) StoreLogs(time.Duration)       {}
func (nopMetrics) Snapshot(time.Duration, int64) {}

// timedLogStore times the appends to the log store below raft's cache.
type timedLogStore struct {
	raft.LogStore
	m Metrics
}

func (t timedLogStore) StoreLog(l *raft.Log) error { return t.StoreLogs([]*raft.Log{l}) }

func (t timedLogStore) StoreLogs(ls []*raft.Log) error {
	start := time.Now()
	err := t.LogStore.StoreLogs(ls)
	t.m.StoreLogs(time.Since(start))
	return err
}

// countingSink counts the bytes of a snapshot being persisted.
type countingSink struct {
	raft.SnapshotSink
	n int64
}

func (c *countingSink) Write(p []byte) (int, error) {
	n, err := c.SnapshotSink.Write(p)
	c.n += int64(n)
	return n, err
}

// LastContact is when this node last heard from the leader (now for the
// leader itself; zero if never).
func (s *Store) LastContact() time.Time {
	if s.IsLeader() {
		return time.Now()
	}
	return s.raft.LastContact()
}

// State is raft's state of this node: "Leader", "Follower", "Candidate"
// or "Shutdown".
func (s *Store) State() string { return s.raft.State().String() }
