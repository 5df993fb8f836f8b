package clusterops

import "time"

// The raft status types the cluster operations consume (RaftOps.RaftStatus).
// clusterops declares them itself so that neither it nor core imports
// raftstore; the composition root (cmd/vaultd/internal/server) converts
// raftstore's values into these.

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

	// Progress is meaningful only when the local node leads: the peer's
	// own report of its log position (the composition root asks every
	// peer over the cluster port about once a second). For the local node
	// computeAutopilot takes it from Status.
	Progress Progress
}

// Progress is a member's log position as it last reported it.
type Progress struct {
	// Known: the peer has answered at least once since this node leads.
	Known bool
	// At is when the answer arrived.
	At time.Time
	// LastIndex and LastTerm are those of the peer's last log entry (or
	// installed snapshot); Applied is the last index its FSM applied.
	LastIndex, LastTerm, Applied uint64
	// RefLastIndex and RefApplied are the local (leader's) last log index
	// and FSM applied index just before it asked: the peer trails by how
	// far it was behind those, however many writes arrived since.
	RefLastIndex, RefApplied uint64
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

// Status is the raft state autopilot and
// sys/storage/raft/configuration report.
type Status struct {
	// Index is the raft index of the latest configuration.
	Index uint64
	// Term is the local node's current term; LastIndex and LastTerm are
	// those of its last log entry.
	Term, LastIndex, LastTerm uint64
	// CommitIndex and AppliedIndex are the local node's.
	CommitIndex, AppliedIndex uint64
	// FSMApplied is the last index the local FSM applied (raft's
	// AppliedIndex counts entries handed to the FSM, which may not have
	// applied them yet); it is what a peer's Progress.Applied compares to.
	FSMApplied uint64
	Peers      []Peer
}
