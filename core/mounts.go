package core

import (
	"context"
	"strings"

	"github.com/vaultd/vaultd/core/mounts"
	"github.com/vaultd/vaultd/storage"
)

const mountTableKey = "core/mounts"

// The mount tables are core/mounts': a row, its configuration, and the
// immutable table built from the rows.
type (
	MountConfig = mounts.Config
	MountEntry  = mounts.Entry
	mountTable  = mounts.Table
)

// reservedMounts are paths no engine can be mounted at or under.
var reservedMounts = []string{"sys/", "auth/", "identity/", "cubbyhole/"}

// newMountSets makes the secrets engines' and the auth methods' tables.
func (c *Core) newMountSets() {
	c.mounts = mounts.NewSet(mounts.SetConfig{
		Key: mountTableKey, ViewPrefix: "logical/", What: "mount",
		Barrier: c.barrier, Engines: c.cfg.Engines, Logger: c.cfg.Logger, Now: c.now, Inactive: ErrStandby,
		PublicPaths: func(me *MountEntry) bool { return me.Type != "cubbyhole" },
	})
	c.ident.auth = mounts.NewSet(mounts.SetConfig{
		Key: authTableKey, ViewPrefix: "auth/", What: "auth mount",
		Barrier: c.barrier, Engines: c.cfg.Engines, Logger: c.cfg.Logger, Now: c.now, Inactive: ErrStandby,
		NoEngine: func(me *MountEntry) bool { return me.Type == "token" },
	})
}

func (c *Core) defaultMounts() ([]*MountEntry, error) {
	var out []*MountEntry
	if _, ok := c.cfg.Engines["cubbyhole"]; ok {
		e, err := newMountEntry("cubbyhole/", "cubbyhole", "per-token private secret storage", nil)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

var newMountEntry = mounts.NewEntry

// normalizeMountPath cleans a user-supplied mount path to "a/b/".
var normalizeMountPath = mounts.NormalizePath

// EnableMount mounts an engine (sys/mounts/:path POST).
func (c *Core) EnableMount(ctx context.Context, path, typ, desc string, opts map[string]string, cfg MountConfig) error {
	if cfg.TokenType != "" {
		return badRequest("token_type can only be set on auth mounts")
	}
	path, err := normalizeMountPath(path)
	if err != nil {
		return err
	}
	return c.mounts.Update(ctx, func(mt *mountTable) ([]*MountEntry, error) {
		for _, r := range reservedMounts {
			if strings.HasPrefix(path, r) || strings.HasPrefix(r, path) {
				return nil, badRequest("cannot mount at reserved path %q", path)
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
			return nil, badRequest("plugin not found in the catalog: %s", typ)
		}
		for _, me := range mt.Entries() {
			if strings.HasPrefix(me.Path, path) || strings.HasPrefix(path, me.Path) {
				return nil, badRequest("path is already in use at %s", me.Path)
			}
		}
		me, err := newMountEntry(path, typ, desc, opts)
		if err != nil {
			return nil, err
		}
		me.Config = cfg
		return append(append([]*MountEntry(nil), mt.Entries()...), me), nil
	})
}

// DisableMount unmounts path and deletes all of its data.
func (c *Core) DisableMount(ctx context.Context, path string) error {
	path, err := normalizeMountPath(path)
	if err != nil {
		return err
	}
	var gone *MountEntry
	err = c.mounts.Update(ctx, func(mt *mountTable) ([]*MountEntry, error) {
		gone = mt.Get(path)
		if gone == nil {
			return nil, mounts.ErrNoChange // Vault: disabling an absent mount succeeds
		}
		if gone.Type == "cubbyhole" {
			return nil, badRequest("cannot unmount %q", path)
		}
		return without(mt.Entries(), gone), nil
	})
	if err != nil || gone == nil {
		return err
	}
	return storage.ClearPrefix(ctx, c.barrier, "logical/"+gone.UUID+"/")
}

// without is entries less drop.
func without(entries []*MountEntry, drop *MountEntry) []*MountEntry {
	var out []*MountEntry
	for _, e := range entries {
		if e != drop {
			out = append(out, e)
		}
	}
	return out
}

// replaced is entries with old changed by apply (on a copy).
func replaced(entries []*MountEntry, old *MountEntry, apply func(me *MountEntry) error) ([]*MountEntry, error) {
	out := make([]*MountEntry, 0, len(entries))
	for _, e := range entries {
		if e == old {
			cp := e.Clone()
			if err := apply(cp); err != nil {
				return nil, err
			}
			e = cp
		}
		out = append(out, e)
	}
	return out, nil
}

// TuneMount changes a mount's config and description.
func (c *Core) TuneMount(ctx context.Context, path string, apply func(me *MountEntry) error) error {
	path, err := normalizeMountPath(path)
	if err != nil {
		return err
	}
	return c.mounts.Update(ctx, func(mt *mountTable) ([]*MountEntry, error) {
		old := mt.Get(path)
		if old == nil {
			return nil, badRequest("no mount at %q", path)
		}
		return replaced(mt.Entries(), old, apply)
	})
}

// Mounts returns the current mount table (nil unless active).
func (c *Core) Mounts() []*MountEntry {
	mt := c.mounts.Current()
	if mt == nil {
		return nil
	}
	return mt.Entries()
}
