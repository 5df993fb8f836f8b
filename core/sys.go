package core

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vaultd/vaultd/core/mounts"
	"github.com/vaultd/vaultd/core/policies"
	"github.com/vaultd/vaultd/secrets"
)

// sudoPaths are sys paths that need the sudo capability (Vault's "root
// protected" paths), besides the operation's own capability.
var sudoPaths = []string{"sys/seal", "sys/rotate", "sys/step-down", "sys/raw", "sys/remount", "sys/audit", "sys/auth/", "sys/audit/", "sys/storage/raft/remove-peer", "sys/storage/raft/snapshot", "sys/storage/raft/snapshot-force", "sys/storage/raft/snapshot-auto/", "sys/generate-root", "sys/rekey", "sys/rekey-recovery-key", "sys/key-status", "sys/replication/dr/primary/", "sys/replication/dr/secondary/enable", "sys/replication/performance/primary/", "sys/replication/performance/secondary/enable", "sys/replication/performance/secondary/update-primary"}

func needsSudo(path string) bool {
	for _, p := range sudoPaths {
		if path == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(path, p)) || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// canonicalSysPath puts the names in sys/ paths into the form the handlers
// use (policy names are trimmed and lower-cased), so that the ACL check
// sees what the handler touches: a deny on sys/policies/acl/admin holds
// for sys/policies/acl/ADMIN too.
func canonicalSysPath(path string) string {
	for _, p := range []string{"sys/policies/acl/", "sys/policy/"} {
		if name, ok := strings.CutPrefix(path, p); ok {
			if n, err := policies.NormalizeName(name); err == nil {
				return p + n
			}
			return path
		}
	}
	return path
}

// handleSys serves the authenticated sys/ paths on the active node: it
// checks the token, the ACL and sudo, then sysRoutes (sysroutes.go) routes
// the request to its declared endpoint.
func (c *Core) handleSys(ctx context.Context, req *Request, te *TokenEntry) (*Response, error) {
	path := canonicalSysPath(strings.TrimSuffix(req.Path, "/"))
	op := req.Operation
	// sys/internal/ui/mounts answers for any valid token; it filters below.
	// So does sys/internal/specs/openapi, filtered the same way (openapi.go).
	if path == "sys/internal/ui/mounts" || strings.HasPrefix(path, "sys/internal/ui/mounts/") || path == "sys/internal/specs/openapi" {
		if te == nil {
			return nil, permissionDenied()
		}
		if path == "sys/internal/specs/openapi" {
			if err := c.verifyForRead(ctx, op); err != nil {
				return nil, err
			}
		}
		return c.serveSys(ctx, path, req, te)
	}
	// The request's data and wrap TTL go to the ACL check, so parameter
	// and wrapping constraints hold on sys/ as on every other path.
	r, err := c.checkACL(te, op, path, req.Data, req.WrapTTL)
	if err != nil {
		return nil, err
	}
	if needsSudo(path) && !r.Sudo {
		return nil, permissionDenied()
	}
	if op == secrets.OpRead || op == secrets.OpList {
		if err := c.verifyForRead(ctx, op); err != nil {
			return nil, err
		}
	}
	if err := identitySudo(path, op, te); err != nil { // identity.go
		return nil, err
	}
	resp, err := c.serveSys(ctx, path, req, te)
	if err == nil && resp != nil && path == "sys/policy" && op == secrets.OpRead {
		// The legacy list has keys and policies at the top level too.
		resp = withTopLevelCopy(req.ID, resp.Data)
	}
	return resp, err
}

func unsupportedOp() error {
	return secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
}

func (c *Core) sysListMounts() *Response {
	data := map[string]any{}
	for _, me := range c.Mounts() {
		data[me.Path] = mounts.Output(me)
	}
	data[mounts.System.Path] = mounts.Output(mounts.System)
	return &Response{Data: data}
}

func (c *Core) sysMount(ctx context.Context, op secrets.Operation, path string, data map[string]any) (*Response, error) {
	switch op {
	case secrets.OpRead:
		p, err := normalizeMountPath(path)
		if err != nil {
			return nil, err
		}
		mt := c.mounts.Current()
		if me := mt.Get(p); me != nil {
			return &Response{Data: mounts.Output(me)}, nil
		}
		return nil, badRequest("no matching mount at %q", p)
	}
	return mountWrite(ctx, op, path, data, c.EnableMount, c.DisableMount)
}

func (c *Core) sysTune(ctx context.Context, op secrets.Operation, path string, data map[string]any) (*Response, error) {
	switch op {
	case secrets.OpRead:
		p, err := normalizeMountPath(path)
		if err != nil {
			return nil, err
		}
		me := c.mounts.Current().Get(p)
		if me == nil {
			return nil, badRequest("cannot fetch sysview for path %q", p)
		}
		dl, ml := me.Config.DefaultLeaseTTL, me.Config.MaxLeaseTTL
		if dl == 0 {
			dl = int64(c.cfg.DefaultLeaseTTL / time.Second)
		}
		if ml == 0 {
			ml = int64(c.cfg.MaxLeaseTTL / time.Second)
		}
		return &Response{Data: mounts.TuneOutput(me, dl, ml)}, nil
	case secrets.OpCreate, secrets.OpUpdate:
		if _, ok := data["token_type"]; ok {
			return nil, badRequest("token_type can only be modified on auth mounts")
		}
		err := c.TuneMount(ctx, path, func(me *MountEntry) error {
			if err := mounts.ApplyTune(&me.Config, data); err != nil {
				return err
			}
			if d, ok := data["description"].(string); ok {
				me.Description = d
			}
			if o, ok := data["options"].(map[string]any); ok {
				for k, v := range o {
					s := fmt.Sprint(v)
					if k == "version" && isKVType(me.Type) && me.Options["version"] == "2" && s != "2" {
						return badRequest("downgrading a KV mount from version 2 is not supported")
					}
					if k == "version" && isKVType(me.Type) && s == "2" && me.Options["version"] != "2" {
						return badRequest("upgrading a KV mount to version 2 in place is not supported; mount a new kv-v2 engine")
					}
					me.Options[k] = s
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return &Response{}, nil
	}
	return nil, unsupportedOp()
}

// sysUIMounts serves sys/internal/ui/mounts[/path]: Vault CLIs ask it which
// KV version a path is on. A token sees only mounts it can reach.
func (c *Core) sysUIMounts(te *TokenEntry, path string) (*Response, error) {
	mt := c.mounts.Current()
	if path == "" {
		secret := map[string]any{}
		for _, me := range mt.Entries() {
			if c.canReachMount(te, me.Path) {
				secret[me.Path] = mounts.Output(me)
			}
		}
		return &Response{Data: map[string]any{"secret": secret, "auth": map[string]any{}}}, nil
	}
	if err := checkPath(path); err != nil {
		return nil, err
	}
	me := mt.Match(path)
	if me == nil || !c.canReachMount(te, me.Path) {
		return nil, badRequest("preflight capability check returned 403, please ensure client's policies grant access to path %q", path)
	}
	out := mounts.Output(me)
	out["path"] = me.Path
	return &Response{Data: out}, nil
}

// canReachMount reports whether te has any capability under mount.
func (c *Core) canReachMount(te *TokenEntry, mount string) bool {
	sudo, err := c.authorize(te, secrets.OpRead, mount)
	return err == nil || sudo || c.anyCapabilityUnder(te, mount)
}

// isKVType: "generic" is Vault's old name for the kv engine.
func isKVType(t string) bool { return t == "kv" || t == "generic" }

// withTopLevelCopy is the shape of Vault's legacy sys endpoints: the usual
// envelope with data under "data", and each data key repeated at the top
// level, where older clients look. Data is kept for the audit log.
func withTopLevelCopy(requestID string, data map[string]any) *Response {
	raw := map[string]any{
		"request_id":     requestID,
		"lease_id":       "",
		"renewable":      false,
		"lease_duration": 0,
		"data":           data,
		"wrap_info":      nil,
		"warnings":       nil,
		"auth":           nil,
		"mount_type":     "",
	}
	for k, v := range data {
		if _, clash := raw[k]; !clash {
			raw[k] = v
		}
	}
	return &Response{Data: data, Raw: raw}
}
