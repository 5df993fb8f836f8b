package approle

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaultd/vaultd/auth/internal/keylock"
	"github.com/vaultd/vaultd/auth/internal/route"
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
	e.routes = route.Table{Routes: e.routeTable(), NoStorage: ErrNoStorage}
	return e, nil
}

// engine is the AppRole auth method. It is safe for concurrent use.
//
// Lock order: a role's lock, then roleIDMu, then a secret ID's lock. A
// request holds at most one lock of each set.
type engine struct {
	routes route.Table
	log    *slog.Logger
	now    func() time.Time

	// roleLocks guard each role (by name): writers of the role and of its
	// set of secret IDs as a whole (role delete) take it for writing,
	// everything else that reads the role takes it for reading.
	roleLocks keylock.Set
	// secretLocks guard each secret ID entry (by its HMAC): login
	// (which consumes uses), destroy and create take it for writing.
	secretLocks keylock.Set
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
func (e *engine) routeTable() []route.Route {
	return []route.Route{
		{Pattern: "role", Ops: map[secrets.Operation]route.Handler{
			secrets.OpList: e.roleList,
		}},
		{Pattern: "role/*", Exists: roleExists, Ops: map[secrets.Operation]route.Handler{
			secrets.OpRead:   e.roleRead,
			secrets.OpCreate: e.roleWrite,
			secrets.OpUpdate: e.roleWrite,
			secrets.OpDelete: e.roleDelete,
		}},
		{Pattern: "role/*/role-id", Ops: map[secrets.Operation]route.Handler{
			secrets.OpRead:   e.roleIDRead,
			secrets.OpUpdate: e.roleIDWrite,
		}},
		{Pattern: "role/*/secret-id", Ops: map[secrets.Operation]route.Handler{
			secrets.OpUpdate: e.secretIDGenerate,
			secrets.OpList:   e.secretIDList,
		}},
		{Pattern: "role/*/custom-secret-id", Ops: map[secrets.Operation]route.Handler{
			secrets.OpUpdate: e.secretIDCustom,
		}},
		{Pattern: "role/*/secret-id/lookup", Ops: map[secrets.Operation]route.Handler{
			secrets.OpUpdate: e.secretIDLookup,
		}},
		{Pattern: "role/*/secret-id/destroy", Ops: map[secrets.Operation]route.Handler{
			secrets.OpUpdate: e.secretIDDestroy,
			secrets.OpDelete: e.secretIDDestroy,
		}},
		{Pattern: "role/*/secret-id-accessor/lookup", Ops: map[secrets.Operation]route.Handler{
			secrets.OpUpdate: e.accessorLookup,
		}},
		{Pattern: "role/*/secret-id-accessor/destroy", Ops: map[secrets.Operation]route.Handler{
			secrets.OpUpdate: e.accessorDestroy,
			secrets.OpDelete: e.accessorDestroy,
		}},
		{Pattern: "login", Ops: map[secrets.Operation]route.Handler{
			secrets.OpUpdate: e.login,
		}},
		{Pattern: "tidy/secret-id", Ops: map[secrets.Operation]route.Handler{
			secrets.OpUpdate: e.tidy,
		}},
	}
}

// UnauthenticatedPaths implements secrets.Unauthenticated: logging in
// needs no token.
func (e *engine) UnauthenticatedPaths() []string { return []string{"login"} }

// HandleRequest implements secrets.Backend.
func (e *engine) HandleRequest(ctx context.Context, req *secrets.Request) (*secrets.Response, error) {
	return e.routes.HandleRequest(ctx, req)
}

// Exists implements secrets.ExistenceChecker: role/:role_name has an
// existence check; every other path reports ok = false.
func (e *engine) Exists(ctx context.Context, req *secrets.Request) (exists, ok bool, err error) {
	return e.routes.Exists(ctx, req)
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

// CanonicalPath implements secrets.Canonicalizer: role names are
// case-insensitive, so "role/ADMIN/secret-id" is "role/admin/secret-id".
// Core checks the ACL on this form, the one the engine touches.
func (e *engine) CanonicalPath(path string) string {
	rest, ok := strings.CutPrefix(path, "role/")
	if !ok {
		return path
	}
	name, tail, found := strings.Cut(rest, "/")
	b := []byte(name)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	if found {
		return "role/" + string(b) + "/" + tail
	}
	return "role/" + string(b)
}
