package cidr

import (
	"net/netip"
	"slices"

	"github.com/vaultd/vaultd/secrets"
)

// Parse parses a CIDR block or a single address (a /32 or /128).
// IPv4-mapped IPv6 blocks are turned into IPv4 blocks so that they match
// IPv4 clients.
func Parse(s string) (netip.Prefix, bool) {
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

// Canonical validates a list of CIDR blocks and returns them sorted,
// de-duplicated and in canonical form (a single address is shown without
// its prefix length). An invalid block is a 400 (secrets.ErrInvalidRequest)
// that names it and field.
func Canonical(field string, list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, s := range list {
		p, ok := Parse(s)
		if !ok {
			return nil, secrets.Errorf(secrets.ErrInvalidRequest, "invalid CIDR block %q in %q", s, field)
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

// Validate checks a list of CIDR blocks and returns it as submitted,
// without duplicates, in the order given: what Vault shows back for a
// secret ID's cidr_list and token_bound_cidrs ("127.0.0.1/32" stays
// "127.0.0.1/32"). An invalid block is a 400 as for Canonical.
func Validate(field string, list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if _, ok := Parse(s); !ok {
			return nil, secrets.Errorf(secrets.ErrInvalidRequest, "invalid CIDR block %q in %q", s, field)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
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

// Allowed reports whether remote ("ip" or "ip:port") lies in one of the
// CIDR blocks. An empty list allows everyone; an unknown or malformed
// address matches no block.
func Allowed(remote string, cidrs []string) bool {
	if len(cidrs) == 0 {
		return true
	}
	a, ok := parseRemoteAddr(remote)
	if !ok {
		return false
	}
	for _, s := range cidrs {
		if p, ok := Parse(s); ok && p.Contains(a) {
			return true
		}
	}
	return false
}
