package kubernetes

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vaultd/vaultd/auth/internal/entries"
	"github.com/vaultd/vaultd/auth/internal/keylock"
	"github.com/vaultd/vaultd/auth/internal/tokenparams"
	"github.com/vaultd/vaultd/endpoint"
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
	// Backend serves requests (HandleRequest, Exists and
	// UnauthenticatedPaths come from it).
	*endpoint.Backend
	log   *slog.Logger
	now   func() time.Time
	locks keylock.Set
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
	e.Backend = e.paths()
	return e
}

// paths declares the engine's endpoints, in Vault's order.
func (e *engine) paths() *endpoint.Backend {
	str := func(desc string) *endpoint.Field {
		return &endpoint.Field{Type: endpoint.TypeString, Description: desc}
	}
	roleFields := tokenparams.Fields(legacyFields)
	for k, f := range map[string]*endpoint.Field{
		"name":                             str("Name of the role (case-insensitive)."),
		"bound_service_account_names":      {Type: endpoint.TypeCommaStringSlice, Description: "Service account names allowed to log in (globs; \"*\" for any)."},
		"bound_service_account_namespaces": {Type: endpoint.TypeCommaStringSlice, Description: "Namespaces allowed to log in (globs; \"*\" for any)."},
		"audience":                         str("aud the service-account token must carry (and the TokenReview must confirm)."),
		"alias_name_source":                str("Alias name: serviceaccount_uid (default) or serviceaccount_name (namespace/name)."),
		"bound_service_account_namespace_selector": {Type: endpoint.TypeRaw, Description: "Not supported by vaultd: refused when set."},
	} {
		roleFields[k] = f
	}
	roleNames := entries.Named{Capture: "name", Canonical: canonicalRoleName, Key: func(n string) string { return rolePrefix + n }, What: "kubernetes: roles"}
	return &endpoint.Backend{
		Help:      "Authenticates Kubernetes workloads with their service-account tokens, checked by the API server's TokenReview.",
		NoStorage: ErrNoStorage,
		Paths: entries.JWTMethod{
			ConfigSummary: "Configure the Kubernetes API server that reviews tokens.",
			ConfigFields: map[string]*endpoint.Field{
				"kubernetes_host":                   str("URL of the Kubernetes API server (required)."),
				"kubernetes_ca_cert":                str("PEM CA certificate of the API server (default: the pod's CA, else the system roots)."),
				"token_reviewer_jwt":                str("JWT that authenticates the TokenReview requests (default: the pod's token, else the client's JWT)."),
				"pem_keys":                          {Type: endpoint.TypeStringSlice, Description: "PEM public keys that verify service-account tokens locally, before the TokenReview."},
				"issuer":                            str("Required iss claim when disable_iss_validation is false (default kubernetes/serviceaccount)."),
				"disable_iss_validation":            {Type: endpoint.TypeBool, Description: "Do not check iss (default true)."},
				"disable_local_ca_jwt":              {Type: endpoint.TypeBool, Description: "Do not use the pod's own CA and token."},
				"use_annotations_as_alias_metadata": {Type: endpoint.TypeRaw, Description: "Not supported by vaultd: refused when set."},
			},
			ConfigRead:   e.configRead,
			ConfigWrite:  e.configWrite,
			Roles:        roleNames,
			RoleFields:   roleFields,
			RoleHandlers: entries.RoleHandlers{List: e.roleList, Read: e.roleRead, Write: e.roleWrite, Delete: e.roleDelete},
			LoginSummary: "Log in with a service-account token.",
			LoginRole:    "Role to log in with.",
			LoginJWT:     "The pod's service-account token.",
			Login:        e.login,
		}.Paths(),
	}
}

// Endpoints returns the engine's declarations (for docs and OpenAPI).
func (e *engine) Endpoints() *endpoint.Backend { return e.Backend }

func invalidf(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

func denied(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrPermissionDenied, format, args...)
}

func notFound() error { return &secrets.Error{Kind: secrets.ErrNotFound} }

func noContent() *secrets.Response { return &secrets.Response{} }
