package core

import (
	"context"
	"slices"
	"strings"

	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/secrets"
)

// handleAuth routes auth/<mount>/... : the built-in token store, or an
// auth engine. te is nil on an unauthenticated (login) path.
func (c *Core) handleAuth(ctx context.Context, req *Request, te *TokenEntry) (*Response, error) {
	rest := strings.TrimPrefix(req.Path, "auth/")
	if rest == "token" || strings.HasPrefix(rest, "token/") {
		if te == nil {
			return nil, permissionDenied()
		}
		r, err := c.tokenEndpoints.Handle(ctx, &tokens.Request{Operation: req.Operation, Path: req.Path, Data: req.Data, WrapTTL: req.WrapTTL}, te)
		if err != nil {
			return nil, err
		}
		return &Response{Data: r.Data, Warnings: r.Warnings, Auth: r.Auth}, nil
	}
	at := c.ident.auth.Current()
	if at == nil {
		return nil, ErrStandby
	}
	me := at.Match(rest)
	if me == nil {
		if te == nil {
			return nil, permissionDenied()
		}
		if _, err := c.checkACL(te, req.Operation, req.Path, req.Data, req.WrapTTL); err != nil {
			return nil, err
		}
		return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "no handler for route %q. route entry not found.", req.Path)
	}
	eng := at.Engine(me.Path)
	enginePath := canonicalPath(eng, mountRelative(rest, me.Path))
	aclPath := "auth/" + me.Path + enginePath // what the engine will touch
	sreq := &secrets.Request{
		Operation:  req.Operation,
		Path:       enginePath,
		Data:       req.Data,
		Storage:    at.View(me.Path),
		MountPoint: "auth/" + me.Path,
		RemoteAddr: req.RemoteAddr,
	}
	if sreq.Data == nil {
		sreq.Data = map[string]any{}
	}
	// Auth engines never see the caller's token: they only need to know
	// who asked, for their own bookkeeping.
	if te != nil {
		sreq.TokenAccessor, sreq.DisplayName = te.Accessor, te.DisplayName
		if err := c.existence(ctx, eng, sreq); err != nil {
			return nil, err
		}
		if _, err := c.checkACL(te, sreq.Operation, aclPath, req.Data, req.WrapTTL); err != nil {
			return nil, err
		}
	}
	if err := c.verifyForRead(ctx, sreq.Operation); err != nil {
		return nil, err
	}
	// Login failures are the engine's: its error goes back unchanged, so
	// core adds nothing that tells a wrong user from a wrong password.
	sresp, err := eng.HandleRequest(ctx, sreq)
	if err != nil {
		return nil, err
	}
	resp := &Response{MountType: me.Type}
	if sresp != nil {
		resp.Data, resp.Warnings, resp.StatusCode = sresp.Data, sresp.Warnings, sresp.StatusCode
		if sresp.Auth != nil {
			ra, err := c.mintLoginToken(ctx, me, req.Path, sresp.Auth)
			if err != nil {
				return nil, err
			}
			resp.Auth = ra
		}
	}
	return resp, nil
}

// existence turns an update into a create when the engine says the path
// does not exist yet (for the ACL's create capability).
func (c *Core) existence(ctx context.Context, eng secrets.Backend, sreq *secrets.Request) error {
	if sreq.Operation != secrets.OpUpdate {
		return nil
	}
	ec, ok := eng.(secrets.ExistenceChecker)
	if !ok {
		return nil
	}
	exists, checked, err := ec.Exists(ctx, sreq)
	if err != nil {
		return err
	}
	if checked && !exists {
		sreq.Operation = secrets.OpCreate
	}
	return nil
}

// mintLoginToken turns an auth engine's Auth into a token: policies plus
// "default" (unless NoDefaultPol), TTL bounded by the mount's or system's
// max, an orphan (as in Vault), path = the login request path.
func (c *Core) mintLoginToken(ctx context.Context, me *MountEntry, reqPath string, a *secrets.Auth) (*ResponseAuth, error) {
	for _, p := range a.Policies {
		if strings.EqualFold(strings.TrimSpace(p), rootPolicy) {
			return nil, badRequest("auth methods cannot create root tokens")
		}
		if strings.EqualFold(strings.TrimSpace(p), responseWrappingPolicy) {
			return nil, badRequest("auth methods cannot assign the %q policy", responseWrappingPolicy)
		}
	}
	if a.NumUses < 0 {
		return nil, badRequest("number of uses cannot be negative")
	}
	boundCIDRs, err := tokens.CanonicalCIDRs("token_bound_cidrs", a.BoundCIDRs)
	if err != nil {
		return nil, err
	}
	policies := tokens.SanitizePolicies(a.Policies, !a.NoDefaultPol)
	def, max := c.authMountTTLs(me)
	if a.MaxTTL > 0 && a.MaxTTL < max {
		max = a.MaxTTL
	}
	ttl := a.TTL
	if a.Period > 0 {
		ttl = a.Period
	} else {
		if ttl <= 0 {
			ttl = def
		}
		if ttl > max {
			ttl = max
		}
	}
	if a.ExplicitMax > 0 && ttl > a.ExplicitMax {
		ttl = a.ExplicitMax
	}
	name := a.DisplayName
	if name == "" {
		name = a.Alias
	}
	display := strings.ReplaceAll(strings.TrimSuffix(me.Path, "/"), "/", "-")
	if name != "" {
		display += "-" + name
	}
	te := &TokenEntry{
		Policies:       policies,
		Path:           reqPath,
		Meta:           a.Metadata,
		DisplayName:    display,
		NumUses:        a.NumUses,
		TTL:            ttl,
		ExplicitMaxTTL: a.ExplicitMax,
		Period:         a.Period,
		Renewable:      a.Renewable,
		Orphan:         true,
		BoundCIDRs:     boundCIDRs,
	}
	if a.Period == 0 {
		te.MaxTTL = max
	}
	if te.EntityID, err = c.loginEntity(ctx, me, a); err != nil { // identitystore.go
		return nil, err
	}
	if loginTokenType(me, a.TokenType) == tokens.TypeBatch {
		if a.NumUses != 0 || a.Period != 0 {
			return nil, badRequest("batch tokens cannot be periodic or have a use limit")
		}
		te.Renewable = false
		if _, err := c.tokens.CreateBatch(ctx, te); err != nil {
			return nil, err
		}
	} else if _, err := c.tokens.Create(ctx, te, ""); err != nil {
		return nil, err
	}
	ra := tokens.AuthBlock(te, ttl)
	if ip := c.identityPolicies(te); len(ip) > 0 { // identitystore.go
		ra.IdentityPolicies = ip
		ra.Policies = tokens.SanitizePolicies(append(slices.Clone(te.Policies), ip...), false)
	}
	return ra, nil
}
