package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaultd/vaultd/clusterport/clustertls"
	"github.com/vaultd/vaultd/core/clusterops"
	"github.com/vaultd/vaultd/storage"
)

// Storage keys of the cluster layer (all behind the barrier).
const (
	clusterTLSKey  = "core/cluster-tls" // the cluster CA (clustertls.CA.Encode)
	nodeRecordsKey = "core/nodes/"      // core/nodes/<id>: nodeRecord
)

// Peer is one member of the raft configuration (ID, Address, Voter and
// Leader are what Members reports).
type Peer = clusterops.Peer

// Members is raft membership management (the composition root adapts
// *raftstore.Store). nil with single-process storage.
type Members interface {
	Peers(ctx context.Context) ([]Peer, error)
	AddNonvoter(ctx context.Context, id, addr string) error
	AddVoter(ctx context.Context, id, addr string) error
	TransferLeadership(ctx context.Context) error
}

// haState is the cluster-layer state of a Core (cluster.go, join.go).
type haState struct {
	tlsLoaded atomic.Bool

	joinMu sync.Mutex
	join   *pendingJoin // joiner side
}

// nodeRecord is stored at core/nodes/<id>: how to reach a node.
type nodeRecord struct {
	APIAddr     string    `json:"api_addr"`
	ClusterAddr string    `json:"cluster_addr"`
	Updated     time.Time `json:"updated"`
	// Version is the node's version when it wrote its own record (on
	// becoming active); a joiner's record has none until then.
	Version string `json:"version,omitempty"`
}

// NodeRecord is a node's advertised addresses.
type NodeRecord = clusterops.NodeAddrs

// initClusterTLS creates the cluster CA in the same init (barrier unsealed).
func (c *Core) initClusterTLS(ctx context.Context) error {
	ca, err := clustertls.NewCA(c.cfg.ClusterName)
	if err != nil {
		return err
	}
	enc, err := ca.Encode()
	if err != nil {
		return fmt.Errorf("core: cluster CA: %w", err)
	}
	defer enc.Zero()
	if err := c.barrier.Put(ctx, &storage.Entry{Key: clusterTLSKey, Value: enc}); err != nil {
		return fmt.Errorf("core: store cluster CA: %w", err)
	}
	return nil
}

// clusterCA reads the cluster CA (barrier unsealed).
func (c *Core) clusterCA(ctx context.Context) (*clustertls.CA, error) {
	e, err := c.barrier.Get(ctx, clusterTLSKey)
	if err != nil {
		return nil, fmt.Errorf("core: read cluster CA: %w", err)
	}
	return clustertls.DecodeCA(e.Value)
}

// loadClusterTLS issues this node a certificate from the cluster CA and
// hands it to the cluster port. On the active node a missing CA (a cluster
// initialised before the cluster port existed) is created. Errors are
// logged by the callers and retried: reconcile calls it while not loaded.
func (c *Core) loadClusterTLS(ctx context.Context) error {
	if c.cfg.ClusterTLS == nil || c.barrier.Sealed() {
		return nil
	}
	ca, err := c.clusterCA(ctx)
	if errors.Is(err, storage.ErrNotFound) && c.active.Load() {
		if err = c.initClusterTLS(ctx); err == nil {
			ca, err = c.clusterCA(ctx)
		}
	}
	if err != nil {
		return err
	}
	m, err := ca.Issue(c.cfg.NodeID)
	ca.KeyPEM.Zero()
	if err != nil {
		return err
	}
	if err := c.cfg.ClusterTLS(m); err != nil {
		return err
	}
	c.ha.tlsLoaded.Store(true)
	return nil
}

// ensureClusterTLS is called by reconcile: it loads the TLS material once
// the node is unsealed and its storage has the CA.
func (c *Core) ensureClusterTLS(ctx context.Context) {
	if c.cfg.ClusterTLS == nil || c.ha.tlsLoaded.Load() || c.barrier.Sealed() {
		return
	}
	if err := c.loadClusterTLS(ctx); err != nil {
		c.log.Debug("cluster TLS not loaded yet", "error", err)
	}
}

// recordNode stores a node's addresses at core/nodes/<id> (active only).
func (c *Core) recordNode(ctx context.Context, id, apiAddr, clusterAddr string) error {
	rec := nodeRecord{APIAddr: apiAddr, ClusterAddr: clusterAddr, Updated: c.now().UTC()}
	if id == c.cfg.NodeID {
		rec.Version = c.cfg.Version // a node knows only its own version
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return c.barrier.Put(ctx, &storage.Entry{Key: nodeRecordsKey + id, Value: b})
}

// NodeRecords returns every node's advertised addresses known to this
// node's storage (ErrSealed while sealed).
func (c *Core) NodeRecords(ctx context.Context) ([]NodeRecord, error) {
	ids, err := c.barrier.List(ctx, nodeRecordsKey)
	if err != nil {
		return nil, err
	}
	out := make([]NodeRecord, 0, len(ids))
	for _, id := range ids {
		e, err := c.barrier.Get(ctx, nodeRecordsKey+id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var r nodeRecord
		if json.Unmarshal(e.Value, &r) != nil {
			continue
		}
		out = append(out, NodeRecord{NodeID: id, APIAddr: r.APIAddr, ClusterAddr: r.ClusterAddr, Version: r.Version})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out, nil
}

// newHA builds sys/ha-status and sys/step-down (core/clusterops) over this
// node's state.
func (c *Core) newHA() *clusterops.HA {
	cfg := clusterops.HAConfig{
		NodeID: c.cfg.NodeID, ClusterAddr: c.cfg.ClusterAddr, Version: c.cfg.Version,
		NodeRecords: c.NodeRecords,
		IsLeader:    c.cluster.IsLeader,
		IsActive:    c.active.Load,
		Stepped:     c.poke,
		Now:         c.now,
		Logger:      c.log,
	}
	if c.cfg.Members != nil {
		cfg.Peers, cfg.TransferLeadership = c.cfg.Members.Peers, c.cfg.Members.TransferLeadership
	}
	if lc, ok := c.cluster.(interface{ LeaderChanges() uint64 }); ok {
		cfg.LeaderChanges = lc.LeaderChanges
	}
	return clusterops.NewHA(cfg)
}

// nodeVersions maps node IDs to their versions: this node's own, and
// the others' from the records they wrote when they were active.
func (c *Core) nodeVersions(ctx context.Context) map[string]string {
	out := map[string]string{c.cfg.NodeID: c.cfg.Version}
	recs, err := c.NodeRecords(ctx)
	if err != nil {
		return out
	}
	for _, r := range recs {
		if r.Version != "" && r.NodeID != c.cfg.NodeID {
			out[r.NodeID] = r.Version
		}
	}
	return out
}

// hostPortOf turns "https://h:p" or "h:p" into "h:p", or "" if invalid.
var hostPortOf = clusterops.HostPort
