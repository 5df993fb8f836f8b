package approle

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

// Errors returned by this package that are not user-facing *secrets.Error values.
var (
	// ErrNoStorage: a request arrived without a storage view.
	ErrNoStorage = errors.New("approle: request has no storage")
	// ErrCorrupt: a stored record could not be decoded.
	ErrCorrupt = errors.New("approle: corrupt record")
)

var (
	_ secrets.Factory          = Factory
	_ secrets.Backend          = (*engine)(nil)
	_ secrets.ExistenceChecker = (*engine)(nil)
	_ secrets.Unauthenticated  = (*engine)(nil)
)

// Factory makes an AppRole auth method for a mount. It takes no options;
// conf.Now is the clock of secret ID creation and expiry.
func Factory(_ context.Context, conf secrets.Config) (secrets.Backend, error) {
	now := conf.Now
	if now == nil {
		now = time.Now
	}
	log := conf.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ephemeral := make(hmacKey, saltBytes)
	if _, err := rand.Read(ephemeral); err != nil {
		return nil, fmt.Errorf("approle: ephemeral key: %w", err)
	}
	e := &engine{
		log:       log.With("component", "auth/approle"),
		now:       now,
		ephemeral: ephemeral,
	}
	e.routes = e.routeTable()
	return e, nil
}

// engine is the AppRole auth method. It is safe for concurrent use.
//
// Lock order: a role's lock, then roleIDMu, then a secret ID's lock. A
// request holds at most one lock of each set.
type engine struct {
	routes []route
	log    *slog.Logger
	now    func() time.Time

	// roleLocks guard each role (by name): writers of the role and of its
	// set of secret IDs as a whole (role delete) take it for writing,
	// everything else that reads the role takes it for reading.
	roleLocks lockSet
	// secretLocks guard each secret ID entry (by its HMAC): login
	// (which consumes uses), destroy and create take it for writing.
	secretLocks lockSet
	// roleIDMu serializes changes of the role_id index, so that two roles
	// can never claim the same role_id.
	roleIDMu sync.Mutex

	// saltMu serializes the creation of the mount's salt.
	saltMu sync.Mutex
	// salt caches the mount's HMAC key once it is known (it never changes).
	salt atomic.Pointer[hmacKey]
	// ephemeral is a random key, never stored, used for the dummy work of
	// a login before the mount has a salt (when no role can exist).
	ephemeral hmacKey
}

// routeTable is the engine's routing table, in Vault's order.
func (e *engine) routeTable() []route {
	return []route{
		{pattern: "role", ops: map[secrets.Operation]handler{
			secrets.OpList: e.roleList,
		}},
		{pattern: "role/*", exists: roleExists, ops: map[secrets.Operation]handler{
			secrets.OpRead:   e.roleRead,
			secrets.OpCreate: e.roleWrite,
			secrets.OpUpdate: e.roleWrite,
			secrets.OpDelete: e.roleDelete,
		}},
		{pattern: "role/*/role-id", ops: map[secrets.Operation]handler{
			secrets.OpRead:   e.roleIDRead,
			secrets.OpUpdate: e.roleIDWrite,
		}},
		{pattern: "role/*/secret-id", ops: map[secrets.Operation]handler{
			secrets.OpUpdate: e.secretIDGenerate,
			secrets.OpList:   e.secretIDList,
		}},
		{pattern: "role/*/custom-secret-id", ops: map[secrets.Operation]handler{
			secrets.OpUpdate: e.secretIDCustom,
		}},
		{pattern: "role/*/secret-id/lookup", ops: map[secrets.Operation]handler{
			secrets.OpUpdate: e.secretIDLookup,
		}},
		{pattern: "role/*/secret-id/destroy", ops: map[secrets.Operation]handler{
			secrets.OpUpdate: e.secretIDDestroy,
			secrets.OpDelete: e.secretIDDestroy,
		}},
		{pattern: "role/*/secret-id-accessor/lookup", ops: map[secrets.Operation]handler{
			secrets.OpUpdate: e.accessorLookup,
		}},
		{pattern: "role/*/secret-id-accessor/destroy", ops: map[secrets.Operation]handler{
			secrets.OpUpdate: e.accessorDestroy,
			secrets.OpDelete: e.accessorDestroy,
		}},
		{pattern: "login", ops: map[secrets.Operation]handler{
			secrets.OpUpdate: e.login,
		}},
		{pattern: "tidy/secret-id", ops: map[secrets.Operation]handler{
			secrets.OpUpdate: e.tidy,
		}},
	}
}

// UnauthenticatedPaths implements secrets.Unauthenticated: logging in
// needs no token.
func (e *engine) UnauthenticatedPaths() []string { return []string{"login"} }

// HandleRequest implements secrets.Backend.
func (e *engine) HandleRequest(ctx context.Context, req *secrets.Request) (*secrets.Response, error) {
	if req == nil {
		return nil, invalidf("missing request")
	}
	if req.Storage == nil {
		return nil, ErrNoStorage
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, name, ok := e.match(req)
	if !ok {
		return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
	}
	h := r.handler(req.Operation)
	if h == nil {
		return nil, secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
	}
	if req.Data == nil {
		cp := *req
		cp.Data = map[string]any{}
		req = &cp
	}
	return h(ctx, req, name)
}

// Exists implements secrets.ExistenceChecker: role/:role_name has an
// existence check; every other path reports ok = false.
func (e *engine) Exists(ctx context.Context, req *secrets.Request) (exists, ok bool, err error) {
	if req == nil || req.Storage == nil {
		return false, false, nil
	}
	r, name, matched := e.match(req)
	if !matched || r.exists == nil {
		return false, false, nil
	}
	exists, err = r.exists(ctx, req.Storage, name)
	if err != nil {
		return false, false, err
	}
	return exists, true, nil
}

func (e *engine) match(req *secrets.Request) (*route, string, bool) {
	p := normalizePath(req.Operation, req.Path)
	for i := range e.routes {
		if name, ok := e.routes[i].match(p); ok {
			return &e.routes[i], name, true
		}
	}
	return nil, "", false
}

// invalidf is a 400.
func invalidf(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

// notFound is Vault's bare 404 ({"errors":[]}).
func notFound() error { return &secrets.Error{Kind: secrets.ErrNotFound} }

// noContent is the answer of writes that return nothing (HTTP 204).
func noContent() *secrets.Response { return &secrets.Response{} }

// errNoRole is the 400 for an operation on a role that does not exist.
func errNoRole(name string) error { return invalidf("role %q does not exist", name) }
