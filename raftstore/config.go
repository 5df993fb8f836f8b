package raftstore

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// StreamLayer is what raft's NetworkTransport runs on: a listener for
// incoming cluster connections plus a dialer. It is raft.StreamLayer; the
// cluster port (mTLS, ALPN "vaultd-raft/1") and test fault injection plug in
// here. Its Addr() must be the address peers dial, unless
// Config.AdvertiseAddr overrides it.
type StreamLayer = raft.StreamLayer

// Config configures a Store. Start from DefaultConfig.
type Config struct {
	// NodeID is this node's raft server ID, unique in the cluster forever.
	NodeID string
	// DataDir holds raft.db (the bolt log and stable store) and snapshots/.
	// Unused with InMemory.
	DataDir string
	// BindAddr is the raft TCP address to listen on, e.g. "127.0.0.1:8201"
	// (port 0 picks a free port; see Store.Addr). Unused when Stream is set.
	BindAddr string
	// AdvertiseAddr is what peers dial; it defaults to the bound address
	// (TCP) or Stream.Addr().
	AdvertiseAddr string
	// Stream, when non-nil, replaces the plain TCP listener and dialer.
	Stream StreamLayer
	// Logger receives raft's Info/Warn/Error logs and the Store's own.
	// nil discards them.
	Logger *slog.Logger
	// ApplyTimeout bounds every write, Barrier and membership change; an
	// earlier context deadline wins.
	ApplyTimeout time.Duration
	// PerformanceMultiplier scales raft's heartbeat, election, leader-lease
	// and commit timeouts (see timings). 1 is LAN-fast (failover ≈ 1 s);
	// use larger values on slow or loaded networks. Range 1..10.
	PerformanceMultiplier int
	// SnapshotThreshold is how many log entries since the last snapshot
	// trigger a new one (checked every SnapshotInterval to twice that);
	// TrailingLogs is how many entries are kept after it so
	// slightly-lagging followers can catch up from the log instead of a
	// full snapshot. The Store raises the threshold it gives raft while
	// the state is large, so that the log written between two snapshots is
	// at least half the state a snapshot writes (tuneSnapshots).
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	// InMemory keeps the raft log, stable store and snapshots in memory
	// (tests and `server -dev`): nothing survives Close. Without BindAddr or
	// Stream it also uses an in-memory transport (a single-node cluster
	// nobody can join).
	InMemory bool
	// Metrics receives commit, apply, fsync and snapshot timings (nil:
	// none); metrics.go.
	Metrics Metrics
}

// DefaultConfig returns the defaults; callers still set NodeID and DataDir
// (or InMemory).
func DefaultConfig() Config {
	return Config{
		BindAddr:              "127.0.0.1:8201",
		ApplyTimeout:          10 * time.Second,
		PerformanceMultiplier: 1,
		SnapshotThreshold:     8192,
		SnapshotInterval:      5 * time.Second,
		TrailingLogs:          10240,
	}
}

// Validate reports the first problem with c, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case c.NodeID == "":
		return bad("NodeID is required")
	case !c.InMemory && c.DataDir == "":
		return bad("DataDir is required unless InMemory")
	case c.Stream == nil && c.BindAddr == "" && !c.InMemory:
		return bad("BindAddr or Stream is required")
	case c.ApplyTimeout <= 0:
		return bad("ApplyTimeout must be positive")
	case c.PerformanceMultiplier < 1 || c.PerformanceMultiplier > 10:
		return bad("PerformanceMultiplier %d out of range 1..10", c.PerformanceMultiplier)
	case c.SnapshotThreshold == 0:
		return bad("SnapshotThreshold must be positive")
	case c.SnapshotInterval < 5*time.Millisecond:
		return bad("SnapshotInterval %s too low", c.SnapshotInterval)
	}
	if c.Stream == nil && c.BindAddr != "" {
		if _, _, err := net.SplitHostPort(c.BindAddr); err != nil {
			return bad("BindAddr %q: %v", c.BindAddr, err)
		}
	}
	if c.AdvertiseAddr != "" {
		host, _, err := net.SplitHostPort(c.AdvertiseAddr)
		if err != nil {
			return bad("AdvertiseAddr %q: %v", c.AdvertiseAddr, err)
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			return bad("AdvertiseAddr %q is not dialable", c.AdvertiseAddr)
		}
	}
	if err := raft.ValidateConfig(c.raftConfig(nil, nil)); err != nil {
		return bad("raft: %v", err)
	}
	return nil
}

// Timings at PerformanceMultiplier m (all scale linearly with m):
//
//	HeartbeatTimeout   300ms·m  follower waits 300–600ms without contact, then
//	                            pre-votes; the leader heartbeats every ~30ms·m
//	ElectionTimeout    300ms·m  a candidate retries after 300–600ms·m
//	LeaderLeaseTimeout 150ms·m  a leader cut off from a quorum steps down
//	                            (and fails writes/VerifyLeader) after this
//	CommitTimeout       20ms·m  idle followers learn the commit index this fast
//
// On loopback this elects a single bootstrapped node in 0.3–0.6 s and fails
// a 3-node cluster over in about 0.4–1 s; raft's own 1 s defaults take ≈ 2 s.
// raft requires LeaderLeaseTimeout ≤ HeartbeatTimeout ≤ ElectionTimeout.
//
// Throughput: MaxAppendEntries 256 with BatchApplyCh lets concurrent Apply
// calls from many goroutines coalesce into one log batch, one bolt
// transaction and one FSM ApplyBatch; the log cache (logCacheSize) keeps the
// newest entries out of bolt for replication to followers.
const (
	baseHeartbeat  = 300 * time.Millisecond
	baseElection   = 300 * time.Millisecond
	baseLeaderLase = 150 * time.Millisecond
	baseCommit     = 20 * time.Millisecond

	maxAppendEntries = 256
	logCacheSize     = 1024
)

// raftConfig derives hashicorp/raft's Config. notify and logger may be nil
// (Validate).
func (c Config) raftConfig(notify chan<- bool, logger *slog.Logger) *raft.Config {
	m := time.Duration(c.PerformanceMultiplier)
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.NodeID)
	rc.HeartbeatTimeout = baseHeartbeat * m
	rc.ElectionTimeout = baseElection * m
	rc.LeaderLeaseTimeout = baseLeaderLase * m
	rc.CommitTimeout = baseCommit * m
	rc.MaxAppendEntries = maxAppendEntries
	rc.BatchApplyCh = true
	rc.SnapshotThreshold = c.SnapshotThreshold
	rc.SnapshotInterval = c.SnapshotInterval
	rc.TrailingLogs = c.TrailingLogs
	rc.NotifyCh = notify
	rc.NoLegacyTelemetry = true
	if logger != nil {
		rc.Logger = newHCLogger(logger, "raft")
	}
	return rc
}

// heartbeatTimeout is raft's HeartbeatTimeout for c.
func (c Config) heartbeatTimeout() time.Duration {
	return baseHeartbeat * time.Duration(c.PerformanceMultiplier)
}
