package pki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/vaultd/vaultd/secrets"
)

const ocspContentType = "application/ocsp-response"

func ocspRaw(b []byte, status int) *secrets.Response {
	return &secrets.Response{RawBody: b, ContentType: ocspContentType, StatusCode: status}
}

// ocspGet serves GET ocsp/<base64 DER request> (RFC 6960 A.1; the
// request may be URL-escaped).
func (e *engine) ocspGet(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	v := d.str("req", "")
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return ocspRaw(ocsp.MalformedRequestErrorResponse, 400), nil
	}
	return e.ocspAnswer(ctx, req, der)
}

// ocspPost serves POST ocsp with an application/ocsp-request body, which
// api hands over as http_raw_body.
func (e *engine) ocspPost(ctx context.Context, req *secrets.Request, d *fieldData) (*secrets.Response, error) {
	v, _ := d.get("http_raw_body")
	der, ok := v.([]byte)
	if !ok || len(der) == 0 {
		return ocspRaw(ocsp.MalformedRequestErrorResponse, 400), nil
	}
	return e.ocspAnswer(ctx, req, der)
}

func (e *engine) ocspAnswer(ctx context.Context, req *secrets.Request, der []byte) (*secrets.Response, error) {
	conf, err := loadCRLConf(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if conf.OCSPDisable {
		return ocspRaw(ocsp.UnauthorizedErrorResponse, 401), nil
	}
	oreq, err := ocsp.ParseRequest(der)
	if err != nil {
		return ocspRaw(ocsp.MalformedRequestErrorResponse, 400), nil
	}
	iss, err := e.ocspIssuer(ctx, req, oreq)
	if err != nil {
		return nil, err
	}
	if iss == nil || !iss.hasUsage("ocsp-signing") || iss.KeyID == "" {
		return ocspRaw(ocsp.UnauthorizedErrorResponse, 401), nil
	}
	ca, signer, err := issuerSigner(ctx, req.Storage, iss)
	if err != nil {
		return nil, err
	}
	now := e.now().UTC().Truncate(time.Second)
	tmpl := ocsp.Response{
		SerialNumber: oreq.SerialNumber, ThisUpdate: now, NextUpdate: now.Add(conf.ocspExpiry()),
		Status: ocsp.Unknown, IssuerHash: oreq.HashAlgorithm,
	}
	if serial, ok := normalizeSerial(serialColon(oreq.SerialNumber)); ok {
		ce, err := loadCert(ctx, req.Storage, serial)
		if err != nil {
			return nil, err
		}
		if ce != nil && ce.IssuerID == iss.ID {
			tmpl.Status = ocsp.Good
		}
		if r, err := loadRevoked(ctx, req.Storage, serial); err != nil {
			return nil, err
		} else if r != nil && r.IssuerID == iss.ID {
			tmpl.Status, tmpl.RevokedAt = ocsp.Revoked, time.Unix(r.RevocationTime, 0).UTC()
			tmpl.RevocationReason = ocsp.Unspecified
		}
	}
	release, err := secrets.AcquireCPU(ctx) // an unauthenticated signature: the node's CPU pool
	if err != nil {
		return nil, err
	}
	resp, err := ocsp.CreateResponse(ca, ca, tmpl, signer)
	release()
	if err != nil {
		e.log.Warn("pki: unable to sign an OCSP response", "issuer_id", iss.ID, "error", err)
		return ocspRaw(ocsp.InternalErrorErrorResponse, 500), nil
	}
	return ocspRaw(resp, 200), nil
}

// ocspIssuer finds the issuer whose name and key hashes the request
// names.
func (e *engine) ocspIssuer(ctx context.Context, req *secrets.Request, oreq *ocsp.Request) (*issuerEntry, error) {
	all, err := loadIssuers(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	h := oreq.HashAlgorithm
	if !h.Available() {
		return nil, nil
	}
	for _, i := range all {
		c, err := i.cert()
		if err != nil {
			continue
		}
		nameHash, keyHash, err := issuerHashes(c, h)
		if err != nil {
			continue
		}
		if bytes.Equal(nameHash, oreq.IssuerNameHash) && bytes.Equal(keyHash, oreq.IssuerKeyHash) {
			return i, nil
		}
	}
	return nil, nil
}

// issuerHashes are RFC 6960's issuerNameHash (over the DER subject) and
// issuerKeyHash (over the subjectPublicKey bit string).
func issuerHashes(c *x509.Certificate, h crypto.Hash) ([]byte, []byte, error) {
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, nil, err
	}
	hn := h.New()
	hn.Write(c.RawSubject)
	hk := h.New()
	hk.Write(spki.PublicKey.RightAlign())
	return hn.Sum(nil), hk.Sum(nil), nil
}
