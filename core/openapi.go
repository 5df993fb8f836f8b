package core

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/vaultd/vaultd/endpoint"
)

// declared is implemented by engines and auth methods whose endpoints are
// declared through the endpoint package.
type declared interface {
	Endpoints() *endpoint.Backend
}

// SysEndpoints returns the declarations of every sys/ endpoint core
// routes (relative to sys/), TokenEndpoints those of auth/token/, and
// NodeLocalEndpoints those the HTTP layer of each node serves itself
// (nodelocal.go). Together with the mounted engines' declarations they
// are the whole API; the OpenAPI document and docs/api.md are generated
// from them.
func (c *Core) SysEndpoints() *endpoint.Backend { return c.sys.Backend() }

// TokenEndpoints: see SysEndpoints.
func (c *Core) TokenEndpoints() *endpoint.Backend { return c.tokenEndpoints.Backend() }

// sysOpenAPI serves GET sys/internal/specs/openapi: an OpenAPI 3 document
// of every declared endpoint the token can reach, generated from the same
// declarations that serve the requests. As in Vault, any valid token may
// ask; mounts it has no capability under are left out (root sees all).
func (c *Core) sysOpenAPI(te *TokenEntry) (*Response, error) {
	mt := c.mounts.Current()
	at := c.ident.auth.Current()
	if mt == nil || at == nil {
		return nil, ErrStandby
	}
	paths := map[string]*endpoint.OpenAPIPathItem{}
	add := func(mount string, b *endpoint.Backend) {
		if c.canReachMount(te, mount) {
			maps.Copy(paths, b.OpenAPI(mount))
		}
	}
	add("sys/", NodeLocalEndpoints())
	add("sys/", c.SysEndpoints())
	add("auth/token/", c.TokenEndpoints())
	add("identity/", c.ident.endpoints) // identitystore.go
	for _, me := range mt.Entries() {
		if d, ok := mt.Engine(me.Path).(declared); ok {
			add(me.Path, d.Endpoints())
		}
	}
	for _, me := range at.Entries() {
		if d, ok := at.Engine(me.Path).(declared); ok {
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
