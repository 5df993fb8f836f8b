package clusterops

import (
	"context"
	"log/slog"
	"time"
)

// NodeAddrs is a node's advertised addresses (core keeps them at
// core/nodes/<id>).
type NodeAddrs struct {
	NodeID, APIAddr, ClusterAddr string
	// Version is the node's version when it wrote its own record (on
	// becoming active); a joiner's record has none until then.
	Version string
}

// HAConfig configures an HA: what sys/ha-status and sys/step-down need
// from the node. Core passes its own state in as functions, so this
// package holds no *Core.
type HAConfig struct {
	// NodeID, ClusterAddr and Version are this node's.
	NodeID, ClusterAddr, Version string
	// Peers lists the raft members; nil without raft storage (the node is
	// alone).
	Peers func(ctx context.Context) ([]Peer, error)
	// TransferLeadership hands raft leadership to a peer; nil without raft
	// storage (step-down is then refused).
	TransferLeadership func(ctx context.Context) error
	// NodeRecords are the advertised addresses of the nodes.
	NodeRecords func(ctx context.Context) ([]NodeAddrs, error)
	// IsLeader: this node leads raft; IsActive: it serves as the active
	// node.
	IsLeader, IsActive func() bool
	// LeaderChanges, when set, counts the leader elections the node has
	// observed (a vaultd extension of sys/ha-status).
	LeaderChanges func() uint64
	// Stepped is called after a successful step-down (core re-evaluates
	// its role at once).
	Stepped func()
	Now     func() time.Time
	Logger  *slog.Logger
}

// HA serves sys/ha-status and sys/step-down on the active node.
type HA struct{ cfg HAConfig }

// NewHA builds an HA.
func NewHA(cfg HAConfig) *HA {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &HA{cfg: cfg}
}

// StepDown serves sys/step-down: the active node hands raft leadership to
// a peer (and so stops being active).
func (h *HA) StepDown(ctx context.Context) error {
	if h.cfg.TransferLeadership == nil {
		return badRequest("step-down needs raft storage")
	}
	// A pooled raft connection to a peer that restarted fails once (EOF);
	// the next attempt dials afresh.
	var err error
	for range 3 {
		if err = h.cfg.TransferLeadership(ctx); err == nil || !h.cfg.IsLeader() {
			break
		}
		h.cfg.Logger.Debug("leadership transfer failed; retrying", "error", err)
	}
	if err != nil && h.cfg.IsLeader() {
		return err
	}
	if h.cfg.Stepped != nil {
		h.cfg.Stepped()
	}
	return nil
}

// Status serves sys/ha-status: the nodes of the cluster (and, when
// counted, leader_changes). Core answers it in Vault's legacy shape, with
// each key also at the top level of the body, which is what vault/api's
// Sys().HAStatus() decodes.
func (h *HA) Status(ctx context.Context) (map[string]any, error) {
	nodes, err := h.nodes(ctx)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"nodes": nodes}
	if h.cfg.LeaderChanges != nil {
		// vaultd extension (issue 11): leader elections this node has
		// observed since it started.
		data["leader_changes"] = h.cfg.LeaderChanges()
	}
	return data, nil
}

// nodes lists every raft member with its advertised addresses.
func (h *HA) nodes(ctx context.Context) ([]map[string]any, error) {
	recs, err := h.cfg.NodeRecords(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]NodeAddrs{}
	for _, r := range recs {
		byID[r.NodeID] = r
	}
	peers := []Peer{{ID: h.cfg.NodeID, Address: HostPort(h.cfg.ClusterAddr), Voter: true, Leader: true}}
	if h.cfg.Peers != nil {
		if peers, err = h.cfg.Peers(ctx); err != nil {
			return nil, err
		}
	}
	now := h.cfg.Now().UTC().Format(time.RFC3339Nano)
	out := make([]map[string]any, 0, len(peers))
	for _, p := range peers {
		r := byID[p.ID]
		self := p.ID == h.cfg.NodeID
		n := map[string]any{
			"hostname":        p.ID,
			"node_id":         p.ID,
			"api_address":     r.APIAddr,
			"cluster_address": r.ClusterAddr,
			"raft_address":    p.Address,
			"active_node":     self && h.cfg.IsActive(),
			"voter":           p.Voter,
			"version":         r.Version,
			"last_echo":       nil,
		}
		if r.ClusterAddr == "" {
			n["cluster_address"] = "https://" + p.Address
		}
		if self {
			n["last_echo"], n["version"] = now, h.cfg.Version
		}
		out = append(out, n)
	}
	return out, nil
}
