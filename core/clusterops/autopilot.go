package clusterops

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/vaultd/vaultd/core/internal/reqfield"
	"github.com/vaultd/vaultd/storage"
)

// Autopilot (sys/storage/raft/autopilot/*), Vault CE's feature set: server
// health, failure tolerance, stabilization time and dead-server cleanup.
//
// It runs on the active node only (an active hook starts it, the standby
// hook stops it) and evaluates the cluster every autopilotInterval from
// Status: the raft configuration plus the leader's heartbeat contact
// with each peer. A server is healthy when the leader heard from it within
// last_contact_threshold; it is stable once it has been healthy for
// server_stabilization_time without a break, and only stable healthy voters
// count toward failure_tolerance. With cleanup_dead_servers, a server the
// leader has not heard from for dead_server_last_contact_threshold is
// removed from the configuration, unless that would leave fewer than
// min_quorum voters; at most (voters-1)/2 servers go in one pass. Contact
// times restart when a node becomes active, so after a failover a dead
// server is removed dead_server_last_contact_threshold after the new
// leader took over, never earlier.
//
// Health also needs the server's log position: each peer reports its last
// log index and term and its FSM's applied index (Peer.Progress, filled in
// by a ProgressReporter: the composition root asks every member over the
// cluster port about once a second while this node leads). A server is
// healthy only if that report is at most last_contact_threshold old (at
// least minProgressAge) and it trails the leader by at
// most max_trailing_logs entries, counting both its log (last_index) and
// its FSM (applied index): a follower that stores entries but cannot
// apply them trails just as much. The gap is measured against the
// leader's own position when it asked (Progress.Ref*), so a busy leader's
// followers do not look behind by the writes of the last second.
//
// Promotion: a node that joined as a voter is added as a non-voter and
// recorded under autopilotPromoteKey; autopilot makes it a voter once it is
// healthy (caught up within max_trailing_logs) and stable for
// server_stabilization_time, so a joiner that is still installing the
// snapshot or replaying the log never counts toward the quorum (with
// 1 → 2 nodes an early promotion stalls every write until the newcomer
// catches up; with 3 → 4 it silently lowers the failure tolerance). Nodes
// that asked to be non-voters are never recorded and stay non-voters.

const (
	autopilotConfigKey = "core/raft/autopilot/configuration"
	autopilotInterval  = time.Second
	// autopilotPromoteKey + server ID: a joined non-voter that wants a
	// vote (value: promoteRecord).
	autopilotPromoteKey = "core/raft/autopilot/promote/"
	// promoteTimeout bounds one AddVoter call; staleRecordAge is how long
	// a promotion record for a server that is not in the configuration is
	// kept (the join adds the server before it writes the record, so only
	// a removed server's record grows old).
	promoteTimeout = 10 * time.Second
	staleRecordAge = time.Minute
)

// promoteRecord is stored at autopilotPromoteKey+id.
type promoteRecord struct {
	Address     string    `json:"address"`
	RequestedAt time.Time `json:"requested_at"`
}

// WantVoter records that the joined non-voter id (raft address addr)
// should become a voter once autopilot finds it healthy and stable. With
// persist false (a DR secondary, whose storage is the primary's) the
// record is kept in memory only, on this node.
func (s *Service) WantVoter(ctx context.Context, id, addr string, persist bool) error {
	rec := promoteRecord{Address: addr, RequestedAt: time.Now()}
	if persist {
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := s.cfg.Barrier.Put(ctx, &storage.Entry{Key: autopilotPromoteKey + id, Value: b}); err != nil {
			return fmt.Errorf("clusterops: recording %s for promotion: %w", id, err)
		}
	}
	s.mu.Lock()
	if s.pending == nil {
		s.pending = map[string]promoteRecord{}
	}
	s.pending[id] = rec
	s.mu.Unlock()
	return nil
}

// promotions returns the servers waiting for a vote: the stored records
// (a previous active node's joins included) and the in-memory ones.
func (s *Service) promotions(ctx context.Context) (map[string]promoteRecord, error) {
	out := map[string]promoteRecord{}
	keys, err := s.cfg.Barrier.List(ctx, autopilotPromoteKey)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		e, err := s.cfg.Barrier.Get(ctx, autopilotPromoteKey+k)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var r promoteRecord
		if err := json.Unmarshal(e.Value, &r); err != nil {
			s.log.Warn("ignoring a malformed autopilot promotion record", "server_id", k, "error", err)
			continue
		}
		out[k] = r
	}
	s.mu.Lock()
	for id, r := range s.pending {
		out[id] = r
	}
	s.mu.Unlock()
	return out, nil
}

// promoted forgets id's promotion record.
func (s *Service) promoted(ctx context.Context, id string) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
	if err := s.cfg.Barrier.Delete(ctx, autopilotPromoteKey+id); err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.log.Warn("deleting an autopilot promotion record failed", "server_id", id, "error", err)
	}
}

// ProgressReporter, when the RaftOps implements it, fills in the peers'
// Progress on the leader (the composition root asks every member over the
// cluster port, at most about twice a second, each round bounded by a
// second). Autopilot calls it before each evaluation; nothing else does.
type ProgressReporter interface {
	FillProgress(ctx context.Context, st *Status)
}

// progressMaxAge is how old a member's latest progress report may be for
// it to count as healthy: last_contact_threshold, but at least
// minProgressAge, since reports arrive about once a second.
func progressMaxAge(cfg autopilotConfig) time.Duration {
	return max(cfg.LastContactThreshold, minProgressAge)
}

const minProgressAge = 5 * time.Second

// Voters is what autopilot needs to promote a server (raft storage has it).
type Voters interface {
	AddVoter(ctx context.Context, id, addr string) error
}

// autopilotConfig is stored behind the barrier at autopilotConfigKey.
type autopilotConfig struct {
	CleanupDeadServers             bool          `json:"cleanup_dead_servers"`
	LastContactThreshold           time.Duration `json:"last_contact_threshold"`
	DeadServerLastContactThreshold time.Duration `json:"dead_server_last_contact_threshold"`
	MaxTrailingLogs                uint64        `json:"max_trailing_logs"`
	MinQuorum                      uint          `json:"min_quorum"`
	ServerStabilizationTime        time.Duration `json:"server_stabilization_time"`
}

// defaultAutopilotConfig: Vault's defaults.
func defaultAutopilotConfig() autopilotConfig {
	return autopilotConfig{
		LastContactThreshold:           10 * time.Second,
		DeadServerLastContactThreshold: 24 * time.Hour,
		MaxTrailingLogs:                1000,
		ServerStabilizationTime:        10 * time.Second,
	}
}

func (a autopilotConfig) output() map[string]any {
	return map[string]any{
		"cleanup_dead_servers":               a.CleanupDeadServers,
		"last_contact_threshold":             a.LastContactThreshold.String(),
		"dead_server_last_contact_threshold": a.DeadServerLastContactThreshold.String(),
		"max_trailing_logs":                  a.MaxTrailingLogs,
		"min_quorum":                         a.MinQuorum,
		"server_stabilization_time":          a.ServerStabilizationTime.String(),
		"disable_upgrade_migration":          false,
	}
}

func (a autopilotConfig) validate() error {
	switch {
	case a.LastContactThreshold < 100*time.Millisecond:
		return badRequest("last_contact_threshold must be at least 100ms")
	case a.DeadServerLastContactThreshold < time.Second:
		return badRequest("dead_server_last_contact_threshold must be at least 1s")
	case a.DeadServerLastContactThreshold < a.LastContactThreshold:
		return badRequest("dead_server_last_contact_threshold must not be below last_contact_threshold")
	case a.ServerStabilizationTime < 0:
		return badRequest("server_stabilization_time must not be negative")
	case a.CleanupDeadServers && a.MinQuorum < 1:
		return badRequest("min_quorum must be set (3 or more is recommended) when cleanup_dead_servers is enabled")
	}
	return nil
}

// apDuration reads a duration given as a Go duration string ("500ms",
// "24h") or a number of seconds.
func apDuration(d map[string]any, k string) (time.Duration, bool, error) {
	v, ok := d[k]
	if !ok || v == nil || v == "" {
		return 0, false, nil
	}
	if s, isStr := v.(string); isStr {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			v = float64(n)
		} else {
			dur, err := time.ParseDuration(s)
			if err != nil || dur < 0 || dur > reqfield.MaxDuration {
				return 0, false, badRequest("field %q: invalid duration %q", k, s)
			}
			return dur, true, nil
		}
	}
	secs, err := reqfield.TTLSeconds(v)
	if err != nil || secs < 0 || secs > int64(reqfield.MaxDuration/time.Second) {
		return 0, false, badRequest("field %q: invalid duration", k)
	}
	return time.Duration(secs) * time.Second, true, nil
}

func (s *Service) loadAutopilotConfig(ctx context.Context) (autopilotConfig, error) {
	cfg := defaultAutopilotConfig()
	e, err := s.cfg.Barrier.Get(ctx, autopilotConfigKey)
	if errors.Is(err, storage.ErrNotFound) {
		return cfg, nil
	}
	if err != nil {
		return cfg, err
	}
	if err := json.Unmarshal(e.Value, &cfg); err != nil {
		return cfg, fmt.Errorf("clusterops: autopilot configuration: %w", err)
	}
	return cfg, nil
}

// autopilotConfigure updates the fields present in d (Vault merges a
// POST into the stored configuration) and applies it to the running loop.
func (s *Service) autopilotConfigure(ctx context.Context, d map[string]any) (*Response, error) {
	cfg, err := s.loadAutopilotConfig(ctx)
	if err != nil {
		return nil, err
	}
	if v, set, err := reqfield.Bool(d, "cleanup_dead_servers"); err != nil {
		return nil, err
	} else if set {
		cfg.CleanupDeadServers = v
	}
	for k, dst := range map[string]*time.Duration{
		"last_contact_threshold":             &cfg.LastContactThreshold,
		"dead_server_last_contact_threshold": &cfg.DeadServerLastContactThreshold,
		"server_stabilization_time":          &cfg.ServerStabilizationTime,
	} {
		v, set, err := apDuration(d, k)
		if err != nil {
			return nil, err
		}
		if set {
			*dst = v
		}
	}
	if v, set, err := reqfield.Int(d, "max_trailing_logs"); err != nil {
		return nil, err
	} else if set {
		if v < 0 {
			return nil, badRequest("max_trailing_logs must not be negative")
		}
		cfg.MaxTrailingLogs = uint64(v)
	}
	if v, set, err := reqfield.Int(d, "min_quorum"); err != nil {
		return nil, err
	} else if set {
		if v < 0 {
			return nil, badRequest("min_quorum must not be negative")
		}
		cfg.MinQuorum = uint(v)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Barrier.Put(ctx, &storage.Entry{Key: autopilotConfigKey, Value: b}); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if ap := s.autopilot; ap != nil {
		ap.setConfig(cfg)
	}
	s.mu.Unlock()
	return &Response{}, nil
}

// autopilot is the active node's loop and the state it keeps between
// evaluations (when each server became healthy).
type autopilot struct {
	log    *slog.Logger
	ops    RaftOps
	svc    *Service
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	cfg    autopilotConfig
	stable map[string]time.Time // server ID → healthy without a break since
}

func (a *autopilot) setConfig(cfg autopilotConfig) {
	a.mu.Lock()
	a.cfg = cfg
	a.mu.Unlock()
}

// StartAutopilot starts the autopilot loop; core calls it when the node
// becomes active. A no-op without raft storage.
func (s *Service) StartAutopilot(ctx context.Context) {
	ops := s.cfg.Ops
	if ops == nil {
		return
	}
	s.StopAutopilot()
	cfg, err := s.loadAutopilotConfig(ctx)
	if err != nil {
		s.log.Warn("reading the autopilot configuration failed; using the defaults", "error", err)
		cfg = defaultAutopilotConfig()
	}
	lctx, cancel := context.WithCancel(context.Background())
	a := &autopilot{log: s.log, ops: ops, svc: s, cancel: cancel, done: make(chan struct{}), cfg: cfg, stable: map[string]time.Time{}}
	s.mu.Lock()
	s.autopilot = a
	s.mu.Unlock()
	go a.run(lctx)
}

// StopAutopilot stops the loop and waits for it; core calls it when the
// node steps down. Idempotent.
func (s *Service) StopAutopilot() {
	s.mu.Lock()
	a := s.autopilot
	s.autopilot = nil
	s.mu.Unlock()
	if a != nil {
		a.cancel()
		<-a.done
	}
}

func (a *autopilot) run(ctx context.Context) {
	defer close(a.done)
	t := time.NewTicker(autopilotInterval)
	defer t.Stop()
	for {
		if _, err := a.evaluate(ctx, true); err != nil && ctx.Err() == nil {
			a.log.Debug("autopilot evaluation failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// evaluate computes the state and, when cleanup is on and act is true,
// removes dead servers.
func (a *autopilot) evaluate(ctx context.Context, act bool) (apState, error) {
	st, err := a.ops.RaftStatus(ctx)
	if err != nil {
		return apState{}, err
	}
	if pr, ok := a.ops.(ProgressReporter); ok {
		pr.FillProgress(ctx, &st)
	}
	now := time.Now()
	a.mu.Lock()
	cfg := a.cfg
	state := computeAutopilot(now, st, cfg, a.stable)
	a.mu.Unlock()
	if act && cfg.CleanupDeadServers {
		for _, id := range deadServers(now, st, cfg) {
			if err := a.ops.RemoveServer(ctx, id); err != nil {
				return state, fmt.Errorf("autopilot: removing dead server %s: %w", id, err)
			}
			a.log.Warn("autopilot removed a dead server", "server_id", id, "dead_server_last_contact_threshold", cfg.DeadServerLastContactThreshold)
		}
	}
	if act {
		if err := a.promote(ctx, now, state); err != nil {
			return state, err
		}
	}
	return state, nil
}

// promote makes voters of the recorded joiners that are healthy and
// stable, and forgets records that are done (already a voter) or stale
// (the server left the configuration). Each AddVoter is bounded by
// promoteTimeout; a failure is retried on the next pass.
func (a *autopilot) promote(ctx context.Context, now time.Time, state apState) error {
	recs, err := a.svc.promotions(ctx)
	if err != nil || len(recs) == 0 {
		return err
	}
	byID := map[string]apServer{}
	for _, s := range state.Servers {
		byID[s.ID] = s
	}
	vs, _ := a.ops.(Voters)
	for _, id := range slices.Sorted(maps.Keys(recs)) {
		rec := recs[id]
		s, ok := byID[id]
		switch {
		case !ok:
			if now.Sub(rec.RequestedAt) > staleRecordAge {
				a.svc.promoted(ctx, id)
			}
			continue
		case s.Voter:
			a.svc.promoted(ctx, id)
			continue
		case !s.Healthy || !s.Stable || vs == nil:
			continue
		}
		if err := ctx.Err(); err != nil {
			return err // stepped down: no promotion while not active
		}
		pctx, cancel := context.WithTimeout(ctx, promoteTimeout)
		err := vs.AddVoter(pctx, id, s.Address)
		cancel()
		if err != nil {
			a.log.Warn("autopilot could not promote a joined node; retrying", "server_id", id, "error", err)
			continue
		}
		a.log.Info("autopilot promoted a caught-up node to voter", "server_id", id,
			"last_index", s.LastIndex, "trailing_logs", s.Trailing, "stable_since", s.StableSince)
		a.svc.promoted(ctx, id)
	}
	return nil
}

type apServer struct {
	Peer
	LastContact time.Duration // -1: unknown
	// LastIndex/LastTerm: the server's log position (its report, or the
	// local node's own); Trailing: how far it is behind the leader.
	LastIndex, LastTerm uint64
	Trailing            uint64
	Healthy             bool
	StableSince         time.Time
	Stable              bool
}

type apState struct {
	Healthy          bool
	FailureTolerance int
	Leader           string
	Voters           []string
	NonVoters        []string
	Servers          []apServer
	Term, LastIndex  uint64
	LastTerm         uint64
}

// trailingLogs is how far a server whose progress is p is behind the
// leader: the larger of the log and the FSM gaps, measured against the
// leader's position when it asked (p.Ref*), so that writes arriving
// between the answer and now do not count against the server.
func trailingLogs(p Progress) uint64 {
	var t uint64
	if p.RefLastIndex > p.LastIndex {
		t = p.RefLastIndex - p.LastIndex
	}
	if p.RefApplied > p.Applied {
		t = max(t, p.RefApplied-p.Applied)
	}
	return t
}

// serverHealth is autopilot's health rule for one peer at now: the leader
// heard from it within last_contact_threshold, its progress report is no
// older than that, and it trails by at most max_trailing_logs. The local
// node (the leader) is healthy with nothing to trail.
func serverHealth(now time.Time, st Status, p Peer, cfg autopilotConfig) (s apServer) {
	s = apServer{Peer: p, LastContact: -1}
	if p.Self {
		s.LastIndex, s.LastTerm = st.LastIndex, st.LastTerm
	} else if p.Progress.Known {
		s.LastIndex, s.LastTerm = p.Progress.LastIndex, p.Progress.LastTerm
	}
	if !p.Contact.Known {
		return s
	}
	s.LastContact = max(now.Sub(p.Contact.LastContact), 0)
	if p.Self {
		s.Healthy = true
		return s
	}
	if !p.Progress.Known {
		s.Trailing = st.LastIndex
		return s
	}
	s.Trailing = trailingLogs(p.Progress)
	s.Healthy = s.LastContact <= cfg.LastContactThreshold &&
		now.Sub(p.Progress.At) <= progressMaxAge(cfg) &&
		s.Trailing <= cfg.MaxTrailingLogs
	return s
}

// computeAutopilot derives health from st at now, updating stable (server
// ID → healthy since) in place. Pure apart from that map.
func computeAutopilot(now time.Time, st Status, cfg autopilotConfig, stable map[string]time.Time) apState {
	out := apState{Healthy: true, Term: st.Term, LastIndex: st.LastIndex, LastTerm: st.LastTerm}
	seen := map[string]bool{}
	healthyStableVoters, voters := 0, 0
	for _, p := range st.Peers {
		seen[p.ID] = true
		s := serverHealth(now, st, p, cfg)
		if s.Healthy {
			since, ok := stable[p.ID]
			if !ok {
				since = now
				stable[p.ID] = now
			}
			s.StableSince = since
			s.Stable = now.Sub(since) >= cfg.ServerStabilizationTime
		} else {
			delete(stable, p.ID)
			out.Healthy = false
		}
		if p.Leader {
			out.Leader = p.ID
		}
		if p.Voter {
			voters++
			out.Voters = append(out.Voters, p.ID)
			if s.Healthy && s.Stable {
				healthyStableVoters++
			}
		} else {
			out.NonVoters = append(out.NonVoters, p.ID)
		}
		out.Servers = append(out.Servers, s)
	}
	for id := range stable {
		if !seen[id] {
			delete(stable, id)
		}
	}
	if voters > 0 {
		out.FailureTolerance = max(healthyStableVoters-(voters/2+1), 0)
	}
	sort.Strings(out.Voters)
	sort.Strings(out.NonVoters)
	return out
}

// deadServers lists the servers to remove now: not the local node, known
// contact older than dead_server_last_contact_threshold, longest-dead
// first, without going below min_quorum voters or removing more than
// (voters-1)/2 in one pass.
func deadServers(now time.Time, st Status, cfg autopilotConfig) []string {
	voters := 0
	type cand struct {
		id    string
		since time.Duration
		voter bool
	}
	var cands []cand
	for _, p := range st.Peers {
		if p.Voter {
			voters++
		}
		if p.Self || !p.Contact.Known {
			continue
		}
		if d := now.Sub(p.Contact.LastContact); d > cfg.DeadServerLastContactThreshold {
			cands = append(cands, cand{p.ID, d, p.Voter})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.since != b.since {
			return cmp.Compare(b.since, a.since)
		}
		return cmp.Compare(a.id, b.id)
	})
	budget := (voters - 1) / 2
	var out []string
	for _, c := range cands {
		if c.voter {
			if budget == 0 || uint(voters-1) < cfg.MinQuorum {
				continue
			}
			budget--
			voters--
		}
		out = append(out, c.id)
	}
	return out
}

func (s *Service) autopilotState(ctx context.Context) (*Response, error) {
	s.mu.Lock()
	a := s.autopilot
	s.mu.Unlock()
	if a == nil {
		return nil, s.cfg.Inactive
	}
	st, err := a.evaluate(ctx, false)
	if err != nil {
		return nil, err
	}
	var versions map[string]string
	if f := s.cfg.NodeVersions; f != nil {
		versions = f(ctx)
	}
	servers := map[string]any{}
	for _, s := range st.Servers {
		status := "non-voter"
		switch {
		case s.Leader:
			status = "leader"
		case s.Voter:
			status = "voter"
		}
		nodeStatus := "alive"
		if !s.Healthy {
			nodeStatus = "failed"
		}
		lastContact := "unknown"
		if s.LastContact >= 0 {
			lastContact = s.LastContact.Round(time.Millisecond).String()
		}
		stableSince := "0001-01-01T00:00:00Z"
		if !s.StableSince.IsZero() {
			stableSince = s.StableSince.UTC().Format(time.RFC3339Nano)
		}
		nodeType := "voter"
		if !s.Voter {
			nodeType = "non-voter"
		}
		servers[s.ID] = map[string]any{
			"id": s.ID, "name": s.ID, "address": s.Address, "node_status": nodeStatus,
			"last_contact": lastContact, "last_term": s.LastTerm, "last_index": s.LastIndex,
			"trailing_logs": s.Trailing,
			"healthy":       s.Healthy, "stable_since": stableSince, "status": status,
			"version": versions[s.ID], "node_type": nodeType,
		}
	}
	voters, nonVoters := st.Voters, st.NonVoters
	if voters == nil {
		voters = []string{}
	}
	if nonVoters == nil {
		nonVoters = []string{}
	}
	return &Response{Data: map[string]any{
		"healthy": st.Healthy, "failure_tolerance": st.FailureTolerance, "optimistic_failure_tolerance": st.FailureTolerance,
		"leader": st.Leader, "voters": voters, "non_voters": nonVoters, "servers": servers,
	}}, nil
}
