// Package raftstore is vaultd's replicated storage.Backend, built on
// hashicorp/raft with raft-boltdb/v2.
//
// # What it owns
//
// A Store is one raft node: the log and stable store (DataDir/raft.db, bolt),
// file snapshots (DataDir/snapshots/), the transport (TCP, or any
// StreamLayer such as the mTLS cluster port) and the FSM. It sits below the
// barrier, so every value it stores, replicates, snapshots and logs about is
// a ciphertext; it never sees plaintext or key material.
//
// Writes (Put, Delete, Txn) are encoded as one raft command per call
// (command.go), proposed with raft.Apply on the leader and acknowledged only
// after raft committed the entry and this node's FSM applied it; a follower
// returns ErrNotLeader. An error never hides a committed write as "failed
// for sure": ErrNotLeader after proposal, ErrTimeout and ErrClosed mean the
// outcome is unknown. The caller's context bounds only the wait for raft to
// take the command: once raft has it, the write waits for its outcome (up
// to ApplyTimeout more) even if that context ends, so that on return the
// entry is applied to this node's FSM or this node lost leadership. Callers
// that hold a lock across read-modify-write (kv's cas and versions) depend
// on it: an entry still in flight when the lock is released would be
// invisible to the next writer's read and overwritten by its Txn. Reads (Get, List) come from the local FSM; making them
// linearizable is the caller's job: on the active node, VerifyLeader before
// the read, and Barrier once after gaining leadership. VerifyLeader returns
// at once while the leader lease holds (lease.go: a quorum accepted
// AppendEntries this leader sent less than HeartbeatTimeout/2 ago, so no
// other node can have been elected; docs/consistency.md has the argument)
// and otherwise runs a coalesced quorum check that starts after the read
// arrived (VerifyLeaderRound).
//
// # The FSM
//
// The FSM keeps the data in memory, in a B-tree of key → ciphertext with
// O(1) copy-on-write clones (github.com/google/btree). raft calls
// ApplyBatch with up to MaxAppendEntries committed entries at a time; a
// batch is applied under one lock. Each entry is one Txn: every op is
// validated before any is applied, so a Txn is all or nothing, and a
// rejected Txn is rejected identically on every node. A command the node
// cannot decode (unknown version or kind) panics: crashing beats diverging.
//
// # Why recovery is exact without the FSM persisting itself
//
// The FSM is a pure, deterministic function of the committed log: the same
// entries in the same order give the same tree on every node and on every
// run. raft fsyncs each log batch to bolt before it acknowledges it to the
// leader (and the leader before it counts itself in the quorum), so every
// acknowledged write is in the durable log of a quorum. Snapshots are
// written atomically by raft's FileSnapshotStore (temp dir, fsync, rename)
// and the log is only truncated up to a snapshot that is already durable.
// On restart raft restores the newest valid snapshot into the FSM and then
// replays every log entry after it as it becomes known committed, which
// reproduces exactly the state the node had applied (and then more). So
// the FSM needs no fsync or file of its own; its only cost is replay time,
// bounded by SnapshotThreshold + TrailingLogs entries.
//
// # Throughput and failover
//
// Concurrent writers coalesce: with BatchApplyCh, raft drains up to
// MaxAppendEntries (256) queued Apply calls into one log batch, one bolt
// transaction, one AppendEntries RPC per follower and one FSM ApplyBatch.
// A log cache keeps the newest entries in memory for replication. Timeouts
// are LAN-fast at PerformanceMultiplier 1 (see the table in config.go):
// a follower notices a dead leader within 300–600 ms, and a 3-node cluster
// on loopback fails over in about a second.
//
// # Snapshot format
//
// The FSM snapshot and the operator snapshot (SaveSnapshot /
// RestoreSnapshot) are the same stream: "VDSNAP", a version byte, the last
// applied index and term, the entry count, the entries in ascending key
// order (length-prefixed), and a SHA-256 of everything before it. Restore
// parses and verifies the whole stream into a new tree before it swaps the
// tree in, so a bad stream leaves the state untouched.
//
// # Concurrency
//
// Store is safe for concurrent use. The FSM's tree and applied index are
// guarded by fsm.mu. Goroutines owned by a Store (raft's, the leadership
// pump, the VerifyLeader round runner) all end in Close.
package raftstore
