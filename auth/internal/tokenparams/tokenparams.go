package tokenparams

import (
	"slices"
	"strings"
	"time"

	"github.com/vaultd/vaultd/auth/internal/cidr"
	"github.com/vaultd/vaultd/auth/internal/field"
	"github.com/vaultd/vaultd/secrets"
)

// invalidf is a 400.
func invalidf(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

// Params are the token_* fields of Vault's auth methods: stored with
// a user (or role) and copied into the secrets.Auth of each login.
type Params struct {
	Policies        []string      `json:"token_policies,omitempty"`
	TTL             time.Duration `json:"token_ttl,omitempty"`
	MaxTTL          time.Duration `json:"token_max_ttl,omitempty"`
	ExplicitMaxTTL  time.Duration `json:"token_explicit_max_ttl,omitempty"`
	Period          time.Duration `json:"token_period,omitempty"`
	NumUses         int           `json:"token_num_uses,omitempty"`
	BoundCIDRs      []string      `json:"token_bound_cidrs,omitempty"`
	NoDefaultPolicy bool          `json:"token_no_default_policy,omitempty"`
	Type            string        `json:"token_type,omitempty"`
}

// Token types a user or role may ask for.
const (
	tokenTypeDefault = "default"
	tokenTypeService = "service"
	tokenTypeBatch   = "batch"
)

// RootPolicy may never be put on a token by an auth method.
const RootPolicy = "root"

// Parse applies the token_* fields present in data to t.
// legacy maps a deprecated field to its token_* successor ("policies" →
// "token_policies"); when both are given the token_* field wins, as in
// Vault. Fields absent from data keep their value.
func (t *Params) Parse(data map[string]any, legacy map[string]string) error {
	pick := func(name string) string {
		if field.Present(data, name) {
			return name
		}
		for old, successor := range legacy {
			if successor == name && field.Present(data, old) {
				return old
			}
		}
		return name
	}

	if f := pick("token_policies"); field.Present(data, f) {
		list, _, err := field.StringList(data, f)
		if err != nil {
			return err
		}
		t.Policies = SanitizePolicies(list)
	}
	if slices.Contains(t.Policies, RootPolicy) {
		return invalidf("the %q policy cannot be assigned by an auth method", RootPolicy)
	}
	if f := pick("token_bound_cidrs"); field.Present(data, f) {
		list, _, err := field.StringList(data, f)
		if err != nil {
			return err
		}
		cidrs, err := cidr.Canonical(f, list)
		if err != nil {
			return err
		}
		t.BoundCIDRs = cidrs
	}
	durations := []struct {
		field string
		dst   *time.Duration
	}{
		{"token_ttl", &t.TTL},
		{"token_max_ttl", &t.MaxTTL},
		{"token_explicit_max_ttl", &t.ExplicitMaxTTL},
		{"token_period", &t.Period},
	}
	for _, d := range durations {
		f := pick(d.field)
		v, set, err := field.Duration(data, f)
		if err != nil {
			return err
		}
		if !set {
			continue
		}
		if v < 0 {
			return invalidf("'%s' cannot be negative", d.field)
		}
		*d.dst = v
	}
	if n, set, err := field.Int(data, pick("token_num_uses")); err != nil {
		return err
	} else if set {
		if n < 0 {
			return invalidf("'token_num_uses' cannot be negative")
		}
		t.NumUses = n
	}
	if b, set, err := field.Bool(data, "token_no_default_policy"); err != nil {
		return err
	} else if set {
		t.NoDefaultPolicy = b
	}
	if s, set, err := field.String(data, "token_type"); err != nil {
		return err
	} else if set {
		switch s {
		case "", tokenTypeDefault:
			t.Type = tokenTypeDefault
		case tokenTypeService, tokenTypeBatch:
			t.Type = s
		default:
			return invalidf("invalid 'token_type' value %q", s)
		}
	}
	if t.Type == tokenTypeBatch {
		if t.Period != 0 {
			return invalidf("'token_type' cannot be 'batch' when set to generate periodic tokens")
		}
		if t.NumUses != 0 {
			return invalidf("'token_type' cannot be 'batch' when set to generate tokens with limited use count")
		}
	}
	if t.TTL > 0 && t.MaxTTL > 0 && t.TTL > t.MaxTTL {
		return invalidf("'token_ttl' cannot be greater than 'token_max_ttl'")
	}
	return nil
}

// Populate adds the token_* fields to a read response, as Vault shows
// them: durations in whole seconds, empty lists as [].
func (t *Params) Populate(m map[string]any) {
	typ := t.Type
	if typ == "" {
		typ = tokenTypeDefault
	}
	m["token_policies"] = field.NonNil(t.Policies)
	m["token_bound_cidrs"] = field.NonNil(t.BoundCIDRs)
	m["token_ttl"] = field.Seconds(t.TTL)
	m["token_max_ttl"] = field.Seconds(t.MaxTTL)
	m["token_explicit_max_ttl"] = field.Seconds(t.ExplicitMaxTTL)
	m["token_period"] = field.Seconds(t.Period)
	m["token_num_uses"] = t.NumUses
	m["token_no_default_policy"] = t.NoDefaultPolicy
	m["token_type"] = typ
}

// Auth is the secrets.Auth of a successful login.
func (t *Params) Auth(displayName, alias string, meta map[string]string) *secrets.Auth {
	return &secrets.Auth{
		Policies:     slices.Clone(t.Policies),
		Metadata:     meta,
		DisplayName:  displayName,
		TTL:          t.TTL,
		MaxTTL:       t.MaxTTL,
		Period:       t.Period,
		NumUses:      t.NumUses,
		Renewable:    true,
		ExplicitMax:  t.ExplicitMaxTTL,
		NoDefaultPol: t.NoDefaultPolicy,
		Alias:        alias,
		BoundCIDRs:   slices.Clone(t.BoundCIDRs),
	}
}

// SanitizePolicies lowercases, de-duplicates and sorts policy names, as
// Vault's token store does.
func SanitizePolicies(in []string) []string {
	out := make([]string, 0, len(in))
	for _, p := range in {
		out = append(out, strings.ToLower(p))
	}
	slices.Sort(out)
	return slices.Compact(out)
}
