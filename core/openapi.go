package core

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// declared is implemented by engines and auth methods whose endpoints are
// declared through the endpoint package.
type declared interface {
	Endpoints() *endpoint.Backend
}

// serveDeclared runs a sys/ request through one of core's declared
// subsystems (b, mounted at mount, "sys/"): the endpoint package converts
// and validates the fields before the subsystem's handler runs. path is
// the request path without a trailing slash; the caller has checked the
// token and the ACL.
func (c *Core) serveDeclared(ctx context.Context, b *endpoint.Backend, mount, path string, req *Request) (*Response, error) {
	sresp, err := b.HandleRequest(ctx, &secrets.Request{
		Operation: req.Operation, Path: strings.TrimPrefix(path, mount), Data: req.Data,
		MountPoint: mount, RemoteAddr: req.RemoteAddr,
	})
	if err != nil {
		return nil, err
	}
	if sresp == nil {
		return &Response{}, nil
	}
	if sresp.RawBody != nil {
		return &Response{RawBody: bytes.NewReader(sresp.RawBody), ContentType: sresp.ContentType, StatusCode: sresp.StatusCode}, nil
	}
	return &Response{Data: sresp.Data, Warnings: sresp.Warnings, StatusCode: sresp.StatusCode}, nil
}

// sysDeclared lists core's own declared backends, all answering under
// sys/. The rest of sys/ and auth/token/ are still dispatched by hand
// (sys.go, core/tokens) and are not in the OpenAPI document yet.
func (c *Core) sysDeclared() []*endpoint.Backend {
	return []*endpoint.Backend{c.ident.policies.Backend(), c.caps.Backend(), c.ident.audit.Backend(), c.keys.Backend(), c.raftOps.AutoSnapshotBackend()}
}

// sysOpenAPI serves GET sys/internal/specs/openapi: an OpenAPI 3 document
// of every declared endpoint the token can reach, generated from the same
// declarations that serve the requests. As in Vault, any valid token may
// ask; mounts it has no capability under are left out (root sees all).
func (c *Core) sysOpenAPI(te *TokenEntry, op secrets.Operation) (*Response, error) {
	if op != secrets.OpRead {
		return nil, unsupportedOp()
	}
	mt := c.mounts.Load()
	at := c.ident.auth.Load()
	if mt == nil || at == nil {
		return nil, ErrStandby
	}
	paths := map[string]*endpoint.OpenAPIPathItem{}
	add := func(mount string, b *endpoint.Backend) {
		if c.canReachMount(te, mount) {
			maps.Copy(paths, b.OpenAPI(mount))
		}
	}
	for _, b := range c.sysDeclared() {
		add("sys/", b)
	}
	add("identity/", c.ident.endpoints) // identitystore.go
	for _, me := range mt.entries {
		if d, ok := mt.engines[me.Path].(declared); ok {
			add(me.Path, d.Endpoints())
		}
	}
	for _, me := range at.entries {
		if d, ok := at.engines[me.Path].(declared); ok {
			add("auth/"+me.Path, d.Endpoints())
		}
	}
	ver := c.cfg.Version // as Vault: info.version is the server's version
	if ver == "" {
		ver = "1.0.0"
	}
	doc := endpoint.NewOpenAPIDocument("HashiCorp Vault API", ver,
		"HTTP API that gives you full access to vaultd. All API routes are prefixed with `/v1/`.", paths)
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("core: encoding the OpenAPI document: %w", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("core: encoding the OpenAPI document: %w", err)
	}
	return &Response{Raw: raw}, nil
}
