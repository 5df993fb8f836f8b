package core

import (
	"context"
	"errors"
	"time"

	"github.com/vaultd/vaultd/seal"
)

// Auto-unseal (seal "transit"). The barrier's side is seal/autoseal.go;
// this file decides, from the stored seal configuration and the
// configured seals, what an unseal means on this node, and runs the loop
// that unseals the node by itself.
//
// The modes:
//
//	stored   configured seal          mode
//	shamir   none                      shamir: operators unseal with shares
//	shamir   transit                   migrate to auto: unseal -migrate with the unseal shares
//	transit  transit                   auto: the node unseals itself; unseal with recovery
//	                                   shares only after sys/seal (as Vault)
//	transit  transit, disabled = true  migrate to shamir: unseal -migrate with the recovery shares
//	transit  none                      refused: the node cannot unseal (never falls back)

type sealMode int

const (
	modeShamir sealMode = iota
	modeAuto
	modeMigrateToAuto
	modeMigrateToShamir
	modeNoSeal
)

// Auto-unseal retry bounds.
const (
	autoUnsealMinBackoff = time.Second
	autoUnsealMaxBackoff = 30 * time.Second
)

// modeFor is the unseal mode for the stored configuration cfg.
func (c *Core) modeFor(cfg *seal.Config) sealMode {
	w, old := c.cfg.Seal, c.cfg.MigrateFrom
	switch {
	case !cfg.Auto() && w == nil:
		return modeShamir
	case !cfg.Auto():
		return modeMigrateToAuto
	case w != nil && w.Type() == cfg.Type:
		return modeAuto
	case w == nil && old != nil && old.Type() == cfg.Type:
		return modeMigrateToShamir
	default:
		return modeNoSeal
	}
}

// sealStatus fills the seal type fields of st.
func (c *Core) sealStatus(st *Status, cfg *seal.Config) {
	if cfg == nil {
		st.SealType, st.RecoverySeal = seal.TypeShamir, false
		if c.cfg.Seal != nil {
			st.SealType, st.RecoverySeal = c.cfg.Seal.Type(), true
		}
		return
	}
	st.SealType, st.RecoverySeal = cfg.TypeName(), cfg.Auto()
	switch c.modeFor(cfg) {
	case modeMigrateToAuto:
		st.Migration = true
		st.SealType, st.RecoverySeal = c.cfg.Seal.Type(), true
	case modeMigrateToShamir:
		st.Migration = true
	}
}

// autoUnsealLoop unseals the node with its auto seal whenever it is
// initialized and sealed, except after an operator's sys/seal; it retries
// with exponential backoff while the remote is unavailable, and never falls
// back to anything else. It returns when ctx ends.
func (c *Core) autoUnsealLoop(ctx context.Context) {
	backoff := autoUnsealMinBackoff
	var lastMsg string
	for {
		wait := 500 * time.Millisecond
		err := c.tryAutoUnseal(ctx)
		switch {
		case err == nil:
			backoff, lastMsg = autoUnsealMinBackoff, ""
		case errors.Is(err, errNotNow):
		default:
			wait = backoff
			backoff = min(2*backoff, autoUnsealMaxBackoff)
			// One warning per distinct failure, then debug: a remote down for
			// an hour must not flood the log.
			if msg := err.Error(); msg != lastMsg {
				c.log.Warn("auto-unseal failed: the node stays sealed and retries", "seal_type", c.cfg.Seal.Type(), "error", err, "retry_in", wait)
				lastMsg = msg
			} else {
				c.log.Debug("auto-unseal failed; retrying", "error", err, "retry_in", wait)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// errNotNow: nothing for the auto-unseal loop to do yet.
var errNotNow = errors.New("core: nothing to auto-unseal")

// tryAutoUnseal unseals the node with its auto seal if it should be.
func (c *Core) tryAutoUnseal(ctx context.Context) error {
	if !c.barrier.Sealed() || c.manualSeal.Load() || c.JoinPending() {
		return errNotNow
	}
	cfg, err := c.barrier.SealConfig(ctx)
	if err != nil {
		return errNotNow // not initialized, or not replicated here yet
	}
	switch m := c.modeFor(cfg); m {
	case modeAuto:
	case modeMigrateToAuto, modeMigrateToShamir:
		if !c.migrationLogged.Swap(true) {
			c.log.Warn("seal migration pending: unseal this node with migrate=true (operator unseal -migrate) and the current shares",
				"stored_seal", cfg.TypeName())
		}
		return errNotNow
	default:
		return errNotNow
	}
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	if !c.barrier.Sealed() || c.manualSeal.Load() {
		return errNotNow
	}
	uctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.barrier.UnsealAuto(uctx, c.cfg.Seal); err != nil {
		return err
	}
	c.afterUnsealLocked(ctx, "vault unsealed by its "+cfg.Type+" seal")
	return nil
}

// afterUnsealLocked finishes an unseal (stateMu held).
func (c *Core) afterUnsealLocked(ctx context.Context, msg string) {
	c.initialized.Store(true)
	c.log.Info(msg)
	if err := c.loadClusterTLS(ctx); err != nil { // cluster.go; reconcile retries
		c.log.Warn("cluster TLS not loaded at unseal; will retry", "error", err)
	}
	c.poke()
	c.stateChanged()
}

// unsealKeyLocked uses a combined key (from the operators' shares) as the
// mode requires (stateMu held).
func (c *Core) unsealKeyLocked(ctx context.Context, mode sealMode, key seal.Secret) error {
	switch mode {
	case modeShamir:
		return c.barrier.Unseal(ctx, key)
	case modeAuto: // after sys/seal: the recovery shares authorise, the seal decrypts
		if err := c.barrier.CheckKey(ctx, key); err != nil {
			return err
		}
		if err := c.barrier.UnsealAuto(ctx, c.cfg.Seal); err != nil {
			return err
		}
		c.manualSeal.Store(false)
		return nil
	case modeMigrateToAuto:
		if err := c.barrier.MigrateToAuto(ctx, key, c.cfg.Seal); err != nil {
			return err
		}
		c.migrationLogged.Store(false)
		return c.barrier.UnsealAuto(ctx, c.cfg.Seal)
	case modeMigrateToShamir:
		if err := c.barrier.MigrateToShamir(ctx, key, c.cfg.MigrateFrom); err != nil {
			return err
		}
		c.migrationLogged.Store(false)
		return c.barrier.Unseal(ctx, key)
	}
	return badRequest("cannot unseal: the vault is protected by its stored seal, which is not configured on this node")
}

// checkUnsealMode refuses an unseal whose migrate flag does not match the
// node's mode.
func (c *Core) checkUnsealMode(cfg *seal.Config, migrate bool) (sealMode, error) {
	mode := c.modeFor(cfg)
	migrating := mode == modeMigrateToAuto || mode == modeMigrateToShamir
	switch {
	case mode == modeNoSeal:
		return mode, badRequest("cannot unseal: the vault is protected by a %q seal and this node has no seal %q stanza configured", cfg.Type, cfg.Type)
	case migrate && !migrating:
		return mode, badRequest("migrate option given but no seal migration is pending (stored seal %q)", cfg.TypeName())
	case migrating && !migrate:
		return mode, badRequest("a seal migration is pending (stored seal %q): unseal with migrate=true (operator unseal -migrate)", cfg.TypeName())
	case migrating && !c.cluster.IsLeader():
		return mode, badRequest("run the seal migration on the raft leader; then restart the other nodes with the new seal configuration")
	}
	return mode, nil
}
