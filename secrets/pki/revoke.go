package pki

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

func loadCert(ctx context.Context, s storage.Backend, serial string) (*certEntry, error) {
	var c certEntry
	ok, err := getJSON(ctx, s, certPrefix+serial, &c)
	if err != nil || !ok {
		return nil, err
	}
	return &c, nil
}

func loadRevoked(ctx context.Context, s storage.Backend, serial string) (*revokedEntry, error) {
	var r revokedEntry
	ok, err := getJSON(ctx, s, revokedPrefix+serial, &r)
	if err != nil || !ok {
		return nil, err
	}
	return &r, nil
}

// issuerOfCert finds which of this mount's issuers signed cert.
func issuerOfCert(ctx context.Context, s storage.Backend, cert *x509.Certificate) (*issuerEntry, error) {
	all, err := loadIssuers(ctx, s)
	if err != nil {
		return nil, err
	}
	for _, i := range all {
		c, err := i.cert()
		if err != nil {
			continue
		}
		if string(c.RawSubject) == string(cert.RawIssuer) && cert.CheckSignatureFrom(c) == nil {
			return i, nil
		}
	}
	return nil, nil
}

func (e *engine) revoke(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	serialIn, certIn := d.str("serial_number", ""), d.str("certificate", "")
	if err := d.err(); err != nil {
		return nil, err
	}
	if (serialIn == "") == (certIn == "") {
		return nil, invalidf("exactly one of serial_number or certificate must be given")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var serial string
	var der []byte
	var issuerID string
	if certIn != "" {
		c, err := parseCertPEM(strings.TrimSpace(certIn))
		if err != nil {
			return nil, invalidf("certificate could not be parsed")
		}
		iss, err := issuerOfCert(ctx, req.Storage, c)
		if err != nil {
			return nil, err
		}
		if iss == nil {
			return nil, invalidf("certificate was not issued by this mount's issuers")
		}
		serial, der, issuerID = storageSerial(c.SerialNumber), c.Raw, iss.ID
	} else {
		var ok bool
		if serial, ok = normalizeSerial(serialIn); !ok {
			return nil, invalidf("invalid serial number %q", serialIn)
		}
	}
	if r, err := loadRevoked(ctx, req.Storage, serial); err != nil {
		return nil, err
	} else if r != nil {
		return revokeResponse(r.RevocationTime), nil
	}
	ce, err := loadCert(ctx, req.Storage, serial)
	if err != nil {
		return nil, err
	}
	if ce == nil && der == nil {
		return nil, invalidf("certificate with serial %s not found", strings.ReplaceAll(serial, "-", ":"))
	}
	if ce != nil {
		der, issuerID = ce.DER, ce.IssuerID
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	all, err := loadIssuers(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	for _, i := range all {
		if i.SerialNumber == serialColon(cert.SerialNumber) {
			return nil, invalidf("adding issuer (id: %s) to its own CRL is not allowed", i.ID)
		}
	}
	now := e.now()
	if cert.NotAfter.Before(now) {
		return &secrets.Response{Warnings: []string{"certificate has expired and was not revoked"},
			Data: map[string]any{"state": "expired"}}, nil
	}
	rev := &revokedEntry{Serial: serialColon(cert.SerialNumber), DER: der, RevocationTime: now.Unix(), IssuerID: issuerID}
	if err := putJSON(ctx, req.Storage, revokedPrefix+serial, rev); err != nil {
		return nil, err
	}
	if ce == nil { // a no_store certificate given in full: keep it so OCSP and cert/ know it
		if err := putJSON(ctx, req.Storage, certPrefix+serial, &certEntry{DER: der, IssuerID: issuerID}); err != nil {
			return nil, err
		}
	}
	if iss, err := loadIssuer(ctx, req.Storage, issuerID); err != nil {
		return nil, err
	} else if iss != nil {
		if err := e.rebuildCRLLocked(ctx, req.Storage, iss); err != nil {
			return nil, err
		}
	}
	return revokeResponse(rev.RevocationTime), nil
}

func revokeResponse(t int64) *secrets.Response {
	return &secrets.Response{Data: map[string]any{
		"revocation_time": t, "revocation_time_rfc3339": time.Unix(t, 0).UTC().Format(time.RFC3339Nano), "state": "revoked",
	}}
}

// rebuildCRLLocked signs a fresh CRL for iss with every unexpired
// revocation it issued (none when CRLs are disabled). Callers hold e.mu.
// An issuer without a key or without crl-signing usage has no CRL.
func (e *engine) rebuildCRLLocked(ctx context.Context, s storage.Backend, iss *issuerEntry) error {
	if iss.KeyID == "" || !iss.hasUsage("crl-signing") {
		return nil
	}
	ca, signer, err := issuerSigner(ctx, s, iss)
	if err != nil {
		return err
	}
	if ca.KeyUsage&x509.KeyUsageCRLSign == 0 {
		return nil
	}
	conf, err := loadCRLConf(ctx, s)
	if err != nil {
		return err
	}
	var prev crlEntry
	if _, err := getJSON(ctx, s, crlPrefix+iss.ID, &prev); err != nil {
		return err
	}
	now := e.now()
	var entries []x509.RevocationListEntry
	if !conf.Disable {
		serials, err := listIDs(ctx, s, revokedPrefix)
		if err != nil {
			return err
		}
		for _, sn := range serials {
			r, err := loadRevoked(ctx, s, sn)
			if err != nil {
				return err
			}
			if r == nil || r.IssuerID != iss.ID {
				continue
			}
			c, err := x509.ParseCertificate(r.DER)
			if err != nil {
				return err
			}
			entries = append(entries, x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: time.Unix(r.RevocationTime, 0).UTC()})
		}
	}
	alg, err := signatureAlgorithm(signer.Public(), 0, false)
	if err != nil {
		return err
	}
	next := crlEntry{Number: prev.Number + 1, NextUpdate: now.Add(conf.expiry())}
	der, err := x509.CreateRevocationList(e.rand, &x509.RevocationList{
		SignatureAlgorithm: alg, RevokedCertificateEntries: entries, Number: big.NewInt(next.Number),
		ThisUpdate: now, NextUpdate: next.NextUpdate,
	}, ca, signer)
	if err != nil {
		return err
	}
	next.DER = der
	return putJSON(ctx, s, crlPrefix+iss.ID, &next)
}

// currentCRL returns iss's CRL, building it the first time, and, with
// config/crl auto_rebuild, again once it is within
// auto_rebuild_grace_period of its nextUpdate (so it never goes stale).
func (e *engine) currentCRL(ctx context.Context, s storage.Backend, iss *issuerEntry) ([]byte, error) {
	var c crlEntry
	ok, err := getJSON(ctx, s, crlPrefix+iss.ID, &c)
	if err != nil {
		return nil, err
	}
	if ok && len(c.DER) > 0 {
		conf, err := loadCRLConf(ctx, s)
		if err != nil {
			return nil, err
		}
		if !conf.AutoRebuild || e.now().Before(c.NextUpdate.Add(-conf.gracePeriod())) {
			return c.DER, nil
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.rebuildCRLLocked(ctx, s, iss); err != nil {
		return nil, err
	}
	if _, err := getJSON(ctx, s, crlPrefix+iss.ID, &c); err != nil {
		return nil, err
	}
	if len(c.DER) == 0 {
		return nil, invalidf("issuer %s cannot sign CRLs", iss.ID)
	}
	return c.DER, nil
}

func crlPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// fetchCRL serves crl (DER) and crl/pem for the default issuer.
func (e *engine) fetchCRL(ref, format string) handler {
	return func(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
		iss, err := resolveIssuer(ctx, req.Storage, ref)
		if err != nil {
			return emptyRaw(), nil
		}
		der, err := e.currentCRL(ctx, req.Storage, iss)
		if err != nil {
			return nil, err
		}
		if format == "pem" {
			return &secrets.Response{RawBody: crlPEM(der), ContentType: "application/x-pem-file"}, nil
		}
		return &secrets.Response{RawBody: der, ContentType: "application/pkix-crl"}, nil
	}
}

// issuerCRL serves issuer/:ref/crl[/der|/pem].
func (e *engine) issuerCRL(format string) handler {
	return func(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
		iss, err := resolveIssuer(ctx, req.Storage, d.str("issuer_ref", ""))
		if err != nil {
			return nil, err
		}
		der, err := e.currentCRL(ctx, req.Storage, iss)
		if err != nil {
			return nil, err
		}
		switch format {
		case "der":
			return &secrets.Response{RawBody: der, ContentType: "application/pkix-crl"}, nil
		case "pem":
			return &secrets.Response{RawBody: crlPEM(der), ContentType: "application/x-pem-file"}, nil
		}
		return &secrets.Response{Data: map[string]any{"crl": strings.TrimSpace(string(crlPEM(der)))}}, nil
	}
}

func (e *engine) certCRLJSON(ctx context.Context, req *secrets.Request, _ *fieldData) (*secrets.Response, error) {
	iss, err := resolveIssuer(ctx, req.Storage, "default")
	if err != nil {
		return nil, err
	}
	der, err := e.currentCRL(ctx, req.Storage, iss)
	if err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{"certificate": strings.TrimSpace(string(crlPEM(der))), "revocation_time": 0}}, nil
}

// crlRotate (GET crl/rotate) rebuilds every issuer's CRL.
func (e *engine) crlRotate(ctx context.Context, req *secrets.Request, _ *fieldData) (*secrets.Response, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	all, err := loadIssuers(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	for _, i := range all {
		if err := e.rebuildCRLLocked(ctx, req.Storage, i); err != nil {
			return nil, err
		}
	}
	return &secrets.Response{Data: map[string]any{"success": true}}, nil
}

// emptyRaw is the answer to a raw read when there is no CA yet (Vault
// answers 204 there too).
func emptyRaw() *secrets.Response {
	return &secrets.Response{RawBody: []byte{}, ContentType: "application/octet-stream", StatusCode: 204}
}

// ---- CA and certificate reads ----

func (e *engine) fetchCA(format string) handler {
	return func(ctx context.Context, req *secrets.Request, _ *fieldData) (*secrets.Response, error) {
		iss, err := resolveIssuer(ctx, req.Storage, "default")
		if err != nil {
			return emptyRaw(), nil
		}
		c, err := iss.cert()
		if err != nil {
			return nil, err
		}
		if format == "pem" {
			return &secrets.Response{RawBody: []byte(iss.Certificate), ContentType: "application/pem-certificate-chain"}, nil
		}
		return &secrets.Response{RawBody: c.Raw, ContentType: "application/pkix-cert"}, nil
	}
}

func chainText(iss *issuerEntry) string {
	var b strings.Builder
	for _, p := range iss.CAChain {
		b.WriteString(strings.TrimSpace(p))
		b.WriteString("\n")
	}
	return b.String()
}

func (e *engine) fetchCAChainRaw(ctx context.Context, req *secrets.Request, _ *fieldData) (*secrets.Response, error) {
	iss, err := resolveIssuer(ctx, req.Storage, "default")
	if err != nil {
		return emptyRaw(), nil
	}
	return &secrets.Response{RawBody: []byte(chainText(iss)), ContentType: "application/pkix-cert"}, nil
}

func (e *engine) certCAChainJSON(ctx context.Context, req *secrets.Request, _ *fieldData) (*secrets.Response, error) {
	iss, err := resolveIssuer(ctx, req.Storage, "default")
	if err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{
		"certificate": strings.TrimSpace(chainText(iss)), "ca_chain": iss.CAChain, "revocation_time": 0,
	}}, nil
}

// certRead serves cert/:serial (and cert/ca).
func (e *engine) certRead(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	ref := d.str("serial", "")
	if ref == "ca" {
		iss, err := resolveIssuer(ctx, req.Storage, "default")
		if err != nil {
			return nil, err
		}
		return &secrets.Response{Data: map[string]any{
			"certificate": strings.TrimSpace(iss.Certificate), "ca_chain": iss.CAChain, "issuer_id": iss.ID,
			"revocation_time": 0, "revocation_time_rfc3339": "",
		}}, nil
	}
	serial, ok := normalizeSerial(ref)
	if !ok {
		return nil, notFound()
	}
	ce, err := loadCert(ctx, req.Storage, serial)
	if err != nil {
		return nil, err
	}
	if ce == nil {
		return nil, notFound()
	}
	data := map[string]any{
		"certificate": strings.TrimSpace(certPEM(ce.DER)), "issuer_id": ce.IssuerID,
		"revocation_time": int64(0), "revocation_time_rfc3339": "",
	}
	if r, err := loadRevoked(ctx, req.Storage, serial); err != nil {
		return nil, err
	} else if r != nil {
		data["revocation_time"] = r.RevocationTime
		data["revocation_time_rfc3339"] = time.Unix(r.RevocationTime, 0).UTC().Format(time.RFC3339Nano)
	}
	return &secrets.Response{Data: data}, nil
}

func (e *engine) certRaw(format string) handler {
	return func(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
		serial, ok := normalizeSerial(d.str("serial", ""))
		if !ok {
			return nil, notFound()
		}
		ce, err := loadCert(ctx, req.Storage, serial)
		if err != nil {
			return nil, err
		}
		if ce == nil {
			return nil, notFound()
		}
		if format == "pem" {
			return &secrets.Response{RawBody: []byte(certPEM(ce.DER)), ContentType: "application/pem-certificate-chain"}, nil
		}
		return &secrets.Response{RawBody: ce.DER, ContentType: "application/pkix-cert"}, nil
	}
}

func serialList(ctx context.Context, s storage.Backend, prefix string) (*secrets.Response, error) {
	ids, err := listIDs(ctx, s, prefix)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, notFound()
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = strings.ReplaceAll(id, "-", ":")
	}
	sort.Strings(keys)
	return &secrets.Response{Data: map[string]any{"keys": keys}}, nil
}

func (e *engine) certsList(ctx context.Context, req *secrets.Request, _ *fieldData) (*secrets.Response, error) {
	return serialList(ctx, req.Storage, certPrefix)
}

func (e *engine) certsRevokedList(ctx context.Context, req *secrets.Request, _ *fieldData) (*secrets.Response, error) {
	return serialList(ctx, req.Storage, revokedPrefix)
}

// ---- tidy ----

func (e *engine) tidy(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	certStore := d.boolean("tidy_cert_store", false)
	revoked := d.boolean("tidy_revoked_certs", false)
	assoc := d.boolean("tidy_revoked_cert_issuer_associations", false)
	buffer := d.duration("safety_buffer", 72*time.Hour)
	if err := d.err(); err != nil {
		return nil, err
	}
	for _, f := range []string{"tidy_expired_issuers", "tidy_move_legacy_ca_bundle", "tidy_acme", "tidy_cross_cluster_revoked_certs", "tidy_revocation_queue"} {
		if d.boolean(f, false) {
			return nil, invalidf("%s is not supported by vaultd", f)
		}
	}
	if !certStore && !revoked && !assoc {
		return nil, invalidf("at least one of tidy_cert_store, tidy_revoked_certs or tidy_revoked_cert_issuer_associations must be true")
	}
	start := e.now()
	e.mu.Lock()
	certsDeleted, revokedDeleted, err := e.tidyLocked(ctx, req.Storage, certStore, revoked, start.Add(-buffer))
	e.mu.Unlock()
	status := map[string]any{
		"state": "Finished", "error": nil, "tidy_cert_store": certStore, "tidy_revoked_certs": revoked,
		"tidy_revoked_cert_issuer_associations": assoc, "safety_buffer": int64(buffer / time.Second),
		"time_started": start.UTC().Format(time.RFC3339), "time_finished": e.now().UTC().Format(time.RFC3339),
		"cert_store_deleted_count": certsDeleted, "revoked_cert_deleted_count": revokedDeleted,
	}
	if err != nil {
		status["state"], status["error"] = "Error", err.Error()
	}
	e.tidyMu.Lock()
	e.tidyStatus = status
	e.tidyMu.Unlock()
	if err != nil {
		return nil, err
	}
	// Vault runs tidy in the background and answers 202; vaultd has
	// finished by now but keeps the status code clients expect.
	return &secrets.Response{StatusCode: 202, Warnings: []string{"Tidy operation successfully started. Any information from the operation will be printed to Vault's server logs."}}, nil
}

// tidyLocked removes stored certificates (and, with revoked, revocation
// records) whose certificate expired before cutoff, then rebuilds CRLs.
func (e *engine) tidyLocked(ctx context.Context, s storage.Backend, certStore, revoked bool, cutoff time.Time) (int, int, error) {
	var nCerts, nRevoked int
	expired := func(der []byte) bool {
		c, err := x509.ParseCertificate(der)
		return err == nil && c.NotAfter.Before(cutoff)
	}
	if certStore {
		ids, err := listIDs(ctx, s, certPrefix)
		if err != nil {
			return 0, 0, err
		}
		for _, id := range ids {
			ce, err := loadCert(ctx, s, id)
			if err != nil {
				return nCerts, nRevoked, err
			}
			if ce == nil || !expired(ce.DER) {
				continue
			}
			if r, err := loadRevoked(ctx, s, id); err != nil {
				return nCerts, nRevoked, err
			} else if r != nil && !revoked {
				continue // keep what a revocation record still points to
			}
			if err := deleteKey(ctx, s, certPrefix+id); err != nil {
				return nCerts, nRevoked, err
			}
			nCerts++
		}
	}
	if revoked {
		ids, err := listIDs(ctx, s, revokedPrefix)
		if err != nil {
			return nCerts, nRevoked, err
		}
		for _, id := range ids {
			r, err := loadRevoked(ctx, s, id)
			if err != nil {
				return nCerts, nRevoked, err
			}
			if r == nil || !expired(r.DER) {
				continue
			}
			if err := deleteKey(ctx, s, revokedPrefix+id); err != nil {
				return nCerts, nRevoked, err
			}
			if err := deleteKey(ctx, s, certPrefix+id); err != nil {
				return nCerts, nRevoked, err
			}
			nRevoked++
		}
		all, err := loadIssuers(ctx, s)
		if err != nil {
			return nCerts, nRevoked, err
		}
		for _, i := range all {
			if err := e.rebuildCRLLocked(ctx, s, i); err != nil {
				return nCerts, nRevoked, err
			}
		}
	}
	return nCerts, nRevoked, nil
}

func (e *engine) tidyStatusRead(context.Context, *secrets.Request, *fieldData) (*secrets.Response, error) {
	e.tidyMu.Lock()
	defer e.tidyMu.Unlock()
	if e.tidyStatus == nil {
		return &secrets.Response{Data: map[string]any{"state": "Inactive"}}, nil
	}
	out := make(map[string]any, len(e.tidyStatus))
	for k, v := range e.tidyStatus {
		out[k] = v
	}
	return &secrets.Response{Data: out}, nil
}

// issuerRevoke serves issuer/:ref/revoke (Vault ≥ 1.11): the issuer can
// no longer issue, and when its parent is an issuer of this mount its
// certificate goes on the parent's CRL. A root is only marked revoked.
func (e *engine) issuerRevoke(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	iss, err := resolveIssuer(ctx, req.Storage, d.str("issuer_ref", ""))
	if err != nil {
		return nil, err
	}
	if iss.Revoked {
		return &secrets.Response{Data: issuerData(iss)}, nil
	}
	cert, err := iss.cert()
	if err != nil {
		return nil, err
	}
	now := e.now()
	iss.Revoked, iss.RevocationTime = true, now.Unix()
	if err := putJSON(ctx, req.Storage, issuerPrefix+iss.ID, iss); err != nil {
		return nil, err
	}
	if !bytes.Equal(cert.RawIssuer, cert.RawSubject) || cert.CheckSignatureFrom(cert) != nil {
		parent, err := issuerOfCert(ctx, req.Storage, cert)
		if err != nil {
			return nil, err
		}
		if parent != nil && parent.ID != iss.ID {
			serial := storageSerial(cert.SerialNumber)
			rev := &revokedEntry{Serial: serialColon(cert.SerialNumber), DER: cert.Raw, RevocationTime: now.Unix(), IssuerID: parent.ID}
			if err := putJSON(ctx, req.Storage, revokedPrefix+serial, rev); err != nil {
				return nil, err
			}
			if err := e.rebuildCRLLocked(ctx, req.Storage, parent); err != nil {
				return nil, err
			}
		}
	}
	e.log.Info("pki issuer revoked", "issuer_id", iss.ID)
	return &secrets.Response{Data: issuerData(iss)}, nil
}
