package core

import (
	"bytes"
	"context"
	"strings"
	"sync"

	"github.com/vaultd/vaultd/core/clusterops"
	"github.com/vaultd/vaultd/core/leases"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// sysRoutes is the one declaration of every sys/ endpoint core routes:
// the declared subsystems' own paths (policies, capabilities, audit, the
// barrier keys) and the rest of sys/, declared here. handleSys checks the
// token, the ACL and sudo, then hands the request to this Backend, which
// matches the path (404 when nothing matches, 405 for an operation the
// path does not serve) and runs the handler. The OpenAPI document and
// docs/api.md are generated from the same declarations.
//
// The endpoints declared here answer in shapes a secrets.Response cannot
// carry (a raw body with no envelope, a lease, an auth block, wrap info):
// their handlers build a core Response and leave it in the sysCall the
// request's context carries (sysHandler). They read the request body
// (req.Data) with the parsers they always used, so their paths take
// arbitrary input (no unknown-field warning); their declared fields are
// the documentation of what they read.
type sysRoutes struct {
	c    *Core
	once sync.Once
	ep   *endpoint.Backend
}

// sysCall is one sys/ request on its way through sysRoutes.
type sysCall struct {
	req  *Request
	te   *TokenEntry
	path string // the full request path, without a trailing slash
	resp *Response
}

type sysCallKey struct{}

// sysHandler adapts a handler that answers with a core Response.
func sysHandler(f func(ctx context.Context, sc *sysCall) (*Response, error)) endpoint.Handler {
	return func(ctx context.Context, _ *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
		sc, ok := ctx.Value(sysCallKey{}).(*sysCall)
		if !ok {
			return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
		}
		r, err := f(ctx, sc)
		if err != nil {
			return nil, err
		}
		if r == nil {
			r = &Response{}
		}
		sc.resp = r
		return nil, nil
	}
}

// serveSys runs a sys/ request (path without its trailing slash) through
// sysRoutes; the caller has done the token, ACL and sudo checks.
func (c *Core) serveSys(ctx context.Context, path string, req *Request, te *TokenEntry) (*Response, error) {
	sc := &sysCall{req: req, te: te, path: path}
	ctx = context.WithValue(withCaller(ctx, te), sysCallKey{}, sc)
	sresp, err := c.sys.Backend().HandleRequest(ctx, &secrets.Request{
		Operation: req.Operation, Path: strings.TrimPrefix(path, "sys/"), Data: req.Data,
		MountPoint: "sys/", RemoteAddr: req.RemoteAddr,
	})
	if err != nil {
		return nil, err
	}
	if sc.resp != nil {
		return sc.resp, nil
	}
	if sresp == nil {
		return &Response{}, nil
	}
	if sresp.RawBody != nil {
		return &Response{RawBody: bytes.NewReader(sresp.RawBody), ContentType: sresp.ContentType, StatusCode: sresp.StatusCode}, nil
	}
	return &Response{Data: sresp.Data, Warnings: sresp.Warnings, StatusCode: sresp.StatusCode}, nil
}

func ops(h endpoint.Handler, os ...secrets.Operation) map[secrets.Operation]endpoint.Handler {
	m := make(map[secrets.Operation]endpoint.Handler, len(os))
	for _, o := range os {
		m[o] = h
	}
	return m
}

func str(desc string) *endpoint.Field {
	return &endpoint.Field{Type: endpoint.TypeString, Description: desc}
}
func raw(desc string) *endpoint.Field {
	return &endpoint.Field{Type: endpoint.TypeRaw, Description: desc}
}

const (
	opRead   = secrets.OpRead
	opUpdate = secrets.OpUpdate
	opDelete = secrets.OpDelete
	opList   = secrets.OpList
)

// Backend returns the declarations (built once).
func (s *sysRoutes) Backend() *endpoint.Backend {
	s.once.Do(func() {
		c := s.c
		var paths []*endpoint.Path
		for _, b := range []*endpoint.Backend{c.ident.policies.Backend(), c.caps.Backend(), c.ident.audit.Backend(), c.keys.Backend(), c.raftOps.AutoSnapshotBackend()} {
			paths = append(paths, b.Paths...)
		}
		for _, p := range append(s.own(), c.replicationPaths()...) {
			p.TakesArbitraryInput = true
			paths = append(paths, p)
		}
		s.ep = &endpoint.Backend{
			Help:            "System endpoints: control, policy and debugging.",
			StorageOptional: true,
			Paths:           paths,
		}
	})
	return s.ep
}

// own declares the sys/ endpoints core serves itself or hands whole to a
// subsystem's own dispatch (leases, wrapping, ceremonies, raft).
func (s *sysRoutes) own() []*endpoint.Path {
	c := s.c
	mountFields := map[string]*endpoint.Field{
		"type":        str("The engine type."),
		"description": str("A human-friendly description."),
		"config":      raw("Mount configuration: default_lease_ttl, max_lease_ttl, force_no_cache."),
		"options":     raw("Engine options (kv: version)."),
		"local":       raw("Vault compatibility; recorded only."),
		"seal_wrap":   raw("Vault compatibility; recorded only."),
	}
	tuneFields := map[string]*endpoint.Field{
		"default_lease_ttl": raw("The default lease TTL (seconds, a duration string, or \"system\")."),
		"max_lease_ttl":     raw("The maximum lease TTL (seconds, a duration string, or \"system\")."),
		"force_no_cache":    raw("Vault compatibility."),
		"description":       str("A new description."),
		"options":           raw("Engine options to change."),
	}
	leaseID := map[string]*endpoint.Field{"lease_id": str("The lease ID.")}
	renew := map[string]*endpoint.Field{"lease_id": str("The lease ID."), "increment": raw("The requested extension (seconds or a duration string).")}
	leases := sysHandler(func(ctx context.Context, sc *sysCall) (*Response, error) {
		lr, err := c.leases.Handle(ctx, sc.req.Operation, sc.path, sc.req.Data)
		if err != nil {
			return nil, err
		}
		return leaseResponse(lr), nil
	})
	wrapping := sysHandler(func(ctx context.Context, sc *sysCall) (*Response, error) {
		return c.sysWrapping(ctx, sc.path, sc.req, sc.te)
	})
	raft := sysHandler(func(ctx context.Context, sc *sysCall) (*Response, error) {
		return c.handleSysRaft(ctx, sc.path, sc.req)
	})
	haStatus := sysHandler(func(ctx context.Context, sc *sysCall) (*Response, error) {
		data, err := c.haOps.Status(ctx)
		if err != nil {
			return nil, err
		}
		return withTopLevelCopy(sc.req.ID, data), nil
	})
	stepDown := sysHandler(func(ctx context.Context, _ *sysCall) (*Response, error) { return nil, c.haOps.StepDown(ctx) })
	ceremony := sysHandler(func(ctx context.Context, sc *sysCall) (*Response, error) {
		r, err := c.ceremonies.Handle(ctx, sc.req.Operation, sc.path, sc.req.Data)
		if err != nil {
			return nil, err
		}
		return &Response{Raw: r}, nil
	})
	mounts := sysHandler(func(ctx context.Context, sc *sysCall) (*Response, error) {
		rest := strings.TrimPrefix(sc.path, "sys/mounts/")
		if m, ok := strings.CutSuffix(rest, "/tune"); ok {
			return c.sysTune(ctx, sc.req.Operation, m, sc.req.Data)
		}
		return c.sysMount(ctx, sc.req.Operation, rest, sc.req.Data)
	})
	authMounts := sysHandler(func(ctx context.Context, sc *sysCall) (*Response, error) {
		return c.sysAuth(ctx, sc.req.Operation, strings.TrimPrefix(strings.TrimPrefix(sc.path, "sys/auth"), "/"), sc.req.Data)
	})
	mountsAuth := sysHandler(func(ctx context.Context, sc *sysCall) (*Response, error) {
		// vault/api reads and tunes auth mounts through sys/mounts/auth/<path>.
		rest := strings.TrimPrefix(sc.path, "sys/mounts/auth/")
		if m, isTune := strings.CutSuffix(rest, "/tune"); isTune {
			return c.sysAuthTune(ctx, sc.req.Operation, m, sc.req.Data)
		}
		if sc.req.Operation == secrets.OpRead {
			return c.sysAuthRead(rest)
		}
		return nil, badRequest("use sys/auth/%s to enable or disable an auth method", rest)
	})
	uiMounts := sysHandler(func(_ context.Context, sc *sysCall) (*Response, error) {
		return c.sysUIMounts(sc.te, strings.TrimPrefix(strings.TrimPrefix(sc.path, "sys/internal/ui/mounts"), "/"))
	})
	rotateConfig := map[string]*endpoint.Field{
		"max_operations": raw("Rotate after this many encryptions."),
		"interval":       raw("Rotate after this long (0: never)."),
		"enabled":        raw("Whether automatic rotation is on."),
	}
	rotateCfg := sysHandler(func(ctx context.Context, sc *sysCall) (*Response, error) {
		return c.sysRotateConfig(ctx, sc.req.Operation, sc.req.Data)
	})
	remount := sysHandler(func(ctx context.Context, sc *sysCall) (*Response, error) {
		return c.sysRemount(ctx, sc.req.Operation, sc.path, sc.req.Data, sc.te)
	})
	raftPath := func(p string) string { return strings.TrimPrefix(clusterops.PathPrefix, "sys/") + p }
	return []*endpoint.Path{
		{Pattern: "mounts", Summary: "List the secrets engines mounted.", Operations: ops(sysHandler(func(context.Context, *sysCall) (*Response, error) { return c.sysListMounts(), nil }), opRead)},
		{Pattern: "mounts/auth/{path}/tune", Fields: tuneFields, Summary: "Read or tune an auth method's mount (vault/api's form).", Operations: ops(mountsAuth, opRead, opUpdate)},
		{Pattern: "mounts/auth/{path+}", Summary: "Read an auth method's mount (vault/api's form); enable and disable through sys/auth.", Operations: ops(mountsAuth, opRead, opUpdate, opDelete)},
		{Pattern: "mounts/{path}/tune", Fields: tuneFields, Summary: "Read or tune a secrets engine's mount configuration.", Operations: ops(mounts, opRead, opUpdate)},
		{Pattern: "mounts/{path+}", Fields: mountFields, Summary: "Read, mount (enable) or unmount (disable) a secrets engine; a path ending in /tune tunes it.", Operations: ops(mounts, opRead, opUpdate, opDelete)},
		{Pattern: "auth", Summary: "List the auth methods enabled.", Operations: ops(authMounts, opRead, opList)},
		{Pattern: "auth/{path}/tune", Fields: tuneFields, Summary: "Read or tune an auth method's mount configuration.", Operations: ops(authMounts, opRead, opUpdate)},
		{Pattern: "auth/{path+}", Fields: mountFields, Summary: "Read, enable or disable an auth method; a path ending in /tune tunes it.", Operations: ops(authMounts, opRead, opUpdate, opDelete)},

		{Pattern: "leases/lookup", Fields: leaseID, Summary: "Look a lease up.", Operations: ops(leases, opUpdate)},
		{Pattern: "leases/lookup/{prefix*}", Summary: "List the lease IDs below a prefix (sudo).", Operations: ops(leases, opList)},
		{Pattern: "leases/renew", Fields: renew, Summary: "Renew a lease.", Operations: ops(leases, opUpdate)},
		{Pattern: "leases/renew/{url_lease_id+}", Fields: renew, Summary: "Renew the lease named in the path.", Operations: ops(leases, opUpdate)},
		{Pattern: "leases/revoke", Fields: leaseID, Summary: "Revoke a lease.", Operations: ops(leases, opUpdate)},
		{Pattern: "leases/revoke/{url_lease_id+}", Fields: leaseID, Summary: "Revoke the lease named in the path.", Operations: ops(leases, opUpdate)},
		{Pattern: "leases/revoke-prefix", Summary: "Revoke every lease below a prefix (the prefix is required).", Operations: ops(leases, opUpdate)},
		{Pattern: "leases/revoke-prefix/{prefix+}", Summary: "Revoke every lease below a prefix (sudo).", Operations: ops(leases, opUpdate)},
		{Pattern: "leases/revoke-force", Summary: "Revoke every lease below a prefix, ignoring errors (the prefix is required).", Operations: ops(leases, opUpdate)},
		{Pattern: "leases/revoke-force/{prefix+}", Summary: "Revoke every lease below a prefix, ignoring errors (sudo).", Operations: ops(leases, opUpdate)},
		{Pattern: "leases/tidy", Summary: "Remove expired leases.", Operations: ops(leases, opUpdate)},
		{Pattern: "renew", Fields: renew, Summary: "Renew a lease (legacy path).", Operations: ops(leases, opUpdate)},
		{Pattern: "renew/{url_lease_id+}", Fields: renew, Summary: "Renew the lease named in the path (legacy path).", Operations: ops(leases, opUpdate)},
		{Pattern: "revoke", Fields: leaseID, Summary: "Revoke a lease (legacy path).", Operations: ops(leases, opUpdate)},
		{Pattern: "revoke/{url_lease_id+}", Fields: leaseID, Summary: "Revoke the lease named in the path (legacy path).", Operations: ops(leases, opUpdate)},
		{Pattern: "revoke-prefix/{prefix+}", Summary: "Revoke every lease below a prefix (legacy path, sudo).", Operations: ops(leases, opUpdate)},
		{Pattern: "revoke-force/{prefix+}", Summary: "Revoke every lease below a prefix, ignoring errors (legacy path, sudo).", Operations: ops(leases, opUpdate)},

		{Pattern: "wrapping/wrap", Summary: "Wrap the request body in a single-use wrapping token (needs X-Vault-Wrap-TTL).", Operations: ops(wrapping, opUpdate)},
		{Pattern: "wrapping/unwrap", Fields: map[string]*endpoint.Field{"token": str("The wrapping token (default: the request's token).")}, Summary: "Unwrap a wrapped response; the wrapping token is used up.", Operations: ops(wrapping, opUpdate)},
		{Pattern: "wrapping/rewrap", Fields: map[string]*endpoint.Field{"token": str("The wrapping token.")}, Summary: "Move a wrapped response to a new wrapping token.", Operations: ops(wrapping, opUpdate)},
		{
			Pattern: "wrapping/lookup", Fields: map[string]*endpoint.Field{"token": str("The wrapping token.")}, Unauthenticated: true,
			Summary:    "Look a wrapping token up without using it (no token needed).",
			Operations: ops(sysHandler(func(ctx context.Context, sc *sysCall) (*Response, error) { return c.wrapLookup(ctx, sc.req) }), opUpdate),
		},

		{
			Pattern: "rotate/config", Fields: rotateConfig, Summary: "Read or set the keyring's automatic rotation (max_operations, interval, enabled).",
			Operations: ops(rotateCfg, opRead, opUpdate),
		},
		{
			Pattern: "rotate/keyring/config", Fields: rotateConfig, Summary: "Read or set the keyring's automatic rotation (Vault's newer path).",
			Operations: ops(rotateCfg, opRead, opUpdate),
		},
		{
			Pattern: "remount", Fields: map[string]*endpoint.Field{"from": str("The mount to move."), "to": str("Its new path.")},
			Summary:    "Move a secrets engine or auth method to another path (sudo); answers a migration ID.",
			Operations: ops(remount, opUpdate),
		},
		{Pattern: "remount/status/{migration_id}", Summary: "The status of a remount.", Operations: ops(remount, opRead)},

		{Pattern: "ha-status", Summary: "The cluster's nodes and which one is active.", Operations: ops(haStatus, opRead)},
		{Pattern: "step-down", Summary: "Make the active node step down (sudo).", Operations: ops(stepDown, opUpdate)},

		{Pattern: raftPath("configuration"), Summary: "The raft configuration: servers, voters, leader.", Operations: ops(raft, opRead)},
		{Pattern: raftPath("remove-peer"), Fields: map[string]*endpoint.Field{"server_id": str("The node ID to remove.")}, Summary: "Remove a node from the raft cluster (sudo).", Operations: ops(raft, opUpdate)},
		{Pattern: raftPath("snapshot"), Summary: "Save (GET) or restore (POST, the archive as the body) a raft snapshot (sudo).", Operations: ops(raft, opRead, opUpdate)},
		{Pattern: raftPath("snapshot-force"), Summary: "Restore a snapshot from another cluster (sudo).", Operations: ops(raft, opUpdate)},
		{Pattern: raftPath("autopilot/state"), Summary: "Autopilot's view of the cluster's health.", Operations: ops(raft, opRead)},
		{Pattern: raftPath("autopilot/configuration"), Summary: "Read or set autopilot's configuration.", Operations: ops(raft, opRead, opUpdate)},

		{Pattern: "rekey/init", Summary: "Read, start or cancel a rekey of the unseal key (sudo).", Operations: ops(ceremony, opRead, opUpdate, opDelete)},
		{Pattern: "rekey/update", Fields: map[string]*endpoint.Field{"key": str("An unseal key share."), "nonce": str("The rekey attempt's nonce.")}, Summary: "Submit an unseal key share to the rekey in progress (sudo).", Operations: ops(ceremony, opUpdate)},
		{Pattern: "rekey/verify", Fields: map[string]*endpoint.Field{"key": str("A new unseal key share."), "nonce": str("The verification nonce.")}, Summary: "Read, advance or restart the verification of a rekey started with require_verification (sudo).", Operations: ops(ceremony, opRead, opUpdate, opDelete)},
		{Pattern: "rekey/backup", Summary: "Read or delete the PGP-encrypted backup of the last rekey with backup = true (sudo).", Operations: ops(ceremony, opRead, opDelete)},
		{Pattern: "rekey-recovery-key/init", Summary: "Read, start or cancel a rekey of the recovery key of an auto-sealed vault (sudo).", Operations: ops(ceremony, opRead, opUpdate, opDelete)},
		{Pattern: "rekey-recovery-key/update", Fields: map[string]*endpoint.Field{"key": str("A recovery key share."), "nonce": str("The rekey attempt's nonce.")}, Summary: "Submit a recovery key share to the recovery-key rekey in progress (sudo).", Operations: ops(ceremony, opUpdate)},
		{Pattern: "rekey-recovery-key/verify", Fields: map[string]*endpoint.Field{"key": str("A new recovery key share."), "nonce": str("The verification nonce.")}, Summary: "Read, advance or restart the verification of a recovery-key rekey started with require_verification (sudo).", Operations: ops(ceremony, opRead, opUpdate, opDelete)},
		{Pattern: "rekey-recovery-key/backup", Summary: "Read or delete the PGP-encrypted backup of the last recovery-key rekey with backup = true (sudo).", Operations: ops(ceremony, opRead, opDelete)},
		{Pattern: "generate-root/attempt", Summary: "Read, start or cancel a root token generation (sudo).", Operations: ops(ceremony, opRead, opUpdate, opDelete)},
		{Pattern: "generate-root/update", Fields: map[string]*endpoint.Field{"key": str("An unseal key share."), "nonce": str("The attempt's nonce.")}, Summary: "Submit an unseal key share to the root generation in progress (sudo).", Operations: ops(ceremony, opUpdate)},

		{Pattern: "internal/ui/mounts", Summary: "The mounts the token can reach (any valid token).", Operations: ops(uiMounts, opRead)},
		{Pattern: "internal/ui/mounts/{path+}", Summary: "The mount a path is on, if the token can reach it (any valid token).", Operations: ops(uiMounts, opRead)},
		{
			Pattern: "internal/specs/openapi", Summary: "This OpenAPI document, of the endpoints the token can reach (any valid token).",
			Operations: ops(sysHandler(func(_ context.Context, sc *sysCall) (*Response, error) { return c.sysOpenAPI(sc.te) }), opRead),
		},
	}
}

// leaseResponse is a core Response of a core/leases answer.
func leaseResponse(lr *leases.Response) *Response {
	return &Response{Data: lr.Data, Warnings: lr.Warnings, LeaseID: lr.LeaseID, LeaseDuration: lr.LeaseDuration, Renewable: lr.Renewable}
}
