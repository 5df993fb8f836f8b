package kubernetes

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vaultd/vaultd/auth/internal/keylock"
	"github.com/vaultd/vaultd/auth/internal/route"
	"github.com/vaultd/vaultd/secrets"
)

// Errors returned by this package that are not user-facing *secrets.Error values.
var (
	// ErrNoStorage: a request arrived without a storage view.
	ErrNoStorage = errors.New("kubernetes: request has no storage")
	// ErrCorrupt: a stored record could not be decoded.
	ErrCorrupt = errors.New("kubernetes: corrupt record")
)

var (
	_ secrets.Factory          = Factory
	_ secrets.Backend          = (*engine)(nil)
	_ secrets.ExistenceChecker = (*engine)(nil)
	_ secrets.Unauthenticated  = (*engine)(nil)
)

// The in-pod service-account files Vault falls back on when the config
// gives no CA or reviewer JWT (and disable_local_ca_jwt is false).
const (
	LocalTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	LocalCAPath    = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
)

// Factory makes a kubernetes auth method for a mount. It takes no options.
func Factory(_ context.Context, conf secrets.Config) (secrets.Backend, error) {
	return newEngine(conf, LocalTokenPath, LocalCAPath), nil
}

// engine is the kubernetes auth method. It is safe for concurrent use.
type engine struct {
	routes route.Table
	log    *slog.Logger
	now    func() time.Time
	locks  keylock.Set
	// localToken and localCA are the in-pod service-account files.
	localToken, localCA string
}

func newEngine(conf secrets.Config, localToken, localCA string) *engine {
	log := conf.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := conf.Now
	if now == nil {
		now = time.Now
	}
	e := &engine{
		log:        log.With("component", "auth/kubernetes", "mount_type", conf.Type),
		now:        now,
		localToken: localToken,
		localCA:    localCA,
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

// UnauthenticatedPaths implements secrets.Unauthenticated.
func (e *engine) UnauthenticatedPaths() []string { return []string{"login"} }

// HandleRequest implements secrets.Backend.
func (e *engine) HandleRequest(ctx context.Context, req *secrets.Request) (*secrets.Response, error) {
	return e.routes.HandleRequest(ctx, req)
}

// Exists implements secrets.ExistenceChecker for role/:name.
func (e *engine) Exists(ctx context.Context, req *secrets.Request) (exists, ok bool, err error) {
	return e.routes.Exists(ctx, req)
}

func invalidf(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

func denied(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrPermissionDenied, format, args...)
}

func notFound() error { return &secrets.Error{Kind: secrets.ErrNotFound} }

func noContent() *secrets.Response { return &secrets.Response{} }
