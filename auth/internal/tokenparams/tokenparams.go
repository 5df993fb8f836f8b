package tokenparams

import (
	"slices"
	"strings"
	"time"

	"github.com/vaultd/vaultd/auth/internal/cidr"
	"github.com/vaultd/vaultd/endpoint"
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

// Fields declares the token_* fields, and the deprecated names of legacy
// (old name → token_* successor), for an endpoint that takes them.
func Fields(legacy map[string]string) map[string]*endpoint.Field {
	f := map[string]*endpoint.Field{
		"token_policies":          {Type: endpoint.TypeCommaStringSlice, Description: "Policies of the tokens issued."},
		"token_ttl":               {Type: endpoint.TypeDurationSecond, Description: "Initial TTL of the tokens issued."},
		"token_max_ttl":           {Type: endpoint.TypeDurationSecond, Description: "Maximum lifetime of the tokens issued."},
		"token_explicit_max_ttl":  {Type: endpoint.TypeDurationSecond, Description: "Hard cap on the lifetime of the tokens issued, whatever the mount or system settings."},
		"token_period":            {Type: endpoint.TypeDurationSecond, Description: "Makes the tokens periodic with this period."},
		"token_num_uses":          {Type: endpoint.TypeInt, Description: "Maximum number of uses of each token (0: unlimited)."},
		"token_bound_cidrs":       {Type: endpoint.TypeCommaStringSlice, Description: "CIDR blocks the tokens may be used from."},
		"token_no_default_policy": {Type: endpoint.TypeBool, Description: "Do not add the default policy to the tokens."},
		"token_type":              {Type: endpoint.TypeString, Default: tokenTypeDefault, Description: "Type of the tokens: service, batch or default."},
	}
	for old, successor := range legacy {
		c := *f[successor]
		c.Description = "Deprecated: use " + successor + "."
		c.Deprecated = true
		c.Default = nil
		f[old] = &c
	}
	return f
}

// Parse applies the token_* fields present in d to t (d's fields are
// declared by Fields(legacy)). legacy maps a deprecated field to its
// token_* successor ("policies" → "token_policies"); when both are given
// the token_* field wins, as in Vault. Fields absent from d keep their
// value.
func (t *Params) Parse(d *endpoint.Data, legacy map[string]string) error {
	pick := func(name string) string {
		if d.Has(name) {
			return name
		}
		for old, successor := range legacy {
			if successor == name && d.Has(old) {
				return old
			}
		}
		return name
	}

	if f := pick("token_policies"); d.Has(f) {
		t.Policies = SanitizePolicies(d.Strings(f))
	}
	if slices.Contains(t.Policies, RootPolicy) {
		return invalidf("the %q policy cannot be assigned by an auth method", RootPolicy)
	}
	if f := pick("token_bound_cidrs"); d.Has(f) {
		cidrs, err := cidr.Canonical(f, d.Strings(f))
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
	for _, dur := range durations {
		f := pick(dur.field)
		if !d.Has(f) {
			continue
		}
		v := d.Duration(f)
		if v < 0 {
			return invalidf("'%s' cannot be negative", dur.field)
		}
		*dur.dst = v
	}
	if f := pick("token_num_uses"); d.Has(f) {
		n := d.Int(f)
		if n < 0 {
			return invalidf("'token_num_uses' cannot be negative")
		}
		t.NumUses = n
	}
	if d.Has("token_no_default_policy") {
		t.NoDefaultPolicy = d.Bool("token_no_default_policy")
	}
	if d.Has("token_type") {
		switch s := d.String("token_type"); s {
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
	m["token_policies"] = NonNil(t.Policies)
	m["token_bound_cidrs"] = NonNil(t.BoundCIDRs)
	m["token_ttl"] = Seconds(t.TTL)
	m["token_max_ttl"] = Seconds(t.MaxTTL)
	m["token_explicit_max_ttl"] = Seconds(t.ExplicitMaxTTL)
	m["token_period"] = Seconds(t.Period)
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
		TokenType:    t.Type,
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

// Seconds is a duration as Vault shows it in a response: whole seconds.
func Seconds(d time.Duration) int64 { return int64(d / time.Second) }

// NonNil is s, or an empty list when s is nil, so that a response shows
// [] rather than null.
func NonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
