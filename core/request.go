package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

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
	WrapTTL     time.Duration
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
	// StatusCode overrides the HTTP status; 0 means 200, or 204 without data.
	StatusCode int
	// Raw, when set, is the whole JSON body (no envelope), as some sys
	// endpoints answer (sys/mounts has both top-level and "data" copies).
	Raw map[string]any
}

// ResponseAuth is the "auth" block of a login or token-create response.
type ResponseAuth struct {
	ClientToken   string            `json:"client_token"`
	Accessor      string            `json:"accessor"`
	Policies      []string          `json:"policies"`
	TokenPolicies []string          `json:"token_policies"`
	Metadata      map[string]string `json:"metadata"`
	LeaseDuration int               `json:"lease_duration"`
	Renewable     bool              `json:"renewable"`
	EntityID      string            `json:"entity_id"`
	TokenType     string            `json:"token_type"`
	Orphan        bool              `json:"orphan"`
	NumUses       int               `json:"num_uses"`
}

// HandleRequest runs token lookup → ACL → router → engine on the active node.
func (c *Core) HandleRequest(ctx context.Context, req *Request) (*Response, error) {
	if c.barrier.Sealed() {
		return nil, ErrSealed
	}
	mt := c.mounts.Load()
	if !c.active.Load() || mt == nil {
		return nil, ErrStandby
	}
	path := req.Path
	if err := checkPath(path); err != nil {
		return nil, err
	}
	te, err := c.tokens.lookup(ctx, req.ClientToken)
	if errors.Is(err, errTokenNotFound) {
		return nil, permissionDenied()
	}
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(path, "sys/") || path == "sys" {
		return c.handleSys(ctx, req, te)
	}
	me := mt.match(path)
	if me == nil {
		if _, err := c.authorize(te, req.Operation, path); err != nil {
			return nil, err
		}
		return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "no handler for route %q. route entry not found.", path)
	}
	eng := mt.engines[me.Path]
	sreq := &secrets.Request{
		Operation:     req.Operation,
		Path:          strings.TrimPrefix(path, me.Path),
		Data:          req.Data,
		Storage:       mt.views[me.Path],
		MountPoint:    me.Path,
		ClientToken:   te.ID,
		TokenAccessor: te.Accessor,
		DisplayName:   te.DisplayName,
		RemoteAddr:    req.RemoteAddr,
	}
	if sreq.Data == nil {
		sreq.Data = map[string]any{}
	}
	if sreq.Operation == secrets.OpUpdate {
		if ec, ok := eng.(secrets.ExistenceChecker); ok {
			exists, checked, err := ec.Exists(ctx, sreq)
			if err != nil {
				return nil, err
			}
			if checked && !exists {
				sreq.Operation = secrets.OpCreate
			}
		}
	}
	if _, err := c.authorize(te, sreq.Operation, path); err != nil {
		return nil, err
	}
	if err := c.verifyForRead(ctx, sreq.Operation); err != nil {
		return nil, err
	}
	sresp, err := eng.HandleRequest(ctx, sreq)
	if err != nil {
		return nil, err
	}
	return &Response{
		Data: sresp.Data, Warnings: sresp.Warnings, StatusCode: sresp.StatusCode,
		MountType: me.Type,
	}, nil
}

// verifyForRead makes reads linearizable: the active node confirms with a
// quorum that it still leads before answering from its local state.
func (c *Core) verifyForRead(ctx context.Context, op secrets.Operation) error {
	if op != secrets.OpRead && op != secrets.OpList {
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

// authorize checks te's policies for op on path and reports whether the
// token has sudo there.
func (c *Core) authorize(te *TokenEntry, op secrets.Operation, path string) (sudo bool, err error) {
	if slices.Contains(te.Policies, "root") {
		return true, nil
	}
	return false, permissionDenied()
}

// anyCapabilityUnder reports whether te's policies grant anything at or
// below prefix.
func (c *Core) anyCapabilityUnder(te *TokenEntry, prefix string) bool {
	return slices.Contains(te.Policies, "root")
}
