package policies

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// Backend declares the policy endpoints, relative to the sys/ mount:
// sys/policy[/<name>] (Vault's legacy form, "rules") and
// sys/policies/acl[/<name>] ("policy"). core has checked the token and the
// ACL before it hands a request here.
func (ps *Store) Backend() *endpoint.Backend {
	ps.epOnce.Do(func() { ps.ep = ps.paths() })
	return ps.ep
}

func (ps *Store) paths() *endpoint.Backend {
	name := &endpoint.Field{Type: endpoint.TypeString, Description: "The name of the policy (lower-cased).", Required: true}
	policy := &endpoint.Field{Type: endpoint.TypeString, Description: "The policy document, HCL or JSON, optionally base64-encoded."}
	return &endpoint.Backend{
		Help:            "ACL policies.",
		StorageOptional: true, // the store keeps its own view of the barrier
		Paths: []*endpoint.Path{
			{
				Pattern: "policy",
				Summary: "List policies (legacy form).",
				Operations: map[secrets.Operation]endpoint.Handler{
					secrets.OpRead: ps.handleList(true),
					secrets.OpList: ps.handleList(true),
				},
			},
			{
				Pattern: "policy/{name+}",
				Fields: map[string]*endpoint.Field{
					"name":   name,
					"policy": policy,
					"rules":  {Type: endpoint.TypeString, Description: "The policy document (legacy name of policy)."},
				},
				Summary: "Read, write or delete a policy (legacy form).",
				Operations: map[secrets.Operation]endpoint.Handler{
					secrets.OpRead:   ps.handleRead(true),
					secrets.OpUpdate: ps.handleWrite(true),
					secrets.OpDelete: ps.handleDelete,
				},
			},
			{
				Pattern: "policies/acl",
				Summary: "List ACL policies.",
				Operations: map[secrets.Operation]endpoint.Handler{
					secrets.OpList: ps.handleList(false),
				},
			},
			{
				Pattern: "policies/acl/{name+}",
				Fields:  map[string]*endpoint.Field{"name": name, "policy": policy},
				Summary: "Read, write or delete an ACL policy.",
				Operations: map[secrets.Operation]endpoint.Handler{
					secrets.OpRead:   ps.handleRead(false),
					secrets.OpUpdate: ps.handleWrite(false),
					secrets.OpDelete: ps.handleDelete,
				},
			},
		},
	}
}

func (ps *Store) handleList(legacy bool) endpoint.Handler {
	return func(ctx context.Context, _ *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
		names, err := ps.List(ctx)
		if err != nil {
			return nil, err
		}
		if legacy {
			return &secrets.Response{Data: map[string]any{"policies": names, "keys": names}}, nil
		}
		return &secrets.Response{Data: map[string]any{"keys": names}}, nil
	}
}

func (ps *Store) handleRead(legacy bool) endpoint.Handler {
	return func(ctx context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
		name, err := NormalizeName(d.String("name"))
		if err != nil {
			return nil, err
		}
		if name == RootPolicy {
			return nil, secrets.Errorf(secrets.ErrNotFound, "not found")
		}
		raw, err := ps.Raw(ctx, name)
		if errors.Is(err, ErrNotFound) {
			return nil, secrets.Errorf(secrets.ErrNotFound, "not found")
		}
		if err != nil {
			return nil, err
		}
		if legacy {
			return &secrets.Response{Data: map[string]any{"name": name, "rules": raw}}, nil
		}
		return &secrets.Response{Data: map[string]any{"name": name, "policy": raw}}, nil
	}
}

func (ps *Store) handleWrite(legacy bool) endpoint.Handler {
	return func(ctx context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
		name, err := NormalizeName(d.String("name"))
		if err != nil {
			return nil, err
		}
		raw := d.String("policy")
		if raw == "" && legacy {
			raw = d.String("rules")
		}
		if strings.TrimSpace(raw) == "" {
			return nil, badRequest("'policy' parameter not supplied or empty")
		}
		// Vault accepts a base64-encoded policy. HCL text always holds
		// characters outside the base64 alphabet, so this cannot misfire.
		if dec, err := base64.StdEncoding.DecodeString(raw); err == nil && utf8.Valid(dec) {
			raw = string(dec)
		}
		if err := ps.Set(ctx, name, raw); err != nil {
			return nil, err
		}
		return nil, nil
	}
}

func (ps *Store) handleDelete(ctx context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	name, err := NormalizeName(d.String("name"))
	if err != nil {
		return nil, err
	}
	if err := ps.Delete(ctx, name); err != nil {
		return nil, err
	}
	return nil, nil
}
