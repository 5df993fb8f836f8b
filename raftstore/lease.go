package raftstore

import (
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// The leader lease: linearizable reads on the leader without a quorum
// round per read. docs/consistency.md has the full safety argument; in
// short:
//
//   - leaseTransport records, for every voter, the time (this node's
//     monotonic clock) at which the leader SENT the newest AppendEntries
//     (heartbeats included) of the current term that the voter accepted.
//     The send time is a lower bound of the moment the follower processed
//     it, even if the answer sat in a socket for seconds (a paused leader):
//     that is why the lease is not counted from when a VerifyLeader round
//     started or when an answer arrived.
//   - A hashicorp/raft follower that accepted an AppendEntries at r keeps
//     that leader until its heartbeat timer finds no contact for
//     HeartbeatTimeout (raft.go runFollower), and while it has a leader it
//     refuses RequestVote and RequestPreVote from anyone else (requestVote:
//     "rejecting vote request since we have a leader"), except a vote
//     flagged LeadershipTransfer, which only follows a TimeoutNow that this
//     leader sends (TransferLeadership holds the lease off meanwhile).
//   - So if a quorum of voters (this leader counting as one) accepted an
//     AppendEntries sent at or after s, no other node can collect a quorum
//     of votes before s + HeartbeatTimeout (followers' clocks), and no
//     other leader can acknowledge a write before then. The lease ends at
//     s + leaseFraction·HeartbeatTimeout on the leader's clock, which
//     leaves room for clock rates differing by up to 1/3.
//   - A node that restarts has forgotten its leader and would vote at once,
//     so Open waits one HeartbeatTimeout before starting raft on a node
//     with existing state (startDelay).
//   - The voter set comes from the newest configuration entry: configWatch
//     sees every configuration entry the moment it is written to this
//     node's log, before any follower can receive it, and recomputes the
//     lease with the new voters; on winning an election the keeper fetches
//     the configuration before the lease can be used in that term.
//
// When the lease is not valid (new term, lost heartbeats, membership
// change, leadership transfer), VerifyLeader falls back to a coalesced
// quorum round.

// leaseFraction of HeartbeatTimeout is how long a follower's acceptance
// vouches for this leader (see above; 1/2 tolerates clock-rate differences
// of up to 1/3 between nodes).
const leaseFraction = 2

// lease holds the ack times and the voter set; Store.leaseValid reads it
// without locks.
type lease struct {
	dur  time.Duration // HeartbeatTimeout / leaseFraction
	self raft.ServerID
	base time.Time // monotonic origin of the nanosecond values below

	mu       sync.Mutex
	ackTerm  uint64                      // term of the acks in acks
	acks     map[raft.ServerID]time.Time // newest accepted send time per peer
	voters   []raft.ServerID             // voters of the newest configuration
	cfgTerm  uint64                      // term in which the keeper confirmed voters as leader
	cfgGen   uint64                      // bumped by every configuration entry written
	selfVote bool                        // this node is a voter in voters

	// Published for the read path.
	validTerm atomic.Uint64 // term the expiry is for (0: none)
	expiry    atomic.Int64  // ns since base
	hold      atomic.Int32  // > 0: no lease (leadership transfer in flight)

	hits, misses atomic.Uint64
}

func newLease(self string, heartbeat time.Duration) *lease {
	return &lease{
		dur:  heartbeat / leaseFraction,
		self: raft.ServerID(self),
		base: time.Now(),
		acks: map[raft.ServerID]time.Time{},
	}
}

// valid reports whether a read in term may be served under the lease now.
func (l *lease) valid(term uint64) bool {
	if l.hold.Load() > 0 || term == 0 || l.validTerm.Load() != term {
		return false
	}
	return int64(time.Since(l.base)) < l.expiry.Load()
}

// record notes that peer accepted an AppendEntries of term sent at sent.
func (l *lease) record(peer raft.ServerID, term uint64, sent time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case term < l.ackTerm:
		return
	case term > l.ackTerm:
		l.ackTerm = term
		clear(l.acks)
	}
	if prev, ok := l.acks[peer]; ok && !sent.After(prev) {
		return
	}
	l.acks[peer] = sent
	l.recompute()
}

// setVoters installs the voters of a configuration entry just written to
// the log (configWatch), before anyone else can act on it.
func (l *lease) setVoters(c raft.Configuration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfgGen++
	l.setVotersLocked(c)
}

func (l *lease) setVotersLocked(c raft.Configuration) {
	l.voters = l.voters[:0]
	l.selfVote = false
	for _, s := range c.Servers {
		if s.Suffrage != raft.Voter {
			continue
		}
		l.voters = append(l.voters, s.ID)
		if s.ID == l.self {
			l.selfVote = true
		}
	}
	l.recompute()
}

// confirm installs a configuration the keeper fetched from raft as leader
// of term, unless a configuration entry was written since it asked (gen);
// it reports whether it did.
func (l *lease) confirm(term, gen uint64, c raft.Configuration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if gen != l.cfgGen {
		return false
	}
	l.cfgTerm = term
	l.setVotersLocked(c)
	return true
}

func (l *lease) gen() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfgGen
}

// recompute publishes the expiry: the quorum-th newest send time (this
// node counting as "now" forever while it leads) plus dur. Caller holds mu.
func (l *lease) recompute() {
	if l.cfgTerm == 0 || l.cfgTerm != l.ackTerm && len(l.voters) > 1 || !l.selfVote {
		l.validTerm.Store(0)
		return
	}
	need := len(l.voters)/2 + 1 - 1 // followers needed besides this node
	var exp int64
	if need <= 0 {
		exp = math.MaxInt64 // a single voter: nobody else can be elected
	} else {
		times := make([]time.Time, 0, len(l.voters))
		for _, v := range l.voters {
			if t, ok := l.acks[v]; ok && v != l.self {
				times = append(times, t)
			}
		}
		if len(times) < need {
			l.validTerm.Store(0)
			return
		}
		slices.SortFunc(times, func(a, b time.Time) int { return b.Compare(a) })
		exp = int64(times[need-1].Add(l.dur).Sub(l.base))
	}
	// Publish expiry before the term, and invalidate first, so a reader
	// never pairs a new term with an old expiry.
	l.validTerm.Store(0)
	l.expiry.Store(exp)
	l.validTerm.Store(l.cfgTerm)
}

// leaseTransport records accepted AppendEntries for the lease. Only the
// synchronous AppendEntries (raft's heartbeats, every HeartbeatTimeout/10,
// and non-pipelined replication) is observed; pipelined appends pass
// through untouched.
//
// It also keeps a node that stepped down from campaigning (holdCampaigns):
// its own pre-vote and vote requests fail until the hold ends, except in
// an election a leader asked it to run by a leadership transfer.
type leaseTransport struct {
	raft.Transport
	lease *lease

	base      time.Time    // monotonic origin of holdUntil
	holdUntil atomic.Int64 // ns since base; this node sends no (pre-)vote request before it
}

// errCampaignHold is what this node's own vote requests fail with while
// it holds off after a step-down.
var errCampaignHold = errors.New("raftstore: this node stepped down and does not campaign yet")

// holdCampaigns makes this node's (pre-)vote requests fail for d (0 lifts
// the hold).
func (t *leaseTransport) holdCampaigns(d time.Duration) {
	if d <= 0 {
		t.holdUntil.Store(0)
		return
	}
	t.holdUntil.Store(int64(time.Since(t.base) + d))
}

func (t *leaseTransport) holding() bool {
	u := t.holdUntil.Load()
	return u != 0 && int64(time.Since(t.base)) < u
}

// RequestVote implements raft.Transport (see holdCampaigns). An election
// the current leader asked this node to run (a leadership transfer to it:
// another step-down, or a leader being sealed) is not held back.
func (t *leaseTransport) RequestVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestVoteRequest, resp *raft.RequestVoteResponse) error {
	if t.holding() && !args.LeadershipTransfer {
		return errCampaignHold
	}
	return t.Transport.RequestVote(id, target, args, resp)
}

func (t *leaseTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	sent := time.Now()
	err := t.Transport.AppendEntries(id, target, args, resp)
	if err == nil && resp.Success && resp.Term == args.Term {
		t.lease.record(id, args.Term, sent)
	}
	return err
}

// RequestPreVote keeps raft's pre-vote enabled (raft checks the
// transport for raft.WithPreVote).
func (t *leaseTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	if t.holding() {
		return errCampaignHold
	}
	return t.Transport.(raft.WithPreVote).RequestPreVote(id, target, args, resp)
}

// Close implements raft.WithClose.
func (t *leaseTransport) Close() error {
	if c, ok := t.Transport.(raft.WithClose); ok {
		return c.Close()
	}
	return nil
}

// wrapTransport puts the lease recorder around trans. Both raft transports
// vaultd uses support pre-vote; one that does not is left unwrapped (no
// lease: every read takes a quorum round), so raft's pre-vote detection is
// not fooled.
func wrapTransport(trans raft.Transport, l *lease) (raft.Transport, bool) {
	if _, ok := trans.(raft.WithPreVote); !ok {
		return trans, false
	}
	return &leaseTransport{Transport: trans, lease: l, base: time.Now()}, true
}

var (
	_ raft.WithPreVote = (*leaseTransport)(nil)
	_ raft.WithClose   = (*leaseTransport)(nil)
)

// configWatch hands every configuration entry to the lease as raft writes
// it to this node's log, before the write (so before replication can
// carry it to anyone).
// It also counts the command entries and their bytes (snapshot tuning,
// snapshot.go's tuneSnapshots).
type configWatch struct {
	raft.LogStore
	lease          *lease
	bytes, entries *atomic.Uint64
}

func (w *configWatch) StoreLog(l *raft.Log) error { return w.StoreLogs([]*raft.Log{l}) }

func (w *configWatch) StoreLogs(ls []*raft.Log) error {
	for _, l := range ls {
		switch l.Type {
		case raft.LogConfiguration:
			w.lease.setVoters(raft.DecodeConfiguration(l.Data))
		case raft.LogCommand:
			w.bytes.Add(uint64(len(l.Data)))
			w.entries.Add(1)
		}
	}
	return w.LogStore.StoreLogs(ls)
}

// keepLease confirms the voter set each time this node leads a new term
// (raft's GetConfiguration answers with the newest configuration, written
// or not). It polls State and CurrentTerm, which are atomic reads.
func (s *Store) keepLease() {
	defer s.leaseWG.Done()
	if s.lease == nil {
		return
	}
	t := time.NewTicker(max(s.cfg.heartbeatTimeout()/20, 5*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-s.leaseKick:
		case <-t.C:
		}
		if s.raft.State() != raft.Leader {
			continue
		}
		term := s.raft.CurrentTerm()
		s.lease.mu.Lock()
		have := s.lease.cfgTerm
		s.lease.mu.Unlock()
		if have == term {
			continue
		}
		gen := s.lease.gen()
		f := s.raft.GetConfiguration()
		done := make(chan error, 1)
		go func() { done <- f.Error() }()
		select {
		case err := <-done:
			if err != nil {
				continue
			}
		case <-s.closed:
			return
		}
		if s.raft.State() != raft.Leader || s.raft.CurrentTerm() != term {
			continue
		}
		s.lease.confirm(term, gen, f.Configuration())
	}
}

// leaseValid reports whether this node may answer a read from its FSM
// right now without a quorum round.
func (s *Store) leaseValid() bool {
	if s.lease == nil || s.raft.State() != raft.Leader {
		return false
	}
	term := s.raft.CurrentTerm()
	if !s.lease.valid(term) || s.raft.State() != raft.Leader || s.raft.CurrentTerm() != term {
		return false
	}
	return true
}
