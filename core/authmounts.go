package core

import (
	"context"
	"strings"
	"time"

	"github.com/vaultd/vaultd/core/mounts"
	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// authTableKey holds the auth mount table (storedMounts JSON) behind the
// barrier. Auth engines see the view auth/<mount uuid>/.
const authTableKey = "core/auth"

// authTypes are the engine types that may be enabled as auth methods
// (sys/auth); the factories come from Config.Engines like every engine.
var authTypes = map[string]bool{
	"userpass": true, "approle": true, "ldap": true, "jwt": true, "oidc": true,
	"kubernetes": true, "cert": true, "github": true, "radius": true, "okta": true,
}

func tokenAuthEntry() (*MountEntry, error) {
	me, err := newMountEntry("token/", "token", "token based credentials", nil)
	if err != nil {
		return nil, err
	}
	me.Accessor = "auth_" + me.Accessor
	return me, nil
}

// loadAuthTable reads core/auth, creating it (with the built-in token
// method) on a cluster that has none yet.
func (c *Core) loadAuthTable(ctx context.Context) error {
	return c.ident.auth.Load(ctx, func() ([]*MountEntry, error) {
		tok, err := tokenAuthEntry()
		if err != nil {
			return nil, err
		}
		return []*MountEntry{tok}, nil
	})
}

// isUnauthenticated reports whether path needs no token: a login path an
// auth method declares, or sys/wrapping/lookup (Vault's rules).
func (c *Core) isUnauthenticated(path string) bool {
	if path == "sys/wrapping/lookup" {
		return true
	}
	rest, ok := strings.CutPrefix(path, "auth/")
	if !ok {
		return c.isUnauthenticatedSecret(path)
	}
	at := c.ident.auth.Current()
	if at == nil {
		return false
	}
	me := at.Match(rest)
	if me == nil || me.Type == "token" {
		return false
	}
	return at.Unauthenticated(me.Path, strings.TrimPrefix(rest, me.Path))
}

// isUnauthenticatedSecret reports whether path is one of a secrets
// engine's unauthenticated paths (PKI's CA and CRL reads, OCSP).
func (c *Core) isUnauthenticatedSecret(path string) bool {
	if path == "sys" || strings.HasPrefix(path, "sys/") {
		return false
	}
	mt := c.mounts.Current()
	if mt == nil {
		return false
	}
	me := mt.Match(path)
	if me == nil {
		return false
	}
	return mt.Unauthenticated(me.Path, strings.TrimPrefix(path, me.Path))
}

// EnableAuth enables an auth method (sys/auth/:path POST).
func (c *Core) EnableAuth(ctx context.Context, path, typ, desc string, opts map[string]string, cfg MountConfig) error {
	path, err := normalizeMountPath(path)
	if err != nil {
		return err
	}
	return c.ident.auth.Update(ctx, func(at *mountTable) ([]*MountEntry, error) {
		if typ == "token" || path == "token/" {
			return nil, badRequest("token credential backend cannot be instantiated")
		}
		if _, ok := c.cfg.Engines[typ]; !ok || !authTypes[typ] {
			return nil, badRequest("plugin not found in the catalog: %s", typ)
		}
		for _, me := range at.Entries() {
			if strings.HasPrefix(me.Path, path) || strings.HasPrefix(path, me.Path) {
				return nil, badRequest("path is already in use at auth/%s", me.Path)
			}
		}
		me, err := newMountEntry(path, typ, desc, opts)
		if err != nil {
			return nil, err
		}
		me.Accessor = "auth_" + me.Accessor
		me.Config = cfg
		return append(append([]*MountEntry(nil), at.Entries()...), me), nil
	})
}

// DisableAuth disables an auth method: it revokes every token issued
// through it, then deletes its data. Disabling an absent method succeeds.
func (c *Core) DisableAuth(ctx context.Context, path string) error {
	path, err := normalizeMountPath(path)
	if err != nil {
		return err
	}
	var gone *MountEntry
	err = c.ident.auth.Update(ctx, func(at *mountTable) ([]*MountEntry, error) {
		gone = at.Get(path)
		if gone == nil {
			return nil, mounts.ErrNoChange
		}
		if gone.Type == "token" {
			return nil, badRequest("token credential backend cannot be disabled")
		}
		return without(at.Entries(), gone), nil
	})
	if err != nil || gone == nil {
		return err
	}
	if _, err := c.leases.RevokePrefix(ctx, "auth/"+gone.Path); err != nil {
		return err
	}
	return storage.ClearPrefix(ctx, c.barrier, "auth/"+gone.UUID+"/")
}

// authMountTTLs returns the effective default and max TTLs of an auth
// mount (falling back to the system's).
func (c *Core) authMountTTLs(me *MountEntry) (def, max time.Duration) {
	def, max = c.cfg.DefaultLeaseTTL, c.cfg.MaxLeaseTTL
	if me != nil {
		if me.Config.DefaultLeaseTTL > 0 {
			def = time.Duration(me.Config.DefaultLeaseTTL) * time.Second
		}
		if me.Config.MaxLeaseTTL > 0 {
			max = time.Duration(me.Config.MaxLeaseTTL) * time.Second
		}
	}
	if def > max {
		def = max
	}
	return def, max
}

// ---- sys/auth ----

// loginTokenType resolves the type of a login's token: the mount forces
// "service" or "batch"; otherwise the role's choice ("service", "batch")
// wins over the mount's default.
func loginTokenType(me *MountEntry, role string) string {
	switch me.Config.TokenType {
	case tokens.TypeService, tokens.TypeBatch:
		return me.Config.TokenType
	}
	switch role {
	case tokens.TypeService, tokens.TypeBatch:
		return role
	}
	if me.Config.TokenType == "default-batch" {
		return tokens.TypeBatch
	}
	return tokens.TypeService
}

func (c *Core) sysAuth(ctx context.Context, op secrets.Operation, path string, data map[string]any) (*Response, error) {
	at := c.ident.auth.Current()
	if at == nil {
		return nil, ErrStandby
	}
	if path == "" {
		if op != secrets.OpRead && op != secrets.OpList {
			return nil, unsupportedOp()
		}
		out := map[string]any{}
		for _, me := range at.Entries() {
			out[me.Path] = mounts.AuthOutput(me)
		}
		return &Response{Data: out}, nil
	}
	if m, isTune := strings.CutSuffix(path, "/tune"); isTune {
		return c.sysAuthTune(ctx, op, m, data)
	}
	switch op {
	case secrets.OpRead:
		return c.sysAuthRead(path)
	}
	return mountWrite(ctx, op, path, data, c.EnableAuth, c.DisableAuth)
}

func (c *Core) sysAuthRead(path string) (*Response, error) {
	at := c.ident.auth.Current()
	if at == nil {
		return nil, ErrStandby
	}
	p, err := normalizeMountPath(path)
	if err != nil {
		return nil, err
	}
	me := at.Get(p)
	if me == nil {
		return nil, badRequest("no auth mount at %q", "auth/"+p)
	}
	return &Response{Data: mounts.AuthOutput(me)}, nil
}

func (c *Core) sysAuthTune(ctx context.Context, op secrets.Operation, path string, data map[string]any) (*Response, error) {
	p, err := normalizeMountPath(path)
	if err != nil {
		return nil, err
	}
	switch op {
	case secrets.OpRead:
		at := c.ident.auth.Current()
		if at == nil {
			return nil, ErrStandby
		}
		me := at.Get(p)
		if me == nil {
			return nil, badRequest("cannot fetch sysview for path %q", "auth/"+p)
		}
		def, max := c.authMountTTLs(me)
		out := mounts.TuneOutput(me, int64(def/time.Second), int64(max/time.Second))
		out["token_type"] = mounts.TokenTypeShown(me)
		return &Response{Data: out}, nil
	case secrets.OpCreate, secrets.OpUpdate:
		err := c.ident.auth.Update(ctx, func(at *mountTable) ([]*MountEntry, error) {
			old := at.Get(p)
			if old == nil {
				return nil, badRequest("no auth mount at %q", "auth/"+p)
			}
			return replaced(at.Entries(), old, func(cp *MountEntry) error {
				if err := mounts.ApplyTune(&cp.Config, data); err != nil {
					return err
				}
				if cp.Type == "token" && cp.Config.TokenType != "" && cp.Config.TokenType != "service" {
					return badRequest("the token auth method's token_type can only be default-service or service")
				}
				if d, ok := data["description"].(string); ok {
					cp.Description = d
				}
				return nil
			})
		})
		if err != nil {
			return nil, err
		}
		return &Response{}, nil
	}
	return nil, unsupportedOp()
}

// mountWrite serves the writes of sys/mounts/<path> and sys/auth/<path>:
// create and update enable a backend as the request body describes, delete
// disables it.
func mountWrite(ctx context.Context, op secrets.Operation, path string, data map[string]any,
	enable func(ctx context.Context, path, typ, desc string, opts map[string]string, cfg MountConfig) error,
	disable func(ctx context.Context, path string) error,
) (*Response, error) {
	switch op {
	case secrets.OpCreate, secrets.OpUpdate:
		typ, desc, opts, cfg, err := mounts.EnableParams(data)
		if err != nil {
			return nil, err
		}
		if err := enable(ctx, path, typ, desc, opts, cfg); err != nil {
			return nil, err
		}
		return &Response{}, nil
	case secrets.OpDelete:
		if err := disable(ctx, path); err != nil {
			return nil, err
		}
		return &Response{}, nil
	}
	return nil, unsupportedOp()
}
