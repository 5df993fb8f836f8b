package core

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/vaultd/vaultd/core/clusterops"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/replication"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// The sys/replication endpoints. Two groups:
//
//   - those a primary (or a cluster about to become a secondary) serves
//     through core's router, with a client token holding sudo (sudoPaths):
//     dr/primary/enable, secondary-token, revoke-secondary, demote and
//     dr/secondary/enable;
//   - those a DR secondary must answer although it serves no client
//     request (its token store is the primary's and it is not active):
//     the status endpoints (every node, no token, as Vault) and promote,
//     update-primary and generate-operation-token (authorised by a DR
//     operation token made from the keyholders' shares). The HTTP layer
//     serves them itself (node-local routes, core/nodelocal.go) through
//     HandleReplication, forwarding to the cluster's leader.

// errNoReplication: the node runs without raft storage.
func errNoReplication() error {
	return secrets.Errorf(secrets.ErrUnsupportedPath, "replication needs raft storage")
}

// replicationPaths are the core-routed endpoints (sysroutes.go).
func (c *Core) replicationPaths() []*endpoint.Path {
	h := func(f func(ctx context.Context, sc *sysCall) (*Response, error)) endpoint.Handler {
		return sysHandler(func(ctx context.Context, sc *sysCall) (*Response, error) {
			if c.repl == nil || c.repl.cfg == nil {
				return nil, errNoReplication()
			}
			return f(ctx, sc)
		})
	}
	str := func(desc string) *endpoint.Field {
		return &endpoint.Field{Type: endpoint.TypeString, Description: desc}
	}
	var out []*endpoint.Path
	for _, kind := range []string{KindDR, KindPerformance} {
		k := kind
		name := map[string]string{KindDR: "DR", KindPerformance: "performance"}[k]
		secFields := func() map[string]*endpoint.Field {
			return map[string]*endpoint.Field{
				"token":                str("The activation token (wrap_info.token of secondary-token)."),
				"primary_api_addr":     str("The primary's API address (required: the token does not embed it)."),
				"ca_file":              str("A PEM CA file to verify the primary's API certificate."),
				"ca_path":              str("A directory of PEM CA files to verify the primary's API certificate."),
				"primary_cluster_addr": str("Comma-separated cluster addresses to dial instead of those in the token (a load balancer or proxy in front of the primary's cluster port)."),
			}
		}
		out = append(out,
			&endpoint.Path{Pattern: "replication/" + k + "/primary/enable", Fields: map[string]*endpoint.Field{"primary_cluster_addr": str("Vault compatibility: the primary's cluster addresses are the nodes' own.")},
				Summary: "Make this cluster a " + name + " primary (sudo).", Operations: ops(h(func(ctx context.Context, sc *sysCall) (*Response, error) { return c.replPrimaryEnable(ctx, k) }), opUpdate)},
			&endpoint.Path{Pattern: "replication/" + k + "/primary/secondary-token", Fields: map[string]*endpoint.Field{
				"id":  str("The secondary's ID (required)."),
				"ttl": {Type: endpoint.TypeDurationSecond, Description: "How long the wrapped activation token lives (default 30m)."},
			}, Summary: "Make a single-use, response-wrapped activation token for a " + name + " secondary (sudo).", Operations: ops(h(func(ctx context.Context, sc *sysCall) (*Response, error) { return c.replSecondaryToken(ctx, sc, k) }), opUpdate)},
			&endpoint.Path{Pattern: "replication/" + k + "/primary/revoke-secondary", Fields: map[string]*endpoint.Field{"id": str("The secondary's ID.")},
				Summary: "Revoke a " + name + " secondary: its stream ends and it cannot reconnect (sudo).", Operations: ops(h(func(ctx context.Context, sc *sysCall) (*Response, error) { return c.replRevokeSecondary(ctx, sc, k) }), opUpdate)},
			&endpoint.Path{Pattern: "replication/" + k + "/primary/demote", Summary: "Demote this primary: it stops streaming (to secondaries of both kinds) and refuses client writes (sudo).", Operations: ops(h(func(ctx context.Context, sc *sysCall) (*Response, error) { return c.replDemote(ctx, k) }), opUpdate)},
			&endpoint.Path{Pattern: "replication/" + k + "/secondary/enable", Fields: secFields(),
				Summary: "Make this cluster a " + name + " secondary of the primary that made the token; its data is replaced (sudo).", Operations: ops(h(func(ctx context.Context, sc *sysCall) (*Response, error) { return c.replSecondaryEnable(ctx, sc, k) }), opUpdate)},
		)
		if k == KindPerformance {
			// A performance secondary serves client requests: update-primary
			// is authorised by a sudo token (the DR one by a DR operation
			// token, nodelocal.go).
			out = append(out, &endpoint.Path{Pattern: "replication/performance/secondary/update-primary", Fields: secFields(),
				Summary: "Point this performance secondary at another primary with an activation token made there; it resyncs (sudo).", Operations: ops(h(c.replPerfUpdatePrimary), opUpdate)})
		}
	}
	return out
}

// secondaryIDPattern: a secondary ID names a storage key and a
// certificate's common name.
var secondaryIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func dataString(d map[string]any, k string) string {
	s, _ := d[k].(string)
	return strings.TrimSpace(s)
}

func kindName(kind string) string {
	if kind == KindPerformance {
		return "performance"
	}
	return "DR"
}

// replPrimaryEnable makes this cluster a primary for kind. A cluster can
// be a primary for both kinds: one replication.Primary streams to
// secondaries of either kind (the kind only changes what the secondary
// does with the stream).
func (c *Core) replPrimaryEnable(ctx context.Context, kind string) (*Response, error) {
	r := c.repl
	m := r.role()
	switch {
	case m.Mode == ModeDRSecondary:
		return nil, badRequest("this cluster is a DR secondary: promote it instead")
	case m.Mode == ModePerfSecondary:
		return nil, badRequest("this cluster is a performance secondary: it cannot be a primary")
	case m.Mode == ModePrimary && m.FencedBy > 0:
		return nil, badRequest("this primary was demoted (epoch %d is newer): enable it as a DR secondary of the new primary", m.FencedBy)
	case m.kindEnabled(kind):
		return nil, badRequest("%s replication is already enabled as a primary", kindName(kind))
	}
	c.stateMu.Lock() // serialised with the leadership loop's reconcile
	defer c.stateMu.Unlock()
	nm := m
	if nm.Mode != ModePrimary {
		nm = replMode{Mode: ModePrimary, NoDR: true}
	}
	if kind == KindPerformance {
		nm.Perf = true
	} else {
		nm.NoDR = false
	}
	if err := r.saveMode(ctx, nm); err != nil {
		return nil, err
	}
	if err := r.ensurePrimary(ctx); err != nil {
		return nil, err
	}
	c.log.Info("replication: primary enabled", "kind", kind)
	return &Response{Warnings: []string{"This cluster is now a " + kindName(kind) + " primary; make activation tokens for its secondaries with sys/replication/" + kind + "/primary/secondary-token."}}, nil
}

func (r *drRepl) activePrimary(kind string) (*replication.Primary, error) {
	m := r.role()
	if !m.kindEnabled(kind) {
		return nil, badRequest("this cluster is not a %s primary", kindName(kind))
	}
	if m.FencedBy > 0 {
		return nil, badRequest("this primary was demoted: a newer primary exists at epoch %d", m.FencedBy)
	}
	r.mu.Lock()
	p := r.primary
	r.mu.Unlock()
	if p == nil {
		return nil, ErrStandby
	}
	return p, nil
}

func (c *Core) replSecondaryToken(ctx context.Context, sc *sysCall, kind string) (*Response, error) {
	id := dataString(sc.req.Data, "id")
	if id == "" {
		return nil, badRequest("missing required field \"id\"")
	}
	if !secondaryIDPattern.MatchString(id) {
		return nil, badRequest("invalid secondary id: 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	ttl := 30 * time.Minute
	if v, ok := sc.req.Data["ttl"]; ok && v != nil {
		d, err := endpoint.Convert("ttl", endpoint.TypeDurationSecond, v)
		if err != nil {
			return nil, err
		}
		if dd, _ := d.(time.Duration); dd > 0 {
			ttl = dd
		}
	}
	ph, err := c.repl.activePrimary(kind)
	if err != nil {
		return nil, err
	}
	ca, err := c.clusterCA(ctx)
	if err != nil {
		return nil, err
	}
	mat, err := c.repl.cfg.IssuePeer(ca, id)
	ca.KeyPEM.Zero()
	if err != nil {
		return nil, fmt.Errorf("core: issue the secondary's certificate: %w", err)
	}
	enc, err := mat.Encode()
	mat.NodeKeyPEM.Zero()
	if err != nil {
		return nil, err
	}
	tlsMat := base64.StdEncoding.EncodeToString(enc)
	enc.Zero()
	addrs, err := c.clusterAddrs(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := ph.AddSecondary(ctx, id)
	if err != nil {
		return nil, err
	}
	cfg := drSecondaryConfig{ID: id, Token: tok, PrimaryAPIAddr: c.cfg.APIAddr, PrimaryClusterAddrs: addrs, TLS: tlsMat}
	if kind == KindPerformance {
		cfg.Kind = KindPerformance
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.barrier.Put(ctx, &storage.Entry{Key: replSecondaryConfigPrefix + id, Value: b}); err != nil {
		return nil, err
	}
	c.log.Info("replication: secondary activation token made", "secondary_id", id, "kind", kind)
	return c.wrapResponse(ctx, sc.path, ttl, &Response{Data: cfg.data()})
}

// clusterAddrs lists the cluster addresses of this cluster's raft
// members (raft runs over the cluster port), the active node first.
func (c *Core) clusterAddrs(ctx context.Context) ([]string, error) {
	out := []string{hostPort(c.cfg.ClusterAddr)}
	if c.cfg.Members == nil {
		return out, nil
	}
	peers, err := c.cfg.Members.Peers(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range peers {
		if a := hostPort(p.Address); a != "" && a != out[0] && p.ID != c.cfg.NodeID {
			out = append(out, a)
		}
	}
	sort.Strings(out[1:])
	return out, nil
}

func (c *Core) replRevokeSecondary(ctx context.Context, sc *sysCall, kind string) (*Response, error) {
	id := dataString(sc.req.Data, "id")
	if id == "" {
		return nil, badRequest("missing required field \"id\"")
	}
	if !secondaryIDPattern.MatchString(id) {
		return nil, badRequest("invalid secondary id")
	}
	if k, ok := c.secondaryKinds(ctx)[id]; ok && k != kind {
		return nil, badRequest("%q is a %s secondary: revoke it at sys/replication/%s/primary/revoke-secondary", id, kindName(k), k)
	}
	ph, err := c.repl.activePrimary(kind)
	if err != nil {
		return nil, err
	}
	if err := ph.RevokeSecondary(ctx, id); err != nil {
		return nil, err
	}
	if err := c.barrier.Delete(ctx, replSecondaryConfigPrefix+id); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	c.log.Info("replication: DR secondary revoked", "secondary_id", id)
	return nil, nil
}

func (c *Core) replDemote(ctx context.Context, kind string) (*Response, error) {
	ph, err := c.repl.activePrimary(kind)
	if err != nil {
		return nil, err
	}
	if err := ph.Demote(ctx, 0); err != nil { // OnFenced records it in the mode
		return nil, err
	}
	return &Response{Warnings: []string{"This cluster no longer streams and refuses client writes; enable it as a DR secondary of the new primary to fail back."}}, nil
}

func (c *Core) replSecondaryEnable(ctx context.Context, sc *sysCall, kind string) (*Response, error) {
	m := c.repl.role()
	switch {
	case m.Mode == ModeDRSecondary:
		return nil, badRequest("this cluster is already a DR secondary: use update-primary")
	case m.Mode == ModePerfSecondary:
		return nil, badRequest("this cluster is already a performance secondary: use sys/replication/performance/secondary/update-primary")
	case m.Mode == ModePrimary && m.FencedBy == 0:
		return nil, badRequest("this cluster is a primary: demote it first")
	}
	return c.enableSecondary(ctx, sc.req.Data, kind)
}

// replPerfUpdatePrimary points a performance secondary at another primary.
func (c *Core) replPerfUpdatePrimary(ctx context.Context, sc *sysCall) (*Response, error) {
	if !c.IsPerfSecondary() {
		return nil, badRequest("this cluster is not a performance secondary")
	}
	return c.enableSecondary(ctx, sc.req.Data, KindPerformance)
}

func (c *Core) enableSecondary(ctx context.Context, d map[string]any, kind string) (*Response, error) {
	cfg, err := c.repl.unwrapActivation(ctx, d)
	if err != nil {
		return nil, err
	}
	if cfg.kind() != kind {
		return nil, badRequest("the activation token was made for a %s secondary (sys/replication/%s/secondary/enable)", kindName(cfg.kind()), cfg.kind())
	}
	if err := c.repl.becomeSecondary(ctx, cfg, dataString(d, "ca_file"), dataString(d, "ca_path")); err != nil {
		return nil, err
	}
	if kind == KindPerformance {
		return &Response{Warnings: []string{"This cluster is now a performance secondary: its data is being replaced by the primary's. Once the first sync is in, its nodes seal: unseal them with the primary cluster's unseal keys. It then serves reads and forwards writes to the primary."}}, nil
	}
	return &Response{Warnings: []string{"This cluster is now a DR secondary: its data is being replaced by the primary's. Once the first sync is in, its nodes seal: unseal them with the primary cluster's unseal keys."}}, nil
}

// unwrapActivation redeems an activation token at the primary.
func (r *drRepl) unwrapActivation(ctx context.Context, d map[string]any) (*drSecondaryConfig, error) {
	tok, addr := dataString(d, "token"), dataString(d, "primary_api_addr")
	if tok == "" {
		return nil, badRequest("missing required field \"token\"")
	}
	if addr == "" {
		return nil, badRequest("missing required field \"primary_api_addr\"")
	}
	if r.cfg.Unwrap == nil {
		return nil, errNoReplication()
	}
	uctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	data, err := r.cfg.Unwrap(uctx, addr, tok, dataString(d, "ca_file"), dataString(d, "ca_path"))
	if err != nil {
		return nil, badRequest("redeeming the activation token at %s failed: %v", addr, err)
	}
	cfg, err := secondaryConfigFrom(data)
	if err != nil {
		return nil, err
	}
	if o := dataString(d, "primary_cluster_addr"); o != "" {
		// Dial these instead of the addresses in the token (a load
		// balancer or a proxy in front of the primary's cluster port).
		var addrs []string
		for _, a := range strings.Split(o, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
		cfg.PrimaryClusterAddrs = addrs
	}
	return cfg, nil
}

// becomeSecondary records the DR secondary role and starts streaming on
// this node (the leader; the caller's request reached the active node).
func (r *drRepl) becomeSecondary(ctx context.Context, cfg *drSecondaryConfig, caFile, caPath string) error {
	r.c.stateMu.Lock() // serialised with the leadership loop's reconcile
	defer r.c.stateMu.Unlock()
	r.stop()
	m := replMode{Mode: ModeDRSecondary, SecondaryID: cfg.ID, PrimaryAPIAddr: cfg.PrimaryAPIAddr, PrimaryClusterAddrs: cfg.PrimaryClusterAddrs}
	if cfg.kind() == KindPerformance {
		m.Mode, m.CAFile, m.CAPath = ModePerfSecondary, caFile, caPath
	}
	if err := r.saveMode(ctx, m); err != nil {
		return err
	}
	if err := r.startSecondary(ctx, cfg); err != nil {
		return err
	}
	r.c.log.Info("replication: this cluster is now a DR secondary", "secondary_id", cfg.ID, "primary", cfg.PrimaryAPIAddr)
	r.c.poke() // steps the active node down: a DR secondary serves nothing
	return nil
}

// ---- the HTTP layer's replication endpoints ----

// ReplicationRequest is one request to a node-local replication endpoint.
type ReplicationRequest struct {
	Operation secrets.Operation
	// Path without /v1/ ("sys/replication/status").
	Path string
	Data map[string]any
}

// ReplicationResponse: Data in the usual envelope, or Raw (the
// generate-operation-token answers, which have none, as generate-root's),
// or neither (204).
type ReplicationResponse struct {
	Data     map[string]any
	Raw      map[string]any
	Warnings []string
}

// IsReplicationLeaderPath reports whether path must be served by the
// cluster's replication leader (a standby forwards it).
func IsReplicationLeaderPath(path string) bool {
	return strings.HasPrefix(path, "sys/replication/dr/secondary/") && path != "sys/replication/dr/secondary/enable"
}

// HandleReplication serves the node-local replication endpoints: the
// status on any node; promote, update-primary and the operation-token
// ceremony on the leader of a DR secondary.
func (c *Core) HandleReplication(ctx context.Context, req *ReplicationRequest) (*ReplicationResponse, error) {
	path := strings.TrimSuffix(req.Path, "/")
	switch path {
	case "sys/replication/status":
		return &ReplicationResponse{Data: c.ReplicationStatus(ctx, false)}, nil
	case "sys/replication/dr/status":
		return &ReplicationResponse{Data: c.ReplicationStatus(ctx, true)}, nil
	case "sys/replication/performance/status":
		return &ReplicationResponse{Data: c.PerfReplicationStatus(ctx)}, nil
	}
	r := c.repl
	if r == nil || r.cfg == nil {
		return nil, errNoReplication()
	}
	if !c.IsDRSecondary() {
		return nil, badRequest("this cluster is not a DR secondary")
	}
	if !c.cluster.IsLeader() {
		return nil, ErrStandby
	}
	switch path {
	case "sys/replication/dr/secondary/generate-operation-token/attempt", "sys/replication/dr/secondary/generate-operation-token/update":
		p := "sys/generate-root/" + path[strings.LastIndex(path, "/")+1:]
		out, err := r.ceremonies.Handle(ctx, req.Operation, p, req.Data)
		if err != nil {
			return nil, err
		}
		return &ReplicationResponse{Raw: out}, nil
	case "sys/replication/dr/secondary/promote":
		if req.Operation != secrets.OpUpdate {
			return nil, secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
		}
		if err := r.checkOperationToken(ctx, dataString(req.Data, "dr_operation_token")); err != nil {
			return nil, err
		}
		epoch, err := r.promote(ctx)
		if err != nil {
			return nil, err
		}
		return &ReplicationResponse{Data: map[string]any{"epoch": epoch}, Warnings: []string{
			"This cluster is now the DR primary. Demote the old primary (or let the first secondary that follows this one fence it) before it comes back."}}, nil
	case "sys/storage/raft/configuration", "sys/storage/raft/autopilot/state", "sys/storage/raft/remove-peer":
		return r.drRaftOperation(ctx, path, req)
	case "sys/replication/dr/secondary/update-primary":
		if req.Operation != secrets.OpUpdate {
			return nil, secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
		}
		if err := r.checkOperationToken(ctx, dataString(req.Data, "dr_operation_token")); err != nil {
			return nil, err
		}
		cfg, err := r.unwrapActivation(ctx, req.Data)
		if err != nil {
			return nil, err
		}
		if cfg.kind() != KindDR {
			return nil, badRequest("the activation token was made for a performance secondary")
		}
		if err := r.becomeSecondary(ctx, cfg, dataString(req.Data, "ca_file"), dataString(req.Data, "ca_path")); err != nil {
			return nil, err
		}
		return &ReplicationResponse{Warnings: []string{"This DR secondary now follows " + cfg.PrimaryAPIAddr + "; it resynchronises from that primary's snapshot."}}, nil
	}
	return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
}

// IsDRRaftPath reports whether a DR secondary serves path (a raft
// operator endpoint) with a DR operation token (HandleReplication): an
// operator manages the secondary's own nodes although it has no active
// node. Vault Enterprise accepts dr_operation_token on these too.
func IsDRRaftPath(path string) bool {
	switch strings.TrimSuffix(path, "/") {
	case "sys/storage/raft/configuration", "sys/storage/raft/autopilot/state", "sys/storage/raft/remove-peer":
		return true
	}
	return false
}

// drRaftOperation runs a raft operator endpoint on a DR secondary's
// leader, authorised by a DR operation token (no client token exists
// there). The configuration and autopilot's state are reads (GET with
// nothing to carry the token: send it in a PUT body, as Vault's CLI does
// with -dr-token); remove-peer changes only the secondary's own raft
// configuration, never the replicated data.
func (r *drRepl) drRaftOperation(ctx context.Context, path string, req *ReplicationRequest) (*ReplicationResponse, error) {
	op := secrets.OpRead
	if path == "sys/storage/raft/remove-peer" {
		op = secrets.OpUpdate
		if req.Operation != secrets.OpUpdate {
			return nil, secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
		}
	} else if req.Operation != secrets.OpRead && req.Operation != secrets.OpUpdate {
		return nil, secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
	}
	if err := r.checkOperationToken(ctx, dataString(req.Data, "dr_operation_token")); err != nil {
		return nil, err
	}
	data := make(map[string]any, len(req.Data))
	for k, v := range req.Data {
		if k != "dr_operation_token" {
			data[k] = v
		}
	}
	out, err := r.c.raftOps.Handle(ctx, &clusterops.Request{Operation: op, Path: path, Data: data})
	if err != nil {
		return nil, err
	}
	if path == "sys/storage/raft/remove-peer" {
		r.c.log.Warn("replication: raft peer removed from this DR secondary with a DR operation token", "server_id", data["server_id"])
	}
	return &ReplicationResponse{Data: out.Data}, nil
}

// promote makes this DR secondary the primary at the next epoch.
func (r *drRepl) promote(ctx context.Context) (uint64, error) {
	r.c.stateMu.Lock() // serialised with the leadership loop's reconcile
	defer r.c.stateMu.Unlock()
	r.mu.Lock()
	sec, cancel, done := r.secondary, r.runCancel, r.runDone
	r.runCancel, r.runDone = nil, nil
	r.mu.Unlock()
	if sec == nil {
		return 0, badRequest("this DR secondary is not streaming on this node yet (is it unsealed with the primary's keys?)")
	}
	if cancel != nil {
		cancel()
		<-done
	}
	start := time.Now()
	epoch, err := sec.Promote(ctx)
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	former := r.secCfg
	r.mu.Unlock()
	m := replMode{Mode: ModePrimary}
	if former != nil {
		m.FormerSecondaryID, m.FormerEpoch = former.ID, epoch
	}
	if err := r.saveMode(ctx, m); err != nil {
		return 0, err
	}
	r.mu.Lock()
	r.secondary, r.secCfg, r.formerCfg = nil, nil, former
	r.mu.Unlock()
	r.dropOpTokens(ctx)
	if err := r.ensurePrimary(ctx); err != nil {
		return 0, err
	}
	r.c.log.Warn("replication: this DR secondary was promoted to primary", "epoch", epoch, "took", time.Since(start))
	r.c.poke() // core's loop makes the node active (mounts, tokens, policies from the replicated storage)
	return epoch, nil
}
