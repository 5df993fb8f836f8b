package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vaultd/vaultd/auth/internal/field"
	"github.com/vaultd/vaultd/auth/internal/tokenparams"
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

var roleFields = []string{
	"name", "bound_service_account_names", "bound_service_account_namespaces", "audience", "alias_name_source",
	"token_policies", "policies", "token_ttl", "ttl", "token_max_ttl", "max_ttl",
	"token_explicit_max_ttl", "token_period", "period", "token_num_uses", "num_uses",
	"token_bound_cidrs", "bound_cidrs", "token_no_default_policy", "token_type",
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
	if name == "" {
		return "", invalidf("missing role name")
	}
	if len(name) > maxRoleNameBytes {
		return "", invalidf("role name is longer than %d bytes", maxRoleNameBytes)
	}
	word := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !word(c) && c != '-' && c != '.' && c != '@' {
			return "", invalidf("invalid role name %q", name)
		}
	}
	if !word(name[0]) || !word(name[len(name)-1]) {
		return "", invalidf("invalid role name %q", name)
	}
	return strings.ToLower(name), nil
}

func loadRole(ctx context.Context, s storage.Backend, name string) (*role, error) {
	ent, err := s.Get(ctx, rolePrefix+name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes: get role: %w", err)
	}
	var r role
	if err := json.Unmarshal(ent.Value, &r); err != nil {
		return nil, fmt.Errorf("%w: role %q: %v", ErrCorrupt, name, err)
	}
	return &r, nil
}

func roleExists(ctx context.Context, s storage.Backend, name string) (bool, error) {
	name, err := canonicalRoleName(name)
	if err != nil {
		return false, nil
	}
	r, err := loadRole(ctx, s, name)
	return r != nil, err
}

func (e *engine) roleList(ctx context.Context, req *secrets.Request, _ string) (*secrets.Response, error) {
	keys, err := req.Storage.List(ctx, rolePrefix)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: list roles: %w", err)
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if !strings.HasSuffix(k, "/") {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, notFound()
	}
	return &secrets.Response{Data: map[string]any{"keys": out}}, nil
}

func (e *engine) roleRead(ctx context.Context, req *secrets.Request, name string) (*secrets.Response, error) {
	name, err := canonicalRoleName(name)
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
		"bound_service_account_names":      field.NonNil(r.ServiceAccountNames),
		"bound_service_account_namespaces": field.NonNil(r.ServiceAccountNamespaces),
		"audience":                         r.Audience,
		"alias_name_source":                r.AliasNameSource,
	}
	r.Params.Populate(data)
	return &secrets.Response{Data: data}, nil
}

func (e *engine) roleDelete(ctx context.Context, req *secrets.Request, name string) (*secrets.Response, error) {
	name, err := canonicalRoleName(name)
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
func (e *engine) roleWrite(ctx context.Context, req *secrets.Request, name string) (*secrets.Response, error) {
	name, err := canonicalRoleName(name)
	if err != nil {
		return nil, err
	}
	if field.Present(req.Data, "bound_service_account_namespace_selector") {
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
	if l, set, err := field.StringList(req.Data, "bound_service_account_names"); err != nil {
		return nil, err
	} else if set {
		r.ServiceAccountNames = l
	}
	if l, set, err := field.StringList(req.Data, "bound_service_account_namespaces"); err != nil {
		return nil, err
	} else if set {
		r.ServiceAccountNamespaces = l
	}
	if s, set, err := field.String(req.Data, "audience"); err != nil {
		return nil, err
	} else if set {
		r.Audience = strings.TrimSpace(s)
	}
	if s, set, err := field.String(req.Data, "alias_name_source"); err != nil {
		return nil, err
	} else if set {
		switch s {
		case "", aliasSourceUID:
			r.AliasNameSource = aliasSourceUID
		case aliasSourceName:
			r.AliasNameSource = aliasSourceName
		default:
			return nil, invalidf("invalid alias_name_source %q: expected %q or %q", s, aliasSourceUID, aliasSourceName)
		}
	}
	if err := r.Params.Parse(req.Data, legacyFields); err != nil {
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
	resp := noContent()
	if w := unknownFields(req.Data, roleFields); w != "" {
		resp.Warnings = []string{w}
	}
	return resp, nil
}
