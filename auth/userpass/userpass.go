package userpass

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/vaultd/vaultd/auth/internal/keylock"
	"github.com/vaultd/vaultd/auth/internal/tokenparams"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// Errors returned by this package that are not user-facing *secrets.Error values.
var (
	// ErrNoStorage: a request arrived without a storage view.
	ErrNoStorage = errors.New("userpass: request has no storage")
	// ErrCorrupt: a stored record could not be decoded.
	ErrCorrupt = errors.New("userpass: corrupt record")
)

var (
	_ secrets.Factory          = Factory
	_ secrets.Backend          = (*engine)(nil)
	_ secrets.ExistenceChecker = (*engine)(nil)
	_ secrets.Unauthenticated  = (*engine)(nil)
)

// Factory makes a userpass auth method for a mount. It takes no options.
// Password hashes use bcrypt.DefaultCost.
func Factory(_ context.Context, conf secrets.Config) (secrets.Backend, error) {
	return newEngine(conf, bcrypt.DefaultCost)
}

// defaultDummyHash is a bcrypt hash at bcrypt.DefaultCost of 48 random
// bytes that were thrown away: no password matches it. It is a constant
// so that mounting costs no bcrypt run; a login never succeeds against it
// anyway, since an unknown user is refused whatever the comparison says.
const defaultDummyHash = "$2a$10$Uu5s6EksJwgFqb0KC6aTyu8gj.MjZvXgj.9krvLSSGhP7qpDSaPOm"

// engine is the userpass auth method. It is safe for concurrent use.
type engine struct {
	// Backend serves requests (HandleRequest, Exists and
	// UnauthenticatedPaths come from it).
	*endpoint.Backend
	log *slog.Logger
	// cost is the bcrypt cost of new password hashes.
	cost int
	// dummyHash is a bcrypt hash, at cost, of a random password nobody
	// knows: logins of unknown users are compared against it so that they
	// take as long as a wrong password (defaultDummyHash at DefaultCost).
	dummyHash []byte
	// compare checks a password against a hash (bcrypt; tests count calls).
	compare func(hash, password []byte) error
	// locks guard the read-modify-write of each user's entry.
	locks keylock.Set
}

func newEngine(conf secrets.Config, cost int) (*engine, error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("userpass: bcrypt cost %d out of range", cost)
	}
	log := conf.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dummy := []byte(defaultDummyHash)
	if cost != bcrypt.DefaultCost {
		var pw [48]byte
		if _, err := rand.Read(pw[:]); err != nil {
			return nil, fmt.Errorf("userpass: dummy password: %w", err)
		}
		var err error
		if dummy, err = bcrypt.GenerateFromPassword(pw[:], cost); err != nil {
			return nil, fmt.Errorf("userpass: dummy hash: %w", err)
		}
	}
	e := &engine{
		log:       log.With("component", "auth/userpass", "mount_type", conf.Type),
		cost:      cost,
		dummyHash: dummy,
		compare:   bcrypt.CompareHashAndPassword,
	}
	e.Backend = e.paths()
	return e, nil
}

// paths declares the engine's endpoints, in Vault's order.
func (e *engine) paths() *endpoint.Backend {
	username := &endpoint.Field{Type: endpoint.TypeString, Description: "Username (letters, digits, '_', '-' and '.'; case-insensitive)."}
	password := &endpoint.Field{Type: endpoint.TypeString, Description: "Password of the user (at most 72 bytes)."}
	passwordHash := &endpoint.Field{Type: endpoint.TypeString, Description: "bcrypt hash of the password, instead of the password."}
	userFields := tokenparams.Fields(legacyFields)
	userFields["username"] = username
	userFields["password"] = password
	userFields["password_hash"] = passwordHash
	return &endpoint.Backend{
		Help:      "Authenticates users with a username and a password.",
		NoStorage: ErrNoStorage,
		Paths: []*endpoint.Path{
			{
				Pattern:    "users",
				Summary:    "List the users.",
				Operations: map[secrets.Operation]endpoint.Handler{secrets.OpList: e.usersList},
			},
			{
				Pattern: "users/{username}",
				Summary: "Create, read, update or delete a user.",
				Fields:  userFields,
				Exists:  users.Exists,
				Operations: map[secrets.Operation]endpoint.Handler{
					secrets.OpRead:   e.userRead,
					secrets.OpUpdate: e.userWrite,
					secrets.OpDelete: e.userDelete,
				},
			},
			{
				Pattern: "users/{username}/password",
				Summary: "Reset a user's password.",
				Fields: map[string]*endpoint.Field{
					"username": username, "password": password, "password_hash": passwordHash,
				},
				Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: e.userPassword},
			},
			{
				Pattern: "users/{username}/policies",
				Summary: "Replace a user's token policies.",
				Fields: map[string]*endpoint.Field{
					"username":       username,
					"token_policies": userFields["token_policies"],
					"policies":       userFields["policies"],
				},
				Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: e.userPolicies},
			},
			{
				Pattern:         "login/{username}",
				Summary:         "Log in with a username and password.",
				Unauthenticated: true,
				Fields:          map[string]*endpoint.Field{"username": username, "password": password},
				Operations:      map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: e.login},
			},
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

// CanonicalPath implements secrets.Canonicalizer: usernames are
// case-insensitive, so "users/ADMIN/password" is "users/admin/password".
// Core checks the ACL on this form, the one the engine touches.
func (e *engine) CanonicalPath(path string) string {
	return lowerSegment(path, "users/", "login/")
}

// lowerSegment lower-cases (ASCII) the segment that follows the first of
// prefixes that path starts with.
func lowerSegment(path string, prefixes ...string) string {
	for _, p := range prefixes {
		rest, ok := strings.CutPrefix(path, p)
		if !ok {
			continue
		}
		name, tail, found := strings.Cut(rest, "/")
		if found {
			return p + asciiLower(name) + "/" + tail
		}
		return p + asciiLower(name)
	}
	return path
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
