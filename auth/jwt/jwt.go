package jwt

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
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
	// Backend serves requests (HandleRequest, Exists and
	// UnauthenticatedPaths come from it).
	*endpoint.Backend
	log *slog.Logger
	now func() time.Time
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
	e.Backend = e.paths()
	return e
}

// paths declares the engine's endpoints, in Vault's order.
func (e *engine) paths() *endpoint.Backend {
	str := func(desc string) *endpoint.Field {
		return &endpoint.Field{Type: endpoint.TypeString, Description: desc}
	}
	unsupported := func() *endpoint.Field {
		return &endpoint.Field{Type: endpoint.TypeRaw, Description: "Not supported by vaultd (OIDC browser login): refused when set."}
	}
	configFields := map[string]*endpoint.Field{
		"jwks_url":               str("JWKS URL of the issuer's signing keys."),
		"jwks_ca_pem":            str("PEM CA certificates trusted for jwks_url (default: the system roots)."),
		"jwt_validation_pubkeys": {Type: endpoint.TypeStringSlice, Description: "PEM public keys (or certificates) that verify JWTs."},
		"oidc_discovery_url":     str("OIDC discovery URL (the issuer); its jwks_uri gives the keys."),
		"oidc_discovery_ca_pem":  str("PEM CA certificates trusted for the discovery URL and its jwks_uri."),
		"bound_issuer":           str("Required iss claim."),
		"jwt_supported_algs":     {Type: endpoint.TypeCommaStringSlice, Description: "Accepted signing algorithms (default: all RS*, PS*, ES* and EdDSA; never HMAC or none)."},
		"default_role":           str("Role used by a login that names none."),
	}
	for _, f := range unsupportedConfigFields {
		configFields[f] = unsupported()
	}
	roleFields := tokenparams.Fields(legacyFields)
	for k, f := range map[string]*endpoint.Field{
		"name":                    str("Name of the role."),
		"role_type":               str("Only \"jwt\"."),
		"bound_audiences":         {Type: endpoint.TypeCommaStringSlice, Description: "aud values, one of which the token must carry."},
		"bound_subject":           str("Required sub claim."),
		"bound_claims":            {Type: endpoint.TypeMap, Description: "Claims (names or JSON pointers) and the value, or list of values, each must have."},
		"bound_claims_type":       str("How bound_claims values match: string (exact) or glob (\"*\" wildcards)."),
		"claim_mappings":          {Type: endpoint.TypeKVPairs, Description: "Claims copied into token metadata: claim → metadata key."},
		"user_claim":              str("Claim that names the user (the identity alias); required."),
		"user_claim_json_pointer": {Type: endpoint.TypeBool, Description: "user_claim is a JSON pointer."},
		"groups_claim":            str("Claim listing the user's groups; required in the token when set."),
		"clock_skew_leeway":       {Type: endpoint.TypeDurationSecond, Description: "Clock skew tolerance (0: 60s, -1: none)."},
		"expiration_leeway":       {Type: endpoint.TypeDurationSecond, Description: "Extra tolerance on exp (0: 150s, -1: none)."},
		"not_before_leeway":       {Type: endpoint.TypeDurationSecond, Description: "Extra tolerance on nbf (0: 150s, -1: none)."},
	} {
		roleFields[k] = f
	}
	for _, f := range unsupportedRoleFields {
		roleFields[f] = unsupported()
	}
	roleNames := entries.Named{Capture: "name", Canonical: canonicalRoleName, Key: roleKey, What: "jwt: roles"}
	return &endpoint.Backend{
		Help:      "Authenticates workloads with JWTs signed by a trusted issuer (CI systems, identity providers).",
		NoStorage: ErrNoStorage,
		Paths: entries.JWTMethod{
			ConfigSummary: "Configure the keys that verify JWTs.",
			ConfigFields:  configFields,
			ConfigRead:    e.configRead,
			ConfigWrite:   e.configWrite,
			Roles:         roleNames,
			RoleFields:    roleFields,
			RoleHandlers:  entries.RoleHandlers{List: e.roleList, Read: e.roleRead, Write: e.roleWrite, Delete: e.roleDelete},
			LoginSummary:  "Log in with a JWT.",
			LoginRole:     "Role to log in with (default: the config's default_role).",
			LoginJWT:      "The signed JWT.",
			Login:         e.login,
		}.Paths(),
	}
}

// Endpoints returns the engine's declarations (for docs and OpenAPI).
func (e *engine) Endpoints() *endpoint.Backend { return e.Backend }

// invalidf is a 400.
func invalidf(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

// notFound is Vault's bare 404 ({"errors":[]}).
func notFound() error { return &secrets.Error{Kind: secrets.ErrNotFound} }

// noContent is the answer of writes that return nothing (HTTP 204).
func noContent() *secrets.Response { return &secrets.Response{} }
