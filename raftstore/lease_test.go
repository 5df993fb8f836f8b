package raftstore

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func voters(ids ...string) raft.Configuration {
	var c raft.Configuration
	for _, id := range ids {
		c.Servers = append(c.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(id), Address: raft.ServerAddress(id)})
	}
	return c
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestLease_Quorum pins when a lease holds: the leader must have confirmed
// the voters in its term, and a quorum (itself included) must have
// accepted an AppendEntries of that term sent less than dur ago.
func TestLease_Quorum(t *testing.T) {
	l := newLease("a", 2*time.Second) // dur 1 s
	const term = 4
	if l.valid(term) {
		t.Fatal("valid with no configuration")
	}
	l.record("b", term, time.Now())
	if l.valid(term) {
		t.Fatal("valid before the leader confirmed its voters in this term")
	}
	if !l.confirm(term, l.gen(), voters("a", "b", "c")) {
		t.Fatal("confirm refused")
	}
	if !l.valid(term) {
		t.Fatal("not valid with a and b (2 of 3) in the term")
	}
	if l.valid(term + 1) {
		t.Fatal("valid for another term")
	}

	// Five voters: a and b are not a quorum any more.
	l.setVoters(voters("a", "b", "c", "d", "e"))
	if l.valid(term) {
		t.Fatal("valid with 2 of 5")
	}
	l.record("e", term, time.Now())
	if !l.valid(term) {
		t.Fatal("not valid with 3 of 5")
	}
	// Acks from non-voters never count.
	l.setVoters(voters("a", "c", "d"))
	l.record("b", term, time.Now())
	l.record("e", term, time.Now())
	if l.valid(term) {
		t.Fatal("valid on acks of non-voters")
	}
	// The leader itself must be a voter.
	l.setVoters(voters("b", "c", "e"))
	if l.valid(term) {
		t.Fatal("valid although the leader is not a voter")
	}
}

// TestLease_SendTimeCounts: an answer that arrives now to a request sent
// long ago (a leader paused mid-heartbeat) does not extend the lease.
func TestLease_SendTimeCounts(t *testing.T) {
	l := newLease("a", 4*time.Second) // dur 2 s (long: a loaded machine may pause the test)
	const term = 2
	l.confirm(term, l.gen(), voters("a", "b", "c"))
	l.record("b", term, time.Now().Add(-3*time.Second))
	l.record("c", term, time.Now().Add(-2001*time.Millisecond))
	if l.valid(term) {
		t.Fatal("valid on acks of requests sent before the lease window")
	}
	l.record("c", term, time.Now())
	if !l.valid(term) {
		t.Fatal("not valid on a fresh ack")
	}
	// An older send time never moves the lease back... nor forward.
	l.record("c", term, time.Now().Add(-time.Hour))
	if !l.valid(term) {
		t.Fatal("an older ack shortened the lease")
	}
	// Without further acks the lease ends after dur.
	waitUntil(t, 20*time.Second, "the lease to expire", func() bool { return !l.valid(term) })
}

// TestLease_Terms: acks of an older term are dropped when a newer one
// arrives, and never count for the newer term.
func TestLease_Terms(t *testing.T) {
	l := newLease("a", 2*time.Second)
	l.confirm(3, l.gen(), voters("a", "b", "c"))
	l.record("b", 3, time.Now())
	if !l.valid(3) {
		t.Fatal("not valid in term 3")
	}
	// A new term for this node: its old acks are worthless.
	l.record("c", 5, time.Now())
	if l.valid(3) || l.valid(5) {
		t.Fatal("valid across a term change without confirming voters")
	}
	l.confirm(5, l.gen(), voters("a", "b", "c"))
	if !l.valid(5) {
		t.Fatal("not valid after confirming term 5 with c's ack")
	}
	l.record("b", 4, time.Now()) // late answer from term 4
	l.mu.Lock()
	_, stale := l.acks["b"]
	l.mu.Unlock()
	if stale {
		t.Fatal("an ack of an older term was kept")
	}
}

// TestLease_ConfirmLosesToNewerEntry: a configuration fetched before a
// configuration entry was written must not overwrite that entry.
func TestLease_ConfirmLosesToNewerEntry(t *testing.T) {
	l := newLease("a", 2*time.Second)
	gen := l.gen()
	l.setVoters(voters("a", "b", "c", "d", "e")) // written while the fetch was in flight
	if l.confirm(7, gen, voters("a", "b", "c")) {
		t.Fatal("a stale fetch replaced a newer configuration")
	}
	if !l.confirm(7, l.gen(), voters("a", "b", "c", "d", "e")) {
		t.Fatal("a fresh fetch was refused")
	}
	l.record("b", 7, time.Now())
	if l.valid(7) {
		t.Fatal("valid with 2 of 5")
	}
}

// TestLease_SingleVoterAndHold: a single voter leads without acks; a
// leadership transfer in flight suspends any lease.
func TestLease_SingleVoterAndHold(t *testing.T) {
	l := newLease("a", 2*time.Second)
	l.confirm(1, l.gen(), voters("a"))
	if !l.valid(1) {
		t.Fatal("a single voter has no lease")
	}
	l.hold.Add(1)
	if l.valid(1) {
		t.Fatal("valid during a leadership transfer")
	}
	l.hold.Add(-1)
	if !l.valid(1) {
		t.Fatal("not valid after the transfer ended")
	}
	l.setVoters(voters("a", "b")) // a second voter: a quorum is now 2
	if l.valid(1) {
		t.Fatal("valid for a lone node of two voters")
	}
}

// fakeTrans answers AppendEntries as told and records pre-vote calls.
type fakeTrans struct {
	raft.Transport // nil: only the methods below are called
	success        bool
	term           uint64
	delay          time.Duration
	preVotes       int
	closed         bool
}

func (f *fakeTrans) AppendEntries(_ raft.ServerID, _ raft.ServerAddress, _ *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	time.Sleep(f.delay)
	resp.Success, resp.Term = f.success, f.term
	return nil
}

func (f *fakeTrans) RequestPreVote(raft.ServerID, raft.ServerAddress, *raft.RequestPreVoteRequest, *raft.RequestPreVoteResponse) error {
	f.preVotes++
	return nil
}

func (f *fakeTrans) Close() error { f.closed = true; return nil }

// TestLeaseTransport: only accepted AppendEntries of the same term count,
// at the time they were sent; pre-vote and Close pass through.
func TestLeaseTransport(t *testing.T) {
	l := newLease("a", 2*time.Second)
	l.confirm(3, l.gen(), voters("a", "b", "c"))
	ft := &fakeTrans{term: 3}
	tr, ok := wrapTransport(ft, l)
	if !ok {
		t.Fatal("a pre-vote transport was not wrapped")
	}
	req := &raft.AppendEntriesRequest{Term: 3}
	var resp raft.AppendEntriesResponse
	_ = tr.AppendEntries("b", "b", req, &resp) // rejected
	if l.valid(3) {
		t.Fatal("a rejected AppendEntries counted")
	}
	ft.success, ft.term = true, 4
	_ = tr.AppendEntries("b", "b", req, &resp) // answered from a newer term
	if l.valid(3) {
		t.Fatal("an answer from a newer term counted")
	}
	ft.term, ft.delay = 3, 200*time.Millisecond
	before := time.Now()
	_ = tr.AppendEntries("b", "b", req, &resp)
	if !l.valid(3) {
		t.Fatal("an accepted AppendEntries did not count")
	}
	l.mu.Lock()
	sent := l.acks["b"]
	l.mu.Unlock()
	if sent.Before(before) || !sent.Before(before.Add(ft.delay)) {
		t.Fatalf("ack recorded at %v, want the send time (≈ %v, before the %v answer)", sent.Sub(before), 0, ft.delay)
	}
	_ = tr.(raft.WithPreVote).RequestPreVote("b", "b", &raft.RequestPreVoteRequest{}, &raft.RequestPreVoteResponse{})
	_ = tr.(raft.WithClose).Close()
	if ft.preVotes != 1 || !ft.closed {
		t.Fatalf("pass-through: preVotes=%d closed=%v", ft.preVotes, ft.closed)
	}
}

type memLogs struct {
	raft.LogStore
	stored []*raft.Log
	seen   func() // called in StoreLogs, to see what the lease knew then
}

func (m *memLogs) StoreLogs(ls []*raft.Log) error {
	m.seen()
	m.stored = append(m.stored, ls...)
	return nil
}

// TestConfigWatch: a configuration entry reaches the lease before the log
// store has it; command entries are counted.
func TestConfigWatch(t *testing.T) {
	l := newLease("a", 2*time.Second)
	l.confirm(1, l.gen(), voters("a"))
	var validAtStore []bool
	ml := &memLogs{seen: func() { validAtStore = append(validAtStore, l.valid(1)) }}
	var n, b atomicCounter
	w := &configWatch{LogStore: ml, lease: l, bytes: &b.v, entries: &n.v}
	two := raft.EncodeConfiguration(voters("a", "b"))
	if err := w.StoreLogs([]*raft.Log{{Type: raft.LogCommand, Data: []byte("12345")}, {Type: raft.LogConfiguration, Data: two}}); err != nil {
		t.Fatal(err)
	}
	if len(validAtStore) != 1 || validAtStore[0] {
		t.Fatalf("lease valid when the log store received a 2-voter configuration: %v", validAtStore)
	}
	if n.v.Load() != 1 || b.v.Load() != 5 || len(ml.stored) != 2 {
		t.Fatalf("counted %d entries, %d bytes; stored %d", n.v.Load(), b.v.Load(), len(ml.stored))
	}
}

type atomicCounter struct{ v atomic.Uint64 }
