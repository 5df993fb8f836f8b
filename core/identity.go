package core

import (
	"context"
	"fmt"
	"strings"

	"github.com/vaultd/vaultd/core/audit"
	idstore "github.com/vaultd/vaultd/core/identity"
	"github.com/vaultd/vaultd/core/mounts"
	"github.com/vaultd/vaultd/core/policies"
	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// identity is the identity-and-access state of an active node: the auth
// mount table, the policy store, the audit broker and table. Token state
// (and the expiration manager) lives in core/tokens. The zero value is
// ready; setupIdentity fills it when the node becomes active and
// teardownIdentity empties it when it steps down, so all of it is rebuilt
// from storage (behind the barrier, replicated) on every failover.
type identity struct {
	auth *mounts.Set // the auth methods' mount table (authmounts.go; loaded while active)

	policies policies.Store

	audit *audit.Table // loaded while active (core/audit)

	store     *idstore.Store    // entities and groups (identitystore.go)
	endpoints *endpoint.Backend // the identity/ paths, declared by store
}

// setupIdentity loads everything issue-4 state needs on a node that is
// becoming active. Callers hold stateMu; c.mounts is already loaded.
func (c *Core) setupIdentity(ctx context.Context) (err error) {
	c.ident.policies.Reset(c.barrier)
	c.tokens.Purge()
	defer func() {
		if err != nil {
			c.teardownIdentity()
		}
	}()
	if err := c.ident.policies.EnsureDefault(ctx); err != nil {
		return fmt.Errorf("core: default policy: %w", err)
	}
	if err := c.loadAuthTable(ctx); err != nil {
		return fmt.Errorf("core: %w", err)
	}
	if err := c.ident.store.Load(ctx, storage.NewView(c.barrier, identityStoragePrefix)); err != nil {
		return fmt.Errorf("core: identity store: %w", err)
	}
	if err := c.setupAudit(ctx); err != nil {
		return err
	}
	c.tokens.SetRevokeHook(c.destroyTokenData)
	if c.IsPerfSecondary() {
		return nil // leases and tokens expire on the primary; the revocations replicate
	}
	if err := c.tokens.StartExpiration(ctx, c.log); err != nil {
		return fmt.Errorf("core: expiration manager: %w", err)
	}
	return nil
}

// teardownIdentity stops background work and drops the cached state.
// Idempotent. Callers hold stateMu.
func (c *Core) teardownIdentity() {
	c.tokens.StopExpiration()
	c.tokens.SetRevokeHook(nil)
	c.tokens.Purge()
	c.teardownAudit()
	c.ident.auth.Unload() // an auth table change in flight finishes first
	c.ident.policies.Reset(nil)
	c.ident.store.Reset()
}

// identitySudoPaths need sudo besides the operation's capability (Vault's
// root-protected paths in this area that sys.go's list does not cover).
var identitySudoPaths = []string{
	"sys/leases/revoke-prefix/", "sys/leases/revoke-force/", "sys/revoke-prefix/", "sys/revoke-force/",
}

// identitySudo applies the sudo rules of the lease endpoints (revoking
// by prefix, listing leases), which need sudo on top of the capability
// handleSys checked.
func identitySudo(path string, op secrets.Operation, te *TokenEntry) error {
	for _, p := range identitySudoPaths {
		if strings.HasPrefix(path, p) && !tokens.SudoOn(te, path) {
			return permissionDenied()
		}
	}
	if op == secrets.OpList && strings.HasPrefix(path, "sys/leases/lookup/") && !tokens.SudoOn(te, path) {
		return permissionDenied()
	}
	return nil
}
