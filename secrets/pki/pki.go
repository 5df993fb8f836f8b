package pki

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
	log    *slog.Logger
	now    func() time.Time
	rand   io.Reader
	routes []route
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
	e.routes = e.routeTable()
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
	r, caps := e.match(req.Path)
	if r == nil {
		return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
	}
	h := r.handler(req.Operation)
	if h == nil {
		return nil, secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
	}
	d := newFieldData(req.Data, caps)
	resp, err := h(ctx, req, d)
	if err != nil {
		return nil, err
	}
	if resp != nil && resp.RawBody == nil && (req.Operation == secrets.OpUpdate || req.Operation == secrets.OpCreate) {
		if unk := d.unknown(); len(unk) > 0 {
			resp.Warnings = append(resp.Warnings, fmt.Sprintf("Endpoint ignored these unrecognized parameters: %v", unk))
		}
	}
	return resp, nil
}

// Exists implements secrets.ExistenceChecker: roles/:name distinguishes
// create from update; other paths have no existence check.
func (e *engine) Exists(ctx context.Context, req *secrets.Request) (exists, ok bool, err error) {
	if req == nil || req.Storage == nil {
		return false, false, nil
	}
	r, caps := e.match(req.Path)
	if r == nil || !r.existence {
		return false, false, nil
	}
	role, err := loadRole(ctx, req.Storage, caps["name"])
	if err != nil {
		return false, false, err
	}
	return role != nil, true, nil
}

// handler serves one operation on one path.
type handler func(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error)

// route is one row of the routing table. Pattern segments are literals,
// "{x}" (one segment captured as field x) or a final "{x*}" (the rest).
type route struct {
	pattern   []string
	ops       map[secrets.Operation]handler
	existence bool
}

func (r *route) handler(op secrets.Operation) handler {
	if h, ok := r.ops[op]; ok {
		return h
	}
	if op == secrets.OpCreate {
		return r.ops[secrets.OpUpdate]
	}
	return nil
}

func (e *engine) match(path string) (*route, map[string]string) {
	segs := strings.Split(path, "/")
	for i := range e.routes {
		if caps, ok := e.routes[i].match(segs); ok {
			return &e.routes[i], caps
		}
	}
	return nil, nil
}

func (r *route) match(segs []string) (map[string]string, bool) {
	caps := map[string]string{}
	for i, pat := range r.pattern {
		if rest, ok := strings.CutPrefix(pat, "{"); ok && strings.HasSuffix(pat, "*}") {
			if i >= len(segs) {
				return nil, false
			}
			v := strings.Join(segs[i:], "/")
			if v == "" {
				return nil, false
			}
			caps[strings.TrimSuffix(rest, "*}")] = v
			return caps, true
		}
		if i >= len(segs) {
			return nil, false
		}
		if name, ok := strings.CutPrefix(pat, "{"); ok {
			if segs[i] == "" {
				return nil, false
			}
			caps[strings.TrimSuffix(name, "}")] = segs[i]
			continue
		}
		if segs[i] != pat {
			return nil, false
		}
	}
	if len(segs) != len(r.pattern) {
		return nil, false
	}
	return caps, true
}

func (e *engine) routeTable() []route {
	type ops = map[secrets.Operation]handler
	rd := func(h handler) ops { return ops{secrets.OpRead: h} }
	up := func(h handler) ops { return ops{secrets.OpUpdate: h} }
	ls := func(h handler) ops { return ops{secrets.OpList: h} }
	mk := func(p string, o ops) route { return route{pattern: strings.Split(p, "/"), ops: o} }
	roles := mk("roles/{name}", ops{
		secrets.OpRead: e.roleRead, secrets.OpCreate: e.roleWrite, secrets.OpUpdate: e.roleWrite,
		secrets.OpPatch: e.rolePatch, secrets.OpDelete: e.roleDelete,
	})
	roles.existence = true
	return []route{
		// CA and CRL reads (unauthenticated).
		mk("ca", rd(e.fetchCA("der"))),
		mk("ca/pem", rd(e.fetchCA("pem"))),
		mk("ca_chain", rd(e.fetchCAChainRaw)),
		mk("cert/ca_chain", rd(e.certCAChainJSON)),
		mk("cert/crl", rd(e.certCRLJSON)),
		mk("cert/{serial}", rd(e.certRead)),
		mk("cert/{serial}/raw", rd(e.certRaw("der"))),
		mk("cert/{serial}/raw/pem", rd(e.certRaw("pem"))),
		mk("certs/", ls(e.certsList)),
		mk("certs/revoked/", ls(e.certsRevokedList)),
		mk("crl", rd(e.fetchCRL("", "der"))),
		mk("crl/pem", rd(e.fetchCRL("", "pem"))),
		mk("crl/rotate", rd(e.crlRotate)),
		// Configuration.
		mk("config/urls", ops{secrets.OpRead: e.urlsRead, secrets.OpUpdate: e.urlsWrite}),
		mk("config/crl", ops{secrets.OpRead: e.crlConfigRead, secrets.OpUpdate: e.crlConfigWrite}),
		mk("config/ca", up(e.importBundle)),
		mk("config/issuers", ops{secrets.OpRead: e.issuersConfigRead, secrets.OpUpdate: e.issuersConfigWrite}),
		mk("config/keys", ops{secrets.OpRead: e.keysConfigRead, secrets.OpUpdate: e.keysConfigWrite}),
		// CA generation and import.
		mk("root/generate/{exported}", up(e.generateRoot)),
		mk("issuers/generate/root/{exported}", up(e.generateRoot)),
		mk("intermediate/generate/{exported}", up(e.generateIntermediate)),
		mk("issuers/generate/intermediate/{exported}", up(e.generateIntermediate)),
		mk("intermediate/set-signed", up(e.importBundle)),
		mk("issuers/import/cert", up(e.importBundle)),
		mk("issuers/import/bundle", up(e.importBundle)),
		mk("root/sign-intermediate", up(e.signIntermediate)),
		mk("issuer/{issuer_ref}/sign-intermediate", up(e.signIntermediate)),
		mk("root/replace", up(e.issuersConfigWrite)),
		mk("root", ops{secrets.OpDelete: e.deleteRoot}),
		// Roles.
		mk("roles/", ls(e.roleList)),
		roles,
		// Issuance.
		mk("issue/{role}", up(e.issue)),
		mk("issuer/{issuer_ref}/issue/{role}", up(e.issue)),
		mk("sign/{role}", up(e.sign)),
		mk("issuer/{issuer_ref}/sign/{role}", up(e.sign)),
		mk("sign-verbatim", up(e.signVerbatim)),
		mk("sign-verbatim/{role}", up(e.signVerbatim)),
		mk("issuer/{issuer_ref}/sign-verbatim", up(e.signVerbatim)),
		mk("issuer/{issuer_ref}/sign-verbatim/{role}", up(e.signVerbatim)),
		// Revocation and maintenance.
		mk("revoke", up(e.revoke)),
		mk("tidy", up(e.tidy)),
		mk("tidy-status", rd(e.tidyStatusRead)),
		// Issuers and keys.
		mk("issuers/", ls(e.issuersList)),
		mk("issuer/{issuer_ref}", ops{secrets.OpRead: e.issuerRead, secrets.OpUpdate: e.issuerWrite, secrets.OpPatch: e.issuerWrite, secrets.OpDelete: e.issuerDelete}),
		mk("issuer/{issuer_ref}/json", rd(e.issuerFetch("json"))),
		mk("issuer/{issuer_ref}/der", rd(e.issuerFetch("der"))),
		mk("issuer/{issuer_ref}/pem", rd(e.issuerFetch("pem"))),
		mk("issuer/{issuer_ref}/crl", rd(e.issuerCRL("json"))),
		mk("issuer/{issuer_ref}/crl/der", rd(e.issuerCRL("der"))),
		mk("issuer/{issuer_ref}/crl/pem", rd(e.issuerCRL("pem"))),
		mk("keys/", ls(e.keysList)),
		mk("key/{key_ref}", ops{secrets.OpRead: e.keyRead, secrets.OpUpdate: e.keyWrite, secrets.OpDelete: e.keyDelete}),
		// OCSP (RFC 6960): GET with the base64 request in the path, POST with DER.
		mk("ocsp", up(e.ocspPost)),
		mk("ocsp/{req*}", rd(e.ocspGet)),
	}
}

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
