package kv

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// Errors returned by this package that are not user-facing *secrets.Error values.
var (
	// ErrNoStorage: a request arrived without a storage view.
	ErrNoStorage = errors.New("kv: request has no storage")
	// ErrCorrupt: a stored record could not be decoded.
	ErrCorrupt = errors.New("kv: corrupt record")
)

var (
	_ secrets.Factory          = Factory
	_ secrets.Backend          = (*engine)(nil)
	_ secrets.ExistenceChecker = (*engine)(nil)
)

// Factory makes a KV engine for a mount. conf.Options["version"] selects
// KV v1 ("1" or empty) or KV v2 ("2"); anything else is an ErrInvalidRequest.
func Factory(_ context.Context, conf secrets.Config) (secrets.Backend, error) {
	now := conf.Now
	if now == nil {
		now = time.Now
	}
	switch v := conf.Options["version"]; v {
	case "", "1":
		return newEngine(v1Paths()), nil
	case "2":
		b := &v2{now: now, locks: newLockSet()}
		return newEngine(b.paths()), nil
	default:
		return nil, secrets.Errorf(secrets.ErrInvalidRequest,
			"invalid kv version %q: must be \"1\" or \"2\"", v)
	}
}

// engine serves requests through its declared paths, after rejecting
// request paths that could alias or escape a key.
type engine struct {
	ep *endpoint.Backend
}

func newEngine(ep *endpoint.Backend) *engine {
	ep.NoStorage = ErrNoStorage
	ep.StrictList = true // LIST is of a folder: LIST config is a 404
	return &engine{ep: ep}
}

// Endpoints returns the engine's declarations (for docs and OpenAPI).
func (e *engine) Endpoints() *endpoint.Backend { return e.ep }

// folderPath is the request path as routed: a LIST is always of a folder,
// as Vault's HTTP layer makes it.
func folderPath(req *secrets.Request) string {
	p := req.Path
	if req.Operation == secrets.OpList && p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// HandleRequest implements secrets.Backend.
func (e *engine) HandleRequest(ctx context.Context, req *secrets.Request) (*secrets.Response, error) {
	if req != nil && req.Storage != nil {
		if err := checkRequestPath(folderPath(req)); err != nil {
			return nil, err
		}
	}
	return e.ep.HandleRequest(ctx, req)
}

// Exists implements secrets.ExistenceChecker: data/ and metadata/ on v2 and
// every path on v1 have an existence check (ok = true); other paths, and
// paths that fail validation, report ok = false so HandleRequest answers.
func (e *engine) Exists(ctx context.Context, req *secrets.Request) (exists, ok bool, err error) {
	if req == nil || req.Storage == nil || checkRequestPath(folderPath(req)) != nil {
		return false, false, nil
	}
	return e.ep.Exists(ctx, req)
}

// existsCheck adapts a key's existence check to a path's: a key that
// fails validation is not an existence question.
func existsCheck(check func(ctx context.Context, s storage.Backend, key string) (bool, error)) endpoint.ExistenceFunc {
	return func(ctx context.Context, req *secrets.Request, d *endpoint.Data) (bool, error) {
		key := d.String("path")
		if err := checkWriteKey(key); err != nil {
			return false, err
		}
		return check(ctx, req.Storage, key)
	}
}

// checkRequestPath rejects a request path that could alias or escape a
// key ("..", ".", "//", a leading "/", NUL) before any route sees it. One
// trailing slash (a folder) is allowed.
func checkRequestPath(p string) error {
	if p == "" {
		return nil
	}
	k := strings.TrimSuffix(p, "/")
	if k == "" || strings.HasSuffix(k, "/") || storage.ValidateKey(k) != nil {
		return invalidf("invalid path %q", p)
	}
	return nil
}

// invalidf is a 400.
func invalidf(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

// notFound is Vault's bare 404 ({"errors":[]}).
func notFound() error {
	return &secrets.Error{Kind: secrets.ErrNotFound}
}

// noContent is the answer of writes that return nothing (HTTP 204).
func noContent() *secrets.Response { return &secrets.Response{} }

// errMissingPath is what Vault answers for a write to an empty path.
func errMissingPath() error { return invalidf("missing path") }

// checkWriteKey validates a secret path that is about to be written (or
// otherwise named explicitly): it must be a valid storage key without a
// trailing slash.
func checkWriteKey(key string) error {
	if key == "" {
		return errMissingPath()
	}
	if err := storage.ValidateKey(key); err != nil {
		return invalidf("invalid path %q", key)
	}
	if strings.HasSuffix(key, "/") {
		return invalidf("invalid path %q: a secret path cannot end in \"/\"", key)
	}
	return nil
}

// checkLookupKey validates a secret path that is only looked up: an empty
// path or one ending in "/" cannot name a secret (absent is false), an
// unsafe one is a 400.
func checkLookupKey(key string) (present bool, err error) {
	if key == "" || strings.HasSuffix(key, "/") {
		if key != "" && storage.ValidatePrefix(key) != nil {
			return false, invalidf("invalid path %q", key)
		}
		return false, nil
	}
	if err := storage.ValidateKey(key); err != nil {
		return false, invalidf("invalid path %q", key)
	}
	return true, nil
}

// fmtTime formats a timestamp as Vault does: RFC 3339 with nanoseconds in
// UTC, or "" for the zero time.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
