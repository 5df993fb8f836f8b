package core

import (
	"context"
	"errors"
	"time"

	"github.com/vaultd/vaultd/core/clusterops"
	"github.com/vaultd/vaultd/seal"
)

// RaftOps is what the raft operator endpoints and autopilot need from
// replicated storage (core/clusterops declares it). core finds it with a
// type assertion on Config.Cluster, so core never imports raftstore.
type RaftOps = clusterops.RaftOps

func init() {
	activeHooks = append(activeHooks, func(c *Core, ctx context.Context) {
		c.raftOps.StartAutopilot(ctx)
		c.raftOps.StartAutoSnapshots()
	})
	standbyHooks = append(standbyHooks, func(c *Core) {
		c.raftOps.StopAutoSnapshots()
		c.raftOps.StopAutopilot()
	})
}

// newRaftOps builds the node's cluster operations (core/clusterops).
func (c *Core) newRaftOps() *clusterops.Service {
	ops, _ := c.cluster.(RaftOps)
	return clusterops.New(clusterops.Config{
		NodeID: c.cfg.NodeID, Barrier: c.barrier, Ops: ops, Inactive: ErrStandby, Logger: c.log,
		Restored: c.reloadAfterRestore, NodeVersions: c.nodeVersions,
	})
}

// handleSysRaft serves sys/storage/raft/* on the active node. handleSys
// has already checked the token, the ACL and sudo (sudoPaths), and
// verified leadership for reads.
func (c *Core) handleSysRaft(ctx context.Context, path string, req *Request) (*Response, error) {
	r, err := c.raftOps.Handle(ctx, &clusterops.Request{Operation: req.Operation, Path: path, Data: req.Data, Body: req.Body})
	if err != nil {
		return nil, err
	}
	return &Response{Data: r.Data, RawBody: r.RawBody, ContentType: r.ContentType}, nil
}

// reloadAfterRestore makes the active node adopt restored state. It waits
// until the restore request has finished (its audit entries are written
// with the devices it started with, and the HTTP server cancels its
// context once the response is sent; at most one second), then, under
// stateMu:
//
//  1. steps down (teardown): every cached table goes;
//  2. rotates the barrier key. Rotate re-reads the restored keyring with
//     the root key in memory, so (a) if the snapshot came from a cluster
//     with other keys (snapshot-force), the keyring does not open: the node
//     seals itself and must be unsealed with that cluster's keys; (b) if
//     the snapshot predates a rotation, the terms this node holds in
//     memory are written back with a new one, so nothing encrypted with a
//     newer term than the snapshot's becomes unreadable;
//  3. becomes active again (setup), loading mounts, tokens, policies and
//     audit devices from the restored state. If that fails, the normal
//     leadership loop retries.
func (c *Core) reloadAfterRestore(reqCtx context.Context) {
	select {
	case <-reqCtx.Done():
	case <-time.After(time.Second):
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	defer c.poke()
	c.teardown()
	c.dropReplica() // standby.go
	c.info.Store(nil)
	c.tokens.Forget()
	if c.barrier.Sealed() {
		return
	}
	if _, err := c.barrier.Rotate(ctx); err != nil {
		if errors.Is(err, seal.ErrBadCiphertext) {
			c.log.Warn("the restored snapshot was made with other barrier keys; sealing this node: unseal it with the keys of the cluster the snapshot came from")
		} else {
			c.log.Error("rewriting the keyring after a restore failed; sealing this node to avoid writing with keys the restored keyring lacks", "error", err)
		}
		c.barrier.Seal()
		c.unsealer.Reset()
		return
	}
	if !c.cluster.IsLeader() {
		return
	}
	if err := c.setup(ctx); err != nil {
		c.log.Warn("becoming active after a restore failed; will retry", "error", err)
	}
}

// remover is implemented by clusters that know whether this node was
// removed from them (raftstore.Store).
type remover interface{ Removed() bool }

// RemovedFromCluster reports whether this node was removed from its raft
// cluster (persisted; see raftstore.Store.Removed). A removed node seals
// itself, reports removed_from_cluster in sys/health (code 530) and
// sys/seal-status, and refuses every other request; it cannot be unsealed
// again. Only wiping its data directory brings it back (as a new node).
func (c *Core) RemovedFromCluster() bool {
	r, ok := c.cluster.(remover)
	if !ok || !r.Removed() {
		return false
	}
	if !c.barrier.Sealed() {
		c.log.Warn("sealing: this node was removed from the raft cluster")
		c.SealNode()
	}
	return true
}
