package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vaultd/vaultd/core/acl"
	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/core/wrapping"
	"github.com/vaultd/vaultd/secrets"
)

// Request is one client request as api hands it to core.
type Request struct {
	ID string
	// Operation: api maps GET→read, LIST/?list=true→list, DELETE→delete,
	// PATCH→patch and PUT/POST→update; core turns update into create when
	// the engine says the path does not exist yet.
	Operation secrets.Operation
	// Path is the request path after /v1/, without a leading slash.
	Path        string
	Data        map[string]any
	ClientToken string
	RemoteAddr  string
	// WrapTTL, when positive, asks for the response to be wrapped
	// (X-Vault-Wrap-TTL).
	WrapTTL time.Duration
	// Body is the raw request body for the few endpoints that take a
	// binary one (raft snapshot restore); Data is empty then. api bounds it
	// by the listener's max_request_size.
	Body io.Reader
	// MaxStaleness, when positive, lets a standby answer a read from its
	// local state without contacting the active node if it completed a
	// read index less than this long ago (X-Vaultd-Max-Staleness;
	// standby.go). Zero: linearizable.
	MaxStaleness time.Duration
	// StateTokens are the request's X-Vault-Index values: a standby
	// answers only once it has applied the highest (stateindex.go).
	StateTokens []string
	// InconsistentFail: X-Vault-Inconsistent: fail. A performance
	// secondary that has not replicated the tokens' state within its
	// bound refuses the read (412) instead of sending it to the primary.
	InconsistentFail bool
}

// Response is what core answers; api encodes Vault's envelope from it.
type Response struct {
	Data          map[string]any
	Warnings      []string
	Auth          *ResponseAuth
	LeaseID       string
	LeaseDuration int
	Renewable     bool
	MountType     string
	// WrapInfo is set, and everything else empty, on a wrapped response.
	WrapInfo *WrapInfo
	// StatusCode overrides the HTTP status; 0 means 200, or 204 without data.
	StatusCode int
	// Raw, when set, is the whole JSON body (no envelope), as some sys
	// endpoints answer (sys/mounts has both top-level and "data" copies).
	Raw map[string]any
	// RawBody, when set, is sent as it is with ContentType (raft snapshot
	// save), instead of any JSON.
	RawBody     io.Reader
	ContentType string
}

// HandleRequest runs a request on the active node:
//
//	token lookup (+ num_uses) → audit (request) → ACL → router → engine
//	→ response wrapping → audit (response) → revoke a used-up token
//
// Unauthenticated paths (auth method logins, sys/wrapping/lookup) skip the
// token. If audit devices are enabled and none records the request, it is
// refused before it runs (fail closed).
func (c *Core) HandleRequest(ctx context.Context, req *Request) (resp *Response, err error) {
	if c.barrier.Sealed() {
		return nil, ErrSealed
	}
	if err := c.ReplicationRefusal(req.Operation, req.Path); err != nil { // replication.go
		return nil, err
	}
	if err := c.confirmEpoch(ctx, req.Operation, req.Path); err != nil { // replication_epoch.go
		return nil, err
	}
	if len(req.StateTokens) > 0 && c.IsPerfSecondary() {
		// The tokens name the primary's index: wait for the replicated
		// one (perfsecondary.go); a standby then needs no more than its
		// own read index.
		if err := c.perfWaitState(ctx, req); err != nil {
			return nil, err
		}
		req.StateTokens = nil
	}
	if !c.active.Load() {
		return c.handleStandbyRead(ctx, req) // standby.go
	}
	mt := c.mounts.Current()
	if mt == nil || c.ident.auth.Current() == nil {
		return nil, ErrStandby
	}
	if err := checkPath(req.Path); err != nil {
		return nil, err
	}
	ctx = tokens.WithRemoteAddr(ctx, req.RemoteAddr) // for tokens named in bodies
	var te *TokenEntry
	if !c.isUnauthenticated(req.Path) {
		te, err = c.authenticate(ctx, req)
		if err != nil && unwrapWithHeaderToken(req) && errors.Is(err, secrets.ErrPermissionDenied) {
			// Vault: an unwrap whose wrapping token (in X-Vault-Token) is
			// used up or unknown is a 400, as with the token in the body.
			err = wrapping.ErrBadWrapToken
		}
		if err != nil {
			a := c.newAuditor(req, nil)
			if aerr := a.request(ctx, err.Error()); aerr != nil {
				c.log.Error("audit failed for a refused request", "error", aerr)
			} else if aerr := a.response(ctx, nil, err); aerr != nil {
				c.log.Error("audit failed for a refused request", "error", aerr)
			}
			return nil, err
		}
		if te.LastUse {
			defer func() {
				if rerr := c.tokens.RevokeTree(context.WithoutCancel(ctx), te.IDHash); rerr != nil {
					c.log.Warn("revoking a used-up token failed; it is refused and will be revoked on the next setup", "error", rerr)
				}
			}()
		}
	}
	a := c.newAuditor(req, te)
	if err := a.request(ctx, ""); err != nil {
		c.log.Error("refusing a request that no audit device recorded", "request_id", req.ID)
		return nil, err
	}
	resp, err = c.dispatch(ctx, req, te, mt)
	if err == nil && resp != nil && req.WrapTTL > 0 && resp.WrapInfo == nil && wrappable(resp) {
		resp, err = c.wrapResponse(ctx, req.Path, req.WrapTTL, resp)
	}
	if aerr := a.response(ctx, resp, err); aerr != nil {
		c.log.Error("no audit device recorded a response; failing the request", "request_id", req.ID)
		return nil, aerr
	}
	return resp, err
}

// unwrapWithHeaderToken reports whether req is an unwrap whose wrapping
// token is the client token (no "token" in the body).
func unwrapWithHeaderToken(req *Request) bool {
	if strings.TrimSuffix(req.Path, "/") != "sys/wrapping/unwrap" || req.ClientToken == "" {
		return false
	}
	tok, _ := req.Data["token"].(string)
	return tok == ""
}

// lookupBodyToken looks up a token a request names in its body (token
// lookup/renew, sys/capabilities, sys/wrapping/*). The token's
// token_bound_cidrs hold for it as for the caller's own: from outside them
// it is refused like an unknown token.
func (c *Core) lookupBodyToken(ctx context.Context, id string) (*TokenEntry, error) {
	return c.tokens.LookupBody(ctx, id)
}

// wrappable: only successful responses with something in them are
// wrapped, as in Vault.
func wrappable(resp *Response) bool {
	if resp.Raw != nil || resp.StatusCode >= 300 {
		return false
	}
	return resp.Data != nil || resp.Auth != nil || len(resp.Warnings) > 0
}

// authenticate looks the client token up, uses one of its uses, and
// resolves its policies. Any failure is a 403 "permission denied" that
// does not say whether the token was unknown, expired or used up.
func (c *Core) authenticate(ctx context.Context, req *Request) (*TokenEntry, error) {
	te, err := c.tokens.LookupFrom(ctx, req.ClientToken, req.RemoteAddr)
	if errors.Is(err, tokens.ErrNotFound) {
		return nil, permissionDenied()
	}
	if err != nil {
		return nil, err
	}
	if err := c.tokens.Use(ctx, te); err != nil {
		if errors.Is(err, tokens.ErrNotFound) {
			return nil, permissionDenied()
		}
		return nil, err
	}
	if te.Authz, _, err = c.effectiveAuthz(ctx, te); err != nil { // identitystore.go
		return nil, err
	}
	return te, nil
}

// dispatch routes an authenticated (or unauthenticated, te == nil)
// request.
func (c *Core) dispatch(ctx context.Context, req *Request, te *TokenEntry, mt *mountTable) (*Response, error) {
	path := req.Path
	switch {
	case path == "sys/wrapping/lookup": // unauthenticated (te may be nil)
		return c.serveSys(ctx, path, req, te)
	case strings.HasPrefix(path, "sys/") || path == "sys":
		return c.handleSys(ctx, req, te)
	case strings.HasPrefix(path, "auth/"):
		return c.handleAuth(ctx, req, te)
	case path == "identity" || strings.HasPrefix(path, "identity/"):
		return c.handleIdentity(ctx, req, te) // identitystore.go
	}
	unauth := te == nil
	if unauth && !c.isUnauthenticatedSecret(path) {
		return nil, permissionDenied()
	}
	me := mt.Match(path)
	if me == nil {
		if _, err := c.checkACL(te, req.Operation, path, req.Data, req.WrapTTL); err != nil {
			return nil, err
		}
		return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "no handler for route %q. route entry not found.", path)
	}
	eng := mt.Engine(me.Path)
	// The engine and the ACL check see the same path: the bare mount path
	// ("kv1" on mount "kv1/") is the mount's root, not a key named "kv1".
	enginePath := canonicalPath(eng, mountRelative(path, me.Path))
	path = me.Path + enginePath
	sreq := &secrets.Request{
		Operation:  req.Operation,
		Path:       enginePath,
		Data:       req.Data,
		Storage:    mt.View(me.Path),
		MountPoint: me.Path,
		RemoteAddr: req.RemoteAddr,
	}
	if !unauth {
		sreq.ClientToken, sreq.TokenAccessor, sreq.DisplayName = te.ID, te.Accessor, te.DisplayName
	}
	if me.Type == "cubbyhole" && !unauth {
		if te.Type == tokens.TypeBatch {
			// Nothing would ever destroy a batch token's cubbyhole.
			return nil, badRequest("cubbyhole usage is not allowed for batch tokens")
		}
		// The cubbyhole is keyed by the token's salted hash, never the token.
		sreq.ClientToken = te.IDHash
	}
	if sreq.Data == nil {
		sreq.Data = map[string]any{}
	}
	if err := c.existence(ctx, eng, sreq); err != nil {
		return nil, err
	}
	if !unauth { // an engine's unauthenticated path needs no policy
		if _, err := c.checkACL(te, sreq.Operation, path, req.Data, req.WrapTTL); err != nil {
			return nil, err
		}
	}
	if err := c.verifyForRead(ctx, sreq.Operation); err != nil {
		return nil, err
	}
	sresp, err := eng.HandleRequest(ctx, sreq)
	if err != nil {
		return nil, err
	}
	if sresp == nil {
		return &Response{MountType: me.Type}, nil
	}
	if sresp.RawBody != nil { // a non-JSON body (PKI's DER/PEM reads)
		return &Response{
			RawBody: bytes.NewReader(sresp.RawBody), ContentType: sresp.ContentType,
			StatusCode: sresp.StatusCode, MountType: me.Type,
		}, nil
	}
	// Secrets engines cannot mint tokens: sresp.Auth is ignored here.
	return &Response{
		Data: sresp.Data, Warnings: sresp.Warnings, StatusCode: sresp.StatusCode,
		MountType: me.Type,
	}, nil
}

// mountRelative is path inside the mount at mountPath (which ends in "/");
// the bare mount path is the mount's root "".
func mountRelative(path, mountPath string) string {
	if path+"/" == mountPath {
		return ""
	}
	return strings.TrimPrefix(path, mountPath)
}

// canonicalPath is the engine's canonical form of path (see
// secrets.Canonicalizer), so that routing and the ACL check agree on what
// is touched.
func canonicalPath(eng secrets.Backend, path string) string {
	if cz, ok := eng.(secrets.Canonicalizer); ok {
		return cz.CanonicalPath(path)
	}
	return path
}

// verifyForRead makes reads linearizable: the active node confirms with a
// quorum that it still leads before answering from its local state.
func (c *Core) verifyForRead(ctx context.Context, op secrets.Operation) error {
	if op != secrets.OpRead && op != secrets.OpList || chaosSkipVerifyLeader { // chaosbug.go
		return nil
	}
	if isLocalRead(ctx) { // a standby's read, after its read index (standby.go)
		return nil
	}
	if err := c.cluster.VerifyLeader(ctx); err != nil {
		return fmt.Errorf("%w: leadership check failed: %v", ErrNoActiveNode, err)
	}
	return nil
}

// checkPath refuses path tricks before routing: "." and ".." segments,
// empty segments and NUL bytes.
func checkPath(p string) error {
	if p == "" {
		return secrets.Errorf(secrets.ErrUnsupportedPath, "missing path")
	}
	segs := strings.Split(strings.TrimSuffix(p, "/"), "/")
	if slices.ContainsFunc(segs, func(s string) bool { return s == "" || s == "." || s == ".." }) || strings.ContainsRune(p, 0) {
		return badRequest("invalid request path %q", p)
	}
	return nil
}

// checkACL decides op on path for te with the request's data and wrap TTL
// (allowed/denied/required parameters, min/max wrapping TTL). Default
// deny: no matching rule is a 403.
func (c *Core) checkACL(te *TokenEntry, op secrets.Operation, path string, data map[string]any, wrapTTL time.Duration) (acl.Result, error) {
	if te == nil || te.Authz == nil {
		return acl.Result{}, permissionDenied()
	}
	r := te.Authz.ACL().Check(acl.Request{Operation: string(op), Path: path, Data: data, WrapTTL: wrapTTL})
	if !r.Allowed {
		return r, permissionDenied()
	}
	return r, nil
}

// authorize checks te's policies for op on path (no parameter
// constraints) and reports whether the token has sudo there.
func (c *Core) authorize(te *TokenEntry, op secrets.Operation, path string) (sudo bool, err error) {
	if te == nil || te.Authz == nil {
		return false, permissionDenied()
	}
	allowed, sudo := te.Authz.ACL().Allowed(string(op), path)
	if !allowed {
		return false, permissionDenied()
	}
	return sudo, nil
}

// anyCapabilityUnder reports whether te's policies grant anything at or
// below prefix.
func (c *Core) anyCapabilityUnder(te *TokenEntry, prefix string) bool {
	if te == nil {
		return false
	}
	return te.Authz.AnyGrantUnder(prefix)
}
