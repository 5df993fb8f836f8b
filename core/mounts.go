package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

const mountTableKey = "core/mounts"

// MountConfig is a mount's tunable configuration (seconds, as Vault shows it).
type MountConfig struct {
	DefaultLeaseTTL int64 `json:"default_lease_ttl"`
	MaxLeaseTTL     int64 `json:"max_lease_ttl"`
	ForceNoCache    bool  `json:"force_no_cache"`
	// TokenType (auth mounts only) is the type of the tokens its logins
	// get: "service" or "batch" force it; "default-service" (the
	// default, "") and "default-batch" apply when the role does not say.
	TokenType string `json:"token_type,omitempty"`
}

// MountEntry is one row of the mount table.
type MountEntry struct {
	Path        string            `json:"path"` // "secret/"
	Type        string            `json:"type"`
	Description string            `json:"description"`
	UUID        string            `json:"uuid"`
	Accessor    string            `json:"accessor"`
	Config      MountConfig       `json:"config"`
	Options     map[string]string `json:"options"`
	Local       bool              `json:"local"`
	SealWrap    bool              `json:"seal_wrap"`
}

// mountTable is immutable once built; changes build a new one and swap it.
type mountTable struct {
	entries []*MountEntry // sorted by path
	engines map[string]secrets.Backend
	views   map[string]storage.Backend
	// unauth holds, per mount path, the engine's unauthenticated path
	// patterns (PKI's ca, crl, ocsp ...), from secrets.Unauthenticated.
	unauth map[string][]string
}

// storedMounts is the JSON at core/mounts.
type storedMounts struct {
	Entries []*MountEntry `json:"entries"`
}

// reservedMounts are paths no engine can be mounted at or under.
var reservedMounts = []string{"sys/", "auth/", "identity/", "cubbyhole/"}

func (c *Core) defaultMounts() (storedMounts, error) {
	var sm storedMounts
	if _, ok := c.cfg.Engines["cubbyhole"]; ok {
		e, err := newMountEntry("cubbyhole/", "cubbyhole", "per-token private secret storage", nil)
		if err != nil {
			return sm, err
		}
		sm.Entries = append(sm.Entries, e)
	}
	return sm, nil
}

func newMountEntry(path, typ, desc string, opts map[string]string) (*MountEntry, error) {
	acc := make([]byte, 4)
	if _, err := rand.Read(acc); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = map[string]string{}
	}
	return &MountEntry{
		Path: path, Type: typ, Description: desc, UUID: uuid.NewString(),
		Accessor: typ + "_" + hex.EncodeToString(acc), Options: opts,
	}, nil
}

func (c *Core) loadMounts(ctx context.Context) (*mountTable, error) {
	e, err := c.barrier.Get(ctx, mountTableKey)
	if err != nil {
		return nil, fmt.Errorf("core: mount table: %w", err)
	}
	var sm storedMounts
	if err := json.Unmarshal(e.Value, &sm); err != nil {
		return nil, fmt.Errorf("core: mount table: %w", err)
	}
	return c.buildTable(ctx, sm.Entries)
}

func (c *Core) buildTable(ctx context.Context, entries []*MountEntry) (*mountTable, error) {
	mt := &mountTable{engines: map[string]secrets.Backend{}, views: map[string]storage.Backend{}, unauth: map[string][]string{}}
	for _, me := range entries {
		f, ok := c.cfg.Engines[me.Type]
		if !ok {
			return nil, fmt.Errorf("core: mount %q: unknown engine type %q", me.Path, me.Type)
		}
		view := storage.NewView(c.barrier, "logical/"+me.UUID+"/")
		eng, err := f(ctx, secrets.Config{
			Type: me.Type, Options: me.Options, Storage: view,
			Logger: c.cfg.Logger.With("mount", me.Path), Now: c.now,
		})
		if err != nil {
			return nil, fmt.Errorf("core: mount %q: %w", me.Path, err)
		}
		mt.entries = append(mt.entries, me)
		mt.engines[me.Path] = eng
		mt.views[me.Path] = view
		if u, ok := eng.(secrets.Unauthenticated); ok && me.Type != "cubbyhole" {
			mt.unauth[me.Path] = u.UnauthenticatedPaths()
		}
	}
	sort.Slice(mt.entries, func(i, j int) bool { return mt.entries[i].Path < mt.entries[j].Path })
	return mt, nil
}

// match returns the mount with the longest path that prefixes p.
func (mt *mountTable) match(p string) *MountEntry {
	var best *MountEntry
	for _, me := range mt.entries {
		if strings.HasPrefix(p, me.Path) || p+"/" == me.Path {
			if best == nil || len(me.Path) > len(best.Path) {
				best = me
			}
		}
	}
	return best
}

func (mt *mountTable) get(path string) *MountEntry {
	for _, me := range mt.entries {
		if me.Path == path {
			return me
		}
	}
	return nil
}

// saveMounts persists entries and swaps in a freshly built table.
// Callers hold mountMu, which serialises mount table changes.
func (c *Core) saveMounts(ctx context.Context, entries []*MountEntry) error {
	mt, err := c.buildTable(ctx, entries)
	if err != nil {
		return err
	}
	b, err := json.Marshal(storedMounts{Entries: entries})
	if err != nil {
		return err
	}
	if err := c.barrier.Put(ctx, &storage.Entry{Key: mountTableKey, Value: b}); err != nil {
		return err
	}
	c.mounts.Store(mt)
	return nil
}

// normalizeMountPath cleans a user-supplied mount path to "a/b/".
func normalizeMountPath(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", badRequest("mount path cannot be empty")
	}
	if err := storage.ValidateKey(p); err != nil {
		return "", badRequest("invalid mount path %q", p)
	}
	return p + "/", nil
}

// EnableMount mounts an engine (sys/mounts/:path POST).
func (c *Core) EnableMount(ctx context.Context, path, typ, desc string, opts map[string]string, cfg MountConfig) error {
	if cfg.TokenType != "" {
		return badRequest("token_type can only be set on auth mounts")
	}
	c.mountMu.Lock()
	defer c.mountMu.Unlock()
	mt := c.mounts.Load()
	if mt == nil {
		return ErrStandby
	}
	path, err := normalizeMountPath(path)
	if err != nil {
		return err
	}
	for _, r := range reservedMounts {
		if strings.HasPrefix(path, r) || strings.HasPrefix(r, path) {
			return badRequest("cannot mount at reserved path %q", path)
		}
	}
	if typ == "kv-v2" {
		typ = "kv"
		if opts == nil {
			opts = map[string]string{}
		}
		opts["version"] = "2"
	}
	if _, ok := c.cfg.Engines[typ]; !ok || typ == "cubbyhole" || authTypes[typ] {
		return badRequest("plugin not found in the catalog: %s", typ)
	}
	for _, me := range mt.entries {
		if strings.HasPrefix(me.Path, path) || strings.HasPrefix(path, me.Path) {
			return badRequest("path is already in use at %s", me.Path)
		}
	}
	me, err := newMountEntry(path, typ, desc, opts)
	if err != nil {
		return err
	}
	me.Config = cfg
	entries := append(append([]*MountEntry(nil), mt.entries...), me)
	return c.saveMounts(ctx, entries)
}

// DisableMount unmounts path and deletes all of its data.
func (c *Core) DisableMount(ctx context.Context, path string) error {
	c.mountMu.Lock()
	defer c.mountMu.Unlock()
	mt := c.mounts.Load()
	if mt == nil {
		return ErrStandby
	}
	path, err := normalizeMountPath(path)
	if err != nil {
		return err
	}
	me := mt.get(path)
	if me == nil {
		return nil // Vault: disabling an absent mount succeeds
	}
	if me.Type == "cubbyhole" {
		return badRequest("cannot unmount %q", path)
	}
	var entries []*MountEntry
	for _, e := range mt.entries {
		if e != me {
			entries = append(entries, e)
		}
	}
	if err := c.saveMounts(ctx, entries); err != nil {
		return err
	}
	return storage.ClearPrefix(ctx, c.barrier, "logical/"+me.UUID+"/")
}

// TuneMount changes a mount's config and description.
func (c *Core) TuneMount(ctx context.Context, path string, apply func(me *MountEntry) error) error {
	c.mountMu.Lock()
	defer c.mountMu.Unlock()
	mt := c.mounts.Load()
	if mt == nil {
		return ErrStandby
	}
	path, err := normalizeMountPath(path)
	if err != nil {
		return err
	}
	old := mt.get(path)
	if old == nil {
		return badRequest("no mount at %q", path)
	}
	entries := make([]*MountEntry, 0, len(mt.entries))
	for _, e := range mt.entries {
		if e == old {
			cp := *e
			cp.Options = cloneMap(e.Options)
			if err := apply(&cp); err != nil {
				return err
			}
			e = &cp
		}
		entries = append(entries, e)
	}
	return c.saveMounts(ctx, entries)
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Mounts returns the current mount table (nil unless active).
func (c *Core) Mounts() []*MountEntry {
	mt := c.mounts.Load()
	if mt == nil {
		return nil
	}
	return mt.entries
}
