package core

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/vaultd/vaultd/core/policies"
	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// Built-in policy names (core/policies owns them).
const (
	rootPolicy             = policies.RootPolicy
	defaultPolicy          = policies.DefaultPolicy
	responseWrappingPolicy = policies.ResponseWrappingPolicy
)

// callerKey carries the request's token entry to core's declared sys
// handlers (endpoint handlers see only a secrets.Request).
type callerKey struct{}

func withCaller(ctx context.Context, te *TokenEntry) context.Context {
	return context.WithValue(ctx, callerKey{}, te)
}

func callerFrom(ctx context.Context) *TokenEntry {
	te, _ := ctx.Value(callerKey{}).(*TokenEntry)
	return te
}

// ---- sys/capabilities, -self, -accessor ----

// capabilities declares sys/capabilities, sys/capabilities-self and
// sys/capabilities-accessor, relative to the sys/ mount.
type capabilities struct {
	c    *Core
	once sync.Once
	ep   *endpoint.Backend
}

func (cp *capabilities) Backend() *endpoint.Backend {
	cp.once.Do(func() {
		paths := map[string]*endpoint.Field{
			"paths": {Type: endpoint.TypeCommaStringSlice, Description: "The paths to report the token's capabilities on."},
			"path":  {Type: endpoint.TypeCommaStringSlice, Description: "A path to report the token's capabilities on (added to paths).", Deprecated: true},
		}
		with := func(name, desc string) map[string]*endpoint.Field {
			out := map[string]*endpoint.Field{name: {Type: endpoint.TypeString, Description: desc}}
			for k, v := range paths {
				out[k] = v
			}
			return out
		}
		cp.ep = &endpoint.Backend{
			Help:            "The capabilities a token has on paths.",
			StorageOptional: true,
			Paths: []*endpoint.Path{
				{
					Pattern: "capabilities", Fields: with("token", "The token to check."),
					Summary:    "Report a token's capabilities on paths.",
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: cp.handle("token")},
				},
				{
					Pattern: "capabilities-self", Fields: paths,
					Summary:    "Report the calling token's capabilities on paths.",
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: cp.handle("")},
				},
				{
					Pattern: "capabilities-accessor", Fields: with("accessor", "The accessor of the token to check."),
					Summary:    "Report the capabilities of the token with an accessor on paths.",
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: cp.handle("accessor")},
				},
			},
		}
	})
	return cp.ep
}

// handle reports the capabilities of the token named by field ("token",
// "accessor"), or of the caller ("").
func (cp *capabilities) handle(field string) endpoint.Handler {
	c := cp.c
	return func(ctx context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
		var paths []string
		for _, k := range []string{"paths", "path"} {
			l, _ := d.Get(k).([]string)
			paths = append(paths, l...)
		}
		if len(paths) == 0 {
			return nil, badRequest("missing paths")
		}
		for i, p := range paths {
			paths[i] = strings.TrimPrefix(p, "/")
		}
		var target *TokenEntry
		var err error
		switch field {
		case "":
			if target = callerFrom(ctx); target == nil {
				return nil, permissionDenied()
			}
		case "token":
			tok := d.String("token")
			if tok == "" {
				return nil, badRequest("missing token")
			}
			if target, err = c.lookupBodyToken(ctx, tok); err != nil {
				if errors.Is(err, tokens.ErrNotFound) {
					return nil, badRequest("invalid token")
				}
				return nil, err
			}
		case "accessor":
			a := d.String("accessor")
			if a == "" {
				return nil, badRequest("missing accessor")
			}
			if target, err = c.tokens.LookupAccessor(ctx, a); err != nil {
				if errors.Is(err, tokens.ErrNotFound) {
					return nil, badRequest("invalid accessor")
				}
				return nil, err
			}
		}
		az, _, err := c.effectiveAuthz(ctx, target) // identitystore.go
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		for _, p := range paths {
			out[p] = az.ACL().Capabilities(p)
		}
		if len(paths) == 1 {
			out["capabilities"] = out[paths[0]]
		}
		return &secrets.Response{Data: out}, nil
	}
}
