package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"strings"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// genType reads the {exported} path segment: internal, exported or
// existing (kms is refused: vaultd has no managed keys).
func genType(d *fieldData) (string, error) {
	t := d.str("exported", "")
	switch t {
	case "internal", "exported", "existing":
		return t, nil
	case "kms":
		return "", invalidf("managed keys (type kms) are not supported by vaultd")
	}
	return "", invalidf("invalid type %q: must be internal, exported or existing", t)
}

// caKey makes or finds the key a new CA uses.
func (e *engine) caKey(ctx context.Context, s storage.Backend, d *fieldData, typ string) (crypto.Signer, *keyEntry, error) {
	if typ == "existing" {
		ke, err := resolveKey(ctx, s, d.str("key_ref", "default"))
		if err != nil {
			return nil, nil, err
		}
		sg, err := ke.signer()
		return sg, ke, err
	}
	kt, bits, err := normalizeKeyParams(d.str("key_type", keyRSA), d.integer("key_bits", 0))
	if err != nil {
		return nil, nil, err
	}
	if err := d.err(); err != nil {
		return nil, nil, err
	}
	sg, err := generateKey(ctx, e.rand, kt, bits)
	return sg, nil, err
}

// caValidity reads ttl / not_after / not_before_duration for a CA.
func (e *engine) caValidity(d *fieldData, now time.Time) (time.Time, time.Time, error) {
	nbd := d.duration("not_before_duration", 30*time.Second)
	ttl := d.duration("ttl", 0)
	if ttl == 0 {
		ttl = defaultTTL
	}
	notAfter := now.Add(ttl)
	if na, ok, err := notAfterParam(d); err != nil {
		return time.Time{}, time.Time{}, err
	} else if ok {
		notAfter = na
	}
	if err := d.err(); err != nil {
		return time.Time{}, time.Time{}, err
	}
	notBefore := now.Add(-nbd)
	if !notAfter.After(notBefore) {
		return time.Time{}, time.Time{}, invalidf("the requested validity ends before it begins")
	}
	return notBefore, notAfter, nil
}

func (e *engine) generateRoot(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	typ, err := genType(d)
	if err != nil {
		return nil, err
	}
	format, keyFormat, err := checkFormat(d)
	if err != nil {
		return nil, err
	}
	var subj subjectReq
	parseSubjectFields(d, &subj)
	if err := parseSANs(d, &subj); err != nil {
		return nil, err
	}
	if subj.cn == "" {
		return nil, invalidf("the common_name field is required for a root certificate")
	}
	subj.addCNToSANs()
	issuerName, keyName := d.str("issuer_name", ""), d.str("key_name", "")
	if err := validObjectName(issuerName); err != nil {
		return nil, err
	}
	if err := validObjectName(keyName); err != nil {
		return nil, err
	}
	now := e.now()
	notBefore, notAfter, err := e.caValidity(d, now)
	if err != nil {
		return nil, err
	}
	maxPath := d.integer("max_path_length", -1)
	permitted := d.list("permitted_dns_domains", nil)
	sigBits, pss := d.integer("signature_bits", 0), d.boolean("use_pss", false)
	if err := d.err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	signer, existingKey, err := e.caKey(ctx, req.Storage, d, typ)
	if err != nil {
		return nil, err
	}
	der, _, err := e.createCA(ctx, req.Storage, caSpec{subj: subj, notBefore: notBefore, notAfter: notAfter,
		maxPath: maxPath, permitted: permitted, sigBits: sigBits, pss: pss,
		pub: signer.Public(), signer: signer, what: "create the root certificate"})
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ke := existingKey
	if ke == nil {
		if ke, _, err = e.storeKey(ctx, req.Storage, signer, keyName); err != nil {
			return nil, err
		}
	}
	ie, _, err := e.storeIssuer(ctx, req.Storage, cert, issuerName)
	if err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, certPrefix+storageSerial(cert.SerialNumber), &certEntry{DER: der, IssuerID: ie.ID}); err != nil {
		return nil, err
	}
	if err := e.rebuildCRLLocked(ctx, req.Storage, ie); err != nil {
		return nil, err
	}
	data := map[string]any{
		"certificate": formatCert(der, format), "issuing_ca": formatCert(der, format),
		"serial_number": serialColon(cert.SerialNumber), "expiration": cert.NotAfter.Unix(),
		"issuer_id": ie.ID, "issuer_name": ie.Name, "key_id": ke.ID, "key_name": ke.Name,
	}
	if typ == "exported" {
		pk, pkt, err := formatKey(signer, format, keyFormat)
		if err != nil {
			return nil, err
		}
		data["private_key"], data["private_key_type"] = pk, pkt
		if format == "pem_bundle" {
			data["certificate"] = pk + "\n" + data["certificate"].(string)
		}
	}
	return &secrets.Response{Data: data}, nil
}

// caSpec is a CA certificate to make: a root (parent nil: self-signed
// with signer) or an intermediate signed by the issuer iss.
type caSpec struct {
	subj                subjectReq
	notBefore, notAfter time.Time
	maxPath             int
	permitted           []string
	sigBits             int
	pss                 bool
	iss                 *issuerEntry      // the signing issuer (nil for a root)
	parent              *x509.Certificate // its certificate (nil for a root)
	pub                 crypto.PublicKey  // the new CA's public key
	signer              crypto.Signer     // the signing key
	what                string            // for the error: "sign the intermediate"
}

// createCA builds the CA template (key usage cert and CRL signing, the
// subject and SANs, path length, permitted DNS domains and the mount's
// URLs) and signs it; it returns the DER and the template.
func (e *engine) createCA(ctx context.Context, s storage.Backend, c caSpec) ([]byte, *x509.Certificate, error) {
	alg, err := signatureAlgorithm(c.signer.Public(), c.sigBits, c.pss)
	if err != nil {
		return nil, nil, err
	}
	serial, err := randomSerial(e.rand)
	if err != nil {
		return nil, nil, err
	}
	name := c.subj.name
	name.CommonName = c.subj.cn
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(serial), Subject: name,
		NotBefore: c.notBefore, NotAfter: c.notAfter, SignatureAlgorithm: alg,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true,
		DNSNames: c.subj.dns, EmailAddresses: c.subj.emails, IPAddresses: c.subj.ips, URIs: c.subj.uris,
		PermittedDNSDomains: c.permitted,
	}
	setPathLen(tmpl, c.maxPath)
	if err := e.applyURLs(ctx, s, c.iss, tmpl); err != nil {
		return nil, nil, err
	}
	parent := c.parent
	if parent == nil {
		parent = tmpl
	}
	release, err := secrets.AcquireCPU(ctx)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificate(e.rand, tmpl, parent, c.pub, c.signer)
	release()
	if err != nil {
		return nil, nil, invalidf("unable to %s: %v", c.what, err)
	}
	return der, tmpl, nil
}

// setPathLen applies max_path_length: -1 is unlimited, 0 is "no
// intermediates below".
func setPathLen(t *x509.Certificate, n int) {
	switch {
	case n < 0:
		t.MaxPathLen = -1
	case n == 0:
		t.MaxPathLen, t.MaxPathLenZero = 0, true
	default:
		t.MaxPathLen = n
	}
}

func (e *engine) generateIntermediate(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	typ, err := genType(d)
	if err != nil {
		return nil, err
	}
	format, keyFormat, err := checkFormat(d)
	if err != nil {
		return nil, err
	}
	var subj subjectReq
	parseSubjectFields(d, &subj)
	if err := parseSANs(d, &subj); err != nil {
		return nil, err
	}
	subj.addCNToSANs()
	keyName := d.str("key_name", "")
	if err := validObjectName(keyName); err != nil {
		return nil, err
	}
	addBC := d.boolean("add_basic_constraints", false)
	sigBits := d.integer("signature_bits", 0)
	if err := d.err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	signer, existingKey, err := e.caKey(ctx, req.Storage, d, typ)
	if err != nil {
		return nil, err
	}
	alg, err := signatureAlgorithm(signer.Public(), sigBits, false)
	if err != nil {
		return nil, err
	}
	name := subj.name
	name.CommonName = subj.cn
	creq := &x509.CertificateRequest{
		Subject: name, SignatureAlgorithm: alg,
		DNSNames: subj.dns, EmailAddresses: subj.emails, IPAddresses: subj.ips, URIs: subj.uris,
	}
	if addBC {
		v, err := asn1.Marshal(struct {
			IsCA bool `asn1:"optional"`
		}{true})
		if err != nil {
			return nil, err
		}
		creq.ExtraExtensions = append(creq.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: v})
	}
	der, err := x509.CreateCertificateRequest(e.rand, creq, signer)
	if err != nil {
		return nil, invalidf("unable to create the CSR: %v", err)
	}
	ke := existingKey
	if ke == nil {
		if ke, _, err = e.storeKey(ctx, req.Storage, signer, keyName); err != nil {
			return nil, err
		}
	}
	csr := strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})))
	if format == "der" {
		csr = formatCert(der, "der")
	}
	data := map[string]any{"csr": csr, "key_id": ke.ID, "key_name": ke.Name}
	if typ == "exported" {
		pk, pkt, err := formatKey(signer, format, keyFormat)
		if err != nil {
			return nil, err
		}
		data["private_key"], data["private_key_type"] = pk, pkt
	}
	return &secrets.Response{Data: data}, nil
}

// importBundle serves intermediate/set-signed, issuers/import/cert,
// issuers/import/bundle and config/ca: PEM certificates become issuers,
// PEM private keys (bundle endpoints only) become keys, and each issuer
// is linked to the key with its public key.
func (e *engine) importBundle(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	field := "pem_bundle"
	if req.Path == "intermediate/set-signed" {
		field = "certificate"
	}
	bundle := d.str(field, "")
	if err := d.err(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(bundle) == "" {
		return nil, invalidf("the %s field is required", field)
	}
	allowKeys := req.Path == "config/ca" || req.Path == "issuers/import/bundle"
	var certs []*x509.Certificate
	var keys []crypto.Signer
	rest := []byte(bundle)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, invalidf("unable to parse a certificate in the bundle: %v", err)
			}
			certs = append(certs, c)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			if !allowKeys {
				return nil, invalidf("private keys found in the PEM bundle but not allowed by this endpoint")
			}
			k, err := parsePrivateKeyBlock(b)
			if err != nil {
				return nil, invalidf("unable to parse a private key in the bundle")
			}
			keys = append(keys, k)
		default:
			return nil, invalidf("unsupported PEM block %q in the bundle", b.Type)
		}
	}
	if strings.TrimSpace(string(rest)) != "" && len(certs) == 0 && len(keys) == 0 {
		return nil, invalidf("no data found in the PEM bundle")
	}
	if len(certs) == 0 && len(keys) == 0 {
		return nil, invalidf("no data found in the PEM bundle")
	}
	for _, c := range certs {
		if !c.BasicConstraintsValid || !c.IsCA {
			return nil, invalidf("refusing to import a non-CA certificate (serial %s) as an issuer", serialColon(c.SerialNumber))
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	importedKeys, existingKeys := []string{}, []string{}
	for _, k := range keys {
		ke, existed, err := e.storeKey(ctx, req.Storage, k, "")
		if err != nil {
			return nil, err
		}
		if existed {
			existingKeys = append(existingKeys, ke.ID)
		} else {
			importedKeys = append(importedKeys, ke.ID)
		}
	}
	importedIssuers, existingIssuers := []string{}, []string{}
	mapping := map[string]any{}
	var warnings []string
	for _, c := range certs {
		ie, existed, err := e.storeIssuer(ctx, req.Storage, c, "")
		if err != nil {
			return nil, err
		}
		if existed {
			existingIssuers = append(existingIssuers, ie.ID)
			if ie.KeyID == "" {
				// A key imported after its certificate links now.
				if err := e.relinkKeys(ctx, req.Storage); err != nil {
					return nil, err
				}
				if ie, err = loadIssuer(ctx, req.Storage, ie.ID); err != nil {
					return nil, err
				}
			}
		} else {
			importedIssuers = append(importedIssuers, ie.ID)
		}
		mapping[ie.ID] = ie.KeyID
		if ie.KeyID == "" {
			warnings = append(warnings, "issuer "+ie.ID+" has no matching private key in this mount: it can be read but cannot issue")
		} else if err := e.rebuildCRLLocked(ctx, req.Storage, ie); err != nil {
			return nil, err
		}
	}
	return &secrets.Response{Warnings: warnings, Data: map[string]any{
		"imported_issuers": importedIssuers, "imported_keys": importedKeys, "mapping": mapping,
		"existing_issuers": existingIssuers, "existing_keys": existingKeys,
	}}, nil
}

// relinkKeys links key-less issuers to a stored key with their public key.
func (e *engine) relinkKeys(ctx context.Context, s storage.Backend) error {
	issuers, err := loadIssuers(ctx, s)
	if err != nil {
		return err
	}
	keys, err := loadKeys(ctx, s)
	if err != nil {
		return err
	}
	for _, i := range issuers {
		if i.KeyID != "" {
			continue
		}
		c, err := i.cert()
		if err != nil {
			return err
		}
		want, err := x509.MarshalPKIXPublicKey(c.PublicKey)
		if err != nil {
			return err
		}
		for _, k := range keys {
			sg, err := k.signer()
			if err != nil {
				continue
			}
			if got, err := x509.MarshalPKIXPublicKey(sg.Public()); err == nil && string(got) == string(want) {
				i.KeyID = k.ID
				if err := putJSON(ctx, s, issuerPrefix+i.ID, i); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

// parseCSR decodes and checks a PEM (or base64 DER) CSR.
func parseCSR(d *fieldData) (*x509.CertificateRequest, error) {
	v := strings.TrimSpace(d.str("csr", ""))
	if err := d.err(); err != nil {
		return nil, err
	}
	if v == "" {
		return nil, invalidf("the csr field is required")
	}
	var der []byte
	if b, _ := pem.Decode([]byte(v)); b != nil {
		if b.Type != "CERTIFICATE REQUEST" && b.Type != "NEW CERTIFICATE REQUEST" {
			return nil, invalidf("the csr is a PEM %q block, not a CERTIFICATE REQUEST", b.Type)
		}
		der = b.Bytes
	} else {
		return nil, invalidf("certificate request could not be parsed: no PEM block found")
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, invalidf("certificate request could not be parsed: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, invalidf("request signature invalid: %v", err)
	}
	return csr, nil
}

func (e *engine) signIntermediate(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	format, _, err := checkFormat(d)
	if err != nil {
		return nil, err
	}
	csr, err := parseCSR(d)
	if err != nil {
		return nil, err
	}
	useCSR := d.boolean("use_csr_values", false)
	var subj subjectReq
	parseSubjectFields(d, &subj)
	if err := parseSANs(d, &subj); err != nil {
		return nil, err
	}
	if useCSR {
		subj.name = csr.Subject
		subj.cn = csr.Subject.CommonName
		subj.dns, subj.emails, subj.ips, subj.uris = csr.DNSNames, csr.EmailAddresses, csr.IPAddresses, csr.URIs
	}
	// As Vault: without common_name (or SANs), the CSR's are used.
	if subj.cn == "" {
		subj.cn = csr.Subject.CommonName
	}
	if len(subj.dns)+len(subj.emails)+len(subj.ips)+len(subj.uris) == 0 {
		subj.dns, subj.emails, subj.ips, subj.uris = csr.DNSNames, csr.EmailAddresses, csr.IPAddresses, csr.URIs
	}
	if subj.cn == "" {
		return nil, invalidf("the common_name field is required")
	}
	subj.addCNToSANs()
	maxPath := d.integer("max_path_length", -1)
	permitted := d.list("permitted_dns_domains", nil)
	sigBits, pss := d.integer("signature_bits", 0), d.boolean("use_pss", false)
	now := e.now()
	notBefore, notAfter, err := e.caValidity(d, now)
	if err != nil {
		return nil, err
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	iss, parent, signer, err := issuingSigner(ctx, req.Storage, d.str("issuer_ref", "default"))
	if err != nil {
		return nil, err
	}
	if parent.MaxPathLenZero && parent.MaxPathLen == 0 {
		return nil, invalidf("signing CA certificate's max path length is 0: it cannot sign intermediates")
	}
	if parent.MaxPathLen > 0 && (maxPath < 0 || maxPath >= parent.MaxPathLen) {
		maxPath = parent.MaxPathLen - 1
	}
	// As Vault: the issuer's leaf_not_after_behavior is for leaves; an
	// intermediate may outlive its issuer (with a warning). Both default
	// to the mount's TTL, so an intermediate signed moments after its root
	// always would (vault-benchmark's pki_issue setup does exactly that).
	var warnings []string
	if notAfter.After(parent.NotAfter) {
		warnings = append(warnings, "The expiration time for the signed certificate is after the CA's expiration time. If the new certificate is not treated as a root, validation paths with the certificate past the issuing CA's expiration time will fail.")
	}
	der, tmpl, err := e.createCA(ctx, req.Storage, caSpec{subj: subj, notBefore: notBefore, notAfter: notAfter,
		maxPath: maxPath, permitted: permitted, sigBits: sigBits, pss: pss,
		iss: iss, parent: parent, pub: csr.PublicKey, signer: signer, what: "sign the intermediate"})
	if err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, certPrefix+storageSerial(tmpl.SerialNumber), &certEntry{DER: der, IssuerID: iss.ID}); err != nil {
		return nil, err
	}
	chain := []string{formatCert(der, format)}
	for _, p := range iss.CAChain {
		c, err := parseCertPEM(p)
		if err != nil {
			return nil, err
		}
		chain = append(chain, formatCert(c.Raw, format))
	}
	certOut := chain[0]
	if format == "pem_bundle" { // the new CA followed by its issuer's chain
		certOut = strings.Join(chain, "\n")
	}
	return &secrets.Response{Warnings: warnings, Data: map[string]any{
		"certificate": certOut, "issuing_ca": formatCert(parent.Raw, format), "ca_chain": chain,
		"serial_number": serialColon(tmpl.SerialNumber), "expiration": notAfter.Unix(),
	}}, nil
}

// capToIssuer applies the issuer's leaf_not_after_behavior when notAfter
// lies beyond the issuer certificate's own notAfter: err (Vault's
// default) refuses, truncate caps, permit allows.
func capToIssuer(iss *issuerEntry, ca *x509.Certificate, notAfter time.Time, warnings []string) (time.Time, []string, error) {
	if !notAfter.After(ca.NotAfter) {
		return notAfter, warnings, nil
	}
	switch iss.LeafNotAfterBehavior {
	case "truncate":
		return ca.NotAfter, warnings, nil
	case "permit":
		return notAfter, append(warnings, "the certificate's notAfter is beyond its issuer's notAfter (leaf_not_after_behavior=permit): it will not validate after the issuer expires"), nil
	}
	return time.Time{}, warnings, invalidf("cannot satisfy request, as TTL would result in notAfter of %s that is beyond the expiration of the CA certificate at %s",
		notAfter.UTC().Format(time.RFC3339), ca.NotAfter.UTC().Format(time.RFC3339))
}
