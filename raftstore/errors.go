package raftstore

import "errors"

// Errors returned by the Store. Classify them with errors.Is; the returned
// errors wrap these with the operation (and, where useful, raft's own error).
var (
	// ErrNotLeader: the operation needs the raft leader and this node is not
	// it, or it lost leadership while the operation was in flight. A write
	// that returns ErrNotLeader after it was proposed has an unknown outcome:
	// it may still be committed by the next leader.
	ErrNotLeader = errors.New("raftstore: not the leader")
	// ErrAlreadyBootstrapped: Bootstrap on a node that already has raft state.
	ErrAlreadyBootstrapped = errors.New("raftstore: already bootstrapped")
	// ErrClosed: the Store (or its raft node) has been shut down.
	ErrClosed = errors.New("raftstore: closed")
	// ErrBadSnapshot: a snapshot stream is malformed, truncated, of an
	// unknown version, or fails its checksum.
	ErrBadSnapshot = errors.New("raftstore: bad snapshot")
	// ErrTimeout: the operation did not complete before the context deadline
	// or Config.ApplyTimeout. For a write the outcome is unknown.
	ErrTimeout = errors.New("raftstore: timed out")
	// ErrInvalidArgument: bad input other than a key: a Txn op of unknown
	// kind, a nil entry, an empty server ID or address.
	ErrInvalidArgument = errors.New("raftstore: invalid argument")
	// ErrInvalidConfig: Config.Validate failed.
	ErrInvalidConfig = errors.New("raftstore: invalid config")
)
