package core

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/vaultd/vaultd/core/clusterops"
)

// snapshotKeys is implemented by raft storage that can check a snapshot
// stream before it is installed (raftstore.Store).
type snapshotKeys interface {
	SnapshotHasKey(r io.Reader, key string) (bool, error)
}

// sealConfigKey is where the barrier keeps its seal configuration.
const sealConfigKey = "core/seal-config"

// RestoreInit initialises this node from an operator snapshot instead of
// sys/init: the node bootstraps a one-node raft cluster, installs the
// snapshot (its data, keyring, seal configuration, tokens) and stays
// sealed. Only the unseal key shares of the cluster the snapshot came from
// open it; then its peers join it as usual.
//
// It is served unauthenticated (POST sys/storage/raft/snapshot-init), like
// sys/init, because an empty node has no tokens yet. What an anonymous
// caller can do with it is what sys/init already allows on such a node,
// and less: it works only on a node that is not initialised, holds no raft
// state, has no join pending, is not configured to join a cluster
// (retry_join) and has no auto seal; it never unseals the node nor
// returns anything secret, and once it has succeeded it refuses (the node
// is initialised). The
// archive's checksums are verified before anything is applied; its sealed
// checksums cannot be (no keys yet), but a snapshot whose keyring the
// shares do not open simply never unseals. The body is bounded by the
// listener's max_request_size and the state by the archive reader.
func (c *Core) RestoreInit(ctx context.Context, r io.Reader) error {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	// With an auto seal the node would unseal itself as soon as the
	// snapshot is in, if its seal opens the snapshot's key: an anonymous
	// caller with a stolen snapshot of any cluster sharing that seal (and
	// any token valid in it) would get a node serving it. Refused until
	// restore-init holds such a node sealed for recovery shares.
	if c.cfg.Seal != nil {
		return badRequest("restoring into an empty node is not available with an auto seal (seal %q): initialise the node and restore with sys/storage/raft/snapshot, or restore on a node without a seal stanza", c.cfg.Seal.Type())
	}
	ops, ok := c.cluster.(RaftOps)
	if !ok {
		return badRequest("raft storage is not in use on this node")
	}
	if ok, err := c.barrier.Initialized(ctx); err != nil {
		return err
	} else if ok {
		return ErrAlreadyInitialized
	}
	if b, isB := c.cluster.(Bootstrapper); isB {
		has, err := b.HasState()
		if err != nil {
			return err
		}
		if has {
			return ErrAlreadyInitialized
		}
	}
	if c.cfg.NoBootstrap {
		return badRequest("this node is configured to join a cluster (retry_join); restore the snapshot on a node without retry_join, then let this one join it")
	}
	if c.JoinPending() {
		return badRequest("a join is pending on this node")
	}
	state, err := clusterops.ReadArchiveUnkeyed(r)
	if err != nil {
		return err
	}
	// Check the state before this node commits to it: a stream the raft
	// storage cannot read, or one without a vault in it, is refused while
	// the node is still empty.
	if sk, ok := c.cluster.(snapshotKeys); ok {
		has, err := sk.SnapshotHasKey(bytes.NewReader(state), sealConfigKey)
		if err != nil {
			return badRequest("invalid snapshot: %v", err)
		}
		if !has {
			return badRequest("the snapshot holds no vault data (no seal configuration)")
		}
	}
	if err := c.bootstrap(ctx); err != nil { // lifecycle.go
		return err
	}
	if err := ops.RestoreSnapshot(ctx, bytes.NewReader(state)); err != nil {
		return fmt.Errorf("core: restore snapshot into an empty node: %w", err)
	}
	if err := c.cluster.Barrier(ctx); err != nil {
		return err
	}
	c.unsealer.Reset()
	c.info.Store(nil)
	if ok, err := c.barrier.Initialized(ctx); err != nil {
		return err
	} else if !ok {
		c.log.Warn("the restored snapshot holds no seal configuration; the node stays uninitialised")
		return badRequest("the snapshot holds no vault data (no seal configuration)")
	}
	c.initialized.Store(true)
	c.stateChanged()
	c.log.Warn("node initialised from a raft snapshot; unseal it with the key shares of the cluster the snapshot came from", "bytes", len(state))
	return nil
}
