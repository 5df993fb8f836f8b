package pki

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"github.com/vaultd/vaultd/endpoint"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

var (
	_ secrets.Factory          = Factory
	_ secrets.Backend          = (*engine)(nil)
	_ secrets.ExistenceChecker = (*engine)(nil)
	_ secrets.Unauthenticated  = (*engine)(nil)
)

// ErrNoStorage: a request arrived without a storage view.
var ErrNoStorage = errors.New("pki: request has no storage")

// engine is one PKI mount. It keeps no key material between requests:
// keys are read from the mount's storage (behind the barrier) when used.
type engine struct {
	log  *slog.Logger
	now  func() time.Time
	rand io.Reader
	be   *endpoint.Backend
	// mu serializes changes to issuers, keys, revocations and CRLs (a
	// read-modify-write of config/issuers or a CRL number must not race).
	// Issuing a certificate takes no lock: it writes only its own serial.
	mu sync.Mutex

	tidyMu     sync.Mutex
	tidyStatus map[string]any
}

// Factory makes a PKI engine for a mount. It takes no options.
func Factory(_ context.Context, conf secrets.Config) (secrets.Backend, error) {
	for k := range conf.Options {
		return nil, secrets.Errorf(secrets.ErrInvalidRequest, "pki: unknown option %q", k)
	}
	e := &engine{log: conf.Logger, now: conf.Now, rand: rand.Reader}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.be = &endpoint.Backend{
		Help:  "PKI: an X.509 certificate authority (roots, intermediates, roles, issuance, revocation, CRLs, OCSP).",
		Paths: e.paths(),
	}
	if err := e.be.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

// UnauthenticatedPaths implements secrets.Unauthenticated: the CA
// certificates, CRLs, single certificates and OCSP are public, as in
// Vault.
func (e *engine) UnauthenticatedPaths() []string {
	return []string{
		"ca", "ca/pem", "ca_chain", "crl", "crl/pem", "cert/*",
		"issuers/", "issuer/+/json", "issuer/+/der", "issuer/+/pem",
		"issuer/+/crl", "issuer/+/crl/der", "issuer/+/crl/pem",
		"ocsp", "ocsp/*",
	}
}

// isPublic reports whether path matches UnauthenticatedPaths ("+" is one
// segment, a final "*" any rest).
func (e *engine) isPublic(path string) bool {
	segs := strings.Split(strings.TrimSuffix(path, "/"), "/")
	for _, pat := range e.UnauthenticatedPaths() {
		if g, ok := strings.CutSuffix(pat, "*"); ok {
			if strings.HasPrefix(path, g) {
				return true
			}
			continue
		}
		if pat == path {
			return true
		}
		ps := strings.Split(strings.TrimSuffix(pat, "/"), "/")
		if len(ps) != len(segs) || strings.HasSuffix(pat, "/") != strings.HasSuffix(path, "/") {
			continue
		}
		ok := true
		for i := range ps {
			if ps[i] != segs[i] && (ps[i] != "+" || segs[i] == "") {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
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
	// Defence in depth: core skips the token only on the public paths;
	// a request without one anywhere else is refused here too.
	if req.ClientToken == "" && !e.isPublic(req.Path) {
		return nil, secrets.Errorf(secrets.ErrPermissionDenied, "permission denied")
	}
	return e.be.HandleRequest(ctx, req)
}

// Exists implements secrets.ExistenceChecker: roles/:name distinguishes
// create from update; other paths have no existence check.
func (e *engine) Exists(ctx context.Context, req *secrets.Request) (exists, ok bool, err error) {
	return e.be.Exists(ctx, req)
}

// handler is a PKI handler; wrap adapts it to endpoint.Handler.
type handler func(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error)

// Endpoints is the declared endpoint table (docs/api.md, OpenAPI).
func (e *engine) Endpoints() *endpoint.Backend { return e.be }

// newID is a random UUID (v4), as Vault's issuer and key IDs are.
func (e *engine) newID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(e.rand, b); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}
