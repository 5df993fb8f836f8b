package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/secrets"
)

// RaftOps is what the sys/storage/raft operator endpoints and autopilot
// need from replicated storage. *raftstore.Store satisfies it; core finds
// it with a type assertion on Config.Cluster, so core never imports
// raftstore. Nodes without it (storage/inmem, -dev) answer those paths with
// 404 "raft storage is not in use".
type RaftOps interface {
	// RaftStatus: the latest configuration with its index, the local log
	// position and, on the leader, heartbeat contact with every peer.
	RaftStatus(ctx context.Context) (RaftStatus, error)
	// RemoveServer removes a member from the configuration (leader only).
	RemoveServer(ctx context.Context, id string) error
	// SaveSnapshot streams the replicated state (ciphertexts only).
	SaveSnapshot(ctx context.Context, w io.Writer) error
	// RestoreSnapshot replaces the replicated state (leader only); the
	// stream is fully verified before anything is applied.
	RestoreSnapshot(ctx context.Context, r io.Reader) error
}

// raftOpsState is Core's per-node state for raft operations: the autopilot
// loop of the active node and its configuration.
type raftOpsState struct {
	mu        sync.Mutex
	autopilot *autopilot // non-nil while active with raft storage
}

func init() {
	activeHooks = append(activeHooks, (*Core).startAutopilot)
	standbyHooks = append(standbyHooks, (*Core).stopAutopilot)
}

func (c *Core) raftOpsImpl() (RaftOps, bool) {
	ops, ok := c.cluster.(RaftOps)
	return ops, ok
}

// handleSysRaft serves sys/storage/raft/* on the active node. handleSys
// has already checked the token, the ACL and sudo (sudoPaths), and
// verified leadership for reads.
func (c *Core) handleSysRaft(ctx context.Context, path string, req *Request) (*Response, error) {
	ops, ok := c.raftOpsImpl()
	if !ok {
		return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "raft storage is not in use on this node")
	}
	op := req.Operation
	write := op == secrets.OpUpdate || op == secrets.OpCreate
	switch path {
	case "sys/storage/raft/configuration":
		if op != secrets.OpRead {
			return nil, unsupportedOp()
		}
		return c.sysRaftConfiguration(ctx, ops)
	case "sys/storage/raft/remove-peer":
		if !write {
			return nil, unsupportedOp()
		}
		return c.sysRaftRemovePeer(ctx, ops, req.Data)
	case "sys/storage/raft/snapshot":
		switch {
		case op == secrets.OpRead:
			return c.sysRaftSnapshotSave(ctx, ops)
		case write:
			return c.sysRaftSnapshotRestore(ctx, ops, req, false)
		}
		return nil, unsupportedOp()
	case "sys/storage/raft/snapshot-force":
		if !write {
			return nil, unsupportedOp()
		}
		return c.sysRaftSnapshotRestore(ctx, ops, req, true)
	case "sys/storage/raft/autopilot/state":
		if op != secrets.OpRead {
			return nil, unsupportedOp()
		}
		return c.sysAutopilotState(ctx, ops)
	case "sys/storage/raft/autopilot/configuration":
		switch {
		case op == secrets.OpRead:
			cfg, err := c.loadAutopilotConfig(ctx)
			if err != nil {
				return nil, err
			}
			return &Response{Data: cfg.output()}, nil
		case write:
			return c.sysAutopilotConfigure(ctx, req.Data)
		}
		return nil, unsupportedOp()
	}
	return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
}

func (c *Core) sysRaftConfiguration(ctx context.Context, ops RaftOps) (*Response, error) {
	st, err := ops.RaftStatus(ctx)
	if err != nil {
		return nil, err
	}
	servers := make([]any, 0, len(st.Peers))
	for _, p := range st.Peers {
		servers = append(servers, map[string]any{
			"node_id": p.ID, "address": p.Address, "leader": p.Leader,
			"protocol_version": "3", "voter": p.Voter,
		})
	}
	return &Response{Data: map[string]any{"config": map[string]any{"index": st.Index, "servers": servers}}}, nil
}

func (c *Core) sysRaftRemovePeer(ctx context.Context, ops RaftOps, d map[string]any) (*Response, error) {
	id, err := strField(d, "server_id")
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, badRequest("missing server_id")
	}
	if id == c.cfg.NodeID {
		return nil, badRequest("server %q is the active node; step it down (sys/step-down) and remove it from the new active node", id)
	}
	st, err := ops.RaftStatus(ctx)
	if err != nil {
		return nil, err
	}
	found := false
	for _, p := range st.Peers {
		found = found || p.ID == id
	}
	if !found {
		return nil, badRequest("no server with id %q in the raft configuration", id)
	}
	if err := ops.RemoveServer(ctx, id); err != nil {
		return nil, err
	}
	c.log.Info("removed raft peer", "server_id", id)
	return &Response{}, nil
}

func (c *Core) sysRaftSnapshotSave(ctx context.Context, ops RaftOps) (*Response, error) {
	var buf bytes.Buffer
	if err := writeSnapshotArchive(ctx, &buf, ops, c.barrier); err != nil {
		return nil, err
	}
	return &Response{RawBody: &buf, ContentType: "application/octet-stream"}, nil
}

// sysRaftSnapshotRestore installs an operator snapshot. Without force, the
// archive's SHA256SUMS.sealed must open with this cluster's barrier keys
// (snapshot.go). After the restore the active node reloads (reloadAfterRestore).
func (c *Core) sysRaftSnapshotRestore(ctx context.Context, ops RaftOps, req *Request, force bool) (*Response, error) {
	if req.Body == nil {
		return nil, badRequest("the snapshot must be the request body")
	}
	state, err := readSnapshotArchive(req.Body, c.barrier, force)
	if err != nil {
		return nil, err
	}
	if err := ops.RestoreSnapshot(ctx, bytes.NewReader(state)); err != nil {
		return nil, fmt.Errorf("core: restore snapshot: %w", err)
	}
	c.log.Warn("raft snapshot restored; reloading", "force", force, "bytes", len(state))
	go c.reloadAfterRestore(ctx)
	return &Response{}, nil
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

// raftPathPrefix is the sys path prefix handleSysRaft serves.
const raftPathPrefix = "sys/storage/raft/"

func isRaftOpsPath(path string) bool {
	switch strings.TrimPrefix(path, raftPathPrefix) {
	case "configuration", "remove-peer", "snapshot", "snapshot-force", "autopilot/state", "autopilot/configuration":
		return strings.HasPrefix(path, raftPathPrefix)
	}
	return false
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
