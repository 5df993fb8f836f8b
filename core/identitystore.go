package core

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/vaultd/vaultd/core/acl"
	idstore "github.com/vaultd/vaultd/core/identity"
	"github.com/vaultd/vaultd/core/policies"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// The identity store (core/identity) as core uses it: loaded when the node
// becomes active, served at identity/, asked at login for the entity of
// (auth mount, alias) and on every request for the entity's policies and
// template values (from memory: no storage read).

// identityStoragePrefix is the identity store's view behind the barrier.
const identityStoragePrefix = "core/identity/"

func (c *Core) newIdentityStore() {
	c.ident.store = idstore.New(c.authMountByAccessor, c.now)
	c.ident.store.Inactive = ErrStandby
	c.ident.endpoints = c.ident.store.Endpoints()
}

// authMountByAccessor finds an auth mount by accessor (aliases belong to
// auth mounts).
func (c *Core) authMountByAccessor(accessor string) (idstore.Mount, bool) {
	at := c.ident.auth.Current()
	if at == nil {
		return idstore.Mount{}, false
	}
	for _, me := range at.Entries() {
		if me.Accessor == accessor {
			return idstore.Mount{Accessor: me.Accessor, Path: "auth/" + me.Path, Type: me.Type}, true
		}
	}
	return idstore.Mount{}, false
}

// IdentityEndpoints declares the identity/ paths (for the docs test and
// the OpenAPI document).
func (c *Core) IdentityEndpoints() *endpoint.Backend { return c.ident.endpoints }

// handleIdentity serves identity/<path> for an authenticated request.
func (c *Core) handleIdentity(ctx context.Context, req *Request, te *TokenEntry) (*Response, error) {
	if te == nil {
		return nil, permissionDenied()
	}
	sreq := &secrets.Request{
		Operation:  req.Operation,
		Path:       strings.TrimPrefix(req.Path, "identity/"),
		Data:       req.Data,
		MountPoint: "identity/", // the store keeps its own view (Load)
		RemoteAddr: req.RemoteAddr,
		// Like auth methods, the identity store never sees the token.
		TokenAccessor: te.Accessor, DisplayName: te.DisplayName,
	}
	if sreq.Data == nil {
		sreq.Data = map[string]any{}
	}
	if _, err := c.checkACL(te, sreq.Operation, req.Path, req.Data, req.WrapTTL); err != nil {
		return nil, err
	}
	if err := c.verifyForRead(ctx, sreq.Operation); err != nil {
		return nil, err
	}
	sresp, err := c.ident.endpoints.HandleRequest(ctx, sreq)
	if err != nil {
		return nil, err
	}
	if sresp == nil {
		return &Response{MountType: "identity"}, nil
	}
	return &Response{Data: sresp.Data, Warnings: sresp.Warnings, StatusCode: sresp.StatusCode, MountType: "identity"}, nil
}

// effectiveAuthz resolves te's authorisation: its own policies, plus those
// its entity gets directly and through its groups, with identity templates
// rendered for the entity. A token whose entity is disabled is refused.
// It returns the identity policies (for token lookups).
func (c *Core) effectiveAuthz(ctx context.Context, te *TokenEntry) (*policies.Authz, []string, error) {
	id, ok := c.ident.store.Resolve(te.EntityID)
	if !ok {
		az, err := c.ident.policies.AuthzFor(ctx, te.Policies)
		return az, nil, err
	}
	if id.Disabled {
		return nil, nil, permissionDenied()
	}
	names := te.Policies
	if len(id.Policies) > 0 && !slices.Contains(te.Policies, rootPolicy) {
		names = append(slices.Clone(te.Policies), id.Policies...)
		sort.Strings(names)
		names = slices.Compact(names)
	}
	az, err := c.ident.policies.AuthzForIdentity(ctx, names, acl.Resolver(id.Template), id.Key)
	return az, id.Policies, err
}

// identityPolicies are the policies te's entity adds (nil without one).
func (c *Core) identityPolicies(te *TokenEntry) []string {
	if id, ok := c.ident.store.Resolve(te.EntityID); ok {
		return id.Policies
	}
	return nil
}

// loginEntity finds or creates the entity of a login's alias.
func (c *Core) loginEntity(ctx context.Context, me *MountEntry, a *secrets.Auth) (string, error) {
	if a.Alias == "" {
		return "", nil
	}
	return c.ident.store.LoginEntity(ctx, idstore.Mount{Accessor: me.Accessor, Path: "auth/" + me.Path, Type: me.Type}, a.Alias, a.Metadata, a.GroupAliases)
}
