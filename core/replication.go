package core

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaultd/vaultd/clusterport/clustertls"
	"github.com/vaultd/vaultd/core/ceremony"
	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/replication"
	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// Cross-cluster DR replication, the server layer (docs/replication.md).
//
// A cluster's replication role lives in its own raw storage at
// replication-local/mode (replicated inside the cluster by raft, never to
// another cluster): every node reads it, so every node knows whether it
// belongs to a primary, a DR secondary, or a fenced primary. The stream
// itself (replication.Primary or replication.Secondary) runs on the raft
// leader only and stops when the node loses leadership.
//
// The one role check is replRole.refusal: HandleRequest and the HTTP
// layer's forwarder ask it before anything else, so a DR secondary answers
// every client request but the replication endpoints with 400, and a
// fenced primary refuses client writes.

// ReplicationConfig wires the replication stream to the node's raw
// storage and cluster port (the composition root adapts raftstore and
// clusterport). nil: replication is not available (in-memory storage).
type ReplicationConfig struct {
	// Source is the local committed log (the primary side).
	Source replication.Source
	// Target is the local raw storage with snapshot restore (the
	// secondary side).
	Target replication.Target
	// Serve installs (nil: removes) the cluster port's replication
	// handler.
	Serve func(h func(conn net.Conn, peerID string))
	// Dial opens a replication stream to a primary's cluster address
	// (host:port), presenting m.
	Dial func(ctx context.Context, addr string, m *clustertls.Material) (net.Conn, error)
	// IssuePeer issues a replication-peer certificate from the cluster CA
	// (clusterport.IssueReplicationPeer).
	IssuePeer func(ca *clustertls.CA, id string) (*clustertls.Material, error)
	// Unwrap unwraps a wrapping token at a primary's API address and
	// returns the wrapped data.
	Unwrap func(ctx context.Context, apiAddr, token, caFile, caPath string) (map[string]any, error)
	// SpoolDir is where a DR secondary writes a resync snapshot while it
	// arrives (the node's data directory).
	SpoolDir string
}

// Replication modes (replMode.Mode).
const (
	ModeNone        = ""
	ModePrimary     = "primary"
	ModeDRSecondary = "dr-secondary"
	// ModePerfSecondary: a performance secondary (perfsecondary.go):
	// serves reads from its replicated storage, forwards writes to the
	// primary.
	ModePerfSecondary = "performance-secondary"
)

// Secondary kinds (the activation payload's kind; "" is DR).
const (
	KindDR          = "dr"
	KindPerformance = "performance"
)

const (
	replModeKey   = replication.LocalPrefix + "mode"
	replLeaderKey = replication.LocalPrefix + "leader"
	// replOpTokensKey holds the DR operation tokens (hashes, expiries).
	replOpTokensKey = replication.LocalPrefix + "dr-operation-tokens"
	// replSecondaryConfigPrefix holds, behind the primary's barrier (so it
	// replicates, encrypted), what each secondary needs to stream: a DR
	// secondary is unsealed with the primary's keys and reads its own
	// configuration from there after a restart.
	replSecondaryConfigPrefix = "core/replication/dr-secondary/"
	// opTokenTTL is how long a DR operation token is valid.
	opTokenTTL = 30 * time.Minute
)

// replMode is the cluster's replication role (raw, not secret).
type replMode struct {
	Mode string `json:"mode"`
	// SecondaryID, PrimaryAPIAddr and PrimaryClusterAddrs: a DR
	// secondary's identity and where its primary is.
	SecondaryID         string   `json:"secondary_id,omitempty"`
	PrimaryAPIAddr      string   `json:"primary_api_addr,omitempty"`
	PrimaryClusterAddrs []string `json:"primary_cluster_addrs,omitempty"`
	// FencedBy: this primary learned of a newer epoch (a promoted
	// secondary, or demote) and refuses client writes.
	FencedBy uint64 `json:"fenced_by,omitempty"`
	// FormerSecondaryID and FormerEpoch: this primary was promoted from
	// the DR secondary FormerSecondaryID at FormerEpoch; until the old
	// primary has been told (replication.Notify), the leader keeps
	// presenting that epoch to it, so that it fences itself when it comes
	// back.
	FormerSecondaryID string `json:"former_secondary_id,omitempty"`
	FormerEpoch       uint64 `json:"former_epoch,omitempty"`
	// Perf: this primary also serves performance secondaries; NoDR: it
	// was enabled for performance replication only (a record without
	// either is a DR primary, as dr2 wrote them).
	Perf bool `json:"performance,omitempty"`
	NoDR bool `json:"no_dr,omitempty"`
	// CAFile and CAPath (a performance secondary): how to verify the
	// primary's API certificate when forwarding writes there.
	CAFile string `json:"ca_file,omitempty"`
	CAPath string `json:"ca_path,omitempty"`
}

// isSecondary reports whether the mode is either secondary kind.
func (m replMode) isSecondary() bool {
	return m.Mode == ModeDRSecondary || m.Mode == ModePerfSecondary
}

// kindEnabled reports whether a primary serves secondaries of kind.
func (m replMode) kindEnabled(kind string) bool {
	if m.Mode != ModePrimary {
		return false
	}
	if kind == KindPerformance {
		return m.Perf
	}
	return !m.NoDR
}

// replLeader is a DR secondary's leader advert (raw: a DR secondary's
// barrier holds the primary's data).
type replLeader struct {
	ID          string `json:"id"`
	APIAddr     string `json:"api_addr"`
	ClusterAddr string `json:"cluster_addr"`
}

// drSecondaryConfig is what a secondary needs to stream (secret: the
// stream token and the TLS key). The secondary-token's wrapped payload
// carries it; the primary keeps a copy behind its barrier.
type drSecondaryConfig struct {
	ID                  string   `json:"secondary_id"`
	Token               string   `json:"token"`
	PrimaryAPIAddr      string   `json:"primary_api_addr"`
	PrimaryClusterAddrs []string `json:"primary_cluster_addrs"`
	// TLS is base64 of clustertls.Material.Encode: the primary cluster's
	// CA certificate, this secondary's certificate and key.
	TLS string `json:"tls_material"`
	// Kind is KindPerformance for a performance secondary ("" or KindDR:
	// a DR secondary).
	Kind string `json:"kind,omitempty"`
}

func (s *drSecondaryConfig) kind() string {
	if s.Kind == "" {
		return KindDR
	}
	return s.Kind
}

func (s *drSecondaryConfig) data() map[string]any {
	return map[string]any{"secondary_id": s.ID, "token": s.Token, "primary_api_addr": s.PrimaryAPIAddr,
		"primary_cluster_addrs": s.PrimaryClusterAddrs, "tls_material": s.TLS, "kind": s.kind()}
}

func secondaryConfigFrom(d map[string]any) (*drSecondaryConfig, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	var s drSecondaryConfig
	if err := json.Unmarshal(b, &s); err != nil || !secondaryIDPattern.MatchString(s.ID) || s.Token == "" || s.TLS == "" || len(s.PrimaryClusterAddrs) == 0 {
		return nil, badRequest("the activation token does not hold a DR secondary activation")
	}
	return &s, nil
}

// drRepl is the node's replication manager.
type drRepl struct {
	c   *Core
	cfg *ReplicationConfig

	mode atomic.Pointer[replMode] // the cached role, refreshed every reconcile

	mu        sync.Mutex
	primary   *replication.Primary
	primStop  context.CancelFunc // ends the streams the Primary serves
	secondary *replication.Secondary
	secCfg    *drSecondaryConfig // in memory on the leader only
	runCancel context.CancelFunc
	runDone   chan struct{}
	// notifyCancel stops the loop that fences the old primary.
	notifyCancel context.CancelFunc
	notifyDone   chan struct{}
	formerCfg    *drSecondaryConfig // the promoted secondary's old credentials
	lastErr      string
	keyCheck     time.Time

	// opMu serialises the DR operation tokens' read-modify-write
	// (replication-local/dr-operation-tokens: SHA-256 → expiry).
	opMu       sync.Mutex
	ceremonies *ceremony.Service

	// epochs: the leader's epoch confirmation before its first client
	// write (replication_epoch.go).
	epochs epochGate
	// autopilotOn: this DR secondary's leader runs autopilot (it is never
	// active, where core starts it otherwise).
	autopilotOn bool
	perfState   // perfsecondary.go
}

// drAutopilot runs autopilot (its state, and its dead-server cleanup with
// the replicated configuration) on the unsealed leader of a DR secondary
// (on), and stops it when that ends (the leadership loop, under stateMu).
// On a promoted node the active hooks have already taken it over
// (StartAutopilot replaces a running loop): it is left running there.
func (r *drRepl) drAutopilot(on bool) {
	switch {
	case on && !r.autopilotOn && !r.c.active.Load():
		// (A node still active, just made a secondary, steps down after
		// this in the same turn: its standby hooks stop autopilot, so it
		// starts at the next turn.)
		r.c.raftOps.StartAutopilot(context.Background())
		r.autopilotOn = true
	case !on && r.autopilotOn:
		if !r.c.active.Load() {
			r.c.raftOps.StopAutopilot()
		}
		r.autopilotOn = false
	}
}

func newDRRepl(c *Core) *drRepl {
	r := &drRepl{c: c, cfg: c.cfg.Replication}
	r.mode.Store(&replMode{})
	r.ceremonies = ceremony.New(ceremony.Config{
		Barrier: c.barrier, Encrypter: ceremony.Encrypter(c.cfg.ShareEncrypter), Fingerprint: c.cfg.PGPFingerprint,
		RandomID: tokens.RandomID, MintRoot: r.mintOperationToken, Logger: c.log.With("ceremony", "dr-operation-token"),
	})
	return r
}

// role returns the cluster's cached replication role.
func (r *drRepl) role() replMode {
	if r == nil {
		return replMode{}
	}
	return *r.mode.Load()
}

// ReplicationMode is this cluster's replication role as this node last
// read it: "", "primary" or "dr-secondary".
func (c *Core) ReplicationMode() string { return c.repl.role().Mode }

// IsDRSecondary reports whether this node belongs to a DR secondary.
func (c *Core) IsDRSecondary() bool { return c.repl.role().Mode == ModeDRSecondary }

// ErrDRSecondary: a DR secondary serves no client request but the
// replication endpoints (Vault's wording).
var ErrDRSecondary = errors.New("path disabled in replication DR secondary mode")

// ReplicationRefusal is the one role check: the error a request must be
// refused with in this cluster's replication role, or nil. DR secondary:
// everything (the replication, health, seal-status, unseal and leader
// endpoints the HTTP layer serves itself never ask). A fenced primary:
// every write but the sys/replication/ endpoints.
func (c *Core) ReplicationRefusal(op secrets.Operation, path string) error {
	m := c.repl.role()
	switch {
	case m.Mode == ModeDRSecondary:
		return secrets.Errorf(secrets.ErrInvalidRequest, "%s", ErrDRSecondary.Error())
	case m.Mode == ModePerfSecondary:
		return nil // reads served here, writes forwarded (perfsecondary.go)
	case m.Mode == ModePrimary && m.FencedBy > 0:
		if op == secrets.OpRead || op == secrets.OpList || strings.HasPrefix(path, "sys/replication/") {
			return nil
		}
		return secrets.Errorf(secrets.ErrInvalidRequest,
			"this cluster was demoted: replication epoch %d is newer (a promoted DR secondary, or an operator's demote); writes are refused (enable this cluster as a DR secondary of the new primary to fail back)", m.FencedBy)
	}
	return nil
}

// loadMode reads the role from raw storage.
func (r *drRepl) loadMode(ctx context.Context) (replMode, error) {
	var m replMode
	e, err := r.c.physical.Get(ctx, replModeKey)
	if errors.Is(err, storage.ErrNotFound) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(e.Value, &m); err != nil {
		return m, fmt.Errorf("core: replication mode: %w", err)
	}
	return m, nil
}

func (r *drRepl) saveMode(ctx context.Context, m replMode) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := r.c.physical.Put(ctx, &storage.Entry{Key: replModeKey, Value: b}); err != nil {
		return fmt.Errorf("core: save replication mode: %w", err)
	}
	r.mode.Store(&m)
	return nil
}

// reconcile runs on every node from core's leadership loop (under
// stateMu): refresh the role, check a DR secondary's keyring, run or stop
// the stream as this node leads or not.
func (r *drRepl) reconcile(ctx context.Context) {
	if r == nil || r.cfg == nil {
		return
	}
	r.mu.Lock()
	streaming := r.secondary != nil && r.runCancel != nil
	r.mu.Unlock()
	if !streaming {
		// While this node streams as a DR secondary it is the only writer
		// of the role, and a snapshot restore briefly puts the primary's
		// record there (until the Txn after it puts this cluster's back):
		// memory is right then, storage is not.
		if m, err := r.loadMode(ctx); err == nil {
			r.mode.Store(&m)
		}
	}
	m := r.role()
	if m.isSecondary() {
		r.checkKeyring(ctx)
	}
	r.setReadOnly(m)
	if !r.c.cluster.IsLeader() {
		r.stop()
		r.drAutopilot(false)
		return
	}
	r.drAutopilot(m.Mode == ModeDRSecondary && !r.c.barrier.Sealed())
	switch m.Mode {
	case ModePrimary:
		if err := r.ensurePrimary(ctx); err != nil {
			r.setErr(err)
		}
		if m.FormerSecondaryID != "" && m.FencedBy == 0 {
			r.ensureNotifier(ctx, m)
		}
	case ModeDRSecondary, ModePerfSecondary:
		r.ensureSecondary(ctx, m)
	default:
		r.stop()
	}
}

func (r *drRepl) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.lastErr = ""
		return
	}
	if r.lastErr != err.Error() {
		r.c.log.Warn("replication", "error", err)
	}
	r.lastErr = err.Error()
}

// checkKeyring: after the first sync (or a resync) a DR secondary's
// storage holds the primary's keyring, sealed by the primary's root key.
// A node whose keys in memory no longer open it seals itself: it is
// unsealed with the primary's unseal keys (as a DR secondary is in
// Vault), and from then on it reloads the keyring terms the primary adds.
func (r *drRepl) checkKeyring(ctx context.Context) {
	if r.c.barrier.Sealed() || time.Since(r.keyCheck) < time.Second {
		return
	}
	r.keyCheck = time.Now()
	err := r.c.barrier.Reload(ctx)
	if errors.Is(err, seal.ErrBadCiphertext) {
		r.c.log.Warn("this DR secondary now holds the primary cluster's keyring; sealing this node: unseal it with the primary cluster's unseal keys")
		r.c.teardown()
		r.c.dropReplica() // standby.go: its state was loaded with the old keys
		r.c.barrier.Seal()
		r.c.unsealer.Reset()
		r.c.info.Store(nil)
		// The cluster CA is the primary's now too: the next unseal issues
		// this node's certificate from it (every node of the secondary
		// cluster does the same as it is unsealed).
		r.c.ha.tlsLoaded.Store(false)
		r.c.stateChanged()
	}
}

// stop ends the stream this node runs, if any.
func (r *drRepl) stop() {
	r.mu.Lock()
	cancel, done := r.runCancel, r.runDone
	r.runCancel, r.runDone = nil, nil
	ncancel, ndone := r.notifyCancel, r.notifyDone
	r.notifyCancel, r.notifyDone = nil, nil
	hadPrimary, primStop := r.primary != nil, r.primStop
	r.primary, r.secondary, r.primStop = nil, nil, nil
	r.mu.Unlock()
	r.epochs.reset()
	if hadPrimary && r.cfg.Serve != nil {
		r.cfg.Serve(nil)
	}
	if primStop != nil {
		primStop() // a node that is no longer the leader serves no stream
	}
	if cancel != nil {
		cancel()
		<-done
	}
	if ncancel != nil {
		ncancel()
		<-ndone
	}
	r.ceremonies.Reset()
}

// ensurePrimary builds the Primary on the leader of a primary cluster and
// serves it on the cluster port.
func (r *drRepl) ensurePrimary(ctx context.Context) error {
	r.mu.Lock()
	if r.primary != nil {
		r.mu.Unlock()
		return nil
	}
	if r.runCancel != nil { // a secondary run (just promoted): gone
		r.mu.Unlock()
		r.stop()
		r.mu.Lock()
	}
	defer r.mu.Unlock()
	// A new leader serves only once it has applied everything committed
	// before it: the applied index each answer reports (the secondary's
	// lag is measured against it) then covers every write the old leader
	// acknowledged.
	bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := r.c.cluster.Barrier(bctx)
	cancel()
	if err != nil {
		return fmt.Errorf("replication: raft barrier before serving: %w", err)
	}
	minEpoch := uint64(0)
	if rec, found, err := replication.LoadSecondaryRecord(ctx, r.cfg.Target); err == nil && found && rec.Promoted {
		minEpoch = rec.Epoch
	}
	p, err := replication.NewPrimary(ctx, replication.PrimaryConfig{
		Source: r.cfg.Source, Storage: r.c.physical, MinEpoch: minEpoch, Logger: r.c.log, OnFenced: r.onFenced,
	})
	if err != nil {
		return fmt.Errorf("replication: start primary: %w", err)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.primary, r.primStop = p, cancel
	if r.cfg.Serve != nil {
		r.cfg.Serve(func(conn net.Conn, peer string) { p.Serve(sctx, conn, peer) })
	}
	if f := p.Fenced(); f > 0 && r.role().FencedBy == 0 {
		go r.onFenced(f)
	}
	r.c.log.Info("replication: serving as DR primary", "epoch", p.Epoch())
	return nil
}

// onFenced records that this primary was replaced: client writes are
// refused from now on (ReplicationRefusal).
func (r *drRepl) onFenced(epoch uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m := r.role()
	if m.Mode != ModePrimary || m.FencedBy >= epoch {
		return
	}
	m.FencedBy = epoch
	if err := r.saveMode(ctx, m); err != nil {
		r.c.log.Error("replication: recording that this primary is fenced failed; refusing writes in memory only", "error", err)
		r.mode.Store(&m)
	}
	r.c.log.Warn("replication: this cluster is fenced by a newer primary; client writes are refused", "newer_epoch", epoch)
}

// ensureSecondary runs the Secondary on the leader of a DR secondary.
func (r *drRepl) ensureSecondary(ctx context.Context, m replMode) {
	r.mu.Lock()
	if r.primary != nil {
		r.mu.Unlock()
		r.stop()
		r.mu.Lock()
	}
	running := r.runCancel != nil
	cfg := r.secCfg
	r.mu.Unlock()
	if running {
		return
	}
	if cfg == nil || cfg.ID != m.SecondaryID {
		// After a restart: the configuration is behind the barrier, which
		// a DR secondary unseals with the primary's keys.
		if r.c.barrier.Sealed() {
			return
		}
		e, err := r.c.barrier.Get(ctx, replSecondaryConfigPrefix+m.SecondaryID)
		if err != nil {
			r.setErr(fmt.Errorf("replication: this DR secondary's configuration is not readable yet: %w", err))
			return
		}
		var sc drSecondaryConfig
		if err := json.Unmarshal(e.Value, &sc); err != nil {
			r.setErr(err)
			return
		}
		if len(m.PrimaryClusterAddrs) > 0 {
			sc.PrimaryClusterAddrs = m.PrimaryClusterAddrs // the operator's override, if any
		}
		cfg = &sc
	}
	if err := r.startSecondary(ctx, cfg); err != nil {
		r.setErr(err)
	}
}

// dialer dials cfg's primary: its nodes in turn (only the active one
// serves the stream), with the secondary's certificate.
func (r *drRepl) dialer(cfg *drSecondaryConfig) (func(ctx context.Context) (net.Conn, error), error) {
	raw, err := base64.StdEncoding.DecodeString(cfg.TLS)
	if err != nil {
		return nil, fmt.Errorf("replication: TLS material: %w", err)
	}
	mat, err := clustertls.DecodeMaterial(raw)
	clear(raw)
	if err != nil {
		return nil, fmt.Errorf("replication: TLS material: %w", err)
	}
	addrs := append([]string(nil), cfg.PrimaryClusterAddrs...)
	if len(addrs) == 0 {
		return nil, errors.New("replication: no primary cluster address")
	}
	var next atomic.Uint64
	return func(ctx context.Context) (net.Conn, error) {
		// Each attempt starts at the next address: a healthy stream lives
		// long, so a new dial means the last one failed, perhaps at a
		// node of the primary that is not (or no longer) its leader and
		// closed the stream.
		start := next.Add(1) - 1
		var errs []error
		for i := range uint64(len(addrs)) {
			a := addrs[(start+i)%uint64(len(addrs))]
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			conn, err := r.cfg.Dial(dctx, hostPort(a), mat)
			cancel()
			if err == nil {
				return conn, nil
			}
			errs = append(errs, err)
		}
		return nil, errors.Join(errs...)
	}, nil
}

// startSecondary starts streaming with cfg (the caller made sure nothing
// runs).
func (r *drRepl) startSecondary(ctx context.Context, cfg *drSecondaryConfig) error {
	dial, err := r.dialer(cfg)
	if err != nil {
		return err
	}
	sec, err := replication.NewSecondary(ctx, replication.SecondaryConfig{
		ID: cfg.ID, Token: cfg.Token, Dial: dial, Target: r.cfg.Target, Logger: r.c.log,
		Preserve: []string{replModeKey, replLeaderKey, replOpTokensKey}, Addrs: []string{r.c.cfg.ClusterAddr},
		SpoolDir: r.cfg.SpoolDir,
		OnApply:  r.onApply, // perfsecondary.go
	})
	if err != nil {
		return fmt.Errorf("replication: start secondary: %w", err)
	}
	if err := r.advertiseLeader(ctx); err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	r.mu.Lock()
	r.secondary, r.secCfg, r.runCancel, r.runDone = sec, cfg, cancel, done
	r.mu.Unlock()
	go func() {
		defer close(done)
		if err := sec.Run(rctx); err != nil {
			r.setErr(err)
		}
	}()
	r.c.log.Info("replication: streaming as secondary", "secondary_id", cfg.ID, "kind", cfg.kind())
	return nil
}

// hostPort strips a scheme from a cluster address.
func hostPort(a string) string {
	if _, rest, ok := strings.Cut(a, "://"); ok {
		return strings.TrimSuffix(rest, "/")
	}
	return a
}

// advertiseLeader records this leader's addresses in raw storage: the
// standbys of a DR secondary forward the replication endpoints there.
func (r *drRepl) advertiseLeader(ctx context.Context) error {
	b, err := json.Marshal(replLeader{ID: r.c.cfg.NodeID, APIAddr: r.c.cfg.APIAddr, ClusterAddr: r.c.cfg.ClusterAddr})
	if err != nil {
		return err
	}
	return r.c.physical.Put(ctx, &storage.Entry{Key: replLeaderKey, Value: b})
}

// ReplicationActive reports whether this node serves the replication
// endpoints of its cluster: the active node, or a DR secondary's leader.
func (c *Core) ReplicationActive() bool {
	if c.IsDRSecondary() {
		return c.cluster.IsLeader()
	}
	return c.active.Load()
}

// ReplicationActiveAddr is where the replication endpoints are served
// (the forwarder's target).
func (c *Core) ReplicationActiveAddr(ctx context.Context) (apiAddr, clusterAddr string, err error) {
	if !c.IsDRSecondary() {
		return c.ActiveAddr(ctx)
	}
	return c.replLeaderAddr(ctx)
}

// replLeaderAddr reads a secondary's leader advert (raw storage).
func (c *Core) replLeaderAddr(ctx context.Context) (apiAddr, clusterAddr string, err error) {
	id, _ := c.cluster.Leader()
	if id == "" {
		return "", "", ErrNoActiveNode
	}
	e, err := c.physical.Get(ctx, replLeaderKey)
	if errors.Is(err, storage.ErrNotFound) {
		return "", "", ErrNoActiveNode
	}
	if err != nil {
		return "", "", err
	}
	var l replLeader
	if err := json.Unmarshal(e.Value, &l); err != nil || l.ID != id {
		return "", "", ErrNoActiveNode
	}
	return l.APIAddr, l.ClusterAddr, nil
}

// ---- DR operation tokens ----

func (r *drRepl) mintOperationToken(ctx context.Context) (string, error) {
	id, err := tokens.RandomID(24)
	if err != nil {
		return "", err
	}
	tok := "hvs." + id
	sum := sha256.Sum256([]byte(tok))
	r.opMu.Lock()
	defer r.opMu.Unlock()
	toks, err := r.loadOpTokens(ctx)
	if err != nil {
		return "", err
	}
	now := time.Now()
	for h, exp := range toks {
		if now.After(exp) {
			delete(toks, h)
		}
	}
	toks[hex.EncodeToString(sum[:])] = now.Add(opTokenTTL)
	b, err := json.Marshal(toks)
	if err != nil {
		return "", err
	}
	if err := r.c.physical.Put(ctx, &storage.Entry{Key: replOpTokensKey, Value: b}); err != nil {
		return "", fmt.Errorf("core: record the DR operation token: %w", err)
	}
	return tok, nil
}

// loadOpTokens reads the DR operation tokens' hashes and expiries from
// the cluster's own raw storage (replication-local/: raft carries them to
// every node of this cluster, never to another cluster), so a token
// outlives a leader change.
func (r *drRepl) loadOpTokens(ctx context.Context) (map[string]time.Time, error) {
	toks := map[string]time.Time{}
	e, err := r.c.physical.Get(ctx, replOpTokensKey)
	if errors.Is(err, storage.ErrNotFound) {
		return toks, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(e.Value, &toks); err != nil {
		return nil, fmt.Errorf("core: DR operation tokens: %w", err)
	}
	return toks, nil
}

// dropOpTokens forgets every DR operation token (after a promotion).
func (r *drRepl) dropOpTokens(ctx context.Context) {
	r.opMu.Lock()
	defer r.opMu.Unlock()
	if err := r.c.physical.Delete(ctx, replOpTokensKey); err != nil && !errors.Is(err, storage.ErrNotFound) {
		r.c.log.Warn("replication: dropping the DR operation tokens failed (they expire by themselves)", "error", err)
	}
}

// checkOperationToken verifies a DR operation token (constant time).
func (r *drRepl) checkOperationToken(ctx context.Context, tok string) error {
	if tok == "" {
		return badRequest("missing dr_operation_token")
	}
	h := sha256.Sum256([]byte(tok))
	r.opMu.Lock()
	toks, err := r.loadOpTokens(ctx)
	r.opMu.Unlock()
	if err != nil {
		return err
	}
	ok := false
	now := time.Now()
	for k, exp := range toks {
		want, err := hex.DecodeString(k)
		if err == nil && len(want) == len(h) && subtle.ConstantTimeCompare(want, h[:]) == 1 && now.Before(exp) {
			ok = true
		}
	}
	if !ok {
		return permissionDenied()
	}
	return nil
}

// ---- status ----

// ReplicationStatus is sys/replication/status (dr = false) or
// sys/replication/dr/status (dr = true), from this node's view.
func (c *Core) ReplicationStatus(ctx context.Context, dr bool) map[string]any {
	r := c.repl
	if r == nil || r.cfg == nil {
		d := map[string]any{"mode": "disabled"}
		if dr {
			return d
		}
		return map[string]any{"dr": d, "performance": map[string]any{"mode": "disabled"}}
	}
	m := r.role()
	d := map[string]any{"mode": "disabled"}
	switch {
	case m.Mode == ModeDRSecondary:
		d = c.secondaryStatus(ctx, m)
	case m.kindEnabled(KindDR):
		d = c.primaryStatus(ctx, m, KindDR)
	default:
		r.addCommon(d)
	}
	if dr {
		return d
	}
	return map[string]any{"dr": d, "performance": c.perfStatus(ctx)}
}

// PerfReplicationStatus is sys/replication/performance/status.
func (c *Core) PerfReplicationStatus(ctx context.Context) map[string]any {
	if c.repl == nil || c.repl.cfg == nil {
		return map[string]any{"mode": "disabled"}
	}
	return c.perfStatus(ctx)
}

// addCommon adds the cluster ID and the last error to a status.
func (r *drRepl) addCommon(d map[string]any) {
	if ci := r.c.info.Load(); ci != nil {
		d["cluster_id"] = ci.ID
	}
	r.mu.Lock()
	lastErr := r.lastErr
	r.mu.Unlock()
	if lastErr != "" && d["last_error"] == nil {
		d["last_error"] = lastErr
	}
}

// secondaryKinds maps the secondary IDs this primary made tokens for to
// their kind (from the copies behind the barrier; nil when sealed).
func (c *Core) secondaryKinds(ctx context.Context) map[string]string {
	ids, err := c.barrier.List(ctx, replSecondaryConfigPrefix)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, id := range ids {
		e, err := c.barrier.Get(ctx, replSecondaryConfigPrefix+id)
		if err != nil {
			continue
		}
		var sc drSecondaryConfig
		if json.Unmarshal(e.Value, &sc) == nil {
			out[id] = sc.kind()
		}
	}
	return out
}

// primaryStatus is a primary's status for the secondaries of one kind.
func (c *Core) primaryStatus(ctx context.Context, m replMode, kind string) map[string]any {
	r := c.repl
	d := map[string]any{"mode": "primary", "state": "running"}
	if m.FencedBy > 0 {
		d["state"], d["fenced_by_epoch"] = "demoted", m.FencedBy
	}
	r.mu.Lock()
	prim := r.primary
	r.mu.Unlock()
	if prim != nil {
		st := prim.Status()
		kinds := c.secondaryKinds(ctx)
		d["epoch"], d["last_wal"] = st.Epoch, st.Applied
		known := []string{}
		secs := []map[string]any{}
		for id, p := range st.Secondaries {
			if k, ok := kinds[id]; kinds != nil && ok && k != kind {
				continue
			}
			known = append(known, id)
			s := map[string]any{"node_id": id, "last_remote_wal": p.Acked, "lag_entries": sub(st.Applied, p.Acked)}
			if !p.LastContact.IsZero() {
				s["last_heartbeat"] = p.LastContact.UTC().Format(time.RFC3339Nano)
			}
			secs = append(secs, s)
		}
		sort.Strings(known)
		sort.Slice(secs, func(i, j int) bool { return secs[i]["node_id"].(string) < secs[j]["node_id"].(string) })
		d["known_secondaries"], d["secondaries"] = known, secs
	}
	r.addCommon(d)
	return d
}

// secondaryStatus is a secondary's status (either kind).
func (c *Core) secondaryStatus(ctx context.Context, m replMode) map[string]any {
	r := c.repl
	d := map[string]any{"mode": "secondary"}
	d["secondary_id"] = m.SecondaryID
	d["primary_cluster_addr"] = strings.Join(m.PrimaryClusterAddrs, ",")
	d["primaries"] = []map[string]any{{"api_address": m.PrimaryAPIAddr, "cluster_address": strings.Join(m.PrimaryClusterAddrs, ",")}}
	d["state"] = "idle"
	if rec, found, err := replication.LoadSecondaryRecord(ctx, c.physical); err == nil && found {
		d["last_remote_wal"], d["epoch"] = rec.LastIndex, rec.Epoch
	}
	r.mu.Lock()
	sec := r.secondary
	r.mu.Unlock()
	if sec != nil {
		st := sec.Status()
		d["state"] = st.State
		d["last_remote_wal"], d["epoch"] = st.LastIndex, st.Epoch
		d["last_wal"] = st.PrimaryIndex // the primary's, at the last contact
		d["lag_entries"], d["lag_ms"] = st.LagEntries, st.LagTime.Milliseconds()
		if st.LagEntries == 0 && !st.LastPull.IsZero() {
			// Every write the primary had applied at this moment (when
			// the last pull was sent) is here: the RPO in time.
			d["caught_up_as_of"] = st.LastPull.UTC().Format(time.RFC3339Nano)
		}
		d["resyncs"] = st.Resyncs
		if !st.LastContact.IsZero() {
			d["last_contact"] = st.LastContact.UTC().Format(time.RFC3339Nano)
		}
		if st.LastError != "" {
			d["last_error"] = st.LastError
		}
	}
	r.addCommon(d)
	return d
}

func sub(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return 0
}

// ensureNotifier runs, on the leader of a promoted primary, the loop that
// tells the old primary of the new epoch (replication.Notify) until it
// has fenced itself: a returning old primary then refuses client writes
// without an operator's demote.
func (r *drRepl) ensureNotifier(ctx context.Context, m replMode) {
	r.mu.Lock()
	running := r.notifyCancel != nil
	cfg := r.formerCfg
	r.mu.Unlock()
	if running {
		return
	}
	if cfg == nil || cfg.ID != m.FormerSecondaryID {
		if r.c.barrier.Sealed() {
			return
		}
		e, err := r.c.barrier.Get(ctx, replSecondaryConfigPrefix+m.FormerSecondaryID)
		if err != nil {
			return
		}
		var sc drSecondaryConfig
		if json.Unmarshal(e.Value, &sc) != nil {
			return
		}
		cfg = &sc
	}
	dial, err := r.dialer(cfg)
	if err != nil {
		r.setErr(err)
		return
	}
	nctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	r.mu.Lock()
	r.notifyCancel, r.notifyDone, r.formerCfg = cancel, done, cfg
	r.mu.Unlock()
	go func() {
		defer close(done)
		for {
			err := replication.Notify(nctx, dial, cfg.ID, cfg.Token, m.FormerEpoch)
			if err == nil || errors.Is(err, replication.ErrDenied) {
				if err == nil {
					r.c.log.Info("replication: the old primary has fenced itself", "epoch", m.FormerEpoch)
				} else {
					r.c.log.Warn("replication: the old primary does not know this cluster's credentials any more; demote it by hand if it comes back", "error", err)
				}
				cur := r.role()
				if cur.FormerSecondaryID == m.FormerSecondaryID {
					cur.FormerSecondaryID, cur.FormerEpoch = "", 0
					sctx, scancel := context.WithTimeout(nctx, 10*time.Second)
					_ = r.saveMode(sctx, cur)
					scancel()
				}
				return
			}
			select {
			case <-nctx.Done():
				return
			case <-time.After(2 * time.Second):
			}
		}
	}()
}
