package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

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

// authTable is immutable once built; changes build a new one and swap it.
type authTable struct {
	entries []*MountEntry // sorted by path; includes the built-in "token/"
	engines map[string]secrets.Backend
	views   map[string]storage.Backend
	unauth  map[string][]string // mount path → unauthenticated path patterns
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
func (c *Core) loadAuthTable(ctx context.Context) (*authTable, error) {
	var sm storedMounts
	e, err := c.barrier.Get(ctx, authTableKey)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		tok, err := tokenAuthEntry()
		if err != nil {
			return nil, err
		}
		sm.Entries = []*MountEntry{tok}
		b, err := json.Marshal(sm)
		if err != nil {
			return nil, err
		}
		if err := c.barrier.Put(ctx, &storage.Entry{Key: authTableKey, Value: b}); err != nil {
			return nil, fmt.Errorf("core: auth table: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("core: auth table: %w", err)
	default:
		if err := json.Unmarshal(e.Value, &sm); err != nil {
			return nil, fmt.Errorf("core: auth table: %w", err)
		}
	}
	return c.buildAuthTable(ctx, sm.Entries)
}

func (c *Core) buildAuthTable(ctx context.Context, entries []*MountEntry) (*authTable, error) {
	at := &authTable{engines: map[string]secrets.Backend{}, views: map[string]storage.Backend{}, unauth: map[string][]string{}}
	for _, me := range entries {
		at.entries = append(at.entries, me)
		if me.Type == "token" {
			continue
		}
		f, ok := c.cfg.Engines[me.Type]
		if !ok {
			return nil, fmt.Errorf("core: auth mount %q: unknown auth method type %q", me.Path, me.Type)
		}
		view := storage.NewView(c.barrier, "auth/"+me.UUID+"/")
		eng, err := f(ctx, secrets.Config{
			Type: me.Type, Options: me.Options, Storage: view,
			Logger: c.cfg.Logger.With("auth_mount", me.Path), Now: c.now,
		})
		if err != nil {
			return nil, fmt.Errorf("core: auth mount %q: %w", me.Path, err)
		}
		at.engines[me.Path] = eng
		at.views[me.Path] = view
		if u, ok := eng.(secrets.Unauthenticated); ok {
			at.unauth[me.Path] = u.UnauthenticatedPaths()
		}
	}
	sort.Slice(at.entries, func(i, j int) bool { return at.entries[i].Path < at.entries[j].Path })
	return at, nil
}

// match returns the auth mount with the longest path prefixing p (p is
// relative to "auth/").
func (at *authTable) match(p string) *MountEntry {
	var best *MountEntry
	for _, me := range at.entries {
		if strings.HasPrefix(p, me.Path) || p+"/" == me.Path {
			if best == nil || len(me.Path) > len(best.Path) {
				best = me
			}
		}
	}
	return best
}

func (at *authTable) get(path string) *MountEntry {
	for _, me := range at.entries {
		if me.Path == path {
			return me
		}
	}
	return nil
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
	at := c.ident.auth.Load()
	if at == nil {
		return false
	}
	me := at.match(rest)
	if me == nil || me.Type == "token" {
		return false
	}
	return matchUnauthPaths(at.unauth[me.Path], strings.TrimPrefix(rest, me.Path))
}

// isUnauthenticatedSecret reports whether path is one of a secrets
// engine's unauthenticated paths (PKI's CA and CRL reads, OCSP).
func (c *Core) isUnauthenticatedSecret(path string) bool {
	if path == "sys" || strings.HasPrefix(path, "sys/") {
		return false
	}
	mt := c.mounts.Load()
	if mt == nil {
		return false
	}
	me := mt.match(path)
	if me == nil {
		return false
	}
	return matchUnauthPaths(mt.unauth[me.Path], strings.TrimPrefix(path, me.Path))
}

// matchUnauthPaths matches sub (relative to the mount) against an
// engine's unauthenticated patterns: a trailing "*" matches any rest, a
// "+" segment matches exactly one non-empty segment, anything else is
// literal (with an optional trailing slash).
func matchUnauthPaths(patterns []string, sub string) bool {
	for _, pat := range patterns {
		if g, isGlob := strings.CutSuffix(pat, "*"); isGlob && !strings.Contains(g, "+") {
			if strings.HasPrefix(sub, g) {
				return true
			}
			continue
		}
		if !strings.Contains(pat, "+") {
			if sub == pat || sub == pat+"/" {
				return true
			}
			continue
		}
		ps, ss := strings.Split(pat, "/"), strings.Split(strings.TrimSuffix(sub, "/"), "/")
		if len(ps) != len(ss) {
			continue
		}
		ok := true
		for i := range ps {
			if ps[i] == "+" && ss[i] != "" {
				continue
			}
			if ps[i] != ss[i] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// saveAuthTable persists entries and swaps in a freshly built table.
// Callers hold ident.authMu.
func (c *Core) saveAuthTable(ctx context.Context, entries []*MountEntry) error {
	at, err := c.buildAuthTable(ctx, entries)
	if err != nil {
		return err
	}
	b, err := json.Marshal(storedMounts{Entries: entries})
	if err != nil {
		return err
	}
	if err := c.barrier.Put(ctx, &storage.Entry{Key: authTableKey, Value: b}); err != nil {
		return err
	}
	c.ident.auth.Store(at)
	return nil
}

// EnableAuth enables an auth method (sys/auth/:path POST).
func (c *Core) EnableAuth(ctx context.Context, path, typ, desc string, opts map[string]string, cfg MountConfig) error {
	c.ident.authMu.Lock()
	defer c.ident.authMu.Unlock()
	at := c.ident.auth.Load()
	if at == nil {
		return ErrStandby
	}
	path, err := normalizeMountPath(path)
	if err != nil {
		return err
	}
	if typ == "token" || path == "token/" {
		return badRequest("token credential backend cannot be instantiated")
	}
	if _, ok := c.cfg.Engines[typ]; !ok || !authTypes[typ] {
		return badRequest("plugin not found in the catalog: %s", typ)
	}
	for _, me := range at.entries {
		if strings.HasPrefix(me.Path, path) || strings.HasPrefix(path, me.Path) {
			return badRequest("path is already in use at auth/%s", me.Path)
		}
	}
	me, err := newMountEntry(path, typ, desc, opts)
	if err != nil {
		return err
	}
	me.Accessor = "auth_" + me.Accessor
	me.Config = cfg
	return c.saveAuthTable(ctx, append(append([]*MountEntry(nil), at.entries...), me))
}

// DisableAuth disables an auth method: it revokes every token issued
// through it, then deletes its data. Disabling an absent method succeeds.
func (c *Core) DisableAuth(ctx context.Context, path string) error {
	c.ident.authMu.Lock()
	defer c.ident.authMu.Unlock()
	at := c.ident.auth.Load()
	if at == nil {
		return ErrStandby
	}
	path, err := normalizeMountPath(path)
	if err != nil {
		return err
	}
	me := at.get(path)
	if me == nil {
		return nil
	}
	if me.Type == "token" {
		return badRequest("token credential backend cannot be disabled")
	}
	var entries []*MountEntry
	for _, e := range at.entries {
		if e != me {
			entries = append(entries, e)
		}
	}
	if err := c.saveAuthTable(ctx, entries); err != nil {
		return err
	}
	if _, err := c.leases.RevokePrefix(ctx, "auth/"+me.Path); err != nil {
		return err
	}
	return storage.ClearPrefix(ctx, c.barrier, "auth/"+me.UUID+"/")
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

// mountTokenType is an auth mount's token_type as Vault shows it.
func mountTokenType(me *MountEntry) string {
	if me.Config.TokenType == "" {
		return "default-service"
	}
	return me.Config.TokenType
}

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

func authMountOutput(me *MountEntry) map[string]any {
	out := mountOutput(me)
	if cfg, ok := out["config"].(map[string]any); ok {
		cfg["token_type"] = mountTokenType(me)
	}
	return out
}

func (c *Core) sysAuth(ctx context.Context, op secrets.Operation, path string, data map[string]any) (*Response, error) {
	at := c.ident.auth.Load()
	if at == nil {
		return nil, ErrStandby
	}
	if path == "" {
		if op != secrets.OpRead && op != secrets.OpList {
			return nil, unsupportedOp()
		}
		out := map[string]any{}
		for _, me := range at.entries {
			out[me.Path] = authMountOutput(me)
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
	at := c.ident.auth.Load()
	if at == nil {
		return nil, ErrStandby
	}
	p, err := normalizeMountPath(path)
	if err != nil {
		return nil, err
	}
	me := at.get(p)
	if me == nil {
		return nil, badRequest("no auth mount at %q", "auth/"+p)
	}
	return &Response{Data: authMountOutput(me)}, nil
}

func (c *Core) sysAuthTune(ctx context.Context, op secrets.Operation, path string, data map[string]any) (*Response, error) {
	p, err := normalizeMountPath(path)
	if err != nil {
		return nil, err
	}
	switch op {
	case secrets.OpRead:
		at := c.ident.auth.Load()
		if at == nil {
			return nil, ErrStandby
		}
		me := at.get(p)
		if me == nil {
			return nil, badRequest("cannot fetch sysview for path %q", "auth/"+p)
		}
		def, max := c.authMountTTLs(me)
		out := tuneOutput(me, int64(def/time.Second), int64(max/time.Second))
		out["token_type"] = mountTokenType(me)
		return &Response{Data: out}, nil
	case secrets.OpCreate, secrets.OpUpdate:
		c.ident.authMu.Lock()
		defer c.ident.authMu.Unlock()
		at := c.ident.auth.Load()
		if at == nil {
			return nil, ErrStandby
		}
		old := at.get(p)
		if old == nil {
			return nil, badRequest("no auth mount at %q", "auth/"+p)
		}
		entries := make([]*MountEntry, 0, len(at.entries))
		for _, e := range at.entries {
			if e == old {
				cp := *e
				cp.Options = cloneMap(e.Options)
				if err := applyTune(&cp.Config, data); err != nil {
					return nil, err
				}
				if cp.Type == "token" && cp.Config.TokenType != "" && cp.Config.TokenType != "service" {
					return nil, badRequest("the token auth method's token_type can only be default-service or service")
				}
				if d, ok := data["description"].(string); ok {
					cp.Description = d
				}
				e = &cp
			}
			entries = append(entries, e)
		}
		if err := c.saveAuthTable(ctx, entries); err != nil {
			return nil, err
		}
		return &Response{}, nil
	}
	return nil, unsupportedOp()
}

// tuneOutput is the body of a read of sys/mounts/<path>/tune or
// sys/auth/<path>/tune, with the effective lease TTLs in seconds.
func tuneOutput(me *MountEntry, defTTL, maxTTL int64) map[string]any {
	out := map[string]any{
		"default_lease_ttl": defTTL, "max_lease_ttl": maxTTL, "force_no_cache": me.Config.ForceNoCache,
		"description": me.Description,
	}
	if len(me.Options) > 0 {
		out["options"] = me.Options
	}
	return out
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
		typ, desc, opts, cfg, err := enableParams(data)
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

// enableParams reads the body of a mount-enable request (sys/mounts/<path>
// and sys/auth/<path>): the backend type, description, options and tuning.
func enableParams(data map[string]any) (typ, desc string, opts map[string]string, cfg MountConfig, err error) {
	typ, _ = data["type"].(string)
	if typ == "" {
		return "", "", nil, MountConfig{}, badRequest("backend type must be specified as a string")
	}
	desc, _ = data["description"].(string)
	opts = map[string]string{}
	if o, ok := data["options"].(map[string]any); ok {
		for k, v := range o {
			opts[k] = fmt.Sprint(v)
		}
	}
	if m, ok := data["config"].(map[string]any); ok {
		if err := applyTune(&cfg, m); err != nil {
			return "", "", nil, MountConfig{}, err
		}
	}
	return typ, desc, opts, cfg, nil
}
