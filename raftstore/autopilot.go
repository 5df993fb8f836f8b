package raftstore

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// This file gives operators' tooling (core's sys/storage/raft endpoints and
// its autopilot loop) what hashicorp/raft knows about the cluster, in the
// plain types of status.go.
//
// Follower contact comes from raft's own heartbeat observations: the leader
// heartbeats every follower every ~HeartbeatTimeout/10, and raft reports a
// FailedHeartbeatObservation (with the time of the last successful contact)
// on every failed attempt and a ResumedHeartbeatObservation when a failing
// follower answers again. A follower with no failure on record since this
// node became leader is being heartbeated successfully, i.e. was in contact
// within the last heartbeat interval. raft does not expose followers' log
// indexes: each member reports its own (Progress) and the composition root
// carries those reports to the leader's autopilot.

// contactTracker records heartbeat failures seen by this node while it leads.
type contactTracker struct {
	mu          sync.Mutex
	leading     bool
	leaderSince time.Time
	failing     map[string]time.Time // peer ID → last successful contact at the latest failure
}

// trackers maps a *Store to its contactTracker (started on first use), so
// this file needs no field in Store.
var trackers sync.Map

func (s *Store) tracker() *contactTracker {
	if v, ok := trackers.Load(s); ok {
		return v.(*contactTracker)
	}
	ct := &contactTracker{failing: map[string]time.Time{}}
	if v, loaded := trackers.LoadOrStore(s, ct); loaded {
		return v.(*contactTracker)
	}
	if s.IsLeader() {
		ct.leading, ct.leaderSince = true, time.Now()
	}
	ch := make(chan raft.Observation, 64)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.FailedHeartbeatObservation, raft.ResumedHeartbeatObservation, raft.RaftState:
			return true
		}
		return false
	})
	s.raft.RegisterObserver(obs)
	go func() {
		defer trackers.Delete(s)
		defer s.raft.DeregisterObserver(obs)
		for {
			select {
			case <-s.closed:
				return
			case o := <-ch:
				ct.observe(o.Data)
			}
		}
	}()
	return ct
}

func (ct *contactTracker) observe(d any) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	switch v := d.(type) {
	case raft.RaftState:
		leading := v == raft.Leader
		if leading && !ct.leading {
			ct.leaderSince = time.Now()
			clear(ct.failing)
		}
		ct.leading = leading
	case raft.FailedHeartbeatObservation:
		last := v.LastContact
		if last.IsZero() || last.Before(ct.leaderSince) {
			last = ct.leaderSince
		}
		ct.failing[string(v.PeerID)] = last
	case raft.ResumedHeartbeatObservation:
		delete(ct.failing, string(v.PeerID))
	}
}

// contact reports what the tracker knows about id at now.
func (ct *contactTracker) contact(id string, self bool, now time.Time) Contact {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if !ct.leading {
		return Contact{}
	}
	if self {
		return Contact{Known: true, LastContact: now}
	}
	if last, ok := ct.failing[id]; ok {
		return Contact{Known: true, LastContact: last, Failing: true}
	}
	return Contact{Known: true, LastContact: now}
}

// RaftStatus returns the latest raft configuration (with its index), this
// node's log position, and — when this node leads — the heartbeat contact
// with every peer. The first call starts tracking heartbeats; a leader's
// contact data is complete from about one heartbeat interval after that.
func (s *Store) RaftStatus(ctx context.Context) (Status, error) {
	ct := s.tracker()
	ctx, cancel, _ := s.opCtx(ctx)
	defer cancel()
	f := s.raft.GetConfiguration()
	if err := s.wait(ctx, f); err != nil {
		return Status{}, mapErr("raft status", err)
	}
	// Sync the tracker's view with raft's (the observer may lag by a hair).
	if leading := s.IsLeader(); leading != ct.isLeading() {
		st := raft.Follower
		if leading {
			st = raft.Leader
		}
		ct.observe(st)
	}
	st := Status{
		Index:        f.Index(),
		Term:         s.raft.CurrentTerm(),
		LastIndex:    s.raft.LastIndex(),
		CommitIndex:  s.raft.CommitIndex(),
		AppliedIndex: s.raft.AppliedIndex(),
	}
	if v, err := strconv.ParseUint(s.raft.Stats()["last_log_term"], 10, 64); err == nil {
		st.LastTerm = v
	}
	_, leaderID := s.raft.LeaderWithID()
	now := time.Now()
	for _, srv := range f.Configuration().Servers {
		self := string(srv.ID) == s.cfg.NodeID
		st.Peers = append(st.Peers, Peer{
			ID:      string(srv.ID),
			Address: string(srv.Address),
			Voter:   srv.Suffrage == raft.Voter,
			Leader:  leaderID != "" && srv.ID == leaderID,
			Self:    self,
			Contact: ct.contact(string(srv.ID), self, now),
		})
	}
	return st, nil
}

func (ct *contactTracker) isLeading() bool {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return ct.leading
}

// removedKey is the stable-store flag a node sets once it sees that it was
// removed from the cluster; it survives restarts, so a removed node never
// serves again with its old data (Vault 1.19 behaviour). Wiping the data
// directory (and joining again) is the operator's way back.
var removedKey = []byte("vaultd_removed_from_cluster")

// memberKey is the stable-store flag a node sets once it has seen itself
// in the cluster's configuration. Only a node that was a member can be
// removed: a node that is joining may briefly hold a configuration without
// itself (the leader's snapshot predates the entry that adds it, as after
// every operator restore, which compacts the log into the restored
// snapshot) and must not take that for a removal.
var memberKey = []byte("vaultd_seen_as_member")

// Removed reports whether this node was removed from the raft cluster:
// the persisted flag, or a latest configuration that has members but no
// longer lists this node (the leader replicates the removal entry
// to the removed node before it stops replicating to it). The first
// detection persists the flag.
//
// The API asks on every request, and reading the configuration is a round
// through raft's main loop, which on a leader waits for the log write in
// progress; so once the node has seen itself as a member, a negative
// answer is reused for removedRecheck, and concurrent callers share one
// check (those arriving while it runs get the previous answer). A positive
// answer is final.
func (s *Store) Removed() bool {
	if s.removed.Load() {
		return true
	}
	now := int64(time.Since(s.born))
	// Until this node has seen itself as a member, every call checks: a
	// node may join and be removed again within a fraction of a second,
	// and only a check made while it was a member lets it know it was
	// removed later.
	if last := s.removedAt.Load(); s.member.Load() && last != 0 && now-last < int64(removedRecheck) {
		return false
	}
	if !s.removedMu.TryLock() {
		return false
	}
	defer s.removedMu.Unlock()
	r := s.checkRemoved()
	if r {
		s.removed.Store(true)
	}
	s.removedAt.Store(max(now, 1))
	return r
}

// removedRecheck bounds how stale a "not removed" answer may be.
const removedRecheck = 250 * time.Millisecond

// watchMembership records the member flag as soon as this node first sees
// itself in the configuration, without waiting for a request to ask
// Removed: a standby that serves no client traffic must still know it was
// a member, or its later removal would read as "still joining". It stops
// once the flag is set (persisted: a restarted member stops at once).
func (s *Store) watchMembership() {
	defer s.leaseWG.Done()
	if v, err := s.stable.GetUint64(memberKey); err == nil && v == 1 {
		s.member.Store(true)
		return
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for !s.member.Load() {
		select {
		case <-s.closed:
			return
		case <-t.C:
			s.Removed()
		}
	}
}

func (s *Store) checkRemoved() bool {
	if v, err := s.stable.GetUint64(removedKey); err == nil && v == 1 {
		return true
	}
	if s.isClosed() {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	f := s.raft.GetConfiguration()
	if err := s.wait(ctx, f); err != nil {
		return false
	}
	// (f.Index() is not maintained on followers in raft 1.8; an empty
	// configuration is a node that has not joined anything yet.)
	for _, srv := range f.Configuration().Servers {
		if string(srv.ID) == s.cfg.NodeID {
			if !s.member.Load() {
				if err := s.stable.SetUint64(memberKey, 1); err != nil {
					s.log.Error("persisting the cluster-member flag failed", "error", err)
				} else {
					s.member.Store(true)
				}
			}
			return false
		}
	}
	if len(f.Configuration().Servers) == 0 {
		return false
	}
	if !s.member.Load() {
		if v, err := s.stable.GetUint64(memberKey); err != nil || v != 1 {
			return false // still joining: not a member yet
		}
		s.member.Store(true)
	}
	if err := s.stable.SetUint64(removedKey, 1); err != nil {
		s.log.Error("persisting the removed-from-cluster flag failed", "error", err)
	}
	s.log.Warn("this node was removed from the raft cluster; it will not serve again: wipe its data directory to join a cluster anew")
	return true
}

// Progress is this node's log position as a member reports it to the
// leader's autopilot: the last log index and term (a snapshot counts as
// its last entry) and the last index its FSM applied. It does not go
// through raft's main loop (raft's Stats does), so it answers even while
// that loop waits for a busy FSM.
func (s *Store) Progress() (lastIndex, lastTerm, applied uint64) {
	lastIndex = s.raft.LastIndex()
	var l raft.Log
	if lastIndex > 0 && s.logs.GetLog(lastIndex, &l) == nil {
		lastTerm = l.Term
	} else if metas, err := s.snaps.List(); err == nil && len(metas) > 0 && metas[0].Index == lastIndex {
		lastTerm = metas[0].Term
	}
	return lastIndex, lastTerm, s.AppliedIndex()
}
