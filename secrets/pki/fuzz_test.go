package pki

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

// FuzzNormalizeSerial: serial parsing never panics and its output is a
// fixed point in the storage form.
func FuzzNormalizeSerial(f *testing.F) {
	for _, s := range []string{"01", "aa:bb:cc", "AA-BB", "abc", "", ":", "zz", strings.Repeat("f", 90)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := normalizeSerial(s)
		if !ok {
			return
		}
		again, ok2 := normalizeSerial(out)
		if !ok2 || again != out {
			t.Fatalf("%q → %q → %q", s, out, again)
		}
	})
}

// FuzzPEMInputs: CSRs, bundles and OCSP requests of any shape get a 400
// (or an OCSP error body), never a panic or a 500.
func FuzzPEMInputs(f *testing.F) {
	h := newHarness(f)
	h.newRoot("ec", nil)
	h.write("roles/r", map[string]any{"allow_any_name": true, "key_type": "any"})
	csr, _ := csrFor(f, "x.example", nil, nil)
	f.Add(csr)
	f.Add("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	f.Add("-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		for _, req := range []struct {
			path string
			data map[string]any
		}{
			{"sign/r", map[string]any{"csr": s, "common_name": "x.example"}},
			{"sign-verbatim", map[string]any{"csr": s}},
			{"config/ca", map[string]any{"pem_bundle": s}},
			{"intermediate/set-signed", map[string]any{"certificate": s}},
			{"revoke", map[string]any{"certificate": s}},
		} {
			_, err := h.do(secrets.OpUpdate, req.path, req.data)
			if err != nil && !errors.Is(err, secrets.ErrInvalidRequest) {
				t.Fatalf("%s: %v", req.path, err)
			}
		}
		r, err := h.do(secrets.OpRead, "ocsp/"+base64.StdEncoding.EncodeToString([]byte(s)), nil)
		if err != nil || len(r.RawBody) == 0 {
			t.Fatalf("ocsp: %v", err)
		}
		r, err = h.do(secrets.OpUpdate, "ocsp", map[string]any{"http_raw_body": []byte(s)})
		if err != nil || len(r.RawBody) == 0 {
			t.Fatalf("ocsp POST: %v", err)
		}
	})
}
