package server

import (
	"context"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vaultd/vaultd/admission"
	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/raftstore"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/telemetry"
)

// newTelemetry builds the node's registry from the telemetry stanza.
func newTelemetry(cfg *config.Config) *telemetry.Registry {
	ts := cfg.TelemetrySettings()
	tc := telemetry.Config{PrometheusRetention: ts.PrometheusRetention}
	if ts.EnableHostnameLabel {
		tc.HostLabel, _ = os.Hostname()
	}
	return telemetry.New(tc)
}

// raftMetrics implements raftstore.Metrics over the registry.
type raftMetrics struct {
	commit, fsmApply, storeLogs, snapshot prometheus.Histogram
	applied                               prometheus.Counter
	snapshotSize                          prometheus.Gauge
}

func newRaftMetrics(r *telemetry.Registry) *raftMetrics {
	return &raftMetrics{
		commit:       r.NewTimer("vault.raft.commitTime", "Time from proposing a write on this node until it is committed and applied here"),
		fsmApply:     r.NewTimer("vault.raft.fsm.applyBatch", "Time to apply one batch of committed entries to the FSM"),
		applied:      r.NewCounter("vault.raft.apply", "Raft log entries applied to the FSM"),
		storeLogs:    r.NewTimer("vault.raft.boltdb.storeLogs", "Time to append entries to raft.db, fsync included"),
		snapshot:     r.NewTimer("vault.raft.snapshot.persist", "Time to write and fsync one raft snapshot"),
		snapshotSize: r.NewGauge("vault.raft.snapshot.size", "Size of the latest raft snapshot this node persisted, in bytes"),
	}
}

func (m *raftMetrics) Commit(d time.Duration) { m.commit.Observe(telemetry.Ms(d)) }
func (m *raftMetrics) FSMApply(d time.Duration, n int) {
	m.fsmApply.Observe(telemetry.Ms(d))
	m.applied.Add(float64(n))
}
func (m *raftMetrics) StoreLogs(d time.Duration) { m.storeLogs.Observe(telemetry.Ms(d)) }
func (m *raftMetrics) Snapshot(d time.Duration, size int64) {
	m.snapshot.Observe(telemetry.Ms(d))
	m.snapshotSize.Set(float64(size))
}

var _ raftstore.Metrics = (*raftMetrics)(nil)

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// registerCoreMetrics reads core's state and counters at scrape time.
func registerCoreMetrics(r *telemetry.Registry, c *core.Core) {
	st := func() core.Stats { return c.Stats() }
	r.NewGaugeFunc("vault.core.unsealed", "1 when this node is unsealed", func() float64 { return b2f(!st().Sealed) })
	r.NewGaugeFunc("vault.core.active", "1 when this node is the active node, 0 on a standby or a sealed node", func() float64 { return b2f(st().Active) })
	r.NewGaugeFunc("vault.core.initialized", "1 once the cluster this node belongs to is initialised (as this node knows)", func() float64 { return b2f(st().Initialized) })
	r.NewCounterFunc("vault.barrier.encrypt", "Values this node encrypted through the barrier", func() float64 { return float64(st().Barrier.Encryptions) })
	r.NewCounterFunc("vault.barrier.decrypt", "Values this node decrypted through the barrier", func() float64 { return float64(st().Barrier.Decryptions) })
	r.NewGaugeFunc("vault.barrier.key_term", "The barrier's active key term (0 while sealed)", func() float64 { return float64(st().KeyTerm) })
	r.NewGaugeFunc("vault.barrier.estimated_encryptions", "Encryptions this node made with the active key term since it was unsealed", func() float64 { return float64(st().KeyEncryptions) })
	r.NewCounterFunc("vault.token.creation", "Tokens created on this node", func() float64 { return float64(st().Tokens.Created) })
	r.NewCounterFunc("vault.token.lookup", "Token lookups on this node (every authenticated request makes one)", func() float64 { return float64(st().Tokens.Lookups) })
	r.NewCounterFunc("vault.token.revoke", "Tokens revoked on this node (explicitly, by expiry or with a parent)", func() float64 { return float64(st().Tokens.Revoked) })
	r.NewCounterFunc("vault.expire.revoke", "Tokens the expiration manager revoked because their TTL ran out", func() float64 { return float64(st().Tokens.Expired) })
	r.NewGaugeFunc("vault.expire.num_leases", "Leases (tokens with a TTL) the expiration manager tracks; active node only", func() float64 { return float64(st().Tokens.Tracked) })
	r.MustRegister(&tokenCountCollector{c: c, desc: r.NewDesc("vault.token.count", "Tokens stored in the cluster (active node only; absent on standbys)")})
	r.NewCounterFunc("vault.audit.log_request.count", "Request entries sent to the audit devices", func() float64 { return float64(st().Audit.Requests) })
	r.NewCounterFunc("vault.audit.log_response.count", "Response entries sent to the audit devices", func() float64 { return float64(st().Audit.Responses) })
	r.NewCounterFunc("vault.audit.log_request_failure", "Request entries no audit device recorded (the request was refused)", func() float64 { return float64(st().Audit.RequestFailures) })
	r.NewCounterFunc("vault.audit.log_response_failure", "Response entries no audit device recorded (the request failed closed)", func() float64 { return float64(st().Audit.ResponseFailures) })
	r.NewCounterFunc("vault.audit.blocked_seconds", "Total time requests waited for the audit devices, in seconds", func() float64 {
		a := st().Audit
		return (a.RequestTime + a.ResponseTime).Seconds()
	})
	r.NewGaugeFunc("vault.audit.oldest_pending_ms", "How long the oldest audit write still in progress has waited (0 when none): a blocked device", func() float64 { return telemetry.Ms(st().Audit.Blocked) })
	r.NewGaugeFunc("vault.audit.devices", "Enabled audit devices (active node only)", func() float64 { return float64(st().Audit.Devices) })
	r.NewCounterFunc("vaultd.standby.reads_local", "Reads this node answered itself as a standby, after a read index (docs/consistency.md)", func() float64 { s, _, _ := c.LocalReadStats(); return float64(s) })
	r.NewCounterFunc("vaultd.standby.reads_declined", "Requests this node tried as a standby read and forwarded to the active node (not a pure read, no read index in time)", func() float64 { _, f, _ := c.LocalReadStats(); return float64(f) })
	r.NewCounterFunc("vaultd.standby.read_index_requests", "Read index requests this standby sent to the active node (concurrent reads share one)", func() float64 { _, _, n := c.LocalReadStats(); return float64(n) })
}

// tokenCountCollector lists the token store at scrape time, on the active
// node only (a standby's answer would be a stale copy of the active's).
type tokenCountCollector struct {
	c    *core.Core
	desc *prometheus.Desc
}

func (t *tokenCountCollector) Describe(ch chan<- *prometheus.Desc) { ch <- t.desc }
func (t *tokenCountCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := t.c.TokenCount(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(t.desc, prometheus.GaugeValue, float64(n))
}

// registerRaftMetrics reads raft's state at scrape time.
func registerRaftMetrics(r *telemetry.Registry, st *raftstore.Store) {
	r.NewGaugeFunc("vault.raft_storage.stats.commit_index", "Raft commit index on this node", func() float64 { _, c := st.Indexes(); return float64(c) })
	r.NewGaugeFunc("vault.raft_storage.stats.applied_index", "Raft index applied to the FSM on this node", func() float64 { a, _ := st.Indexes(); return float64(a) })
	r.NewGaugeFunc("vault.raft_storage.stats.applied_lag", "Entries committed but not yet applied on this node (commit index minus applied index)", func() float64 {
		a, c := st.Indexes()
		if c < a {
			return 0
		}
		return float64(c - a)
	})
	r.NewGaugeFunc("vault.raft.term", "This node's current raft term", func() float64 { return float64(st.Term()) })
	r.NewCounterFunc("vault.raft.leader_changes", "New leaders this node observed since it started", func() float64 { return float64(st.LeaderChanges()) })
	r.NewGaugeFunc("vault.raft.leader.lastContact_ms", "Milliseconds since this node last heard from the leader (0 on the leader; -1 if never)", func() float64 {
		t := st.LastContact()
		if t.IsZero() {
			return -1
		}
		return telemetry.Ms(time.Since(t))
	})
	r.MustRegister(&raftStateCollector{st: st,
		state: r.NewDesc("vault.raft.state", "1 for this node's raft state (Leader, Follower, Candidate)", "state"),
		peers: r.NewDesc("vault.raft.peers", "Servers in the raft configuration, by suffrage", "suffrage"),
		hb: r.NewDesc("vault.raft_storage.follower.last_heartbeat_ms",
			"On the leader: milliseconds since each follower last answered a heartbeat (0 while heartbeats succeed)", "peer_id"),
		failing: r.NewDesc("vault.raft_storage.follower.heartbeat_failing",
			"On the leader: 1 while heartbeats to the follower fail", "peer_id"),
	})
}

// raftStateCollector reports raft's state, membership and, on the
// leader, each follower's heartbeat contact (the per-peer lag raft
// exposes: it does not tell a leader its followers' log indexes).
type raftStateCollector struct {
	st                        *raftstore.Store
	state, peers, hb, failing *prometheus.Desc
}

func (rc *raftStateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- rc.state
	ch <- rc.peers
	ch <- rc.hb
	ch <- rc.failing
}

func (rc *raftStateCollector) Collect(ch chan<- prometheus.Metric) {
	cur := rc.st.State()
	for _, s := range []string{"Leader", "Follower", "Candidate"} {
		ch <- prometheus.MustNewConstMetric(rc.state, prometheus.GaugeValue, b2f(s == cur), s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	status, err := rc.st.RaftStatus(ctx)
	if err != nil {
		return
	}
	voters, nonvoters := 0, 0
	now := time.Now()
	for _, p := range status.Peers {
		if p.Voter {
			voters++
		} else {
			nonvoters++
		}
		if p.Self || !p.Contact.Known {
			continue
		}
		age := 0.0
		if p.Contact.Failing {
			age = telemetry.Ms(now.Sub(p.Contact.LastContact))
		}
		ch <- prometheus.MustNewConstMetric(rc.hb, prometheus.GaugeValue, age, p.ID)
		ch <- prometheus.MustNewConstMetric(rc.failing, prometheus.GaugeValue, b2f(p.Contact.Failing), p.ID)
	}
	ch <- prometheus.MustNewConstMetric(rc.peers, prometheus.GaugeValue, float64(voters), "voter")
	ch <- prometheus.MustNewConstMetric(rc.peers, prometheus.GaugeValue, float64(nonvoters), "nonvoter")
}

// registerAdmissionMetrics reads the request limiter and the CPU pool
// (admission control) at scrape time; either may be disabled (nil).
func registerAdmissionMetrics(r *telemetry.Registry, gate secrets.CPUGate, lim *admission.Limiter) {
	if lim != nil {
		r.NewGaugeFunc("vault.admission.limiter.limit", "The request limiter's current concurrency limit (adaptive)", func() float64 { return float64(lim.Stats().Limit) })
		r.NewGaugeFunc("vault.admission.limiter.in_flight", "Requests holding a request-limiter slot", func() float64 { return float64(lim.Stats().InFlight) })
		r.NewCounterFunc("vault.admission.limiter.admitted", "Requests the request limiter admitted", func() float64 { return float64(lim.Stats().Admitted) })
		r.NewCounterFunc("vault.admission.limiter.rejected", "Requests the request limiter rejected (503 with Retry-After)", func() float64 { return float64(lim.Stats().Rejected) })
	}
	if p, ok := gate.(*admission.Pool); ok && p != nil {
		r.NewGaugeFunc("vault.admission.cpu_pool.in_use", "CPU pool slots in use (bcrypt, RSA and other CPU-heavy work)", func() float64 { return float64(p.Stats().InUse) })
		r.NewGaugeFunc("vault.admission.cpu_pool.queued", "Requests waiting for a CPU pool slot", func() float64 { return float64(p.Stats().Waiting) })
		r.NewCounterFunc("vault.admission.cpu_pool.admitted", "Requests the CPU pool admitted", func() float64 { return float64(p.Stats().Admitted) })
		r.NewCounterFunc("vault.admission.cpu_pool.rejected", "Requests the CPU pool rejected (queue full or waited too long: 429/503 with Retry-After)", func() float64 { return float64(p.Stats().Rejected) })
	}
}
