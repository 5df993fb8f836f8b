package raftstore

// The plain types that the Store's operational methods (peers, last
// contact, autopilot input) return. core/clusterops declares its own
// copies of what it needs (clusterops.Status); the composition root
// converts, so core never imports raftstore nor raftstore core.

import "time"

// Peer is one member of the raft configuration as the local node sees it.
type Peer struct {
	ID      string
	Address string
	Voter   bool
	Leader  bool // the current leader, as this node believes
	Self    bool // this node

	// Contact is meaningful only when the local node leads: it is what the
	// leader's heartbeats to this peer tell.
	Contact Contact
}

// Contact describes the leader's heartbeats to one follower.
type Contact struct {
	// Known is false when the local node is not the leader (followers
	// know nothing about each other) or has not tried to reach the peer
	// since it became leader.
	Known bool
	// LastContact is when the leader last heard from the peer (for the
	// leader itself: now).
	LastContact time.Time
	// Failing: the latest heartbeat to the peer failed.
	Failing bool
}

// Status is the raft state autopilot and sys/storage/raft/configuration
// report.
type Status struct {
	// Index is the raft index of the latest configuration.
	Index uint64
	// Term is the local node's current term; LastIndex and LastTerm are
	// those of its last log entry.
	Term, LastIndex, LastTerm uint64
	// CommitIndex and AppliedIndex are the local node's.
	CommitIndex, AppliedIndex uint64
	Peers                     []Peer
}
