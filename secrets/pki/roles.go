package pki

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// role is a PKI role: what issue/:role and sign/:role may produce.
type role struct {
	TTL                           time.Duration `json:"ttl"`
	MaxTTL                        time.Duration `json:"max_ttl"`
	AllowLocalhost                bool          `json:"allow_localhost"`
	AllowedDomains                []string      `json:"allowed_domains"`
	AllowBareDomains              bool          `json:"allow_bare_domains"`
	AllowSubdomains               bool          `json:"allow_subdomains"`
	AllowGlobDomains              bool          `json:"allow_glob_domains"`
	AllowWildcardCertificates     bool          `json:"allow_wildcard_certificates"`
	AllowAnyName                  bool          `json:"allow_any_name"`
	EnforceHostnames              bool          `json:"enforce_hostnames"`
	AllowIPSANs                   bool          `json:"allow_ip_sans"`
	AllowedURISANs                []string      `json:"allowed_uri_sans"`
	ServerFlag                    bool          `json:"server_flag"`
	ClientFlag                    bool          `json:"client_flag"`
	CodeSigningFlag               bool          `json:"code_signing_flag"`
	EmailProtectionFlag           bool          `json:"email_protection_flag"`
	KeyType                       string        `json:"key_type"`
	KeyBits                       int           `json:"key_bits"`
	SignatureBits                 int           `json:"signature_bits"`
	UsePSS                        bool          `json:"use_pss"`
	KeyUsage                      []string      `json:"key_usage"`
	ExtKeyUsage                   []string      `json:"ext_key_usage"`
	ExtKeyUsageOIDs               []string      `json:"ext_key_usage_oids"`
	UseCSRCommonName              bool          `json:"use_csr_common_name"`
	UseCSRSANs                    bool          `json:"use_csr_sans"`
	OU                            []string      `json:"ou"`
	Organization                  []string      `json:"organization"`
	Country                       []string      `json:"country"`
	Locality                      []string      `json:"locality"`
	Province                      []string      `json:"province"`
	StreetAddress                 []string      `json:"street_address"`
	PostalCode                    []string      `json:"postal_code"`
	GenerateLease                 bool          `json:"generate_lease"`
	NoStore                       bool          `json:"no_store"`
	RequireCN                     bool          `json:"require_cn"`
	BasicConstraintsValidForNonCA bool          `json:"basic_constraints_valid_for_non_ca"`
	NotBeforeDuration             time.Duration `json:"not_before_duration"`
	NotAfter                      string        `json:"not_after"`
	IssuerRef                     string        `json:"issuer_ref"`
	CNValidations                 []string      `json:"cn_validations"`
}

func defaultRole() *role {
	return &role{
		AllowLocalhost: true, AllowWildcardCertificates: true, EnforceHostnames: true, AllowIPSANs: true,
		ServerFlag: true, ClientFlag: true, KeyType: keyRSA,
		KeyUsage:         []string{"DigitalSignature", "KeyAgreement", "KeyEncipherment"},
		UseCSRCommonName: true, UseCSRSANs: true, RequireCN: true,
		NotBeforeDuration: 30 * time.Second, IssuerRef: "default", CNValidations: []string{"email", "hostname"},
		AllowedDomains: []string{}, AllowedURISANs: []string{}, ExtKeyUsage: []string{}, ExtKeyUsageOIDs: []string{},
	}
}

func loadRole(ctx context.Context, s storage.Backend, name string) (*role, error) {
	if name == "" {
		return nil, nil
	}
	r := defaultRole()
	ok, err := getJSON(ctx, s, rolePrefix+name, r)
	if err != nil || !ok {
		return nil, err
	}
	return r, nil
}

var keyUsageNames = map[string]x509.KeyUsage{
	"digitalsignature": x509.KeyUsageDigitalSignature, "contentcommitment": x509.KeyUsageContentCommitment,
	"keyencipherment": x509.KeyUsageKeyEncipherment, "dataencipherment": x509.KeyUsageDataEncipherment,
	"keyagreement": x509.KeyUsageKeyAgreement, "certsign": x509.KeyUsageCertSign,
	"crlsign": x509.KeyUsageCRLSign, "encipheronly": x509.KeyUsageEncipherOnly,
	"decipheronly": x509.KeyUsageDecipherOnly,
}

var extKeyUsageNames = map[string]x509.ExtKeyUsage{
	"any": x509.ExtKeyUsageAny, "serverauth": x509.ExtKeyUsageServerAuth, "clientauth": x509.ExtKeyUsageClientAuth,
	"codesigning": x509.ExtKeyUsageCodeSigning, "emailprotection": x509.ExtKeyUsageEmailProtection,
	"ipsecendsystem": x509.ExtKeyUsageIPSECEndSystem, "ipsectunnel": x509.ExtKeyUsageIPSECTunnel,
	"ipsecuser": x509.ExtKeyUsageIPSECUser, "timestamping": x509.ExtKeyUsageTimeStamping,
	"ocspsigning": x509.ExtKeyUsageOCSPSigning, "microsoftservergatedcrypto": x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	"netscapeservergatedcrypto":      x509.ExtKeyUsageNetscapeServerGatedCrypto,
	"microsoftcommercialcodesigning": x509.ExtKeyUsageMicrosoftCommercialCodeSigning,
	"microsoftkernelcodesigning":     x509.ExtKeyUsageMicrosoftKernelCodeSigning,
}

func parseKeyUsage(names []string) (x509.KeyUsage, error) {
	var ku x509.KeyUsage
	for _, n := range names {
		v, ok := keyUsageNames[strings.ToLower(strings.TrimSpace(n))]
		if !ok {
			return 0, invalidf("unknown key_usage %q", n)
		}
		ku |= v
	}
	return ku, nil
}

func parseExtKeyUsage(names []string) ([]x509.ExtKeyUsage, error) {
	var out []x509.ExtKeyUsage
	for _, n := range names {
		v, ok := extKeyUsageNames[strings.ToLower(strings.TrimSpace(n))]
		if !ok {
			return nil, invalidf("unknown ext_key_usage %q", n)
		}
		out = append(out, v)
	}
	return out, nil
}

func parseOIDs(list []string) ([]asn1.ObjectIdentifier, error) {
	var out []asn1.ObjectIdentifier
	for _, s := range list {
		var oid asn1.ObjectIdentifier
		for _, p := range strings.Split(strings.TrimSpace(s), ".") {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 {
				return nil, invalidf("invalid OID %q", s)
			}
			oid = append(oid, n)
		}
		if len(oid) < 2 {
			return nil, invalidf("invalid OID %q", s)
		}
		out = append(out, oid)
	}
	return out, nil
}

// applyRoleFields sets r's fields from d (only those present).
func applyRoleFields(r *role, d *fieldData) error {
	dur := func(name string, dst *time.Duration) {
		if d.has(name) {
			*dst = d.duration(name, *dst)
		}
	}
	b := func(name string, dst *bool) {
		if d.has(name) {
			*dst = d.boolean(name, *dst)
		}
	}
	l := func(name string, dst *[]string) {
		if d.has(name) {
			*dst = d.list(name, []string{})
		}
	}
	dur("ttl", &r.TTL)
	dur("max_ttl", &r.MaxTTL)
	dur("not_before_duration", &r.NotBeforeDuration)
	for name, dst := range map[string]*bool{
		"allow_localhost": &r.AllowLocalhost, "allow_bare_domains": &r.AllowBareDomains,
		"allow_subdomains": &r.AllowSubdomains, "allow_glob_domains": &r.AllowGlobDomains,
		"allow_wildcard_certificates": &r.AllowWildcardCertificates, "allow_any_name": &r.AllowAnyName,
		"enforce_hostnames": &r.EnforceHostnames, "allow_ip_sans": &r.AllowIPSANs,
		"server_flag": &r.ServerFlag, "client_flag": &r.ClientFlag, "code_signing_flag": &r.CodeSigningFlag,
		"email_protection_flag": &r.EmailProtectionFlag, "use_pss": &r.UsePSS,
		"use_csr_common_name": &r.UseCSRCommonName, "use_csr_sans": &r.UseCSRSANs,
		"generate_lease": &r.GenerateLease, "no_store": &r.NoStore, "require_cn": &r.RequireCN,
		"basic_constraints_valid_for_non_ca": &r.BasicConstraintsValidForNonCA,
	} {
		b(name, dst)
	}
	for name, dst := range map[string]*[]string{
		"allowed_domains": &r.AllowedDomains, "allowed_uri_sans": &r.AllowedURISANs,
		"key_usage": &r.KeyUsage, "ext_key_usage": &r.ExtKeyUsage, "ext_key_usage_oids": &r.ExtKeyUsageOIDs,
		"ou": &r.OU, "organization": &r.Organization, "country": &r.Country, "locality": &r.Locality,
		"province": &r.Province, "street_address": &r.StreetAddress, "postal_code": &r.PostalCode,
		"cn_validations": &r.CNValidations,
	} {
		l(name, dst)
	}
	if d.has("key_type") {
		r.KeyType = d.str("key_type", r.KeyType)
	}
	if d.has("key_bits") {
		r.KeyBits = d.integer("key_bits", r.KeyBits)
	}
	if d.has("signature_bits") {
		r.SignatureBits = d.integer("signature_bits", r.SignatureBits)
	}
	if d.has("not_after") {
		r.NotAfter = d.str("not_after", "")
	}
	if d.has("issuer_ref") {
		r.IssuerRef = d.str("issuer_ref", "default")
	}
	// Options vaultd does not implement: refused when switched on, never
	// silently ignored.
	if r.GenerateLease {
		return invalidf("generate_lease is not supported by vaultd: certificates are not leased")
	}
	for _, f := range []string{"allowed_domains_template", "allow_token_displayname", "allowed_uri_sans_template", "no_store_metadata"} {
		if d.boolean(f, false) {
			return invalidf("%s is not supported by vaultd", f)
		}
	}
	for _, f := range []string{"allowed_other_sans", "allowed_serial_numbers", "allowed_user_ids", "policy_identifiers"} {
		if len(d.list(f, nil)) > 0 {
			return invalidf("%s is not supported by vaultd", f)
		}
	}
	if err := d.err(); err != nil {
		return err
	}
	return validateRole(r)
}

func validateRole(r *role) error {
	if r.KeyType == keyAny {
		if r.KeyBits != 0 {
			return invalidf("key_bits must be 0 with key_type any")
		}
		r.KeyBits = 0
	} else {
		kt, bits, err := normalizeKeyParams(r.KeyType, r.KeyBits)
		if err != nil {
			return err
		}
		r.KeyType, r.KeyBits = kt, bits
	}
	if r.MaxTTL > 0 && r.TTL > r.MaxTTL {
		return invalidf("\"ttl\" value must be less than \"max_ttl\" value")
	}
	if r.NotAfter != "" {
		if _, err := time.Parse(time.RFC3339, r.NotAfter); err != nil {
			return invalidf("invalid not_after %q: expected UTC format YYYY-MM-ddTHH:MM:SSZ", r.NotAfter)
		}
	}
	if _, err := parseKeyUsage(r.KeyUsage); err != nil {
		return err
	}
	if _, err := parseExtKeyUsage(r.ExtKeyUsage); err != nil {
		return err
	}
	if _, err := parseOIDs(r.ExtKeyUsageOIDs); err != nil {
		return err
	}
	for _, v := range r.CNValidations {
		switch v {
		case "email", "hostname", "disabled":
		default:
			return invalidf("unknown cn_validations value %q: must be email, hostname or disabled", v)
		}
	}
	if r.SignatureBits != 0 && r.SignatureBits != 256 && r.SignatureBits != 384 && r.SignatureBits != 512 {
		return invalidf("unsupported signature_bits %d", r.SignatureBits)
	}
	return nil
}

func validRoleName(n string) bool {
	if n == "" || len(n) > 256 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func (r *role) data() map[string]any {
	secs := func(d time.Duration) int64 { return int64(d / time.Second) }
	return map[string]any{
		"ttl": secs(r.TTL), "max_ttl": secs(r.MaxTTL), "allow_localhost": r.AllowLocalhost,
		"allowed_domains": nonNil(r.AllowedDomains), "allowed_domains_template": false,
		"allow_bare_domains": r.AllowBareDomains, "allow_subdomains": r.AllowSubdomains,
		"allow_glob_domains": r.AllowGlobDomains, "allow_wildcard_certificates": r.AllowWildcardCertificates,
		"allow_any_name": r.AllowAnyName, "enforce_hostnames": r.EnforceHostnames, "allow_ip_sans": r.AllowIPSANs,
		"allowed_uri_sans": nonNil(r.AllowedURISANs), "allowed_uri_sans_template": false,
		"allowed_other_sans": []string{}, "allowed_serial_numbers": []string{}, "allowed_user_ids": []string{},
		"server_flag": r.ServerFlag, "client_flag": r.ClientFlag, "code_signing_flag": r.CodeSigningFlag,
		"email_protection_flag": r.EmailProtectionFlag, "key_type": r.KeyType, "key_bits": r.KeyBits,
		"signature_bits": r.SignatureBits, "use_pss": r.UsePSS, "key_usage": nonNil(r.KeyUsage),
		"ext_key_usage": nonNil(r.ExtKeyUsage), "ext_key_usage_oids": nonNil(r.ExtKeyUsageOIDs),
		"use_csr_common_name": r.UseCSRCommonName, "use_csr_sans": r.UseCSRSANs,
		"ou": nonNil(r.OU), "organization": nonNil(r.Organization), "country": nonNil(r.Country),
		"locality": nonNil(r.Locality), "province": nonNil(r.Province), "street_address": nonNil(r.StreetAddress),
		"postal_code": nonNil(r.PostalCode), "generate_lease": r.GenerateLease, "no_store": r.NoStore,
		"require_cn": r.RequireCN, "policy_identifiers": []string{},
		"basic_constraints_valid_for_non_ca": r.BasicConstraintsValidForNonCA,
		"not_before_duration":                secs(r.NotBeforeDuration), "not_after": r.NotAfter, "issuer_ref": r.IssuerRef,
		"cn_validations": nonNil(r.CNValidations), "allow_token_displayname": false,
	}
}

func (e *engine) roleRead(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	r, err := loadRole(ctx, req.Storage, d.str("name", ""))
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, notFound()
	}
	return &secrets.Response{Data: r.data()}, nil
}

func (e *engine) roleWrite(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	name := d.str("name", "")
	if !validRoleName(name) {
		return nil, invalidf("invalid role name %q", name)
	}
	// A write replaces the role: fields not given take their defaults,
	// as in Vault (PATCH keeps them).
	r := defaultRole()
	if err := applyRoleFields(r, d); err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, rolePrefix+name, r); err != nil {
		return nil, err
	}
	return &secrets.Response{Data: r.data()}, nil
}

func (e *engine) rolePatch(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	name := d.str("name", "")
	e.mu.Lock()
	defer e.mu.Unlock()
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, notFound()
	}
	if err := applyRoleFields(r, d); err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, rolePrefix+name, r); err != nil {
		return nil, err
	}
	return &secrets.Response{Data: r.data()}, nil
}

func (e *engine) roleDelete(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	name := d.str("name", "")
	if !validRoleName(name) {
		return &secrets.Response{}, nil
	}
	return &secrets.Response{}, deleteKey(ctx, req.Storage, rolePrefix+name)
}

func (e *engine) roleList(ctx context.Context, req *secrets.Request, _ *fieldData) (*secrets.Response, error) {
	keys, err := listIDs(ctx, req.Storage, rolePrefix)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, notFound()
	}
	sort.Strings(keys)
	return &secrets.Response{Data: map[string]any{"keys": keys}}, nil
}
