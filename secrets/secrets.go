// Package secrets is the contract between core's router and every engine
// mounted behind it: secrets engines (kv, transit, cubbyhole) and auth
// methods (userpass, approle). An engine sees only its own storage view,
// already behind the barrier; it never imports core, seal or raftstore.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vaultd/vaultd/storage"
)

// Operation is what a request does, derived from the HTTP method (and, for
// PUT/POST, from the engine's existence check: create or update).
type Operation string

// The operations, named as Vault's policy capabilities are.
const (
	OpRead   Operation = "read"
	OpCreate Operation = "create"
	OpUpdate Operation = "update"
	OpPatch  Operation = "patch"
	OpDelete Operation = "delete"
	OpList   Operation = "list"
)

// Request is one request routed to an engine.
type Request struct {
	Operation Operation
	// Path is relative to the mount, without a leading slash ("data/app").
	Path string
	// Data is the JSON body for writes, or the query parameters for reads,
	// lists and deletes (Vault's convention: `?version=2` arrives as
	// Data["version"] = "2").
	Data map[string]any
	// Storage is this mount's view (logical/<mount-uuid>/), behind the barrier.
	Storage storage.Backend
	// MountPoint is where the engine is mounted, with a trailing slash ("secret/").
	MountPoint string
	// ClientToken is the caller's token ID: cubbyhole needs it to pick the
	// token's own area. Engines must never log or store it.
	ClientToken string
	// TokenAccessor is the caller's token accessor (safe to store).
	TokenAccessor string
	// DisplayName of the caller's token.
	DisplayName string
	// RemoteAddr is the client's IP address (for CIDR-bound logins).
	RemoteAddr string
}

// Response is an engine's answer. api wraps it in Vault's envelope.
type Response struct {
	Data     map[string]any
	Warnings []string
	// Auth is set by login paths: core turns it into a token.
	Auth *Auth
	// StatusCode overrides the HTTP status (e.g. 404 with a body, as KV v2
	// answers for a deleted version). 0 means the default (200, or 204
	// without data).
	StatusCode int
	// RawBody, when non-nil, is the whole HTTP body, sent as it is with
	// ContentType instead of Vault's JSON envelope (PKI's DER and PEM
	// reads, CRLs, OCSP responses). Data and Warnings are then ignored.
	RawBody     []byte
	ContentType string
}

// Auth is what a login path hands core to mint a token.
type Auth struct {
	Policies     []string
	Metadata     map[string]string
	DisplayName  string
	TTL          time.Duration
	MaxTTL       time.Duration
	Period       time.Duration
	NumUses      int
	Renewable    bool
	ExplicitMax  time.Duration
	NoDefaultPol bool
	// Alias names the entity within the auth method (username, role_id).
	Alias string
	// GroupAliases are the groups the auth method reports for this login
	// (an IdP's groups claim, LDAP groups): the entity is made a member of
	// the external groups whose group alias (on this mount) has one of
	// these names, and leaves those of this mount it is no longer in.
	GroupAliases []string
	// TokenType is "batch" for a batch token (not stored, not renewable,
	// no accessor); anything else, a service token.
	TokenType string
	// BoundCIDRs, when non-empty, binds the minted token to these CIDR
	// blocks (or single addresses, as "ip" or "ip/len"): core refuses the
	// token, as if it were invalid, on any request whose remote address
	// lies outside all of them (Vault's token_bound_cidrs).
	BoundCIDRs []string
}

// Backend is an engine. HandleRequest must be safe for concurrent use.
// Unknown paths return an *Error of kind ErrUnsupportedPath; a path that
// exists but does not support the operation, ErrUnsupportedOperation.
// A read of something absent returns an *Error of kind ErrNotFound.
type Backend interface {
	HandleRequest(ctx context.Context, req *Request) (*Response, error)
}

// ExistenceChecker is implemented by engines whose writes distinguish
// create from update (for ACL capabilities): core asks before a PUT/POST.
// Engines without it see every PUT/POST as OpUpdate.
type ExistenceChecker interface {
	// Exists reports whether req.Path already exists; ok is false when the
	// path has no existence check (the write is then an update).
	Exists(ctx context.Context, req *Request) (exists, ok bool, err error)
}

// Invalidator is implemented by engines that cache state derived from
// their storage.
type Invalidator interface {
	// Invalidate is called with a key relative to the engine's storage
	// view after a replicated write to it was applied on this node (a
	// standby, later a performance secondary), before any read that
	// follows the write is served. The engine must drop what it derived
	// from the key. It runs on the node's apply path: it must be quick and
	// must not write.
	Invalidate(ctx context.Context, key string)
}

// Cleaner is implemented by engines that keep state between requests
// that must not outlive them, such as parsed key material. Core calls
// Cleanup once when it drops the engine: unmount, remount, any rebuild of
// the mount table, step-down and seal. Requests still in flight may finish
// after it, so the engine must stay safe to use (it just keeps nothing).
type Cleaner interface {
	Cleanup()
}

// Unauthenticated is implemented by engines (auth methods) with paths that
// need no token, such as "login" or "login/*".
type Unauthenticated interface {
	UnauthenticatedPaths() []string
}

// Canonicalizer is implemented by engines whose paths have a canonical
// form, such as names that are case-insensitive (userpass users, approle
// roles). Core routes the canonical path and checks the ACL on it, so a
// policy rule about "users/admin" holds for "users/ADMIN" too. The result
// must address exactly what the engine would touch for path.
type Canonicalizer interface {
	CanonicalPath(path string) string
}

// Config is what a Factory gets when a mount is created or loaded.
type Config struct {
	// Type is the engine type ("kv", "userpass", ...).
	Type string
	// Options are the mount's options (kv: "version" = "1" or "2").
	Options map[string]string
	// Storage is the mount's view; the same one later passed in each Request.
	Storage storage.Backend
	Logger  *slog.Logger
	// Now is the clock (tests inject one); never nil.
	Now func() time.Time
}

// Factory makes an engine for a mount.
type Factory func(ctx context.Context, conf Config) (Backend, error)

// Error kinds: api maps each to one HTTP status.
var (
	ErrInvalidRequest       = errors.New("invalid request")        // 400
	ErrPermissionDenied     = errors.New("permission denied")      // 403
	ErrNotFound             = errors.New("not found")              // 404, errors: []
	ErrUnsupportedPath      = errors.New("unsupported path")       // 404
	ErrUnsupportedOperation = errors.New("unsupported operation")  // 405
	ErrCASMismatch          = errors.New("check-and-set mismatch") // 400
)

// Error is a user-facing error: Msg is the text Vault shows in
// {"errors":[...]}; Kind is one of the sentinels above.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap lets errors.Is match the kind.
func (e *Error) Unwrap() error { return e.Kind }

// Errorf builds an *Error of the given kind.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}
