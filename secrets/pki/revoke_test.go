package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/vaultd/vaultd/secrets"
)

func crlSerials(t *testing.T, der []byte, ca *x509.Certificate) []*big.Int {
	t.Helper()
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(ca); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	var out []*big.Int
	for _, e := range crl.RevokedCertificateEntries {
		out = append(out, e.SerialNumber)
	}
	return out
}

func ocspQuery(t *testing.T, h *harness, leaf, ca *x509.Certificate, post bool) *ocsp.Response {
	t.Helper()
	req, err := ocsp.CreateRequest(leaf, ca, &ocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		t.Fatal(err)
	}
	var r *secrets.Response
	if post {
		r = h.must(secrets.OpUpdate, "ocsp", map[string]any{"http_raw_body": req})
	} else {
		r = h.must(secrets.OpRead, "ocsp/"+base64.StdEncoding.EncodeToString(req), nil)
	}
	if r.ContentType != "application/ocsp-response" {
		t.Fatalf("ocsp content type %q", r.ContentType)
	}
	resp, err := ocsp.ParseResponseForCert(r.RawBody, leaf, ca)
	if err != nil {
		t.Fatalf("ocsp response: %v", err)
	}
	return resp
}

func TestRevoke_CRL_OCSP(t *testing.T) {
	h := newHarness(t)
	ca := h.newRoot("ec", nil)
	h.write("roles/r", map[string]any{"allow_any_name": true, "key_type": "ec"})
	a := h.write("issue/r", map[string]any{"common_name": "a.example"})
	b := h.write("issue/r", map[string]any{"common_name": "b.example"})
	leafA, leafB := mustCert(t, a["certificate"]), mustCert(t, b["certificate"])

	// Stored and listed.
	keys := h.must(secrets.OpList, "certs/", nil).Data["keys"].([]string)
	if len(keys) != 3 { // root + 2 leaves
		t.Fatalf("certs %v", keys)
	}
	got := h.must(secrets.OpRead, "cert/"+a["serial_number"].(string), nil).Data
	if got["certificate"] != a["certificate"] || got["revocation_time"] != int64(0) {
		t.Fatalf("cert read %v", got)
	}
	if ocspQuery(t, h, leafA, ca, false).Status != ocsp.Good {
		t.Fatal("OCSP: issued certificate not good")
	}

	// Revoke by serial (hyphen form accepted).
	rv := h.write("revoke", map[string]any{"serial_number": strings.ReplaceAll(a["serial_number"].(string), ":", "-")})
	if rv["state"] != "revoked" || rv["revocation_time"].(int64) == 0 {
		t.Fatalf("revoke %v", rv)
	}
	der := h.must(secrets.OpRead, "crl", nil)
	if der.ContentType != "application/pkix-crl" {
		t.Fatalf("crl content type %q", der.ContentType)
	}
	s := crlSerials(t, der.RawBody, ca)
	if len(s) != 1 || s[0].Cmp(leafA.SerialNumber) != 0 {
		t.Fatalf("CRL serials %v", s)
	}
	if p := h.must(secrets.OpRead, "crl/pem", nil); !strings.Contains(string(p.RawBody), "BEGIN X509 CRL") {
		t.Fatal("crl/pem is not PEM")
	}
	if got := h.must(secrets.OpRead, "cert/"+a["serial_number"].(string), nil).Data; got["revocation_time"] == int64(0) {
		t.Fatal("cert read does not show the revocation")
	}
	if r := ocspQuery(t, h, leafA, ca, true); r.Status != ocsp.Revoked {
		t.Fatalf("OCSP POST: status %d, want revoked", r.Status)
	}
	if r := ocspQuery(t, h, leafB, ca, false); r.Status != ocsp.Good {
		t.Fatalf("OCSP: b status %d", r.Status)
	}
	// Revoking by the certificate itself, and again (idempotent).
	h.write("revoke", map[string]any{"certificate": b["certificate"]})
	h.write("revoke", map[string]any{"certificate": b["certificate"]})
	if s := crlSerials(t, h.must(secrets.OpRead, "crl", nil).RawBody, ca); len(s) != 2 {
		t.Fatalf("CRL after second revoke: %v", s)
	}
	if l := h.must(secrets.OpList, "certs/revoked/", nil).Data["keys"].([]string); len(l) != 2 {
		t.Fatalf("revoked list %v", l)
	}
	// The CA cannot revoke itself; unknown serials are a 400.
	h.wantErr(secrets.OpUpdate, "revoke", map[string]any{"serial_number": serialColon(ca.SerialNumber)}, "own CRL")
	h.wantErr(secrets.OpUpdate, "revoke", map[string]any{"serial_number": "aa:bb"}, "not found")
	h.wantErr(secrets.OpUpdate, "revoke", map[string]any{}, "exactly one")

	// Rotation makes a new CRL with a higher number.
	before, _ := x509.ParseRevocationList(h.must(secrets.OpRead, "crl", nil).RawBody)
	h.clock.Add(time.Minute)
	if d := h.must(secrets.OpRead, "crl/rotate", nil).Data; d["success"] != true {
		t.Fatalf("rotate %v", d)
	}
	after, _ := x509.ParseRevocationList(h.must(secrets.OpRead, "crl", nil).RawBody)
	if after.Number.Cmp(before.Number) <= 0 || !after.ThisUpdate.After(before.ThisUpdate) {
		t.Fatalf("CRL number %v → %v", before.Number, after.Number)
	}
	// config/crl: expiry applies; disable empties the CRL.
	h.write("config/crl", map[string]any{"expiry": "24h"})
	c, _ := x509.ParseRevocationList(h.must(secrets.OpRead, "crl", nil).RawBody)
	if c.NextUpdate.Sub(c.ThisUpdate) != 24*time.Hour {
		t.Fatalf("expiry: %s", c.NextUpdate.Sub(c.ThisUpdate))
	}
	h.write("config/crl", map[string]any{"disable": true})
	if s := crlSerials(t, h.must(secrets.OpRead, "crl", nil).RawBody, ca); len(s) != 0 {
		t.Fatalf("disabled CRL lists %v", s)
	}
	h.wantErr(secrets.OpUpdate, "config/crl", map[string]any{"enable_delta": true}, "not supported")
	h.wantErr(secrets.OpUpdate, "config/crl", map[string]any{"expiry": "tomorrow"}, "expiry")
	// Malformed OCSP requests get an OCSP error, not a crash.
	r := h.must(secrets.OpRead, "ocsp/bm90IG9jc3A=", nil)
	if r.StatusCode != 400 || string(r.RawBody) != string(ocsp.MalformedRequestErrorResponse) {
		t.Fatalf("malformed OCSP: %d", r.StatusCode)
	}
}

func TestTidy(t *testing.T) {
	h := newHarness(t)
	h.newRoot("ec", nil)
	h.write("roles/r", map[string]any{"allow_any_name": true, "key_type": "ec"})
	short := h.write("issue/r", map[string]any{"common_name": "short", "ttl": "1h"})
	h.write("issue/r", map[string]any{"common_name": "long", "ttl": "700h"})
	h.write("revoke", map[string]any{"serial_number": short["serial_number"]})
	h.wantErr(secrets.OpUpdate, "tidy", map[string]any{}, "at least one")
	h.clock.Add(2 * time.Hour)
	// Within the safety buffer nothing goes.
	r := h.must(secrets.OpUpdate, "tidy", map[string]any{"tidy_cert_store": true, "tidy_revoked_certs": true})
	if r.StatusCode != 202 {
		t.Fatalf("tidy status %d", r.StatusCode)
	}
	if st := h.must(secrets.OpRead, "tidy-status", nil).Data; st["cert_store_deleted_count"] != 0 || st["state"] != "Finished" {
		t.Fatalf("tidy-status %v", st)
	}
	h.must(secrets.OpUpdate, "tidy", map[string]any{"tidy_cert_store": true, "tidy_revoked_certs": true, "safety_buffer": "1m"})
	st := h.must(secrets.OpRead, "tidy-status", nil).Data
	if st["revoked_cert_deleted_count"] != 1 {
		t.Fatalf("tidy-status %v", st)
	}
	if _, err := h.do(secrets.OpRead, "cert/"+short["serial_number"].(string), nil); err == nil {
		t.Fatal("expired certificate still stored")
	}
	if keys := h.must(secrets.OpList, "certs/", nil).Data["keys"].([]string); len(keys) != 2 {
		t.Fatalf("certs after tidy %v", keys)
	}
}

func TestMultipleIssuers(t *testing.T) {
	h := newHarness(t)
	r1 := h.newRoot("ec", map[string]any{"issuer_name": "one", "common_name": "Root One"})
	r2 := h.newRoot("rsa", map[string]any{"issuer_name": "two", "common_name": "Root Two"})
	l := h.must(secrets.OpList, "issuers/", nil).Data
	ids := l["keys"].([]string)
	if len(ids) != 2 {
		t.Fatalf("issuers %v", l)
	}
	// The first root stays the default.
	conf := h.must(secrets.OpRead, "config/issuers", nil).Data
	one := h.must(secrets.OpRead, "issuer/one", nil).Data
	if conf["default"] != one["issuer_id"] {
		t.Fatalf("default %v, one %v", conf["default"], one["issuer_id"])
	}
	if !mustCert(t, one["certificate"]).Equal(r1) {
		t.Fatal("issuer/one is not root one")
	}
	h.write("roles/r", map[string]any{"allow_any_name": true, "key_type": "ec"})
	c := mustCert(t, h.write("issue/r", map[string]any{"common_name": "x"})["certificate"])
	if c.CheckSignatureFrom(r1) != nil {
		t.Fatal("default issuer did not sign")
	}
	c = mustCert(t, h.write("issuer/two/issue/r", map[string]any{"common_name": "x"})["certificate"])
	if c.CheckSignatureFrom(r2) != nil {
		t.Fatal("issuer/two/issue did not use issuer two")
	}
	// Switch the default; ca follows.
	h.write("config/issuers", map[string]any{"default": "two"})
	if raw := h.must(secrets.OpRead, "ca", nil).RawBody; string(raw) != string(r2.Raw) {
		t.Fatal("ca does not follow the default issuer")
	}
	// A role pinned to an issuer uses it.
	h.write("roles/pinned", map[string]any{"allow_any_name": true, "key_type": "ec", "issuer_ref": "one"})
	c = mustCert(t, h.write("issue/pinned", map[string]any{"common_name": "x"})["certificate"])
	if c.CheckSignatureFrom(r1) != nil {
		t.Fatal("role issuer_ref ignored")
	}
	// Rename, usage limits, unknown refs.
	h.write("issuer/one", map[string]any{"issuer_name": "uno", "usage": "read-only,crl-signing"})
	h.wantErr(secrets.OpUpdate, "issue/pinned", map[string]any{"common_name": "x"}, "unable to find PKI issuer")
	h.wantErr(secrets.OpUpdate, "issuer/uno/issue/r", map[string]any{"common_name": "x"}, "not allowed to issue")
	h.wantErr(secrets.OpUpdate, "issuer/two", map[string]any{"issuer_name": "uno"}, "already in use")
	h.wantErr(secrets.OpUpdate, "config/issuers", map[string]any{"default": "nope"}, "unable to find")
	// Unauthenticated-style reads of one issuer.
	if p := h.must(secrets.OpRead, "issuer/uno/pem", nil); strings.TrimSpace(string(p.RawBody)) != strings.TrimSpace(certPEM(r1.Raw)) {
		t.Fatal("issuer pem")
	}
	if j := h.must(secrets.OpRead, "issuer/two/json", nil).Data; j["issuer_name"] != "two" {
		t.Fatalf("issuer json %v", j)
	}
	// Delete the default issuer: no default remains.
	resp := h.must(secrets.OpDelete, "issuer/two", nil)
	if resp == nil || len(resp.Warnings) == 0 {
		t.Fatal("deleting the default issuer gave no warning")
	}
	if d := h.must(secrets.OpRead, "config/issuers", nil).Data; d["default"] != "" {
		t.Fatalf("default after delete %v", d)
	}
	h.wantErr(secrets.OpUpdate, "issue/r", map[string]any{"common_name": "x"}, "no default issuer")
	// DELETE root removes everything.
	h.must(secrets.OpDelete, "root", nil)
	if _, err := h.do(secrets.OpList, "issuers/", nil); err == nil {
		t.Fatal("issuers remain after DELETE root")
	}
}

func TestConfigURLs(t *testing.T) {
	h := newHarness(t)
	h.write("config/urls", map[string]any{
		"issuing_certificates": "http://127.0.0.1:8200/v1/pki/ca", "crl_distribution_points": []any{"http://127.0.0.1:8200/v1/pki/crl"},
		"ocsp_servers": "http://127.0.0.1:8200/v1/pki/ocsp",
	})
	d := h.must(secrets.OpRead, "config/urls", nil).Data
	if d["crl_distribution_points"].([]string)[0] != "http://127.0.0.1:8200/v1/pki/crl" {
		t.Fatalf("urls %v", d)
	}
	h.newRoot("ec", nil)
	h.write("roles/r", map[string]any{"allow_any_name": true, "key_type": "ec"})
	c := mustCert(t, h.write("issue/r", map[string]any{"common_name": "x"})["certificate"])
	if len(c.CRLDistributionPoints) != 1 || len(c.OCSPServer) != 1 || len(c.IssuingCertificateURL) != 1 {
		t.Fatalf("AIA %v %v %v", c.CRLDistributionPoints, c.OCSPServer, c.IssuingCertificateURL)
	}
	h.wantErr(secrets.OpUpdate, "config/urls", map[string]any{"ocsp_servers": "not a url"}, "invalid URL")
	h.wantErr(secrets.OpUpdate, "config/urls", map[string]any{"enable_templating": true}, "not supported")
}

func TestUnauthenticatedPathsCoverReads(t *testing.T) {
	e := &engine{}
	want := map[string]bool{"ca": true, "ca/pem": true, "ca_chain": true, "crl": true, "crl/pem": true, "cert/*": true, "ocsp": true, "ocsp/*": true}
	for _, p := range e.UnauthenticatedPaths() {
		delete(want, p)
		if strings.HasPrefix(p, "roles") || strings.HasPrefix(p, "issue") && !strings.HasPrefix(p, "issuer") || strings.HasPrefix(p, "sign") || strings.HasPrefix(p, "root") {
			t.Fatalf("%s must not be unauthenticated", p)
		}
	}
	if len(want) != 0 {
		t.Fatalf("missing unauthenticated paths %v", want)
	}
}

// TestNoTokenOnlyPublicPaths: without a token only the public reads are
// served, whatever core decides.
func TestNoTokenOnlyPublicPaths(t *testing.T) {
	h := newHarness(t)
	h.newRoot("ec", map[string]any{"issuer_name": "r"})
	h.write("roles/r", map[string]any{"allow_any_name": true, "key_type": "ec"})
	do := func(op secrets.Operation, path string) error {
		_, err := h.e.HandleRequest(context.Background(), &secrets.Request{Operation: op, Path: path, Storage: h.s, Data: map[string]any{"common_name": "x"}})
		return err
	}
	for _, p := range []string{"ca", "ca/pem", "ca_chain", "crl", "crl/pem", "issuer/r/pem", "issuer/r/json", "cert/ca"} {
		if err := do(secrets.OpRead, p); err != nil {
			t.Fatalf("public %s: %v", p, err)
		}
	}
	for _, p := range []string{"issue/r", "issuer/r/issue/r", "root/generate/internal", "roles/r", "config/ca", "issuer/r"} {
		if err := do(secrets.OpUpdate, p); !errors.Is(err, secrets.ErrPermissionDenied) {
			t.Fatalf("%s without a token: %v", p, err)
		}
	}
	if err := do(secrets.OpRead, "issuer/r"); !errors.Is(err, secrets.ErrPermissionDenied) {
		t.Fatalf("issuer read without a token: %v", err)
	}
}

// TestDeclaredPathsValidate: the endpoint declarations compile, and every
// public path the engine reports is declared Unauthenticated (and no
// other).
func TestDeclaredPathsValidate(t *testing.T) {
	h := newHarness(t)
	if err := h.e.Endpoints().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, p := range h.e.Endpoints().Paths {
		probe := strings.NewReplacer("{serial}", "01", "{issuer_ref}", "default", "{req*}", "x").Replace(p.Pattern)
		if p.Pattern == "issuers" {
			probe = "issuers/"
		}
		if got := h.e.isPublic(probe); got != p.Unauthenticated {
			t.Errorf("%s: public=%v, declared Unauthenticated=%v", p.Pattern, got, p.Unauthenticated)
		}
	}
}

// TestCRLAutoRebuild: without auto_rebuild the CRL is rebuilt only by
// revocations and rotation (as Vault); with it, a read near nextUpdate
// renews it.
func TestCRLAutoRebuild(t *testing.T) {
	h := newHarness(t)
	h.newRoot("ec", nil)
	h.write("config/crl", map[string]any{"expiry": "2h", "auto_rebuild_grace_period": "30m"})
	first, _ := x509.ParseRevocationList(h.must(secrets.OpRead, "crl", nil).RawBody)
	h.clock.Add(100 * time.Minute)
	same, _ := x509.ParseRevocationList(h.must(secrets.OpRead, "crl", nil).RawBody)
	if same.Number.Cmp(first.Number) != 0 {
		t.Fatal("CRL rebuilt on read without auto_rebuild")
	}
	h.write("config/crl", map[string]any{"auto_rebuild": true})
	base, _ := x509.ParseRevocationList(h.must(secrets.OpRead, "crl", nil).RawBody)
	h.clock.Add(100 * time.Minute) // within 30m of the 2h nextUpdate (the config write rebuilt it)
	der := h.must(secrets.OpRead, "crl", nil).RawBody
	renewed, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.Number.Cmp(base.Number) <= 0 || !renewed.NextUpdate.After(base.NextUpdate) {
		t.Fatalf("CRL not renewed: %v → %v", base.Number, renewed.Number)
	}
}

func TestIssuerRevoke(t *testing.T) {
	h := newHarness(t)
	root, inter, interID := buildIntermediate(t, h, "ec")
	h.write("roles/r", map[string]any{"allow_any_name": true, "key_type": "ec"})
	h.write("issue/r", map[string]any{"common_name": "before"})
	d := h.write("issuer/"+interID+"/revoke", nil)
	if d["revoked"] != true || d["revocation_time"].(int64) == 0 {
		t.Fatalf("revoke %v", d)
	}
	h.wantErr(secrets.OpUpdate, "issue/r", map[string]any{"common_name": "after"}, "revoked")
	// The root's CRL lists the intermediate.
	s := crlSerials(t, h.must(secrets.OpRead, "issuer/root/crl/der", nil).RawBody, root)
	if len(s) != 1 || s[0].Cmp(inter.SerialNumber) != 0 {
		t.Fatalf("root CRL %v", s)
	}
	// Idempotent; a root is only marked.
	h.write("issuer/"+interID+"/revoke", nil)
	if d := h.write("issuer/root/revoke", nil); d["revoked"] != true {
		t.Fatalf("root revoke %v", d)
	}
}
