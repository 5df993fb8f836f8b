package transit

import (
	"context"
	"errors"
	"github.com/vaultd/vaultd/endpoint"
	"hash/fnv"
	"io"
	"log/slog"
	"sync"
	"time"

	"crypto/rand"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// Errors returned by this package that are not user-facing *secrets.Error values.
var (
	// ErrNoStorage: a request arrived without a storage view.
	ErrNoStorage = errors.New("transit: request has no storage")
	// ErrCorrupt: a stored key could not be decoded.
	ErrCorrupt = errors.New("transit: corrupt key record")
)

var (
	_ secrets.Factory          = Factory
	_ secrets.Backend          = (*engine)(nil)
	_ secrets.ExistenceChecker = (*engine)(nil)
	_ secrets.Cleaner          = (*engine)(nil)
)

// lockStripes is the number of per-key-name write locks.
const lockStripes = 64

// engine is one transit mount. Between requests it holds only the parsed
// keys of its cache (cache.go), zeroed by Cleanup.
type engine struct {
	log   *slog.Logger
	now   func() time.Time
	rand  io.Reader
	be    *endpoint.Backend
	locks [lockStripes]sync.Mutex // serialize read-modify-write of one key
	cache *policyCache
}

// Factory makes a transit engine for a mount. It takes no options.
func Factory(_ context.Context, conf secrets.Config) (secrets.Backend, error) {
	for k := range conf.Options {
		return nil, secrets.Errorf(secrets.ErrInvalidRequest, "transit: unknown option %q", k)
	}
	e := &engine{log: conf.Logger, now: conf.Now, rand: rand.Reader, cache: newPolicyCache(policyCacheSize)}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.be = &endpoint.Backend{
		Help:  "Transit: encryption as a service (encrypt, decrypt, sign, verify, HMAC) with named, versioned keys.",
		Paths: e.paths(),
	}
	if err := e.be.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

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
	return e.be.HandleRequest(ctx, req)
}

// Exists implements secrets.ExistenceChecker: keys/:name and encrypt/:name
// are upserts (a write to an absent key creates it); other paths have no
// existence check.
func (e *engine) Exists(ctx context.Context, req *secrets.Request) (exists, ok bool, err error) {
	return e.be.Exists(ctx, req)
}

// Cleanup implements secrets.Cleaner: the mount is going away (unmount,
// remount, table rebuild, step-down, seal); cached keys are zeroed (those
// in use by a request still in flight when it releases them) and nothing
// is cached any more.
func (e *engine) Cleanup() { e.cache.close() }

// lock returns the write lock for key name.
func (e *engine) lock(name string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return &e.locks[h.Sum32()%lockStripes]
}

// lockPolicy takes name's lock and loads its policy; missing is the error
// when there is none (each endpoint words it as Vault does). release
// zeroes the policy's keys and unlocks.
func (e *engine) lockPolicy(ctx context.Context, s storage.Backend, name string, missing error) (p *policy, release func(), err error) {
	mu := e.lock(name)
	mu.Lock()
	p, err = loadPolicy(ctx, s, name)
	if err == nil && p == nil {
		err = missing
	}
	if err != nil {
		mu.Unlock()
		return nil, nil, err
	}
	return p, func() { p.zero(); mu.Unlock() }, nil
}

// invalidf is a 400 with Vault's message.
func invalidf(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

// notFound is Vault's bare 404 ({"errors":[]}).
func notFound() error {
	return &secrets.Error{Kind: secrets.ErrNotFound}
}

// isUserError reports whether err is a user-facing *secrets.Error.
func isUserError(err error) bool {
	var se *secrets.Error
	return errors.As(err, &se)
}

// Endpoints is the declared endpoint table (docs/api.md, OpenAPI).
func (e *engine) Endpoints() *endpoint.Backend { return e.be }
