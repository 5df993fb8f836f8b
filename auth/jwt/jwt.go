package jwt

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/vaultd/vaultd/auth/internal/keylock"
	"github.com/vaultd/vaultd/auth/internal/route"
	"github.com/vaultd/vaultd/secrets"
)

// Errors returned by this package that are not user-facing *secrets.Error values.
var (
	// ErrNoStorage: a request arrived without a storage view.
	ErrNoStorage = errors.New("jwt: request has no storage")
	// ErrCorrupt: a stored record could not be decoded.
	ErrCorrupt = errors.New("jwt: corrupt record")
)

var (
	_ secrets.Factory          = Factory
	_ secrets.Backend          = (*engine)(nil)
	_ secrets.ExistenceChecker = (*engine)(nil)
	_ secrets.Unauthenticated  = (*engine)(nil)
)

// Factory makes a jwt auth method for a mount. It takes no options.
func Factory(_ context.Context, conf secrets.Config) (secrets.Backend, error) {
	return newEngine(conf), nil
}

// engine is the jwt auth method. It is safe for concurrent use.
type engine struct {
	routes route.Table
	log    *slog.Logger
	now    func() time.Time
	// locks guard the read-modify-write of each role.
	locks keylock.Set
	// keys caches the verification keys of the stored config.
	keysMu sync.Mutex
	keys   *keyCache
	// newClient makes the HTTP client for a CA (tests may wrap it).
	newClient func(caPEM, field string) (*http.Client, error)
}

func newEngine(conf secrets.Config) *engine {
	log := conf.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := conf.Now
	if now == nil {
		now = time.Now
	}
	e := &engine{
		log:       log.With("component", "auth/jwt", "mount_type", conf.Type),
		now:       now,
		newClient: httpClient,
	}
	e.routes = route.Table{Routes: e.routeTable(), NoStorage: ErrNoStorage}
	return e
}

// routeTable is the engine's routing table, in Vault's order.
func (e *engine) routeTable() []route.Route {
	return []route.Route{
		{Pattern: "config", Ops: map[secrets.Operation]route.Handler{
			secrets.OpRead:   e.configRead,
			secrets.OpUpdate: e.configWrite,
		}},
		{Pattern: "role", Ops: map[secrets.Operation]route.Handler{
			secrets.OpList: e.roleList,
		}},
		{Pattern: "role/*", Exists: roleExists, Ops: map[secrets.Operation]route.Handler{
			secrets.OpRead:   e.roleRead,
			secrets.OpCreate: e.roleWrite,
			secrets.OpUpdate: e.roleWrite,
			secrets.OpDelete: e.roleDelete,
		}},
		{Pattern: "login", Ops: map[secrets.Operation]route.Handler{
			secrets.OpUpdate: e.login,
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

// Exists implements secrets.ExistenceChecker for role/:name.
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
