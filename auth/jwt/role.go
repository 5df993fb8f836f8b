package jwt

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vaultd/vaultd/auth/internal/entries"
	"github.com/vaultd/vaultd/auth/internal/tokenparams"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// rolePrefix is where roles live in the mount's view.
const rolePrefix = "role/"

// maxRoleNameBytes bounds a role name.
const maxRoleNameBytes = 256

// Bound-claim matching modes.
const (
	claimsTypeString = "string"
	claimsTypeGlob   = "glob"
)

// role is the record at role/<name>.
type role struct {
	RoleType         string              `json:"role_type"`
	BoundAudiences   []string            `json:"bound_audiences,omitempty"`
	BoundSubject     string              `json:"bound_subject,omitempty"`
	BoundClaims      map[string][]string `json:"bound_claims,omitempty"`
	BoundClaimsType  string              `json:"bound_claims_type"`
	ClaimMappings    map[string]string   `json:"claim_mappings,omitempty"`
	UserClaim        string              `json:"user_claim"`
	UserClaimJSONPtr bool                `json:"user_claim_json_pointer,omitempty"`
	GroupsClaim      string              `json:"groups_claim,omitempty"`
	ClockSkewLeeway  time.Duration       `json:"clock_skew_leeway,omitempty"`
	ExpirationLeeway time.Duration       `json:"expiration_leeway,omitempty"`
	NotBeforeLeeway  time.Duration       `json:"not_before_leeway,omitempty"`
	tokenparams.Params
}

// unsupportedRoleFields belong to OIDC roles, which vaultd does not have.
var unsupportedRoleFields = []string{
	"allowed_redirect_uris", "oidc_scopes", "verbose_oidc_logging", "max_age",
}

// legacyFields maps the deprecated role fields to their token_* successors.
var legacyFields = map[string]string{
	"policies":    "token_policies",
	"ttl":         "token_ttl",
	"max_ttl":     "token_max_ttl",
	"period":      "token_period",
	"num_uses":    "token_num_uses",
	"bound_cidrs": "token_bound_cidrs",
}

func roleKey(name string) string { return rolePrefix + name }

// canonicalRoleName applies Vault's name rule (word characters, "-",
// ".", "@"; starting and ending with a word character), so a name is one
// safe storage segment. JWT role names keep their case, as in Vault.
func canonicalRoleName(name string) (string, error) {
	if err := checkRoleName(name); err != nil {
		return "", err
	}
	return name, nil
}

func checkRoleName(name string) error { return entries.CheckRoleName(name, maxRoleNameBytes) }

func loadRole(ctx context.Context, s storage.Backend, name string) (*role, error) {
	return entries.Load[role](ctx, s, roleKey(name), ErrCorrupt, "jwt")
}

// roleList serves LIST role.
func (e *engine) roleList(ctx context.Context, req *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
	return entries.List(ctx, req.Storage, rolePrefix, "jwt: roles")
}

// roleRead serves GET role/:name.
func (e *engine) roleRead(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	name := d.String("name")
	if err := checkRoleName(name); err != nil {
		return nil, err
	}
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, notFound()
	}
	claims := map[string]any{}
	for k, v := range r.BoundClaims {
		claims[k] = v
	}
	mappings := map[string]any{}
	for k, v := range r.ClaimMappings {
		mappings[k] = v
	}
	data := map[string]any{
		"role_type":               r.RoleType,
		"bound_audiences":         tokenparams.NonNil(r.BoundAudiences),
		"bound_subject":           r.BoundSubject,
		"bound_claims":            claims,
		"bound_claims_type":       r.BoundClaimsType,
		"claim_mappings":          mappings,
		"user_claim":              r.UserClaim,
		"user_claim_json_pointer": r.UserClaimJSONPtr,
		"groups_claim":            r.GroupsClaim,
		"clock_skew_leeway":       tokenparams.Seconds(r.ClockSkewLeeway),
		"expiration_leeway":       tokenparams.Seconds(r.ExpirationLeeway),
		"not_before_leeway":       tokenparams.Seconds(r.NotBeforeLeeway),
	}
	r.Params.Populate(data)
	return &secrets.Response{Data: data}, nil
}

// roleDelete serves DELETE role/:name (idempotent).
func (e *engine) roleDelete(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	name := d.String("name")
	if err := checkRoleName(name); err != nil {
		return nil, err
	}
	mu := e.locks.ForKey(name)
	mu.Lock()
	defer mu.Unlock()
	if err := req.Storage.Delete(ctx, roleKey(name)); err != nil {
		return nil, fmt.Errorf("jwt: delete role: %w", err)
	}
	return noContent(), nil
}

// roleWrite serves POST role/:name: it creates the role (user_claim is
// then required) or updates the fields given.
func (e *engine) roleWrite(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	name := d.String("name")
	if err := checkRoleName(name); err != nil {
		return nil, err
	}
	for _, f := range unsupportedRoleFields {
		if d.Has(f) {
			return nil, invalidf("%q is not supported: vaultd has only role_type \"jwt\" (no OIDC browser login)", f)
		}
	}
	mu := e.locks.ForKey(name)
	mu.Lock()
	defer mu.Unlock()
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = &role{RoleType: "jwt", BoundClaimsType: claimsTypeString}
	}
	if err := r.parse(d); err != nil {
		return nil, err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("jwt: encode role: %w", err)
	}
	if err := req.Storage.Put(ctx, &storage.Entry{Key: roleKey(name), Value: b}); err != nil {
		return nil, fmt.Errorf("jwt: put role: %w", err)
	}
	return noContent(), nil
}

// parse applies the fields present in d and checks the result.
func (r *role) parse(d *endpoint.Data) error {
	if d.Has("role_type") {
		switch s := d.String("role_type"); s {
		case "", "jwt":
			r.RoleType = "jwt"
		case "oidc":
			return invalidf("role_type \"oidc\" is not supported: vaultd has no OIDC browser login; use \"jwt\"")
		default:
			return invalidf("invalid 'role_type': %q", s)
		}
	}
	if d.Has("bound_audiences") {
		r.BoundAudiences = d.Strings("bound_audiences")
	}
	for name, dst := range map[string]*string{
		"bound_subject": &r.BoundSubject, "user_claim": &r.UserClaim, "groups_claim": &r.GroupsClaim,
	} {
		if d.Has(name) {
			*dst = strings.TrimSpace(d.String(name))
		}
	}
	if d.Has("user_claim_json_pointer") {
		r.UserClaimJSONPtr = d.Bool("user_claim_json_pointer")
	}
	if d.Has("bound_claims_type") {
		switch s := d.String("bound_claims_type"); s {
		case "", claimsTypeString:
			r.BoundClaimsType = claimsTypeString
		case claimsTypeGlob:
			r.BoundClaimsType = claimsTypeGlob
		default:
			return invalidf("invalid 'bound_claims_type': %q (expected %q or %q)", s, claimsTypeString, claimsTypeGlob)
		}
	}
	if d.Has("bound_claims") {
		bc, err := parseBoundClaims(d.Map("bound_claims"))
		if err != nil {
			return err
		}
		r.BoundClaims = bc
	}
	if d.Has("claim_mappings") {
		cm, err := parseClaimMappings(d.KVPairs("claim_mappings"))
		if err != nil {
			return err
		}
		r.ClaimMappings = cm
	}
	for name, dst := range map[string]*time.Duration{
		"clock_skew_leeway": &r.ClockSkewLeeway,
		"expiration_leeway": &r.ExpirationLeeway,
		"not_before_leeway": &r.NotBeforeLeeway,
	} {
		if !d.Has(name) {
			continue
		}
		v := d.Duration(name)
		if v < 0 && v != -time.Second {
			return invalidf("'%s' must be -1 (no leeway), 0 (the default) or a positive duration", name)
		}
		*dst = v
	}
	if err := r.Params.Parse(d, legacyFields); err != nil {
		return err
	}
	if r.UserClaim == "" {
		return invalidf("a user claim must be defined on the role")
	}
	if r.UserClaimJSONPtr && !strings.HasPrefix(r.UserClaim, "/") {
		return invalidf("'user_claim' must be a JSON pointer (\"/a/b\") when 'user_claim_json_pointer' is true")
	}
	if r.BoundClaimsType == claimsTypeGlob {
		for k, vs := range r.BoundClaims {
			for _, v := range vs {
				if v == "" {
					return invalidf("bound claim %q has an empty glob", k)
				}
			}
		}
	}
	return nil
}

// maxBoundClaims bounds bound_claims and claim_mappings.
const maxBoundClaims = 256

// parseBoundClaims reads a map of claim → value or list of values
// (strings, numbers or booleans, kept as their JSON text).
func parseBoundClaims(m map[string]any) (map[string][]string, error) {
	if len(m) > maxBoundClaims {
		return nil, invalidf("%q has more than %d entries", "bound_claims", maxBoundClaims)
	}
	out := make(map[string][]string, len(m))
	for k, raw := range m {
		if k == "" {
			return nil, invalidf("bound_claims has an empty claim name")
		}
		var vals []string
		switch x := raw.(type) {
		case []any:
			for _, it := range x {
				s, ok := scalarString(it)
				if !ok {
					return nil, invalidf("bound claim %q must be a string, number, boolean or a list of them", k)
				}
				vals = append(vals, s)
			}
		default:
			s, ok := scalarString(x)
			if !ok {
				return nil, invalidf("bound claim %q must be a string, number, boolean or a list of them", k)
			}
			vals = []string{s}
		}
		if len(vals) == 0 {
			return nil, invalidf("bound claim %q has no values", k)
		}
		out[k] = vals
	}
	return out, nil
}

// parseClaimMappings reads a map of claim → metadata key.
func parseClaimMappings(m map[string]string) (map[string]string, error) {
	if len(m) > maxBoundClaims {
		return nil, invalidf("%q has more than %d entries", "claim_mappings", maxBoundClaims)
	}
	out := make(map[string]string, len(m))
	targets := map[string]bool{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := m[k]
		if k == "" || s == "" {
			return nil, invalidf("claim_mappings must map claim names to non-empty metadata key strings")
		}
		if s == "role" {
			return nil, invalidf("metadata key %q is reserved and may not be a mapping destination", s)
		}
		if targets[s] {
			return nil, invalidf("multiple keys are mapped to metadata key %q", s)
		}
		targets[s] = true
		out[k] = s
	}
	return out, nil
}

// scalarString is a claim or bound value as text: strings as they are,
// numbers and booleans as their JSON text.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case json.Number:
		return x.String(), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}
