package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/vaultd/vaultd/auth/internal/entries"
	"github.com/vaultd/vaultd/auth/internal/tokenparams"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

const (
	rolePrefix       = "role/"
	maxRoleNameBytes = 256
)

// alias_name_source values.
const (
	aliasSourceUID  = "serviceaccount_uid"
	aliasSourceName = "serviceaccount_name"
)

// role is the record at role/<name>.
type role struct {
	ServiceAccountNames      []string `json:"bound_service_account_names"`
	ServiceAccountNamespaces []string `json:"bound_service_account_namespaces"`
	Audience                 string   `json:"audience,omitempty"`
	AliasNameSource          string   `json:"alias_name_source"`
	tokenparams.Params
}

var legacyFields = map[string]string{
	"policies":    "token_policies",
	"ttl":         "token_ttl",
	"max_ttl":     "token_max_ttl",
	"period":      "token_period",
	"num_uses":    "token_num_uses",
	"bound_cidrs": "token_bound_cidrs",
}

// canonicalRoleName lowercases a role name (Vault's kubernetes roles are
// case-insensitive) and checks it is one safe segment.
func canonicalRoleName(name string) (string, error) {
	if err := entries.CheckRoleName(name, maxRoleNameBytes); err != nil {
		return "", err
	}
	return strings.ToLower(name), nil
}

func loadRole(ctx context.Context, s storage.Backend, name string) (*role, error) {
	return entries.Load[role](ctx, s, rolePrefix+name, ErrCorrupt, "kubernetes")
}

func (e *engine) roleList(ctx context.Context, req *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
	return entries.List(ctx, req.Storage, rolePrefix, "kubernetes: roles")
}

func (e *engine) roleRead(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	name, err := canonicalRoleName(d.String("name"))
	if err != nil {
		return nil, err
	}
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, notFound()
	}
	data := map[string]any{
		"bound_service_account_names":      tokenparams.NonNil(r.ServiceAccountNames),
		"bound_service_account_namespaces": tokenparams.NonNil(r.ServiceAccountNamespaces),
		"audience":                         r.Audience,
		"alias_name_source":                r.AliasNameSource,
	}
	r.Params.Populate(data)
	return &secrets.Response{Data: data}, nil
}

func (e *engine) roleDelete(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	name, err := canonicalRoleName(d.String("name"))
	if err != nil {
		return nil, err
	}
	mu := e.locks.ForKey(name)
	mu.Lock()
	defer mu.Unlock()
	if err := req.Storage.Delete(ctx, rolePrefix+name); err != nil {
		return nil, fmt.Errorf("kubernetes: delete role: %w", err)
	}
	return noContent(), nil
}

// roleWrite serves POST role/:name: create (both bound lists required) or
// update of the fields given.
func (e *engine) roleWrite(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	name, err := canonicalRoleName(d.String("name"))
	if err != nil {
		return nil, err
	}
	if d.Has("bound_service_account_namespace_selector") {
		return nil, invalidf("%q is not supported by vaultd: list the namespaces (globs allowed)", "bound_service_account_namespace_selector")
	}
	mu := e.locks.ForKey(name)
	mu.Lock()
	defer mu.Unlock()
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = &role{AliasNameSource: aliasSourceUID}
	}
	if d.Has("bound_service_account_names") {
		r.ServiceAccountNames = d.Strings("bound_service_account_names")
	}
	if d.Has("bound_service_account_namespaces") {
		r.ServiceAccountNamespaces = d.Strings("bound_service_account_namespaces")
	}
	if d.Has("audience") {
		r.Audience = strings.TrimSpace(d.String("audience"))
	}
	if d.Has("alias_name_source") {
		switch s := d.String("alias_name_source"); s {
		case "", aliasSourceUID:
			r.AliasNameSource = aliasSourceUID
		case aliasSourceName:
			r.AliasNameSource = aliasSourceName
		default:
			return nil, invalidf("invalid alias_name_source %q: expected %q or %q", s, aliasSourceUID, aliasSourceName)
		}
	}
	if err := r.Params.Parse(d, legacyFields); err != nil {
		return nil, err
	}
	if len(r.ServiceAccountNames) == 0 {
		return nil, invalidf(`"bound_service_account_names" can not be empty`)
	}
	if len(r.ServiceAccountNamespaces) == 0 {
		return nil, invalidf(`"bound_service_account_namespaces" can not be empty`)
	}
	if slices.Contains(r.ServiceAccountNames, "*") && slices.Contains(r.ServiceAccountNamespaces, "*") {
		return nil, invalidf(`"bound_service_account_names" and "bound_service_account_namespaces" can not both be "*"`)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: encode role: %w", err)
	}
	if err := req.Storage.Put(ctx, &storage.Entry{Key: rolePrefix + name, Value: b}); err != nil {
		return nil, fmt.Errorf("kubernetes: put role: %w", err)
	}
	return noContent(), nil
}
