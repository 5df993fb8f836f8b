package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/mail"
	"strings"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

// issueInput is what one issuance needs after parsing and policy checks.
type issueInput struct {
	role     *role
	subj     subjectReq
	pub      crypto.PublicKey
	ttl      time.Duration
	notAfter time.Time // zero: from ttl
	format   string
	verbatim bool // sign-verbatim: the subject and SANs are the CSR's
	ku       x509.KeyUsage
	eku      []x509.ExtKeyUsage
	warnings []string
}

// issued is a signed certificate and what the response shows with it.
type issued struct {
	der    []byte
	cert   *x509.Certificate
	issuer *issuerEntry
}

// loadRoleFor resolves the {role} capture or refuses.
func (e *engine) loadRoleFor(ctx context.Context, req *secrets.Request, d *fieldData) (*role, error) {
	name := d.str("role", "")
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, invalidf("unknown role: %s", name)
	}
	return r, nil
}

// requestSubject reads common_name and the SANs of an issue or sign
// request, taking them from the CSR when the role says so.
func requestSubject(r *role, d *fieldData, csr *x509.CertificateRequest) (subjectReq, error) {
	var s subjectReq
	s.cn = strings.TrimSpace(d.str("common_name", ""))
	s.excludeCN = d.boolean("exclude_cn_from_sans", false)
	if err := parseSANs(d, &s); err != nil {
		return s, err
	}
	if csr != nil {
		if r.UseCSRCommonName && s.cn == "" {
			s.cn = csr.Subject.CommonName
		}
		if r.UseCSRSANs {
			s.dns, s.emails, s.ips, s.uris = csr.DNSNames, csr.EmailAddresses, csr.IPAddresses, csr.URIs
		}
	}
	if s.cn == "" && r.RequireCN {
		return s, invalidf("the common_name field is required, or must be provided in a CSR with \"use_csr_common_name\" set to true, unless \"require_cn\" is set to false")
	}
	s.name = pkix.Name{
		OrganizationalUnit: r.OU, Organization: r.Organization, Country: r.Country, Locality: r.Locality,
		Province: r.Province, StreetAddress: r.StreetAddress, PostalCode: r.PostalCode,
	}
	s.addCNToSANsForLeaf()
	return s, d.err()
}

// addCNToSANsForLeaf: a leaf's CN goes into its SANs (as an email, or as
// a DNS name when it is a host name) unless exclude_cn_from_sans. The CN
// itself is checked against the role either way.
func (s *subjectReq) addCNToSANsForLeaf() { s.addCNToSANs() }

// checkNames enforces the role on the common name and every DNS and
// email SAN, on IP SANs and on URI SANs. Names are compared in lower
// case.
func (r *role) checkNames(s *subjectReq) error {
	if s.cn != "" && !r.cnAllowed(s.cn) {
		return invalidf("common name %s not allowed by this role", s.cn)
	}
	for _, n := range s.dns {
		if !r.nameAllowed(n) {
			return invalidf("subject alternate name %s not allowed by this role", n)
		}
	}
	for _, n := range s.emails {
		if !r.nameAllowed(n) {
			return invalidf("subject alternate name %s not allowed by this role", n)
		}
	}
	if len(s.ips) > 0 && !r.AllowIPSANs {
		return invalidf("IP Subject Alternative Names are not allowed in this role, but was provided %s", s.ips[0])
	}
	for _, u := range s.uris {
		ok := false
		for _, pat := range r.AllowedURISANs {
			if globMatch(pat, u.String()) {
				ok = true
				break
			}
		}
		if !ok {
			if len(r.AllowedURISANs) == 0 {
				return invalidf("URI Subject Alternative Names are not allowed in this role, but were provided via the API")
			}
			return invalidf("URI Subject Alternative Name %s not allowed by this role", u)
		}
	}
	return nil
}

// cnAllowed applies cn_validations (email, hostname, or disabled) and
// then the domain rules.
func (r *role) cnAllowed(cn string) bool {
	validations := r.CNValidations
	if len(validations) == 0 {
		validations = []string{"email", "hostname"}
	}
	if contains(validations, "disabled") {
		return true
	}
	isEmail := strings.Contains(cn, "@")
	if isEmail && !contains(validations, "email") || !isEmail && !contains(validations, "hostname") {
		return false
	}
	return r.nameAllowed(cn)
}

// nameAllowed is Vault's name policy for one DNS name or email address:
// localhost, allow_any_name, then allowed_domains with bare / subdomain
// / glob matching; wildcards need allow_wildcard_certificates; with
// enforce_hostnames every name must be a valid host name.
func (r *role) nameAllowed(name string) bool {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return false
	}
	host := name
	if strings.Contains(name, "@") {
		addr, err := mail.ParseAddress(name)
		if err != nil || addr.Address != name {
			return false
		}
		host = name[strings.LastIndex(name, "@")+1:]
	}
	wildcard := strings.HasPrefix(host, "*.")
	if strings.Contains(host, "*") {
		if !wildcard || strings.Contains(host[1:], "*") || !r.AllowWildcardCertificates {
			return false
		}
	}
	base := strings.TrimPrefix(host, "*.")
	if r.EnforceHostnames && !validHostname(base) {
		return false
	}
	if r.AllowLocalhost && !wildcard && (host == "localhost" || host == "localdomain") {
		return true
	}
	if r.AllowAnyName {
		return true
	}
	for _, d := range r.AllowedDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" {
			continue
		}
		if r.AllowBareDomains && !wildcard && host == d {
			return true
		}
		if r.AllowSubdomains {
			// a.d, b.a.d, and *.d / *.a.d
			if strings.HasSuffix(host, "."+d) && (!wildcard || base == d || strings.HasSuffix(base, "."+d)) {
				return true
			}
		}
		if r.AllowGlobDomains && strings.Contains(d, "*") && globMatch(d, host) {
			return true
		}
	}
	return false
}

// ttlFor works out the certificate's notAfter: ttl (or the role's),
// capped by the role's max_ttl (a warning says so), not_after if given,
// then the issuer's leaf_not_after_behavior against the CA's notAfter.
func (e *engine) validity(in *issueInput, iss *issuerEntry, ca *x509.Certificate, now time.Time) (time.Time, time.Time, error) {
	r := in.role
	maxTTL := r.MaxTTL
	if maxTTL == 0 {
		maxTTL = defaultTTL
	}
	ttl := in.ttl
	if ttl == 0 {
		ttl = r.TTL
	}
	if ttl == 0 {
		ttl = defaultTTL
	}
	if ttl > maxTTL {
		in.warnings = append(in.warnings, "TTL \""+ttl.String()+"\" is longer than permitted maxTTL \""+maxTTL.String()+"\", so maxTTL is being used")
		ttl = maxTTL
	}
	notAfter := now.Add(ttl)
	if !in.notAfter.IsZero() {
		notAfter = in.notAfter
	} else if r.NotAfter != "" {
		if t, err := time.Parse(time.RFC3339, r.NotAfter); err == nil {
			notAfter = t
		}
	}
	nbd := r.NotBeforeDuration
	if nbd == 0 {
		nbd = 30 * time.Second
	}
	notBefore := now.Add(-nbd)
	var err error
	if notAfter, in.warnings, err = capToIssuer(iss, ca, notAfter, in.warnings); err != nil {
		return time.Time{}, time.Time{}, err
	}
	if !notAfter.After(notBefore) {
		return time.Time{}, time.Time{}, invalidf("the requested validity ends before it begins")
	}
	return notBefore, notAfter, nil
}

// leafUsages are the role's key usages and extended key usages.
func (r *role) leafUsages() (x509.KeyUsage, []x509.ExtKeyUsage, error) {
	ku, err := parseKeyUsage(r.KeyUsage)
	if err != nil {
		return 0, nil, err
	}
	eku, err := parseExtKeyUsage(r.ExtKeyUsage)
	if err != nil {
		return 0, nil, err
	}
	add := func(on bool, u x509.ExtKeyUsage) {
		if !on {
			return
		}
		for _, x := range eku {
			if x == u {
				return
			}
		}
		eku = append(eku, u)
	}
	add(r.ServerFlag, x509.ExtKeyUsageServerAuth)
	add(r.ClientFlag, x509.ExtKeyUsageClientAuth)
	add(r.CodeSigningFlag, x509.ExtKeyUsageCodeSigning)
	add(r.EmailProtectionFlag, x509.ExtKeyUsageEmailProtection)
	return ku, eku, nil
}

// signLeaf makes and stores (unless no_store) one certificate.
func (e *engine) signLeaf(ctx context.Context, req *secrets.Request, d *fieldData, in *issueInput) (*issued, error) {
	ref := d.str("issuer_ref", "")
	if ref == "" {
		ref = in.role.IssuerRef
	}
	iss, ca, signer, err := issuingSigner(ctx, req.Storage, ref)
	if err != nil {
		return nil, err
	}
	notBefore, notAfter, err := e.validity(in, iss, ca, e.now())
	if err != nil {
		return nil, err
	}
	alg, err := signatureAlgorithm(signer.Public(), in.role.SignatureBits, in.role.UsePSS && isRSA(signer.Public()))
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial(e.rand)
	if err != nil {
		return nil, err
	}
	name := in.subj.name
	name.CommonName = in.subj.cn
	oids, err := parseOIDs(in.role.ExtKeyUsageOIDs)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(serial), Subject: name,
		NotBefore: notBefore, NotAfter: notAfter, SignatureAlgorithm: alg,
		KeyUsage: in.ku, ExtKeyUsage: in.eku, UnknownExtKeyUsage: oids,
		DNSNames: in.subj.dns, EmailAddresses: in.subj.emails, IPAddresses: in.subj.ips, URIs: in.subj.uris,
	}
	if in.role.BasicConstraintsValidForNonCA {
		tmpl.BasicConstraintsValid = true
	}
	if err := e.applyURLs(ctx, req.Storage, iss, tmpl); err != nil {
		return nil, err
	}
	release, err := secrets.AcquireCPU(ctx) // RSA signing: the node's CPU pool (issue 11)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(e.rand, tmpl, ca, in.pub, signer)
	release()
	if err != nil {
		return nil, invalidf("unable to create the certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if !in.role.NoStore {
		if err := putJSON(ctx, req.Storage, certPrefix+storageSerial(cert.SerialNumber), &certEntry{DER: der, IssuerID: iss.ID}); err != nil {
			return nil, err
		}
	}
	return &issued{der: der, cert: cert, issuer: iss}, nil
}

func isRSA(pub crypto.PublicKey) bool {
	t, _, _ := publicKeyInfo(pub)
	return t == keyRSA
}

// response is the issue/sign answer.
func (out *issued) response(format string, warnings []string) (*secrets.Response, error) {
	chain := make([]string, 0, len(out.issuer.CAChain))
	for _, p := range out.issuer.CAChain {
		c, err := parseCertPEM(p)
		if err != nil {
			return nil, err
		}
		chain = append(chain, formatCert(c.Raw, format))
	}
	issuingCA := ""
	if len(chain) > 0 {
		issuingCA = chain[0]
	}
	cert := formatCert(out.der, format)
	if format == "pem_bundle" {
		cert = strings.Join(append([]string{cert}, chain...), "\n")
	}
	return &secrets.Response{Warnings: warnings, Data: map[string]any{
		"certificate": cert, "issuing_ca": issuingCA, "ca_chain": chain,
		"serial_number": serialColon(out.cert.SerialNumber), "expiration": out.cert.NotAfter.Unix(),
	}}, nil
}

// requestValidity reads ttl and not_after of an issue or sign request.
func requestValidity(d *fieldData, in *issueInput) error {
	in.ttl = d.duration("ttl", 0)
	na, ok, err := notAfterParam(d)
	if err != nil {
		return err
	}
	if ok {
		in.notAfter = na
	}
	return d.err()
}

func (e *engine) issue(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	r, err := e.loadRoleFor(ctx, req, d)
	if err != nil {
		return nil, err
	}
	if r.KeyType == keyAny {
		return nil, invalidf("role key type \"any\" not allowed for issuing certificates, only signing")
	}
	format, keyFormat, err := checkFormat(d)
	if err != nil {
		return nil, err
	}
	in := &issueInput{role: r, format: format}
	if in.subj, err = requestSubject(r, d, nil); err != nil {
		return nil, err
	}
	if err := requestValidity(d, in); err != nil {
		return nil, err
	}
	if err := r.checkNames(&in.subj); err != nil {
		return nil, err
	}
	if in.ku, in.eku, err = r.leafUsages(); err != nil {
		return nil, err
	}
	_ = d.str("private_key_format", "")
	key, err := generateKey(ctx, e.rand, r.KeyType, r.KeyBits)
	if err != nil {
		return nil, err
	}
	in.pub = key.Public()
	out, err := e.signLeaf(ctx, req, d, in)
	if err != nil {
		return nil, err
	}
	resp, err := out.response(format, in.warnings)
	if err != nil {
		return nil, err
	}
	pk, pkt, err := formatKey(key, format, keyFormat)
	if err != nil {
		return nil, err
	}
	resp.Data["private_key"], resp.Data["private_key_type"] = pk, pkt
	if format == "pem_bundle" {
		resp.Data["certificate"] = pk + "\n" + resp.Data["certificate"].(string)
	}
	return resp, nil
}

// checkCSRKey enforces the role's key_type and minimum key_bits on a CSR.
func (r *role) checkCSRKey(csr *x509.CertificateRequest) error {
	typ, bits, err := publicKeyInfo(csr.PublicKey)
	if err != nil {
		return invalidf("unsupported key in the CSR")
	}
	if r.KeyType == keyAny {
		if typ == keyRSA && bits < 2048 {
			return invalidf("RSA key in the CSR is %d bits: at least 2048 are required", bits)
		}
		return nil
	}
	if typ != r.KeyType {
		return invalidf("role requires keys of type %s, but the CSR has a %s key", r.KeyType, typ)
	}
	if typ != keyEd25519 && bits < r.KeyBits {
		return invalidf("role requires a minimum of a %d-bit key, but CSR's key is %d bits", r.KeyBits, bits)
	}
	return nil
}

func (e *engine) sign(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	r, err := e.loadRoleFor(ctx, req, d)
	if err != nil {
		return nil, err
	}
	format, _, err := checkFormat(d)
	if err != nil {
		return nil, err
	}
	csr, err := parseCSR(d)
	if err != nil {
		return nil, err
	}
	if err := r.checkCSRKey(csr); err != nil {
		return nil, err
	}
	in := &issueInput{role: r, format: format, pub: csr.PublicKey}
	if in.subj, err = requestSubject(r, d, csr); err != nil {
		return nil, err
	}
	if err := requestValidity(d, in); err != nil {
		return nil, err
	}
	if err := r.checkNames(&in.subj); err != nil {
		return nil, err
	}
	if in.ku, in.eku, err = r.leafUsages(); err != nil {
		return nil, err
	}
	out, err := e.signLeaf(ctx, req, d, in)
	if err != nil {
		return nil, err
	}
	return out.response(format, in.warnings)
}

// signVerbatim signs a CSR as it is: its subject and SANs, with the
// request's key usages, and the role's (if any) TTL limits only.
func (e *engine) signVerbatim(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	r := defaultRole()
	r.KeyType = keyAny
	if name := d.str("role", ""); name != "" {
		rr, err := e.loadRoleFor(ctx, req, d)
		if err != nil {
			return nil, err
		}
		r.TTL, r.MaxTTL, r.NoStore, r.NotBeforeDuration = rr.TTL, rr.MaxTTL, rr.NoStore, rr.NotBeforeDuration
		r.SignatureBits, r.UsePSS, r.IssuerRef = rr.SignatureBits, rr.UsePSS, rr.IssuerRef
	}
	format, _, err := checkFormat(d)
	if err != nil {
		return nil, err
	}
	csr, err := parseCSR(d)
	if err != nil {
		return nil, err
	}
	if err := r.checkCSRKey(csr); err != nil {
		return nil, err
	}
	r.KeyUsage = d.list("key_usage", r.KeyUsage)
	r.ExtKeyUsage = d.list("ext_key_usage", []string{})
	r.ExtKeyUsageOIDs = d.list("ext_key_usage_oids", []string{})
	r.ServerFlag, r.ClientFlag = false, false
	in := &issueInput{role: r, format: format, pub: csr.PublicKey, verbatim: true}
	in.subj = subjectReq{
		cn: csr.Subject.CommonName, name: csr.Subject,
		dns: csr.DNSNames, emails: csr.EmailAddresses, ips: csr.IPAddresses, uris: csr.URIs,
	}
	in.subj.name.CommonName = ""
	if err := requestValidity(d, in); err != nil {
		return nil, err
	}
	if in.ku, in.eku, err = r.leafUsages(); err != nil {
		return nil, err
	}
	out, err := e.signLeaf(ctx, req, d, in)
	if err != nil {
		return nil, err
	}
	return out.response(format, in.warnings)
}
