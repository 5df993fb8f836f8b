package approle

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

// tokenParams are the token_* fields of Vault's auth methods: stored with
// a user (or role) and copied into the secrets.Auth of each login.
type tokenParams struct {
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

// rootPolicy may never be put on a token by an auth method.
const rootPolicy = "root"

// parseTokenFields applies the token_* fields present in data to t.
// legacy maps a deprecated field to its token_* successor ("policies" →
// "token_policies"); when both are given the token_* field wins, as in
// Vault. Fields absent from data keep their value.
func (t *tokenParams) parseTokenFields(data map[string]any, legacy map[string]string) error {
	pick := func(name string) string {
		if present(data, name) {
			return name
		}
		for old, successor := range legacy {
			if successor == name && present(data, old) {
				return old
			}
		}
		return name
	}

	if f := pick("token_policies"); present(data, f) {
		list, _, err := stringListField(data, f)
		if err != nil {
			return err
		}
		t.Policies = sanitizePolicies(list)
	}
	if slices.Contains(t.Policies, rootPolicy) {
		return invalidf("the %q policy cannot be assigned by an auth method", rootPolicy)
	}
	if f := pick("token_bound_cidrs"); present(data, f) {
		list, _, err := stringListField(data, f)
		if err != nil {
			return err
		}
		cidrs, err := canonicalCIDRs(f, list)
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
		v, set, err := durationField(data, f)
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
	if n, set, err := intField(data, pick("token_num_uses")); err != nil {
		return err
	} else if set {
		if n < 0 {
			return invalidf("'token_num_uses' cannot be negative")
		}
		t.NumUses = n
	}
	if b, set, err := boolField(data, "token_no_default_policy"); err != nil {
		return err
	} else if set {
		t.NoDefaultPolicy = b
	}
	if s, set, err := stringField(data, "token_type"); err != nil {
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

// populate adds the token_* fields to a read response, as Vault shows
// them: durations in whole seconds, empty lists as [].
func (t *tokenParams) populate(m map[string]any) {
	typ := t.Type
	if typ == "" {
		typ = tokenTypeDefault
	}
	m["token_policies"] = nonNil(t.Policies)
	m["token_bound_cidrs"] = nonNil(t.BoundCIDRs)
	m["token_ttl"] = seconds(t.TTL)
	m["token_max_ttl"] = seconds(t.MaxTTL)
	m["token_explicit_max_ttl"] = seconds(t.ExplicitMaxTTL)
	m["token_period"] = seconds(t.Period)
	m["token_num_uses"] = t.NumUses
	m["token_no_default_policy"] = t.NoDefaultPolicy
	m["token_type"] = typ
}

// auth is the secrets.Auth of a successful login.
func (t *tokenParams) auth(displayName, alias string, meta map[string]string) *secrets.Auth {
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
	}
}

// sanitizePolicies lowercases, de-duplicates and sorts policy names, as
// Vault's token store does.
func sanitizePolicies(in []string) []string {
	out := make([]string, 0, len(in))
	for _, p := range in {
		out = append(out, strings.ToLower(p))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ---- CIDR blocks ----

// parseCIDR parses a CIDR block or a single address (a /32 or /128).
// IPv4-mapped IPv6 blocks are turned into IPv4 blocks so that they match
// IPv4 clients.
func parseCIDR(s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p, true
}

// canonicalCIDRs validates a list of CIDR blocks and returns them in
// canonical form (a single address is shown without its prefix length).
func canonicalCIDRs(field string, list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, s := range list {
		p, ok := parseCIDR(s)
		if !ok {
			return nil, invalidf("invalid CIDR block %q in %q", s, field)
		}
		if p.IsSingleIP() {
			out = append(out, p.Addr().String())
		} else {
			out = append(out, p.String())
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// parseRemoteAddr parses a client address given as "ip" or "ip:port".
func parseRemoteAddr(remote string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(remote)
	if err != nil {
		ap, perr := netip.ParseAddrPort(remote)
		if perr != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.WithZone("").Unmap(), true
}

// addrAllowed reports whether remote lies in one of the CIDR blocks. An
// empty list allows everyone; an unknown or malformed address matches no
// block.
func addrAllowed(remote string, cidrs []string) bool {
	if len(cidrs) == 0 {
		return true
	}
	a, ok := parseRemoteAddr(remote)
	if !ok {
		return false
	}
	for _, s := range cidrs {
		if p, ok := parseCIDR(s); ok && p.Contains(a) {
			return true
		}
	}
	return false
}
