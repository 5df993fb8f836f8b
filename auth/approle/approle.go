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
	"github.com/vaultd/vaultd/auth/internal/tokenparams"
	"github.com/vaultd/vaultd/endpoint"
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
	e.Backend = e.paths()
	return e, nil
}

// engine is the AppRole auth method. It is safe for concurrent use.
//
// Lock order: a role's lock, then roleIDMu, then a secret ID's lock. A
// request holds at most one lock of each set.
type engine struct {
	// Backend serves requests (HandleRequest, Exists and
	// UnauthenticatedPaths come from it).
	*endpoint.Backend
	log *slog.Logger
	now func() time.Time

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

// paths declares the engine's endpoints, in Vault's order.
func (e *engine) paths() *endpoint.Backend {
	str := func(desc string) *endpoint.Field {
		return &endpoint.Field{Type: endpoint.TypeString, Description: desc}
	}
	roleName := str("Name of the role (letters, digits, '_', '-' and '.'; case-insensitive).")
	roleID := str("Identifier of the role: a UUID unless set.")
	secretID := str("A secret ID of the role.")
	accessor := str("Accessor of a secret ID of the role.")
	roleFields := tokenparams.Fields(legacyFields)
	roleFields["role_name"] = roleName
	roleFields["role_id"] = roleID
	roleFields["bind_secret_id"] = &endpoint.Field{Type: endpoint.TypeBool, Default: true, Description: "Require a secret ID at login."}
	roleFields["secret_id_bound_cidrs"] = &endpoint.Field{Type: endpoint.TypeCommaStringSlice, Description: "CIDR blocks that may log in with the role's secret IDs."}
	roleFields["secret_id_num_uses"] = &endpoint.Field{Type: endpoint.TypeInt, Description: "Number of logins a secret ID allows (0: unlimited)."}
	roleFields["secret_id_ttl"] = &endpoint.Field{Type: endpoint.TypeDurationSecond, Description: "Lifetime of the role's secret IDs (0: unlimited)."}
	roleFields["local_secret_ids"] = &endpoint.Field{Type: endpoint.TypeBool, Description: "Secret IDs are local to the cluster; set only at creation."}
	secretIDFields := func(extra map[string]*endpoint.Field) map[string]*endpoint.Field {
		f := map[string]*endpoint.Field{
			"role_name":         roleName,
			"metadata":          {Type: endpoint.TypeRaw, Description: "JSON object of strings (or a string holding one) attached to the secret ID and to its tokens' metadata."},
			"cidr_list":         {Type: endpoint.TypeCommaStringSlice, Description: "CIDR blocks that may log in with this secret ID."},
			"token_bound_cidrs": {Type: endpoint.TypeCommaStringSlice, Description: "CIDR blocks the tokens issued with this secret ID may be used from."},
			"num_uses":          {Type: endpoint.TypeInt, Description: "Number of logins this secret ID allows (at most the role's)."},
			"ttl":               {Type: endpoint.TypeDurationSecond, Description: "Lifetime of this secret ID (at most the role's)."},
		}
		for k, v := range extra {
			f[k] = v
		}
		return f
	}
	only := func(fields ...string) map[string]*endpoint.Field {
		all := map[string]*endpoint.Field{"role_name": roleName, "role_id": roleID, "secret_id": secretID, "secret_id_accessor": accessor}
		f := map[string]*endpoint.Field{}
		for _, name := range fields {
			f[name] = all[name]
		}
		return f
	}
	type ops = map[secrets.Operation]endpoint.Handler
	return &endpoint.Backend{
		Help:      "Authenticates machines and applications with a role ID and a secret ID.",
		NoStorage: ErrNoStorage,
		Paths: []*endpoint.Path{
			{Pattern: "role", Summary: "List the roles.", Operations: ops{secrets.OpList: e.roleList}},
			{
				Pattern: "role/{role_name}", Summary: "Create, read, update or delete a role.",
				Fields: roleFields, Exists: roles.Exists,
				Operations: ops{secrets.OpRead: e.roleRead, secrets.OpUpdate: e.roleWrite, secrets.OpDelete: e.roleDelete},
			},
			{
				Pattern: "role/{role_name}/role-id", Summary: "Read or set the role's role ID.",
				Fields:     only("role_name", "role_id"),
				Operations: ops{secrets.OpRead: e.roleIDRead, secrets.OpUpdate: e.roleIDWrite},
			},
			{
				Pattern: "role/{role_name}/secret-id", Summary: "Generate a secret ID for the role, or list the accessors of its secret IDs.",
				Fields:     secretIDFields(nil),
				Operations: ops{secrets.OpUpdate: e.secretIDGenerate, secrets.OpList: e.secretIDList},
			},
			{
				Pattern: "role/{role_name}/custom-secret-id", Summary: "Register a secret ID chosen by the client for the role.",
				Fields:     secretIDFields(only("secret_id")),
				Operations: ops{secrets.OpUpdate: e.secretIDCustom},
			},
			{
				Pattern: "role/{role_name}/secret-id/lookup", Summary: "Read the properties of a secret ID.",
				Fields:     only("role_name", "secret_id"),
				Operations: ops{secrets.OpUpdate: e.secretIDLookup},
			},
			{
				Pattern: "role/{role_name}/secret-id/destroy", Summary: "Destroy a secret ID.",
				Fields:     only("role_name", "secret_id"),
				Operations: ops{secrets.OpUpdate: e.secretIDDestroy, secrets.OpDelete: e.secretIDDestroy},
			},
			{
				Pattern: "role/{role_name}/secret-id-accessor/lookup", Summary: "Read the properties of a secret ID by its accessor.",
				Fields:     only("role_name", "secret_id_accessor"),
				Operations: ops{secrets.OpUpdate: e.accessorLookup},
			},
			{
				Pattern: "role/{role_name}/secret-id-accessor/destroy", Summary: "Destroy a secret ID by its accessor.",
				Fields:     only("role_name", "secret_id_accessor"),
				Operations: ops{secrets.OpUpdate: e.accessorDestroy, secrets.OpDelete: e.accessorDestroy},
			},
			{
				Pattern: "login", Summary: "Log in with a role ID and a secret ID.", Unauthenticated: true,
				Fields:     only("role_id", "secret_id"),
				Operations: ops{secrets.OpUpdate: e.login},
			},
			{Pattern: "tidy/secret-id", Summary: "Delete the expired secret IDs now.", Operations: ops{secrets.OpUpdate: e.tidy}},
		},
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
