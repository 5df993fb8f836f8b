package core

import (
	"context"
	"errors"
	"strings"

	"github.com/vaultd/vaultd/core/internal/reqfield"
	"github.com/vaultd/vaultd/core/policies"
	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/secrets"
)

// Built-in policy names (core/policies owns them).
const (
	rootPolicy             = policies.RootPolicy
	defaultPolicy          = policies.DefaultPolicy
	responseWrappingPolicy = policies.ResponseWrappingPolicy
)

// ---- sys/capabilities, -self, -accessor ----

func (c *Core) sysCapabilities(ctx context.Context, path string, op secrets.Operation, data map[string]any, te *TokenEntry) (*Response, error) {
	if op != secrets.OpUpdate && op != secrets.OpCreate {
		return nil, unsupportedOp()
	}
	paths, err := capabilityPaths(data)
	if err != nil {
		return nil, err
	}
	var target *TokenEntry
	switch path {
	case "sys/capabilities-self":
		target = te
	case "sys/capabilities":
		tok, _ := data["token"].(string)
		if tok == "" {
			return nil, badRequest("missing token")
		}
		if target, err = c.tokens.Lookup(ctx, tok); err != nil {
			if errors.Is(err, tokens.ErrNotFound) {
				return nil, badRequest("invalid token")
			}
			return nil, err
		}
	case "sys/capabilities-accessor":
		a, _ := data["accessor"].(string)
		if a == "" {
			return nil, badRequest("missing accessor")
		}
		if target, err = c.tokens.LookupAccessor(ctx, a); err != nil {
			if errors.Is(err, tokens.ErrNotFound) {
				return nil, badRequest("invalid accessor")
			}
			return nil, err
		}
	default:
		return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
	}
	az, err := c.ident.policies.AuthzFor(ctx, target.Policies)
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
	return &Response{Data: out}, nil
}

func capabilityPaths(data map[string]any) ([]string, error) {
	var paths []string
	for _, k := range []string{"paths", "path"} {
		l, _, err := reqfield.Strings(data, k)
		if err != nil {
			return nil, err
		}
		paths = append(paths, l...)
	}
	if len(paths) == 0 {
		return nil, badRequest("missing paths")
	}
	for i, p := range paths {
		paths[i] = strings.TrimPrefix(p, "/")
	}
	return paths, nil
}
