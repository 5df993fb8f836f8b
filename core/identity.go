package core

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vaultd/vaultd/core/audit"
	idstore "github.com/vaultd/vaultd/core/identity"
	"github.com/vaultd/vaultd/core/leases"
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
	auth   atomic.Pointer[authTable] // nil unless active
	authMu sync.Mutex                // serialises auth table changes

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
	at, err := c.loadAuthTable(ctx)
	if err != nil {
		return err
	}
	c.ident.auth.Store(at)
	if err := c.ident.store.Load(ctx, storage.NewView(c.barrier, identityStoragePrefix)); err != nil {
		return fmt.Errorf("core: identity store: %w", err)
	}
	if err := c.setupAudit(ctx); err != nil {
		return err
	}
	c.tokens.SetRevokeHook(c.destroyTokenData)
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
	c.ident.authMu.Lock() // an auth table change in flight finishes first
	c.ident.auth.Store(nil)
	c.ident.authMu.Unlock()
	c.ident.policies.Reset(nil)
	c.ident.store.Reset()
}

// identitySudoPaths need sudo besides the operation's capability (Vault's
// root-protected paths in this area that sys.go's list does not cover).
var identitySudoPaths = []string{
	"sys/leases/revoke-prefix/", "sys/leases/revoke-force/", "sys/revoke-prefix/", "sys/revoke-force/",
}

// handleSysIdentity serves the sys/ paths of issue 4 (policies,
// capabilities, auth methods, leases, wrapping, audit). handleSys calls it
// after the generic ACL and sudo checks; ok is false for other paths.
func (c *Core) handleSysIdentity(ctx context.Context, path string, req *Request, te *TokenEntry) (resp *Response, ok bool, err error) {
	op := req.Operation
	for _, p := range identitySudoPaths {
		if strings.HasPrefix(path, p) && !tokens.SudoOn(te, path) {
			return nil, true, permissionDenied()
		}
	}
	if op == secrets.OpList && strings.HasPrefix(path, "sys/leases/lookup/") && !tokens.SudoOn(te, path) {
		return nil, true, permissionDenied()
	}
	switch {
	case path == "sys/policy" || strings.HasPrefix(path, "sys/policy/") ||
		path == "sys/policies/acl" || strings.HasPrefix(path, "sys/policies/acl/"):
		resp, err = c.serveDeclared(ctx, c.ident.policies.Backend(), "sys/", path, req) // openapi.go
		if err == nil && resp != nil && path == "sys/policy" && op == secrets.OpRead {
			// The legacy list has keys and policies at the top level too.
			resp = withTopLevelCopy(req.ID, resp.Data)
		}
	case path == "sys/capabilities" || path == "sys/capabilities-self" || path == "sys/capabilities-accessor":
		resp, err = c.serveDeclared(withCaller(ctx, te), c.caps.Backend(), "sys/", path, req) // capabilities.go
	case path == "sys/auth" || strings.HasPrefix(path, "sys/auth/"):
		resp, err = c.sysAuth(ctx, op, strings.TrimPrefix(strings.TrimPrefix(path, "sys/auth"), "/"), req.Data)
	case strings.HasPrefix(path, "sys/mounts/auth/"):
		// vault/api reads and tunes auth mounts through sys/mounts/auth/<path>.
		rest := strings.TrimPrefix(path, "sys/mounts/auth/")
		if m, isTune := strings.CutSuffix(rest, "/tune"); isTune {
			resp, err = c.sysAuthTune(ctx, op, m, req.Data)
		} else if op == secrets.OpRead {
			resp, err = c.sysAuthRead(rest)
		} else {
			resp, err = nil, badRequest("use sys/auth/%s to enable or disable an auth method", rest)
		}
	case path == "sys/leases" || strings.HasPrefix(path, "sys/leases/") ||
		path == "sys/renew" || strings.HasPrefix(path, "sys/renew/") ||
		path == "sys/revoke" || strings.HasPrefix(path, "sys/revoke/") ||
		strings.HasPrefix(path, "sys/revoke-prefix/") || strings.HasPrefix(path, "sys/revoke-force/"):
		var lr *leases.Response
		if lr, err = c.leases.Handle(ctx, op, path, req.Data); err == nil {
			resp = &Response{Data: lr.Data, Warnings: lr.Warnings, LeaseID: lr.LeaseID, LeaseDuration: lr.LeaseDuration, Renewable: lr.Renewable}
		}
	case strings.HasPrefix(path, "sys/wrapping/"):
		resp, err = c.sysWrapping(ctx, path, req, te)
	case path == "sys/audit" || strings.HasPrefix(path, "sys/audit/") || strings.HasPrefix(path, "sys/audit-hash/"):
		resp, err = c.serveDeclared(ctx, c.ident.audit.Backend(), "sys/", path, req) // core/audit
	default:
		return nil, false, nil
	}
	return resp, true, err
}
