package pki

import (
	"crypto/x509/pkix"
	"net"
	"net/url"
	"strings"
	"time"
)

// defaultTTL is Vault's system default and maximum lease TTL (32 days),
// used when neither the request nor the role sets one.
const defaultTTL = 768 * time.Hour

// subjectReq is the subject and SANs a request asks for.
type subjectReq struct {
	cn        string
	dns       []string
	emails    []string
	ips       []net.IP
	uris      []*url.URL
	excludeCN bool
	name      pkix.Name // O, OU, C, L, ST, street, postal, serial
}

// parseSANs reads alt_names, ip_sans, uri_sans and refuses other_sans
// (vaultd does not encode otherName SANs).
func parseSANs(d *fieldData, s *subjectReq) error {
	for _, n := range d.list("alt_names", nil) {
		if strings.Contains(n, "@") {
			s.emails = append(s.emails, n)
		} else {
			s.dns = append(s.dns, n)
		}
	}
	for _, v := range d.list("ip_sans", nil) {
		ip := net.ParseIP(v)
		if ip == nil {
			return invalidf("the value %q is not a valid IP address", v)
		}
		s.ips = append(s.ips, ip)
	}
	for _, v := range d.list("uri_sans", nil) {
		u, err := url.Parse(v)
		if err != nil || u.Scheme == "" {
			return invalidf("the value %q is not a valid URI", v)
		}
		s.uris = append(s.uris, u)
	}
	if len(d.list("other_sans", nil)) > 0 {
		return invalidf("other_sans are not supported by vaultd")
	}
	return d.err()
}

// parseSubjectFields reads the subject fields CA generation takes.
func parseSubjectFields(d *fieldData, s *subjectReq) {
	s.cn = strings.TrimSpace(d.str("common_name", ""))
	s.excludeCN = d.boolean("exclude_cn_from_sans", false)
	s.name.OrganizationalUnit = d.list("ou", nil)
	s.name.Organization = d.list("organization", nil)
	s.name.Country = d.list("country", nil)
	s.name.Locality = d.list("locality", nil)
	s.name.Province = d.list("province", nil)
	s.name.StreetAddress = d.list("street_address", nil)
	s.name.PostalCode = d.list("postal_code", nil)
	s.name.SerialNumber = d.str("serial_number", "")
}

// addCNToSANs puts the common name into the SANs unless excluded: as an
// email if it is one, as a DNS name if it is a valid host name (a CA
// name such as "Example Root CA" is not).
func (s *subjectReq) addCNToSANs() {
	if s.excludeCN || s.cn == "" {
		return
	}
	switch {
	case strings.Contains(s.cn, "@"):
		if !contains(s.emails, s.cn) {
			s.emails = append(s.emails, s.cn)
		}
	case validHostname(strings.TrimPrefix(s.cn, "*.")):
		if !contains(s.dns, s.cn) {
			s.dns = append(s.dns, s.cn)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// validHostname: RFC 1123 labels, at most 253 characters.
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// globMatch matches s against a pattern whose only wildcard is '*'
// (any run of characters, dots included), as go-glob does for Vault.
func globMatch(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

// notAfterParam reads not_after (RFC 3339 "YYYY-MM-DDTHH:MM:SSZ").
func notAfterParam(d *fieldData) (time.Time, bool, error) {
	v := d.str("not_after", "")
	if v == "" {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, false, invalidf("failed to parse not_after %q: expected UTC format YYYY-MM-ddTHH:MM:SSZ", v)
	}
	return t, true, nil
}
