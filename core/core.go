package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaultd/vaultd/clusterport/clustertls"
	"github.com/vaultd/vaultd/core/audit"
	"github.com/vaultd/vaultd/core/ceremony"
	"github.com/vaultd/vaultd/core/clusterops"
	"github.com/vaultd/vaultd/core/leases"
	"github.com/vaultd/vaultd/core/mounts"
	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/core/wrapping"
	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// Cluster is what core needs from replication; *raftstore.Store satisfies
// it, and StandaloneCluster stands in for single-process in-memory storage.
type Cluster interface {
	LocalID() string
	// IsLeader reports whether this node is the raft leader right now.
	IsLeader() bool
	// Leader returns the current leader's node ID and raft address ("" if none).
	Leader() (id, addr string)
	// LeadershipChanges delivers true/false as this node gains or loses
	// leadership. core's Run loop is its only consumer.
	LeadershipChanges() <-chan bool
	// Barrier returns once every committed entry has been applied locally.
	Barrier(ctx context.Context) error
	// VerifyLeader confirms with a quorum that this node is still the leader.
	VerifyLeader(ctx context.Context) error
}

// Bootstrapper is implemented by clusters that start as a single node at
// init time (raftstore.Store). Bootstrap must be idempotent-safe: a second
// call returns an error that IsAlreadyBootstrapped recognises.
type Bootstrapper interface {
	Bootstrap(ctx context.Context) error
	// HasState reports whether this node already belongs to a cluster.
	HasState() (bool, error)
}

// Config configures a Core. Storage is the physical backend below the
// barrier (raftstore.Store or storage/inmem).
type Config struct {
	NodeID      string
	APIAddr     string
	ClusterAddr string
	ClusterName string
	Storage     storage.Backend
	Cluster     Cluster
	// Engines maps mount types ("kv", "cubbyhole", ...) to their factories.
	Engines map[string]secrets.Factory
	// NoBootstrap: this node must never bootstrap a cluster of its own
	// (it is configured to join one with retry_join).
	NoBootstrap bool
	// DefaultLeaseTTL and MaxLeaseTTL are the system-wide lease defaults.
	DefaultLeaseTTL time.Duration
	MaxLeaseTTL     time.Duration
	Logger          *slog.Logger
	Now             func() time.Time
	// ShareEncrypter encrypts rekey shares and generated root tokens to
	// OpenPGP keys (pgp_keys, pgp_key); nil disables PGP in those ceremonies.
	ShareEncrypter ShareEncrypter
	// PGPFingerprint returns the fingerprint of a base64 OpenPGP public key
	// (rekey and generate-root status show them); nil shows none.
	PGPFingerprint func(base64PubKey string) (string, error)
	// ClusterTLS receives this node's cluster TLS material once it is
	// unsealed (clusterport.Port.SetMaterial); nil without a cluster port.
	ClusterTLS func(*clustertls.Material) error
	// Members manages raft membership (joins, ha-status, step-down); nil
	// with single-process storage.
	Members Members
	// Version is this node's version as sys/ha-status reports it (the
	// server's version.Get().Version); "" when unknown.
	Version string
	// StateChanged, when set, is called after this node's initialized,
	// sealed or active/standby state may have changed (init, unseal, seal,
	// becoming active, stepping down). It may run under core's state lock:
	// it must return at once (nudge a channel) and must not call back into
	// core. Service registration uses it to keep pod labels current.
	StateChanged func()
	// Seal is the configured auto seal (seal "transit"); nil means Shamir.
	// With it the node unseals itself (autoseal.go).
	Seal seal.Wrapper
	// Reads lets this node answer reads itself while it is a standby
	// (standby.go); nil: a standby forwards everything.
	Reads ReadIndexer
	// MigrateFrom is a disabled auto seal (disabled = "true"): the seal to
	// migrate away from, back to Shamir. Nil otherwise.
	MigrateFrom seal.Wrapper
	// Replication wires cross-cluster DR replication (replication.go);
	// nil without raft storage.
	Replication *ReplicationConfig
}

// Core is one vaultd node. Its methods are safe for concurrent use.
type Core struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	physical storage.Backend
	barrier  *seal.Barrier
	unsealer *seal.Unsealer
	cluster  Cluster

	rotator autoRotator // autorotate.go

	// stateMu serialises init, unseal, seal, setup and teardown.
	stateMu sync.Mutex
	// active is true only between a finished setup and the start of teardown.
	active atomic.Bool
	// perfActive: active as a performance secondary (no active hooks ran).
	perfActive  atomic.Bool
	activeSince atomic.Pointer[time.Time]
	initialized atomic.Bool // cached once true

	mounts *mounts.Set // the secrets engines' mount table (mounts.go; loaded while active)
	tokens *tokens.Store
	// tokenEndpoints serves auth/token/* over tokens.
	tokenEndpoints *tokens.Endpoints
	wrapping       *wrapping.Service           // response wrapping (wrap.go)
	leases         *leases.Service             // sys/leases/* over the token store
	info           atomic.Pointer[clusterInfo] // nil while sealed

	kick chan struct{}

	// manualSeal: an operator sealed this auto-sealed node (sys/seal); it
	// stays sealed until restarted or unsealed with the recovery shares.
	manualSeal atomic.Bool
	// migrationLogged: the pending seal migration was logged once.
	migrationLogged atomic.Bool

	ceremonies *ceremony.Service // rekey and generate-root attempts

	ident identity // auth table, policies, audit (identity.go)

	ha haState // cluster TLS, joins (cluster.go, join.go)

	raftOps *clusterops.Service // raft operations and autopilot (sys_raft.go)
	joins   *clusterops.Joins   // the leader side of joins (join.go)
	caps    *capabilities       // sys/capabilities* (capabilities.go)
	keys    *sysKeys            // sys/rotate, sys/key-status, sys/seal (sys_keys.go)
	sys     *sysRoutes          // every sys/ endpoint's declaration (sysroutes.go)
	haOps   *clusterops.HA      // sys/ha-status, sys/step-down (core/clusterops)

	replica replica // a standby's state for local reads (standby.go)
	repl    *drRepl // cross-cluster DR replication (replication.go)

	remounts   remountLog    // sys/remount statuses (remount.go)
	auditStats auditCounters // telemetry.go
}

// clusterInfo is stored at core/cluster-info behind the barrier.
type clusterInfo struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// New builds a Core. It does not start the leadership loop: call Run.
func New(cfg Config) (*Core, error) {
	if cfg.Storage == nil || cfg.Cluster == nil {
		return nil, errors.New("core: Storage and Cluster are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DefaultLeaseTTL <= 0 {
		cfg.DefaultLeaseTTL = 768 * time.Hour
	}
	if cfg.MaxLeaseTTL <= 0 {
		cfg.MaxLeaseTTL = 768 * time.Hour
	}
	if cfg.NodeID == "" {
		cfg.NodeID = cfg.Cluster.LocalID()
	}
	log := cfg.Logger.With("component", "core", "node_id", cfg.NodeID)
	c := &Core{
		cfg:      cfg,
		log:      log,
		now:      cfg.Now,
		physical: cfg.Storage,
		barrier:  seal.NewBarrier(cfg.Storage, log),
		unsealer: seal.NewUnsealer(),
		cluster:  cfg.Cluster,
		kick:     make(chan struct{}, 1),
	}
	c.newMountSets() // mounts.go
	c.tokens = tokens.NewStore(c.barrier, cfg.Now)
	c.ident.policies.Inactive = ErrStandby
	c.tokenEndpoints = tokens.NewEndpoints(c.tokens, tokenHost{c}, log)
	c.wrapping = c.newWrapping() // wrap.go
	c.ident.audit = audit.NewTable(audit.TableConfig{NormalizePath: normalizeMountPath, Inactive: ErrStandby, Logger: log})
	c.leases = leases.New(leases.Config{Tokens: c.tokens, Now: cfg.Now, Logger: log})
	c.newIdentityStore()       // identitystore.go
	c.raftOps = c.newRaftOps() // sys_raft.go
	c.joins = c.newJoins()     // join.go
	c.caps = &capabilities{c: c}
	c.keys = &sysKeys{c: c}
	c.sys = &sysRoutes{c: c}
	c.haOps = c.newHA()   // cluster.go
	c.repl = newDRRepl(c) // replication.go
	c.ceremonies = ceremony.New(ceremony.Config{
		Barrier: c.barrier, Encrypter: ceremony.Encrypter(cfg.ShareEncrypter), Logger: log,
		RandomID: tokens.RandomID, MintRoot: c.mintRootToken,
		Fingerprint: cfg.PGPFingerprint, Backup: rekeyBackups{c},
	})
	return c, nil
}

// Barrier exposes the node's barrier (the join challenge and the composition
// root need it). Never nil.
func (c *Core) Barrier() *seal.Barrier { return c.barrier }

// NodeID is this node's raft server ID.
func (c *Core) NodeID() string { return c.cfg.NodeID }

func (c *Core) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Run is the leadership loop: it makes the node active when it is both the
// raft leader and unsealed, and steps it down when either stops being true.
// It returns when ctx is done.
func (c *Core) Run(ctx context.Context) error {
	changes := c.cluster.LeadershipChanges()
	if c.cfg.Seal != nil {
		go c.autoUnsealLoop(ctx) // autoseal.go
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		c.reconcile(ctx)
		select {
		case <-ctx.Done():
			c.stateMu.Lock()
			c.teardown()
			c.stateMu.Unlock()
			return nil
		case <-changes:
		case <-c.kick:
		case <-tick.C:
		}
	}
}

func (c *Core) reconcile(ctx context.Context) {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	c.repl.reconcile(ctx) // replication.go
	// A DR secondary's leader streams but is never active: it serves no
	// client request, and its storage is the primary's.
	want := c.cluster.IsLeader() && !c.barrier.Sealed() && !c.IsDRSecondary()
	c.ensureClusterTLS(ctx) // cluster.go
	switch {
	case want && c.active.Load() && c.repl.reloadDue(): // perfsecondary.go
		c.teardown()
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := c.setup(sctx); err != nil {
			c.log.Warn("reloading a performance secondary's tables failed; will retry", "error", err)
		}
	case want && !c.active.Load():
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := c.setup(sctx); err != nil {
			c.log.Warn("becoming active failed; will retry", "error", err)
		}
	case !want && c.active.Load() && !chaosKeepServing(c): // chaosbug.go
		c.teardown()
	}
}

// setup runs on a node that just became leader and is unsealed. Callers hold stateMu.
func (c *Core) setup(ctx context.Context) error {
	c.dropReplica() // standby.go: the active state is loaded below
	if err := c.cluster.Barrier(ctx); err != nil {
		return fmt.Errorf("raft barrier: %w", err)
	}
	if err := c.barrier.Reload(ctx); err != nil {
		return fmt.Errorf("reload keyring: %w", err)
	}
	if err := c.loadClusterInfo(ctx); err != nil {
		return err
	}
	if err := c.tokens.Load(ctx); err != nil {
		return err
	}
	if err := c.mounts.Load(ctx, nil); err != nil {
		return fmt.Errorf("core: %w", err)
	}
	perf := c.IsPerfSecondary()
	if !perf { // a performance secondary writes nothing above the barrier (its leader advert is raw)
		if err := c.advertise(ctx); err != nil {
			c.mounts.Unload()
			return err
		}
		if err := c.recordNode(ctx, c.cfg.NodeID, c.cfg.APIAddr, c.cfg.ClusterAddr); err != nil { // cluster.go
			c.mounts.Unload()
			return err
		}
	}
	if err := c.setupIdentity(ctx); err != nil { // identity.go
		c.mounts.Unload()
		return err
	}
	now := c.now().UTC()
	c.activeSince.Store(&now)
	if !perf { // key rotation, autopilot, auto snapshots: the primary's business
		c.onActive(ctx) // hooks.go
	}
	c.perfActive.Store(perf)
	c.active.Store(true)
	c.log.Info("node is active")
	c.stateChanged()
	return nil
}

// teardown flips active off first, then drops state. Callers hold stateMu.
func (c *Core) teardown() {
	if !c.active.Swap(false) {
		return
	}
	if !c.perfActive.Swap(false) {
		c.onStandby() // hooks.go
	}
	c.activeSince.Store(nil)
	c.ceremonies.Reset()
	c.teardownIdentity() // identity.go
	c.mounts.Unload()
	c.log.Info("node stepped down from active")
	c.stateChanged()
}

// stateChanged calls Config.StateChanged, when set.
func (c *Core) stateChanged() {
	if f := c.cfg.StateChanged; f != nil {
		f()
	}
}

// leaderAdvert is stored at core/leader/<node-id>.
type leaderAdvert struct {
	APIAddr     string `json:"api_addr"`
	ClusterAddr string `json:"cluster_addr"`
}

func (c *Core) advertise(ctx context.Context) error {
	b, err := json.Marshal(leaderAdvert{APIAddr: c.cfg.APIAddr, ClusterAddr: c.cfg.ClusterAddr})
	if err != nil {
		return err
	}
	return c.barrier.Put(ctx, &storage.Entry{Key: "core/leader/" + c.cfg.NodeID, Value: b})
}

// ActiveAddr returns the active node's advertised addresses, read through
// the barrier from core/leader/<leader id>. ErrNoActiveNode when unknown.
func (c *Core) ActiveAddr(ctx context.Context) (apiAddr, clusterAddr string, err error) {
	if c.active.Load() {
		return c.cfg.APIAddr, c.cfg.ClusterAddr, nil
	}
	if c.IsPerfSecondary() {
		// core/leader/ holds the primary's adverts here: the secondary's
		// leader advertises itself in raw storage.
		return c.replLeaderAddr(ctx)
	}
	id, _ := c.cluster.Leader()
	if id == "" {
		return "", "", ErrNoActiveNode
	}
	if id == c.cluster.LocalID() {
		// This node won the election but has not finished its setup: the
		// advert in storage may be its own from an earlier term, and a
		// request forwarded there would only come back here. Wait (bounded
		// by ctx) for the setup to finish instead.
		return c.waitSelfActive(ctx)
	}
	e, err := c.leaderAdvert(ctx, id)
	if err != nil {
		return "", "", err
	}
	var ad leaderAdvert
	if err := json.Unmarshal(e.Value, &ad); err != nil {
		return "", "", fmt.Errorf("core: leader advert: %w", err)
	}
	return ad.APIAddr, ad.ClusterAddr, nil
}

// leaderAdvert reads the advert of leader id. A leader elected moments ago
// writes its advert when its setup finishes, and this node sees it once it
// has applied that write: until then it polls (bounded by ctx and 2 s, and
// only while id still leads), so a request that reaches a standby right
// after a failover or step-down is forwarded instead of refused.
func (c *Core) leaderAdvert(ctx context.Context, id string) (*storage.Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		e, err := c.barrier.Get(ctx, "core/leader/"+id)
		if !errors.Is(err, storage.ErrNotFound) {
			return e, err
		}
		if cur, _ := c.cluster.Leader(); cur != id || c.barrier.Sealed() {
			return nil, ErrNoActiveNode
		}
		select {
		case <-ctx.Done():
			return nil, ErrNoActiveNode
		case <-t.C:
		}
	}
}

// waitSelfActive polls until this node is active (its own addresses), or
// answers ErrNoActiveNode once ctx or a 2 s bound ends, the node is sealed,
// or it is no longer the leader.
func (c *Core) waitSelfActive(ctx context.Context) (apiAddr, clusterAddr string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if c.active.Load() {
			return c.cfg.APIAddr, c.cfg.ClusterAddr, nil
		}
		if id, _ := c.cluster.Leader(); id != c.cluster.LocalID() || c.barrier.Sealed() {
			return "", "", ErrNoActiveNode
		}
		select {
		case <-ctx.Done():
			return "", "", ErrNoActiveNode
		case <-t.C:
		}
	}
}

func (c *Core) loadClusterInfo(ctx context.Context) error {
	e, err := c.barrier.Get(ctx, "core/cluster-info")
	if err != nil {
		return fmt.Errorf("core: cluster info: %w", err)
	}
	var ci clusterInfo
	if err := json.Unmarshal(e.Value, &ci); err != nil {
		return fmt.Errorf("core: cluster info: %w", err)
	}
	c.info.Store(&ci)
	return nil
}

// IsActive reports whether this node serves requests itself.
func (c *Core) IsActive() bool { return c.active.Load() }

// Sealed reports whether the barrier is sealed.
func (c *Core) Sealed() bool { return c.barrier.Sealed() }

// Status is the node's seal and HA state (sys/seal-status, sys/health).
type Status struct {
	Initialized bool
	Sealed      bool
	Threshold   int
	Shares      int
	Progress    int
	Nonce       string
	Standby     bool
	Active      bool
	ClusterName string
	ClusterID   string
	// DRMode is the cluster's DR replication mode as sys/health reports
	// it: "disabled", "primary" or "secondary".
	DRMode string
	// PerfMode is the performance replication mode, likewise.
	PerfMode string
	// SealType is "shamir" or the auto seal's type; RecoverySeal is true
	// under an auto seal (Threshold and Shares are then the recovery
	// key's); Migration is true while a seal migration is pending.
	SealType     string
	RecoverySeal bool
	Migration    bool
}

// Status reports the node's state. It never fails: storage errors read as
// "not initialized".
func (c *Core) Status(ctx context.Context) Status {
	st := Status{Sealed: c.barrier.Sealed(), Active: c.active.Load(), DRMode: "disabled", PerfMode: "disabled"}
	switch m := c.repl.role(); m.Mode {
	case ModePrimary:
		if !m.NoDR {
			st.DRMode = "primary"
		}
		if m.Perf {
			st.PerfMode = "primary"
		}
	case ModePerfSecondary:
		st.PerfMode = "secondary"
	case ModeDRSecondary:
		st.DRMode = "secondary"
	}
	st.Initialized = c.isInitialized(ctx)
	var scfg *seal.Config
	if st.Initialized {
		if cfg, err := c.barrier.SealConfig(ctx); err == nil {
			st.Threshold, st.Shares = cfg.Threshold, cfg.Shares
			scfg = cfg
		}
	}
	c.sealStatus(&st, scfg) // autoseal.go
	c.joinStatus(&st)       // join.go
	p := c.unsealer.Progress()
	st.Progress, st.Nonce = p.N, p.Nonce
	if !st.Sealed {
		st.Standby = !st.Active
		if ci := c.info.Load(); ci != nil {
			st.ClusterName, st.ClusterID = ci.Name, ci.ID
		} else if e, err := c.barrier.Get(ctx, "core/cluster-info"); err == nil {
			var ci clusterInfo
			if json.Unmarshal(e.Value, &ci) == nil {
				c.info.Store(&ci)
				st.ClusterName, st.ClusterID = ci.Name, ci.ID
			}
		}
	}
	if st.Sealed {
		st.Standby = false
	}
	return st
}

// isInitialized: the seal config is in storage, or this node already holds
// raft state (after a restart the FSM is rebuilt from the log only once
// raft commits it, but the node belongs to an initialised cluster already).
func (c *Core) isInitialized(ctx context.Context) bool {
	if c.initialized.Load() {
		return true
	}
	ok, err := c.barrier.Initialized(ctx)
	if err == nil && ok {
		c.initialized.Store(true)
		return true
	}
	if b, isB := c.cluster.(Bootstrapper); isB {
		if has, err := b.HasState(); err == nil && has {
			return true
		}
	}
	return false
}

// sealConfig reads the seal configuration, waiting (bounded by ctx and
// 10 s) while a restarted node's FSM catches up with its raft log.
func (c *Core) sealConfig(ctx context.Context) (*seal.Config, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		cfg, err := c.barrier.SealConfig(ctx)
		if !errors.Is(err, seal.ErrNotInitialized) {
			return cfg, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: the seal configuration has not been replicated to this node yet", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// WaitForStorage waits (bounded by ctx) until a node that holds raft state
// has replayed enough of it to know its seal configuration, so the first
// seal-status after a restart is complete. It returns at once on a new node.
func (c *Core) WaitForStorage(ctx context.Context) {
	if b, ok := c.cluster.(Bootstrapper); ok {
		if has, err := b.HasState(); err != nil || !has {
			return
		}
		_, _ = c.sealConfig(ctx)
	}
}

// ActiveSince is when this node last became active (zero if not active).
func (c *Core) ActiveSince() time.Time {
	if t := c.activeSince.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

// LeaderInfo is sys/leader's answer.
type LeaderInfo struct {
	HAEnabled            bool
	IsSelf               bool
	ActiveTime           time.Time
	LeaderAddress        string
	LeaderClusterAddress string
	RaftCommittedIndex   uint64
	RaftAppliedIndex     uint64
}

// indexer is implemented by clusters that expose raft indexes.
type indexer interface {
	Indexes() (applied, committed uint64)
}

// Leader reports who the active node is, as far as this node knows.
func (c *Core) Leader(ctx context.Context) LeaderInfo {
	li := LeaderInfo{HAEnabled: true, IsSelf: c.active.Load(), ActiveTime: c.ActiveSince()}
	if ix, ok := c.cluster.(indexer); ok {
		li.RaftAppliedIndex, li.RaftCommittedIndex = ix.Indexes()
	}
	if !c.barrier.Sealed() {
		if api, cl, err := c.ActiveAddr(ctx); err == nil {
			li.LeaderAddress, li.LeaderClusterAddress = api, cl
		}
	}
	return li
}

// mintRootToken creates an orphan root token (sys/generate-root's result).
func (c *Core) mintRootToken(ctx context.Context) (string, error) {
	return c.tokens.Create(ctx, &TokenEntry{
		Policies: []string{"root"}, Path: "auth/token/root", DisplayName: "root", Orphan: true,
	}, "")
}
