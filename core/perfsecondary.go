package core

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vaultd/vaultd/replication"
)

// Performance secondaries (docs/replication.md, "Performance
// secondaries"). A performance secondary streams the primary's storage
// like a DR secondary (the same replication.Secondary on its raft leader,
// the same keyring switch: its nodes are unsealed with the primary's
// keys), but its leader is active: it loads the replicated mount table,
// tokens, policies and auth methods and serves reads from its own storage.
// Its barrier is read-only (only the stream writes, below it): a request
// that would write is refused with ErrPerfSecondaryWrite, and the HTTP
// layer sends it to the primary's active node instead (the writes, the
// logins, token and lease operations, wrapping). The stream's OnApply
// drops what the active node caches when replicated keys change.

// ErrPerfSecondaryWrite: a request tried to write on a performance
// secondary; the HTTP layer forwards it to the primary.
var ErrPerfSecondaryWrite = errors.New("this request writes, and a performance secondary's storage is written by replication only; it must be sent to the primary")

// IsPerfSecondary reports whether this node belongs to a performance
// secondary.
func (c *Core) IsPerfSecondary() bool { return c.repl.role().Mode == ModePerfSecondary }

// PerfPrimary is where a performance secondary forwards writes: the
// primary's API address and the CA file or directory that verifies its
// certificate (empty: the system roots). ok is false on other clusters.
func (c *Core) PerfPrimary() (apiAddr, caFile, caPath string, ok bool) {
	m := c.repl.role()
	if m.Mode != ModePerfSecondary || m.PrimaryAPIAddr == "" {
		return "", "", "", false
	}
	return m.PrimaryAPIAddr, m.CAFile, m.CAPath, true
}

// setReadOnly makes the barrier refuse writes while this cluster is a
// performance secondary (every node: a standby never writes anyway, and
// the role can change under it).
func (r *drRepl) setReadOnly(m replMode) {
	if m.Mode == ModePerfSecondary {
		if !r.readOnly.Swap(true) {
			r.c.barrier.SetReadOnly(ErrPerfSecondaryWrite)
		}
		return
	}
	if r.readOnly.Swap(false) {
		r.c.barrier.SetReadOnly(nil)
	}
}

// perfState is drRepl's performance-secondary state.
type perfState struct {
	readOnly atomic.Bool
	// reload: replicated keys changed that the active node's tables were
	// loaded from (mount and auth tables, policies, audit, identity): the
	// leadership loop reloads them (teardown, setup).
	reload atomic.Bool
}

// onApply runs after the stream applied a Txn on this node (the leader of
// a secondary). keys nil: a snapshot restore replaced everything.
func (r *drRepl) onApply(keys []string) {
	if r.role().Mode != ModePerfSecondary {
		return
	}
	reload := keys == nil
	purge := keys == nil
	for _, k := range keys {
		switch {
		case strings.HasPrefix(k, "sys/token/"):
			purge = true
		case strings.HasPrefix(k, "core/"), strings.HasPrefix(k, "sys/policy/"):
			if !strings.HasPrefix(k, "core/leader/") && !strings.HasPrefix(k, "core/cluster/") && !strings.HasPrefix(k, "core/replication/") {
				reload = true
			}
		}
	}
	if purge {
		// The token cache: a token revoked or changed on the primary is
		// read from storage again on its next use here.
		r.c.tokens.Purge()
	}
	if reload {
		r.reload.Store(true)
		r.c.poke()
	}
}

// reloadDue reports (once) that the active performance secondary must
// reload its tables.
func (r *drRepl) reloadDue() bool {
	if r == nil || r.role().Mode != ModePerfSecondary {
		return false
	}
	return r.reload.Swap(false)
}

// perfStatus is the performance half of sys/replication/status.
func (c *Core) perfStatus(ctx context.Context) map[string]any {
	r := c.repl
	m := r.role()
	switch {
	case m.Mode == ModePerfSecondary:
		return c.secondaryStatus(ctx, m)
	case m.kindEnabled(KindPerformance):
		return c.primaryStatus(ctx, m, KindPerformance)
	}
	return map[string]any{"mode": "disabled"}
}

// X-Vault-Index across clusters. The state tokens (stateindex.go) name
// the primary's cluster ID and a raft index of the primary, with an HMAC
// keyed from the token salt: the cluster info and the salt replicate, so
// a token the primary made verifies on its performance secondaries. Here
// the index is compared with the primary index this secondary has
// applied (the stream's durable last_index), and the tokens this
// secondary makes carry that index too, so tokens mean the same on every
// cluster.

// PerfIndexWait bounds how long a read on a performance secondary waits
// for the state its X-Vault-Index names before it is sent to the primary
// (or refused, with X-Vault-Inconsistent: fail).
var PerfIndexWait = 2 * time.Second

// ErrPerfBehind: this performance secondary has not replicated the state
// a read's X-Vault-Index names within PerfIndexWait; the HTTP layer sends
// the read to the primary.
var ErrPerfBehind = errors.New("this performance secondary has not replicated the state the X-Vault-Index header names yet; the request must be sent to the primary")

// ErrPerfStateNotReached: as ErrPerfBehind, with X-Vault-Inconsistent:
// fail (412).
var ErrPerfStateNotReached = errors.New("this performance secondary has not replicated the state the X-Vault-Index header names (X-Vault-Inconsistent: fail); retry, or send the request without fail to have it forwarded to the primary")

// perfReplicatedIndex is the primary index this secondary has applied.
func (c *Core) perfReplicatedIndex(ctx context.Context) uint64 {
	r := c.repl
	r.mu.Lock()
	sec := r.secondary
	r.mu.Unlock()
	if sec != nil {
		return sec.Status().LastIndex
	}
	if rec, found, err := replication.LoadSecondaryRecord(ctx, c.physical); err == nil && found {
		return rec.LastIndex
	}
	return 0
}

// perfWaitState makes a read on a performance secondary wait (bounded)
// until this cluster has replicated the state its tokens name.
func (c *Core) perfWaitState(ctx context.Context, req *Request) error {
	min, err := c.stateIndex(req.StateTokens)
	if errors.Is(err, ErrForward) { // cannot check here (salt not loaded): the primary can
		return ErrPerfBehind
	}
	if err != nil {
		return err
	}
	if c.perfReplicatedIndex(ctx) >= min {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, PerfIndexWait)
	defer cancel()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-wctx.Done():
			if req.InconsistentFail {
				return ErrPerfStateNotReached
			}
			return ErrPerfBehind
		case <-t.C:
		}
		if c.perfReplicatedIndex(ctx) >= min {
			return nil
		}
	}
}
