package core

import (
	"context"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/vaultd/vaultd/core/internal/reqfield"
	"github.com/vaultd/vaultd/secrets"
)

// sys/remount moves a secrets engine or an auth method to another path
// (Vault ≥ 1.10's API: POST sys/remount {from, to} answers a migration_id,
// GET sys/remount/status/:migration_id reports it). A mount's data lives
// under its UUID (logical/<uuid>/, auth/<uuid>/), not its path, so the
// move is a mount table change: the data, the accessor and the UUID stay.
// As in Vault, leases issued under the old path (for an auth method: the
// tokens it issued) are revoked, since their IDs name the old path.
//
// The move is done before POST answers, so the status is "success" or
// the POST failed; the status is kept in memory for a while (Vault keeps
// it in memory too) so that clients that poll it, like vault/api's
// Sys().Remount, get an answer.

// remountStatus is one migration's record.
type remountStatus struct {
	id, from, to, status string
}

// remountLog keeps the latest migrations' statuses (bounded).
type remountLog struct {
	mu    sync.Mutex
	order []string
	byID  map[string]remountStatus
}

const maxRemountStatuses = 256

func (l *remountLog) add(s remountStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byID == nil {
		l.byID = map[string]remountStatus{}
	}
	l.byID[s.id] = s
	l.order = append(l.order, s.id)
	if len(l.order) > maxRemountStatuses {
		delete(l.byID, l.order[0])
		l.order = l.order[1:]
	}
}

func (l *remountLog) get(id string) (remountStatus, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.byID[id]
	return s, ok
}

// protectedRemount are mounts that can be neither moved nor moved onto.
var protectedRemount = []string{"sys/", "auth/token/", "cubbyhole/", "identity/"}

// isRemountPath reports whether path is served by sysRemount.
func isRemountPath(path string) bool {
	return path == "sys/remount" || strings.HasPrefix(path, "sys/remount/status/")
}

// sysRemount serves sys/remount and sys/remount/status/:id. handleSys has
// checked sudo on sys/remount.
func (c *Core) sysRemount(ctx context.Context, op secrets.Operation, path string, data map[string]any, te *TokenEntry) (*Response, error) {
	if id, ok := strings.CutPrefix(path, "sys/remount/status/"); ok {
		if op != secrets.OpRead {
			return nil, unsupportedOp()
		}
		s, found := c.remounts.get(id)
		if !found {
			return nil, badRequest("cannot find migration status for migration id %q", id)
		}
		return &Response{Data: map[string]any{
			"migration_id": s.id,
			"migration_info": map[string]any{
				"source_mount": s.from, "target_mount": s.to, "status": s.status,
			},
		}}, nil
	}
	if op != secrets.OpUpdate && op != secrets.OpCreate {
		return nil, unsupportedOp()
	}
	from, err := reqfield.String(data, "from")
	if err != nil {
		return nil, err
	}
	to, err := reqfield.String(data, "to")
	if err != nil {
		return nil, err
	}
	if from == "" || to == "" {
		return nil, badRequest("both 'from' and 'to' path must be specified as a string")
	}
	if from, err = normalizeMountPath(from); err != nil {
		return nil, err
	}
	if to, err = normalizeMountPath(to); err != nil {
		return nil, err
	}
	for _, p := range protectedRemount {
		if strings.HasPrefix(from, p) {
			return nil, badRequest("cannot remount %q", from)
		}
		if strings.HasPrefix(to, p) || strings.HasPrefix(p, to) {
			return nil, badRequest("cannot remount to destination %q", to)
		}
	}
	fromAuth, toAuth := strings.HasPrefix(from, "auth/"), strings.HasPrefix(to, "auth/")
	if fromAuth != toAuth {
		return nil, badRequest("cannot remount between an auth method and a secrets engine (%q to %q)", from, to)
	}
	// The caller must be allowed to manage both mounts, not only to call
	// sys/remount.
	for _, p := range []string{from, to} {
		mp := "sys/mounts/" + strings.TrimSuffix(p, "/")
		if rest, ok := strings.CutPrefix(p, "auth/"); ok {
			mp = "sys/auth/" + strings.TrimSuffix(rest, "/")
		}
		if _, err := c.authorize(te, secrets.OpUpdate, mp); err != nil {
			return nil, err
		}
	}
	if fromAuth {
		err = c.RemountAuth(ctx, strings.TrimPrefix(from, "auth/"), strings.TrimPrefix(to, "auth/"))
	} else {
		err = c.Remount(ctx, from, to)
	}
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	c.remounts.add(remountStatus{id: id, from: from, to: to, status: "success"})
	c.log.Info("mount moved", "from", from, "to", to, "migration_id", id)
	return &Response{Data: map[string]any{"migration_id": id}}, nil
}

// Remount moves the secrets engine at from to to (both "a/b/" form).
func (c *Core) Remount(ctx context.Context, from, to string) error {
	err := c.mounts.Update(ctx, func(mt *mountTable) ([]*MountEntry, error) {
		src := mt.Get(from)
		if src == nil {
			return nil, badRequest("no matching mount at %q", from)
		}
		for _, r := range reservedMounts {
			if strings.HasPrefix(to, r) || strings.HasPrefix(r, to) {
				return nil, badRequest("cannot remount to reserved path %q", to)
			}
		}
		for _, me := range mt.Entries() {
			if strings.HasPrefix(me.Path, to) || strings.HasPrefix(to, me.Path) {
				return nil, badRequest("path already in use at %q", me.Path)
			}
		}
		return replaced(mt.Entries(), src, func(cp *MountEntry) error { cp.Path = to; return nil })
	})
	if err != nil {
		return err
	}
	_, err = c.leases.RevokePrefix(ctx, from)
	return err
}

// RemountAuth moves the auth method at from to to (paths relative to
// auth/, "a/b/" form). Tokens it issued under the old path are revoked.
func (c *Core) RemountAuth(ctx context.Context, from, to string) error {
	err := c.ident.auth.Update(ctx, func(at *mountTable) ([]*MountEntry, error) {
		src := at.Get(from)
		if src == nil {
			return nil, badRequest("no matching mount at %q", "auth/"+from)
		}
		if src.Type == "token" || to == "token/" {
			return nil, badRequest("cannot remount the token auth method")
		}
		for _, me := range at.Entries() {
			if strings.HasPrefix(me.Path, to) || strings.HasPrefix(to, me.Path) {
				return nil, badRequest("path already in use at %q", "auth/"+me.Path)
			}
		}
		return replaced(at.Entries(), src, func(cp *MountEntry) error { cp.Path = to; return nil })
	})
	if err != nil {
		return err
	}
	_, err = c.leases.RevokePrefix(ctx, "auth/"+from)
	return err
}
