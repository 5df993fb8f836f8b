package pki

import (
	"context"
	"maps"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// Field helpers: every PKI field is declared once here and reused by
// the paths that take it.
func fStr(desc string) *endpoint.Field {
	return &endpoint.Field{Type: endpoint.TypeString, Description: desc}
}
func fBool(desc string) *endpoint.Field {
	return &endpoint.Field{Type: endpoint.TypeBool, Description: desc}
}
func fInt(desc string) *endpoint.Field {
	return &endpoint.Field{Type: endpoint.TypeInt, Description: desc}
}
func fDur(desc string) *endpoint.Field {
	return &endpoint.Field{Type: endpoint.TypeDurationSecond, Description: desc}
}
func fList(desc string) *endpoint.Field {
	return &endpoint.Field{Type: endpoint.TypeCommaStringSlice, Description: desc}
}

type fields = map[string]*endpoint.Field

func merge(sets ...fields) fields {
	out := fields{}
	for _, s := range sets {
		maps.Copy(out, s)
	}
	return out
}

var (
	subjectFields = fields{
		"common_name":          fStr("Requested common name (CN)."),
		"alt_names":            fList("DNS names and email addresses for the subject alternative names."),
		"ip_sans":              fList("IP subject alternative names."),
		"uri_sans":             fList("URI subject alternative names."),
		"other_sans":           fList("otherName SANs (refused: vaultd does not encode them)."),
		"exclude_cn_from_sans": fBool("Keep the common name out of the SANs."),
		"ou":                   fList("Organizational units of the subject."),
		"organization":         fList("Organizations of the subject."),
		"country":              fList("Countries of the subject."),
		"locality":             fList("Localities of the subject."),
		"province":             fList("Provinces of the subject."),
		"street_address":       fList("Street addresses of the subject."),
		"postal_code":          fList("Postal codes of the subject."),
		"serial_number":        fStr("The subject's serialNumber attribute (not the certificate serial)."),
	}
	validityFields = fields{
		"ttl":                 fDur("Requested validity."),
		"not_after":           fStr("Requested notAfter, RFC 3339 (YYYY-MM-ddTHH:MM:SSZ); wins over ttl."),
		"not_before_duration": fDur("How far in the past notBefore lies (default 30s)."),
	}
	formatFields = fields{
		"format":             fStr("Output format: pem (default), der or pem_bundle."),
		"private_key_format": fStr("Private key format: der (default, type-specific PEM) or pkcs8."),
	}
	caFields = fields{
		"exported":              fStr("internal, exported or existing."),
		"key_type":              fStr("rsa (default), ec or ed25519."),
		"key_bits":              fInt("Key size: rsa 2048 (default), 3072, 4096, 8192; ec 224, 256 (default), 384, 521."),
		"key_name":              fStr("Name of the new key."),
		"key_ref":               fStr("With type existing: the key to use (ID, name or default)."),
		"issuer_name":           fStr("Name of the new issuer."),
		"max_path_length":       fInt("Maximum path length below this CA (-1: unlimited)."),
		"permitted_dns_domains": fList("Name-constrained DNS domains."),
		"signature_bits":        fInt("Signature hash size: 256, 384 or 512 (0: the key's default)."),
		"use_pss":               fBool("Sign with RSA-PSS."),
		"add_basic_constraints": fBool("Intermediate CSRs: request the CA basic constraint."),
	}
	// issuer_ref is not a body field of issue, sign and sign-verbatim: the
	// role's issuer_ref applies, and only the issuer/:ref/... paths (which
	// ACLs can tell apart) choose another issuer.
	issueFields = fields{
		"role": fStr("Role name."),
	}
	csrFields = fields{
		"csr":            fStr("PEM certificate signing request."),
		"use_csr_values": fBool("sign-intermediate: take the subject and SANs from the CSR."),
	}
	verbatimFields = fields{
		"key_usage":          fList("Key usages (DigitalSignature, KeyEncipherment, ...)."),
		"ext_key_usage":      fList("Extended key usages (ServerAuth, ClientAuth, ...)."),
		"ext_key_usage_oids": fList("Extended key usage OIDs."),
	}
	roleFields = fields{
		"name": fStr("Role name."),
		"ttl":  fDur("Default TTL."), "max_ttl": fDur("Maximum TTL (default 768h)."),
		"not_before_duration":         fDur("notBefore backdating (default 30s)."),
		"allow_localhost":             fBool("Allow localhost and localdomain (default true)."),
		"allowed_domains":             fList("Domains names may be in."),
		"allow_bare_domains":          fBool("Allow the allowed domains themselves."),
		"allow_subdomains":            fBool("Allow subdomains of the allowed domains."),
		"allow_glob_domains":          fBool("Allow allowed_domains to be globs."),
		"allow_wildcard_certificates": fBool("Allow *.domain names (default true)."),
		"allow_any_name":              fBool("Allow any name."),
		"enforce_hostnames":           fBool("Names must be valid host names (default true)."),
		"allow_ip_sans":               fBool("Allow IP SANs (default true)."),
		"allowed_uri_sans":            fList("Globs URI SANs must match."),
		"server_flag":                 fBool("ServerAuth extended key usage (default true)."),
		"client_flag":                 fBool("ClientAuth extended key usage (default true)."),
		"code_signing_flag":           fBool("CodeSigning extended key usage."),
		"email_protection_flag":       fBool("EmailProtection extended key usage."),
		"key_type":                    fStr("rsa (default), ec, ed25519, or any (sign only)."),
		"key_bits":                    fInt("Key size (minimum for sign)."),
		"signature_bits":              fInt("Signature hash size."),
		"use_pss":                     fBool("Sign with RSA-PSS."),
		"key_usage":                   fList("Key usages (default DigitalSignature, KeyAgreement, KeyEncipherment)."),
		"ext_key_usage":               fList("Extended key usages."),
		"ext_key_usage_oids":          fList("Extended key usage OIDs."),
		"use_csr_common_name":         fBool("sign: take the CN from the CSR (default true)."),
		"use_csr_sans":                fBool("sign: take the SANs from the CSR (default true)."),
		"ou":                          fList("Subject OU."), "organization": fList("Subject O."),
		"country": fList("Subject C."), "locality": fList("Subject L."), "province": fList("Subject ST."),
		"street_address": fList("Subject street."), "postal_code": fList("Subject postal code."),
		"generate_lease":                     fBool("Refused when true: vaultd does not lease certificates."),
		"no_store":                           fBool("Do not store issued certificates."),
		"require_cn":                         fBool("Require a common name (default true)."),
		"basic_constraints_valid_for_non_ca": fBool("Mark basic constraints valid on leaves."),
		"not_after":                          fStr("Fixed notAfter, RFC 3339."),
		"issuer_ref":                         fStr("Issuer this role signs with (default: the default issuer)."),
		"cn_validations":                     fList("email, hostname or disabled."),
		"allowed_domains_template":           fBool("Refused when true."),
		"allow_token_displayname":            fBool("Refused when true."),
		"allowed_uri_sans_template":          fBool("Refused when true."),
		"no_store_metadata":                  fBool("Refused when true."),
		"allowed_other_sans":                 fList("Refused when set."),
		"allowed_serial_numbers":             fList("Refused when set."),
		"allowed_user_ids":                   fList("Refused when set."),
		"policy_identifiers":                 fList("Refused when set."),
	}
	issuerUpdateFields = fields{
		"issuer_ref":                     fStr("Issuer ID, name or default."),
		"issuer_name":                    fStr("New name."),
		"leaf_not_after_behavior":        fStr("err (default), truncate or permit."),
		"usage":                          fList("read-only, issuing-certificates, crl-signing, ocsp-signing."),
		"manual_chain":                   fList("Issuer references forming the chain, starting with self."),
		"revocation_signature_algorithm": fStr("Refused when set."),
		"enable_aia_url_templating":      fBool("Refused when true."),
		"issuing_certificates":           fList("AIA issuing certificate URLs."),
		"crl_distribution_points":        fList("CRL distribution point URLs."),
		"ocsp_servers":                   fList("OCSP server URLs."),
	}
	urlFields = fields{
		"issuing_certificates":    fList("AIA issuing certificate URLs."),
		"crl_distribution_points": fList("CRL distribution point URLs."),
		"ocsp_servers":            fList("OCSP server URLs."),
		"enable_templating":       fBool("Refused when true."),
	}
	crlFields = fields{
		"expiry": fStr("CRL validity (default 72h)."), "disable": fBool("Publish empty CRLs."),
		"ocsp_disable": fBool("Turn OCSP off."), "ocsp_expiry": fStr("OCSP response validity (default 12h)."),
		"auto_rebuild":              fBool("Rebuild the CRL before it expires (on read, within the grace period)."),
		"auto_rebuild_grace_period": fStr("How long before nextUpdate auto_rebuild renews the CRL (default 12h)."),
		"enable_delta":              fBool("Refused when true."), "delta_rebuild_interval": fStr("Only meaningful with delta CRLs (refused): checked, not used."),
		"cross_cluster_revocation": fBool("Refused when true."), "unified_crl": fBool("Refused when true."),
		"unified_crl_on_existing_paths": fBool("Refused when true."),
	}
	tidyFields = fields{
		"tidy_cert_store":                       fBool("Remove expired certificates."),
		"tidy_revoked_certs":                    fBool("Remove expired revocations."),
		"tidy_revoked_cert_issuer_associations": fBool("Accepted (associations are always kept)."),
		"safety_buffer":                         fDur("How long after expiry to keep (default 72h)."),
		"tidy_expired_issuers":                  fBool("Refused when true."),
		"tidy_move_legacy_ca_bundle":            fBool("Refused when true."),
		"tidy_acme":                             fBool("Refused when true."),
		"tidy_cross_cluster_revoked_certs":      fBool("Refused when true."),
		"tidy_revocation_queue":                 fBool("Refused when true."),
	}
	issuerRef = fields{"issuer_ref": fStr("Issuer ID, name or default.")}
	keyRef    = fields{"key_ref": fStr("Key ID, name or default."), "key_name": fStr("New key name.")}
	serialRef = fields{"serial": fStr("Serial number (aa:bb:.. or aa-bb-..), or ca, ca_chain, crl.")}
)

// wrap adapts a PKI handler to the endpoint package.
func wrap(h handler) endpoint.Handler {
	return func(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
		return h(ctx, req, &fieldData{ed: d})
	}
}

// paths declares the engine's endpoints. Public reads are marked
// Unauthenticated for the documentation; the engine answers core with
// its own exact UnauthenticatedPaths.
func (e *engine) paths() []*endpoint.Path {
	type ops = map[secrets.Operation]endpoint.Handler
	rd := func(h handler) ops { return ops{secrets.OpRead: wrap(h)} }
	up := func(h handler) ops { return ops{secrets.OpUpdate: wrap(h)} }
	ls := func(h handler) ops { return ops{secrets.OpList: wrap(h)} }
	p := func(pattern, summary string, f fields, o ops) *endpoint.Path {
		return &endpoint.Path{Pattern: pattern, Summary: summary, Fields: f, Operations: o}
	}
	pub := func(x *endpoint.Path) *endpoint.Path { x.Unauthenticated = true; return x }
	caGen := merge(subjectFields, validityFields, formatFields, caFields)
	issue := merge(subjectFields, validityFields, formatFields, issueFields)
	sign := merge(issue, csrFields)
	signInter := merge(subjectFields, validityFields, formatFields, caFields, csrFields, issuerRef)
	verbatim := merge(validityFields, formatFields, issueFields, csrFields, verbatimFields)
	importF := fields{"pem_bundle": fStr("PEM certificates (and, where allowed, private keys)."), "certificate": fStr("PEM certificate(s) to import.")}
	roles := p("roles/{name}", "Create, read, update or delete a role.", roleFields, ops{
		secrets.OpRead: wrap(e.roleRead), secrets.OpCreate: wrap(e.roleWrite), secrets.OpUpdate: wrap(e.roleWrite),
		secrets.OpPatch: wrap(e.rolePatch), secrets.OpDelete: wrap(e.roleDelete),
	})
	roles.Exists = func(ctx context.Context, req *secrets.Request, d *endpoint.Data) (bool, error) {
		r, err := loadRole(ctx, req.Storage, d.String("name"))
		return r != nil, err
	}
	return []*endpoint.Path{
		pub(p("ca", "The default issuer's certificate, DER.", nil, rd(e.fetchCA("der")))),
		pub(p("ca/pem", "The default issuer's certificate, PEM.", nil, rd(e.fetchCA("pem")))),
		pub(p("ca_chain", "The default issuer's chain, PEM.", nil, rd(e.fetchCAChainRaw))),
		pub(p("cert/ca_chain", "The default issuer's chain.", nil, rd(e.certCAChainJSON))),
		pub(p("cert/crl", "The default issuer's CRL, PEM in JSON.", nil, rd(e.certCRLJSON))),
		pub(p("cert/{serial}", "One stored certificate and its revocation time.", serialRef, rd(e.certRead))),
		pub(p("cert/{serial}/raw", "One stored certificate, DER.", serialRef, rd(e.certRaw("der")))),
		pub(p("cert/{serial}/raw/pem", "One stored certificate, PEM.", serialRef, rd(e.certRaw("pem")))),
		p("certs", "List stored certificate serials.", nil, ls(e.certsList)),
		p("certs/revoked", "List revoked certificate serials.", nil, ls(e.certsRevokedList)),
		pub(p("crl", "The default issuer's CRL, DER.", nil, rd(e.fetchCRL("", "der")))),
		pub(p("crl/pem", "The default issuer's CRL, PEM.", nil, rd(e.fetchCRL("", "pem")))),
		p("crl/rotate", "Rebuild every issuer's CRL.", nil, rd(e.crlRotate)),
		p("config/urls", "AIA and CRL distribution URLs.", urlFields, ops{secrets.OpRead: wrap(e.urlsRead), secrets.OpUpdate: wrap(e.urlsWrite)}),
		p("config/crl", "CRL and OCSP settings.", crlFields, ops{secrets.OpRead: wrap(e.crlConfigRead), secrets.OpUpdate: wrap(e.crlConfigWrite)}),
		p("config/ca", "Import a CA bundle (certificate and key).", importF, up(e.importBundle)),
		p("config/issuers", "The default issuer.", fields{"default": fStr("Issuer reference."), "default_follows_latest_issuer": fBool("New issuers become the default.")},
			ops{secrets.OpRead: wrap(e.issuersConfigRead), secrets.OpUpdate: wrap(e.issuersConfigWrite)}),
		p("config/keys", "The default key.", fields{"default": fStr("Key reference.")}, ops{secrets.OpRead: wrap(e.keysConfigRead), secrets.OpUpdate: wrap(e.keysConfigWrite)}),
		p("root/generate/{exported}", "Generate a root CA.", caGen, up(e.generateRoot)),
		p("issuers/generate/root/{exported}", "Generate a root CA.", caGen, up(e.generateRoot)),
		p("intermediate/generate/{exported}", "Generate an intermediate key and CSR.", caGen, up(e.generateIntermediate)),
		p("issuers/generate/intermediate/{exported}", "Generate an intermediate key and CSR.", caGen, up(e.generateIntermediate)),
		p("intermediate/set-signed", "Import the signed intermediate (and its chain).", importF, up(e.importBundle)),
		p("issuers/import/cert", "Import CA certificates.", importF, up(e.importBundle)),
		p("issuers/import/bundle", "Import CA certificates and keys.", importF, up(e.importBundle)),
		p("root/sign-intermediate", "Sign an intermediate CA's CSR.", signInter, up(e.signIntermediate)),
		p("issuer/{issuer_ref}/sign-intermediate", "Sign an intermediate CA's CSR with this issuer.", signInter, up(e.signIntermediate)),
		p("root/replace", "Set the default issuer.", fields{"default": fStr("Issuer reference.")}, up(e.issuersConfigWrite)),
		p("root", "Delete every issuer and key.", nil, ops{secrets.OpDelete: wrap(e.deleteRoot)}),
		p("roles", "List roles.", nil, ls(e.roleList)),
		roles,
		p("issue/{role}", "Issue a certificate and private key.", issue, up(e.issue)),
		p("issuer/{issuer_ref}/issue/{role}", "Issue with this issuer.", issue, up(e.issue)),
		p("sign/{role}", "Sign a CSR under a role.", sign, up(e.sign)),
		p("issuer/{issuer_ref}/sign/{role}", "Sign a CSR with this issuer.", sign, up(e.sign)),
		p("sign-verbatim", "Sign a CSR as it is.", verbatim, up(e.signVerbatim)),
		p("sign-verbatim/{role}", "Sign a CSR as it is, with a role's TTLs.", verbatim, up(e.signVerbatim)),
		p("issuer/{issuer_ref}/sign-verbatim", "Sign a CSR as it is with this issuer.", verbatim, up(e.signVerbatim)),
		p("issuer/{issuer_ref}/sign-verbatim/{role}", "Sign a CSR as it is with this issuer and a role's TTLs.", verbatim, up(e.signVerbatim)),
		p("revoke", "Revoke a certificate.", fields{"serial_number": fStr("Serial to revoke."), "certificate": fStr("PEM certificate to revoke.")}, up(e.revoke)),
		p("tidy", "Remove expired certificates and revocations.", tidyFields, up(e.tidy)),
		p("tidy-status", "The last tidy's outcome.", nil, rd(e.tidyStatusRead)),
		pub(p("issuers", "List issuers.", nil, ls(e.issuersList))),
		p("issuer/{issuer_ref}", "Read, update or delete an issuer.", issuerUpdateFields, ops{
			secrets.OpRead: wrap(e.issuerRead), secrets.OpUpdate: wrap(e.issuerWrite),
			secrets.OpPatch: wrap(e.issuerWrite), secrets.OpDelete: wrap(e.issuerDelete),
		}),
		p("issuer/{issuer_ref}/revoke", "Revoke an issuer: it stops issuing, and its parent's CRL lists it.", issuerRef, up(e.issuerRevoke)),
		pub(p("issuer/{issuer_ref}/json", "An issuer's certificate and chain.", issuerRef, rd(e.issuerFetch("json")))),
		pub(p("issuer/{issuer_ref}/der", "An issuer's certificate, DER.", issuerRef, rd(e.issuerFetch("der")))),
		pub(p("issuer/{issuer_ref}/pem", "An issuer's certificate, PEM.", issuerRef, rd(e.issuerFetch("pem")))),
		pub(p("issuer/{issuer_ref}/crl", "An issuer's CRL, PEM in JSON.", issuerRef, rd(e.issuerCRL("json")))),
		pub(p("issuer/{issuer_ref}/crl/der", "An issuer's CRL, DER.", issuerRef, rd(e.issuerCRL("der")))),
		pub(p("issuer/{issuer_ref}/crl/pem", "An issuer's CRL, PEM.", issuerRef, rd(e.issuerCRL("pem")))),
		p("keys", "List keys.", nil, ls(e.keysList)),
		p("keys/generate/{exported}", "Generate a key (internal or exported) with no issuer yet.", fields{
			"exported": fStr("internal or exported."), "key_type": caFields["key_type"], "key_bits": caFields["key_bits"], "key_name": fStr("Name of the new key."),
		}, up(e.keysGenerate)),
		p("keys/import", "Import a PEM private key.", fields{"pem_bundle": fStr("One PEM private key."), "key_name": fStr("Name of the key.")}, up(e.keysImport)),
		p("key/{key_ref}", "Read, rename or delete a key (never its material).", keyRef, ops{
			secrets.OpRead: wrap(e.keyRead), secrets.OpUpdate: wrap(e.keyWrite), secrets.OpDelete: wrap(e.keyDelete),
		}),
		pub(p("ocsp", "OCSP (RFC 6960) over POST, application/ocsp-request.", fields{"http_raw_body": {Type: endpoint.TypeRaw, Description: "The DER OCSP request."}}, up(e.ocspPost))),
		pub(p("ocsp/{req*}", "OCSP (RFC 6960) over GET, base64 request in the path.", fields{"req": fStr("Base64 DER OCSP request.")}, rd(e.ocspGet))),
	}
}
