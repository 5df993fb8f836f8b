package pki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"sort"
	"strings"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// ---- loading and resolving ----

func listIDs(ctx context.Context, s storage.Backend, prefix string) ([]string, error) {
	keys, err := s.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := keys[:0]
	for _, k := range keys {
		if !strings.HasSuffix(k, "/") {
			out = append(out, k)
		}
	}
	return out, nil
}

// loadOne reads the record at key; nil when there is none.
func loadOne[T any](ctx context.Context, s storage.Backend, key string) (*T, error) {
	var v T
	ok, err := getJSON(ctx, s, key, &v)
	if err != nil || !ok {
		return nil, err
	}
	return &v, nil
}

// loadAll reads every record under prefix (sub-folders are not records).
func loadAll[T any](ctx context.Context, s storage.Backend, prefix string) ([]*T, error) {
	ids, err := listIDs(ctx, s, prefix)
	if err != nil {
		return nil, err
	}
	var out []*T
	for _, id := range ids {
		v, err := loadOne[T](ctx, s, prefix+id)
		if err != nil {
			return nil, err
		}
		if v != nil {
			out = append(out, v)
		}
	}
	return out, nil
}

func loadIssuer(ctx context.Context, s storage.Backend, id string) (*issuerEntry, error) {
	return loadOne[issuerEntry](ctx, s, issuerPrefix+id)
}

func loadIssuers(ctx context.Context, s storage.Backend) ([]*issuerEntry, error) {
	return loadAll[issuerEntry](ctx, s, issuerPrefix)
}

func loadKey(ctx context.Context, s storage.Backend, id string) (*keyEntry, error) {
	return loadOne[keyEntry](ctx, s, keyPrefix+id)
}

func loadKeys(ctx context.Context, s storage.Backend) ([]*keyEntry, error) {
	return loadAll[keyEntry](ctx, s, keyPrefix)
}

func loadIssuersConf(ctx context.Context, s storage.Backend) (*issuersConf, error) {
	var c issuersConf
	if _, err := getJSON(ctx, s, issuersConfig, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// resolveIssuer finds an issuer by "default" (or ""), ID or name.
func resolveIssuer(ctx context.Context, s storage.Backend, ref string) (*issuerEntry, error) {
	return resolveRef(ctx, s, ref, "issuer", issuerPrefix, func() (string, error) {
		c, err := loadIssuersConf(ctx, s)
		if err != nil {
			return "", err
		}
		return c.Default, nil
	}, func(i *issuerEntry) string { return i.Name })
}

// resolveKey finds a key by "default" (or ""), ID or name.
func resolveKey(ctx context.Context, s storage.Backend, ref string) (*keyEntry, error) {
	return resolveRef(ctx, s, ref, "key", keyPrefix, func() (string, error) {
		var c keysConf
		_, err := getJSON(ctx, s, keysConfig, &c)
		return c.Default, err
	}, func(k *keyEntry) string { return k.Name })
}

// resolveRef finds the record under prefix that ref names: "default" (or
// "") is the one defaultID returns, else ref is an ID or else a name.
func resolveRef[T any](ctx context.Context, s storage.Backend, ref, what, prefix string,
	defaultID func() (string, error), name func(*T) string) (*T, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" || ref == "default" {
		id, err := defaultID()
		if err != nil {
			return nil, err
		}
		if id == "" {
			return nil, invalidf("no default %s currently configured", what)
		}
		ref = id
	}
	if v, err := loadOne[T](ctx, s, prefix+ref); err != nil || v != nil {
		return v, err
	}
	all, err := loadAll[T](ctx, s, prefix)
	if err != nil {
		return nil, err
	}
	for _, v := range all {
		if n := name(v); n != "" && n == ref {
			return v, nil
		}
	}
	return nil, invalidf("unable to find PKI %s for reference: %s", what, ref)
}

// issuingSigner resolves ref to an issuer that may issue (its usage has
// issuing-certificates and it is not revoked) and returns it with its
// certificate and signer.
func issuingSigner(ctx context.Context, s storage.Backend, ref string) (*issuerEntry, *x509.Certificate, crypto.Signer, error) {
	iss, err := resolveIssuer(ctx, s, ref)
	if err != nil {
		return nil, nil, nil, err
	}
	if !iss.hasUsage("issuing-certificates") {
		return nil, nil, nil, invalidf("issuer %s is not allowed to issue certificates (usage)", iss.ID)
	}
	if iss.Revoked {
		return nil, nil, nil, invalidf("issuer %s is revoked and cannot issue certificates", iss.ID)
	}
	ca, signer, err := issuerSigner(ctx, s, iss)
	if err != nil {
		return nil, nil, nil, err
	}
	return iss, ca, signer, nil
}

// issuerSigner loads an issuer's certificate and private key.
func issuerSigner(ctx context.Context, s storage.Backend, i *issuerEntry) (*x509.Certificate, crypto.Signer, error) {
	cert, err := i.cert()
	if err != nil {
		return nil, nil, err
	}
	if i.KeyID == "" {
		return nil, nil, invalidf("issuer %s has no private key in this mount and cannot sign", i.ID)
	}
	k, err := loadKey(ctx, s, i.KeyID)
	if err != nil {
		return nil, nil, err
	}
	if k == nil {
		return nil, nil, invalidf("the private key of issuer %s is missing", i.ID)
	}
	signer, err := k.signer()
	if err != nil {
		return nil, nil, err
	}
	return cert, signer, nil
}

// validObjectName: issuer and key names are letters, digits, '-' and
// '_' (Vault's rule), and never "default".
func validObjectName(n string) error {
	if n == "" {
		return nil
	}
	if n == "default" {
		return invalidf("reserved name %q cannot be used as an issuer or key name", n)
	}
	if len(n) > 128 {
		return invalidf("name %q is too long", n)
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return invalidf("name %q contains invalid characters", n)
		}
	}
	return nil
}

// ---- saving ----

// storeKey saves a new private key (or returns the existing entry with
// the same public key).
func (e *engine) storeKey(ctx context.Context, s storage.Backend, k crypto.Signer, name string) (*keyEntry, bool, error) {
	existing, err := loadKeys(ctx, s)
	if err != nil {
		return nil, false, err
	}
	pub, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		return nil, false, err
	}
	for _, ke := range existing {
		if name != "" && ke.Name == name {
			return nil, false, invalidf("key name %q is already in use", name)
		}
	}
	for _, ke := range existing {
		sg, err := ke.signer()
		if err != nil {
			continue
		}
		if p2, err := x509.MarshalPKIXPublicKey(sg.Public()); err == nil && bytes.Equal(p2, pub) {
			return ke, true, nil
		}
	}
	id, err := e.newID()
	if err != nil {
		return nil, false, err
	}
	pemText, typ, err := marshalPrivateKey(k, "pkcs8")
	if err != nil {
		return nil, false, err
	}
	_, bits, _ := publicKeyInfo(k.Public())
	ke := &keyEntry{ID: id, Name: name, Type: typ, Bits: bits, PEM: pemText}
	if err := putJSON(ctx, s, keyPrefix+id, ke); err != nil {
		return nil, false, err
	}
	var kc keysConf
	if _, err := getJSON(ctx, s, keysConfig, &kc); err != nil {
		return nil, false, err
	}
	if kc.Default == "" {
		kc.Default = id
		if err := putJSON(ctx, s, keysConfig, &kc); err != nil {
			return nil, false, err
		}
	}
	return ke, false, nil
}

// storeIssuer saves a CA certificate as an issuer (or returns the
// existing issuer with the same certificate), links it to a stored key
// with the same public key, rebuilds every chain and sets the default
// issuer if there is none (or it follows the latest).
func (e *engine) storeIssuer(ctx context.Context, s storage.Backend, cert *x509.Certificate, name string) (*issuerEntry, bool, error) {
	all, err := loadIssuers(ctx, s)
	if err != nil {
		return nil, false, err
	}
	for _, i := range all {
		c, err := i.cert()
		if err == nil && bytes.Equal(c.Raw, cert.Raw) {
			return i, true, nil
		}
		if name != "" && i.Name == name {
			return nil, false, invalidf("issuer name %q is already in use", name)
		}
	}
	id, err := e.newID()
	if err != nil {
		return nil, false, err
	}
	ie := &issuerEntry{
		ID: id, Name: name, Certificate: certPEM(cert.Raw), LeafNotAfterBehavior: "err",
		Usage: append([]string(nil), allUsages...), SerialNumber: serialColon(cert.SerialNumber),
	}
	keys, err := loadKeys(ctx, s)
	if err != nil {
		return nil, false, err
	}
	want, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		return nil, false, err
	}
	for _, k := range keys {
		sg, err := k.signer()
		if err != nil {
			continue
		}
		if got, err := x509.MarshalPKIXPublicKey(sg.Public()); err == nil && bytes.Equal(got, want) {
			ie.KeyID = k.ID
			break
		}
	}
	if err := putJSON(ctx, s, issuerPrefix+id, ie); err != nil {
		return nil, false, err
	}
	conf, err := loadIssuersConf(ctx, s)
	if err != nil {
		return nil, false, err
	}
	if conf.Default == "" || conf.DefaultFollowsLatestIssuer {
		conf.Default = id
		if err := putJSON(ctx, s, issuersConfig, conf); err != nil {
			return nil, false, err
		}
	}
	if err := rebuildChains(ctx, s); err != nil {
		return nil, false, err
	}
	ie, err = loadIssuer(ctx, s, id)
	return ie, false, err
}

// rebuildChains recomputes every issuer's ca_chain: the issuer itself,
// then its parent among this mount's issuers (by subject and signature),
// up to a self-signed root. A manual_chain replaces the computed one.
func rebuildChains(ctx context.Context, s storage.Backend) error {
	all, err := loadIssuers(ctx, s)
	if err != nil {
		return err
	}
	certs := map[string]*x509.Certificate{}
	for _, i := range all {
		c, err := i.cert()
		if err != nil {
			return err
		}
		certs[i.ID] = c
	}
	parentOf := func(c *x509.Certificate) *issuerEntry {
		if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
			return nil
		}
		for _, p := range all {
			pc := certs[p.ID]
			if bytes.Equal(pc.RawSubject, c.RawIssuer) && !bytes.Equal(pc.Raw, c.Raw) && c.CheckSignatureFrom(pc) == nil {
				return p
			}
		}
		return nil
	}
	for _, i := range all {
		var chain []string
		if len(i.ManualChain) > 0 {
			for _, ref := range i.ManualChain {
				for _, p := range all {
					if p.ID == ref {
						chain = append(chain, p.Certificate)
					}
				}
			}
		} else {
			chain = []string{i.Certificate}
			cur := certs[i.ID]
			for n := 0; n < 10; n++ {
				p := parentOf(cur)
				if p == nil {
					break
				}
				chain = append(chain, p.Certificate)
				cur = certs[p.ID]
			}
		}
		i.CAChain = chain
		if err := putJSON(ctx, s, issuerPrefix+i.ID, i); err != nil {
			return err
		}
	}
	return nil
}

// ---- output formats ----

// formatCert renders a DER certificate as the format parameter asks:
// "pem" (default), "der" (base64) or "pem_bundle".
func formatCert(der []byte, format string) string {
	if format == "der" {
		return base64.StdEncoding.EncodeToString(der)
	}
	return strings.TrimSpace(certPEM(der))
}

func checkFormat(d *fieldData) (string, string, error) {
	f := d.str("format", "pem")
	switch f {
	case "pem", "der", "pem_bundle":
	default:
		return "", "", invalidf("unknown format %q: must be pem, der or pem_bundle", f)
	}
	pkf := d.str("private_key_format", "der")
	switch pkf {
	case "", "der", "pem":
		pkf = "der"
	case "pkcs8":
	default:
		return "", "", invalidf("unknown private_key_format %q: must be der, pem or pkcs8", pkf)
	}
	return f, pkf, nil
}

// formatKey renders a private key for the response: PEM for pem and
// pem_bundle, base64 DER for der.
func formatKey(k crypto.Signer, format, keyFormat string) (string, string, error) {
	text, typ, err := marshalPrivateKey(k, keyFormat)
	if err != nil {
		return "", "", err
	}
	if format == "der" {
		b, _ := pem.Decode([]byte(text))
		return base64.StdEncoding.EncodeToString(b.Bytes), typ, nil
	}
	return strings.TrimSpace(text), typ, nil
}

// ---- issuers: list, read, update, delete ----

func (e *engine) issuersList(ctx context.Context, req *secrets.Request, _ *fieldData) (*secrets.Response, error) {
	all, err := loadIssuers(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	conf, err := loadIssuersConf(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, notFound()
	}
	keys := make([]string, 0, len(all))
	info := map[string]any{}
	for _, i := range all {
		keys = append(keys, i.ID)
		info[i.ID] = map[string]any{
			"issuer_name": i.Name, "is_default": i.ID == conf.Default,
			"serial_number": i.SerialNumber, "key_id": i.KeyID,
		}
	}
	sort.Strings(keys)
	return &secrets.Response{Data: map[string]any{"keys": keys, "key_info": info}}, nil
}

func issuerData(i *issuerEntry) map[string]any {
	nz := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return map[string]any{
		"issuer_id": i.ID, "issuer_name": i.Name, "key_id": i.KeyID,
		"certificate": strings.TrimSpace(i.Certificate), "ca_chain": nz(i.CAChain),
		"manual_chain": nz(i.ManualChain), "leaf_not_after_behavior": i.LeafNotAfterBehavior,
		"usage": strings.Join(i.Usage, ","), "revoked": i.Revoked,
		"revocation_time": i.RevocationTime, "serial_number": i.SerialNumber,
		"issuing_certificates": nz(i.IssuingCertificates), "crl_distribution_points": nz(i.CRLDistribution),
		"ocsp_servers": nz(i.OCSPServers), "enable_aia_url_templating": false,
		"revocation_signature_algorithm": "",
	}
}

func (e *engine) issuerRead(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	i, err := resolveIssuer(ctx, req.Storage, d.str("issuer_ref", ""))
	if err != nil {
		return nil, err
	}
	return &secrets.Response{Data: issuerData(i)}, nil
}

func (e *engine) issuerWrite(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i, err := resolveIssuer(ctx, req.Storage, d.str("issuer_ref", ""))
	if err != nil {
		return nil, err
	}
	if d.has("issuer_name") {
		n := d.str("issuer_name", "")
		if err := validObjectName(n); err != nil {
			return nil, err
		}
		if n != "" && n != i.Name {
			all, err := loadIssuers(ctx, req.Storage)
			if err != nil {
				return nil, err
			}
			for _, o := range all {
				if o.Name == n {
					return nil, invalidf("issuer name %q is already in use", n)
				}
			}
		}
		i.Name = n
	}
	if d.has("leaf_not_after_behavior") {
		switch b := d.str("leaf_not_after_behavior", ""); b {
		case "err", "truncate", "permit":
			i.LeafNotAfterBehavior = b
		default:
			return nil, invalidf("invalid leaf_not_after_behavior %q: must be err, truncate or permit", b)
		}
	}
	if d.has("usage") {
		var u []string
		for _, x := range d.list("usage", nil) {
			if !contains(allUsages, x) {
				return nil, invalidf("unknown usage %q: must be one of %s", x, strings.Join(allUsages, ", "))
			}
			u = append(u, x)
		}
		i.Usage = u
	}
	if d.has("revocation_signature_algorithm") && d.str("revocation_signature_algorithm", "") != "" {
		return nil, invalidf("revocation_signature_algorithm is not supported by vaultd: CRLs are signed with the issuer key's default algorithm")
	}
	if d.has("enable_aia_url_templating") && d.boolean("enable_aia_url_templating", false) {
		return nil, invalidf("enable_aia_url_templating is not supported by vaultd")
	}
	if d.has("manual_chain") {
		var chain []string
		for _, ref := range d.list("manual_chain", nil) {
			if ref == "self" {
				ref = i.ID
			}
			p, err := resolveIssuer(ctx, req.Storage, ref)
			if err != nil {
				return nil, err
			}
			chain = append(chain, p.ID)
		}
		if len(chain) > 0 && chain[0] != i.ID {
			return nil, invalidf("manual_chain must start with the issuer itself (\"self\")")
		}
		i.ManualChain = chain
	}
	for field, dst := range map[string]*[]string{
		"issuing_certificates": &i.IssuingCertificates, "crl_distribution_points": &i.CRLDistribution, "ocsp_servers": &i.OCSPServers,
	} {
		if d.has(field) {
			v := d.list(field, nil)
			if err := checkURLs(field, v); err != nil {
				return nil, err
			}
			*dst = v
		}
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, issuerPrefix+i.ID, i); err != nil {
		return nil, err
	}
	if err := rebuildChains(ctx, req.Storage); err != nil {
		return nil, err
	}
	i, err = loadIssuer(ctx, req.Storage, i.ID)
	if err != nil {
		return nil, err
	}
	return &secrets.Response{Data: issuerData(i)}, nil
}

func (e *engine) issuerDelete(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i, err := resolveIssuer(ctx, req.Storage, d.str("issuer_ref", ""))
	if err != nil {
		if isUserError(err) {
			return &secrets.Response{}, nil // deleting an absent issuer succeeds, as in Vault
		}
		return nil, err
	}
	var warnings []string
	conf, err := loadIssuersConf(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if conf.Default == i.ID {
		conf.Default = ""
		if err := putJSON(ctx, req.Storage, issuersConfig, conf); err != nil {
			return nil, err
		}
		warnings = append(warnings, "Deleted issuer was the default issuer; a new default issuer has not been set")
	}
	if err := deleteKey(ctx, req.Storage, issuerPrefix+i.ID); err != nil {
		return nil, err
	}
	if err := deleteKey(ctx, req.Storage, crlPrefix+i.ID); err != nil {
		return nil, err
	}
	if err := rebuildChains(ctx, req.Storage); err != nil {
		return nil, err
	}
	if len(warnings) == 0 {
		return &secrets.Response{}, nil
	}
	return &secrets.Response{Warnings: warnings}, nil
}

// issuerFetch serves issuer/:ref/{json,der,pem} (unauthenticated).
func (e *engine) issuerFetch(format string) handler {
	return func(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
		i, err := resolveIssuer(ctx, req.Storage, d.str("issuer_ref", ""))
		if err != nil {
			return nil, err
		}
		c, err := i.cert()
		if err != nil {
			return nil, err
		}
		switch format {
		case "der":
			return &secrets.Response{RawBody: c.Raw, ContentType: "application/pkix-cert"}, nil
		case "pem":
			return &secrets.Response{RawBody: []byte(i.Certificate), ContentType: "application/pem-certificate-chain"}, nil
		}
		return &secrets.Response{Data: map[string]any{
			"issuer_id": i.ID, "issuer_name": i.Name,
			"certificate": strings.TrimSpace(i.Certificate), "ca_chain": i.CAChain,
		}}, nil
	}
}

// ---- config/issuers, root/replace ----

func (e *engine) issuersConfigRead(ctx context.Context, req *secrets.Request, _ *fieldData) (*secrets.Response, error) {
	c, err := loadIssuersConf(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{"default": c.Default, "default_follows_latest_issuer": c.DefaultFollowsLatestIssuer}}, nil
}

func (e *engine) issuersConfigWrite(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := loadIssuersConf(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if d.has("default") {
		ref := d.str("default", "")
		if ref == "" || ref == "default" {
			return nil, invalidf("invalid default issuer reference %q", ref)
		}
		i, err := resolveIssuer(ctx, req.Storage, ref)
		if err != nil {
			return nil, err
		}
		c.Default = i.ID
	} else if strings.HasPrefix(req.Path, "root/replace") {
		return nil, invalidf("missing default issuer reference")
	}
	if d.has("default_follows_latest_issuer") {
		c.DefaultFollowsLatestIssuer = d.boolean("default_follows_latest_issuer", false)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, issuersConfig, c); err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{"default": c.Default, "default_follows_latest_issuer": c.DefaultFollowsLatestIssuer}}, nil
}

// deleteRoot (DELETE root) removes every issuer and key, as Vault does.
func (e *engine) deleteRoot(ctx context.Context, req *secrets.Request, _ *fieldData) (*secrets.Response, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, prefix := range []string{issuerPrefix, keyPrefix, crlPrefix} {
		ids, err := listIDs(ctx, req.Storage, prefix)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if err := deleteKey(ctx, req.Storage, prefix+id); err != nil {
				return nil, err
			}
		}
	}
	for _, k := range []string{issuersConfig, keysConfig} {
		if err := deleteKey(ctx, req.Storage, k); err != nil {
			return nil, err
		}
	}
	return &secrets.Response{}, nil
}

// ---- keys ----

func (e *engine) keysList(ctx context.Context, req *secrets.Request, _ *fieldData) (*secrets.Response, error) {
	all, err := loadKeys(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, notFound()
	}
	keys := make([]string, 0, len(all))
	info := map[string]any{}
	for _, k := range all {
		keys = append(keys, k.ID)
		info[k.ID] = map[string]any{"key_name": k.Name}
	}
	sort.Strings(keys)
	return &secrets.Response{Data: map[string]any{"keys": keys, "key_info": info}}, nil
}

func keyData(k *keyEntry) map[string]any {
	return map[string]any{"key_id": k.ID, "key_name": k.Name, "key_type": k.Type}
}

func (e *engine) keyRead(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	k, err := resolveKey(ctx, req.Storage, d.str("key_ref", ""))
	if err != nil {
		return nil, err
	}
	return &secrets.Response{Data: keyData(k)}, nil
}

func (e *engine) keyWrite(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k, err := resolveKey(ctx, req.Storage, d.str("key_ref", ""))
	if err != nil {
		return nil, err
	}
	n := d.str("key_name", k.Name)
	if err := d.err(); err != nil {
		return nil, err
	}
	if err := validObjectName(n); err != nil {
		return nil, err
	}
	all, err := loadKeys(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	for _, o := range all {
		if n != "" && o.Name == n && o.ID != k.ID {
			return nil, invalidf("key name %q is already in use", n)
		}
	}
	k.Name = n
	if err := putJSON(ctx, req.Storage, keyPrefix+k.ID, k); err != nil {
		return nil, err
	}
	return &secrets.Response{Data: keyData(k)}, nil
}

func (e *engine) keyDelete(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k, err := resolveKey(ctx, req.Storage, d.str("key_ref", ""))
	if err != nil {
		if isUserError(err) {
			return &secrets.Response{}, nil
		}
		return nil, err
	}
	all, err := loadIssuers(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	for _, i := range all {
		if i.KeyID == k.ID {
			return nil, invalidf("unable to delete key: key %s is in use by issuer %s", k.ID, i.ID)
		}
	}
	if err := deleteKey(ctx, req.Storage, keyPrefix+k.ID); err != nil {
		return nil, err
	}
	var kc keysConf
	if _, err := getJSON(ctx, req.Storage, keysConfig, &kc); err != nil {
		return nil, err
	}
	if kc.Default == k.ID {
		kc.Default = ""
		if err := putJSON(ctx, req.Storage, keysConfig, &kc); err != nil {
			return nil, err
		}
	}
	return &secrets.Response{}, nil
}

func (e *engine) keysConfigRead(ctx context.Context, req *secrets.Request, _ *fieldData) (*secrets.Response, error) {
	var kc keysConf
	if _, err := getJSON(ctx, req.Storage, keysConfig, &kc); err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{"default": kc.Default}}, nil
}

func (e *engine) keysConfigWrite(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ref := d.str("default", "")
	if err := d.err(); err != nil {
		return nil, err
	}
	if ref == "" || ref == "default" {
		return nil, invalidf("invalid default key reference %q", ref)
	}
	k, err := resolveKey(ctx, req.Storage, ref)
	if err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, keysConfig, &keysConf{Default: k.ID}); err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{"default": k.ID}}, nil
}

func isUserError(err error) bool {
	_, ok := err.(*secrets.Error)
	return ok
}

// keysGenerate serves keys/generate/:type (internal or exported): a new
// key with no issuer yet, as Vault ≥ 1.11 offers.
func (e *engine) keysGenerate(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	typ := d.str("exported", "")
	switch typ {
	case "internal", "exported":
	case "kms":
		return nil, invalidf("managed keys (type kms) are not supported by vaultd")
	default:
		return nil, invalidf("invalid type %q: must be internal or exported", typ)
	}
	kt, bits, err := normalizeKeyParams(d.str("key_type", keyRSA), d.integer("key_bits", 0))
	if err != nil {
		return nil, err
	}
	name := d.str("key_name", "")
	if err := d.err(); err != nil {
		return nil, err
	}
	if err := validObjectName(name); err != nil {
		return nil, err
	}
	signer, err := generateKey(ctx, e.rand, kt, bits)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ke, _, err := e.storeKey(ctx, req.Storage, signer, name)
	if err != nil {
		return nil, err
	}
	data := keyData(ke)
	if typ == "exported" {
		pk, _, err := formatKey(signer, "pem", "der")
		if err != nil {
			return nil, err
		}
		data["private_key"] = pk
	}
	return &secrets.Response{Data: data}, nil
}

// keysImport serves keys/import: one PEM private key (with key_name).
func (e *engine) keysImport(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	bundle, name := d.str("pem_bundle", ""), d.str("key_name", "")
	if err := d.err(); err != nil {
		return nil, err
	}
	if err := validObjectName(name); err != nil {
		return nil, err
	}
	b, rest := pem.Decode([]byte(bundle))
	if b == nil || !strings.HasSuffix(b.Type, "PRIVATE KEY") {
		return nil, invalidf("pem_bundle must hold exactly one PEM private key")
	}
	if more, _ := pem.Decode(rest); more != nil {
		return nil, invalidf("pem_bundle must hold exactly one PEM private key")
	}
	k, err := parsePrivateKeyBlock(b)
	if err != nil {
		return nil, invalidf("unable to parse the private key")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ke, existed, err := e.storeKey(ctx, req.Storage, k, name)
	if err != nil {
		return nil, err
	}
	if !existed {
		if err := e.relinkKeys(ctx, req.Storage); err != nil {
			return nil, err
		}
	}
	return &secrets.Response{Data: keyData(ke)}, nil
}
