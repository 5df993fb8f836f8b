package pki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

func TestGenerateRoot_KeyTypes(t *testing.T) {
	cases := []struct {
		keyType string
		bits    int
		check   func(any) bool
	}{
		{"rsa", 2048, func(k any) bool { p, ok := k.(*rsa.PublicKey); return ok && p.N.BitLen() == 2048 }},
		{"ec", 384, func(k any) bool { p, ok := k.(*ecdsa.PublicKey); return ok && p.Curve.Params().BitSize == 384 }},
		{"ed25519", 0, func(k any) bool { _, ok := k.(ed25519.PublicKey); return ok }},
	}
	for _, tc := range cases {
		for _, typ := range []string{"internal", "exported"} {
			t.Run(tc.keyType+"/"+typ, func(t *testing.T) {
				h := newHarness(t)
				out := h.write("root/generate/"+typ, map[string]any{
					"common_name": "example.com", "key_type": tc.keyType, "key_bits": tc.bits, "ttl": "8760h",
					"issuer_name": "root-1", "key_name": "rootkey",
				})
				c := mustCert(t, out["certificate"])
				if !c.IsCA || !c.BasicConstraintsValid || c.CheckSignatureFrom(c) != nil || !tc.check(c.PublicKey) {
					t.Fatalf("root: IsCA %v, key %T", c.IsCA, c.PublicKey)
				}
				if c.Subject.CommonName != "example.com" || c.KeyUsage&x509.KeyUsageCertSign == 0 || c.KeyUsage&x509.KeyUsageCRLSign == 0 {
					t.Fatalf("subject %v usage %v", c.Subject, c.KeyUsage)
				}
				if got := c.NotAfter.Sub(h.clock.Now()); got != 8760*time.Hour {
					t.Fatalf("validity %s", got)
				}
				if out["issuer_name"] != "root-1" || out["key_name"] != "rootkey" || out["serial_number"] != serialColon(c.SerialNumber) {
					t.Fatalf("response %v", out)
				}
				_, hasKey := out["private_key"]
				if hasKey != (typ == "exported") {
					t.Fatalf("private_key present=%v for %s", hasKey, typ)
				}
				if hasKey {
					b, _ := pem.Decode([]byte(out["private_key"].(string)))
					k, err := parsePrivateKeyBlock(b)
					if err != nil {
						t.Fatal(err)
					}
					if pub, _ := x509.MarshalPKIXPublicKey(k.Public()); string(pub) != string(mustPKIX(t, c.PublicKey)) {
						t.Fatal("exported key does not match the certificate")
					}
				}
				// The default issuer answers the raw reads.
				raw := h.must(secrets.OpRead, "ca", nil)
				if string(raw.RawBody) != string(c.Raw) || raw.ContentType != "application/pkix-cert" {
					t.Fatal("ca DER differs")
				}
				p := h.must(secrets.OpRead, "ca/pem", nil)
				if strings.TrimSpace(string(p.RawBody)) != out["certificate"] {
					t.Fatal("ca/pem differs")
				}
				// A key's material never shows in key reads.
				k := h.must(secrets.OpRead, "key/rootkey", nil).Data
				if k["key_type"] != tc.keyType || k["key_id"] != out["key_id"] || fmt.Sprint(k) == "" || k["private_key"] != nil {
					t.Fatalf("key read %v", k)
				}
			})
		}
	}
}

func mustPKIX(t testing.TB, pub any) []byte {
	b, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGenerateRoot_BadInput(t *testing.T) {
	h := newHarness(t)
	h.wantErr(secrets.OpUpdate, "root/generate/internal", map[string]any{}, "common_name")
	h.wantErr(secrets.OpUpdate, "root/generate/internal", map[string]any{"common_name": "x", "key_type": "dsa"}, "unknown key type")
	h.wantErr(secrets.OpUpdate, "root/generate/internal", map[string]any{"common_name": "x", "key_bits": 1024}, "bit length")
	h.wantErr(secrets.OpUpdate, "root/generate/internal", map[string]any{"common_name": "x", "key_type": "ec", "key_bits": 2048}, "bit length")
	h.wantErr(secrets.OpUpdate, "root/generate/bogus", map[string]any{"common_name": "x"}, "invalid type")
	h.wantErr(secrets.OpUpdate, "root/generate/kms", map[string]any{"common_name": "x"}, "not supported")
	h.wantErr(secrets.OpUpdate, "root/generate/internal", map[string]any{"common_name": "x", "ttl": "soon"}, "ttl")
	h.wantErr(secrets.OpUpdate, "root/generate/internal", map[string]any{"common_name": "x", "issuer_name": "default"}, "reserved")
	h.wantErr(secrets.OpUpdate, "root/generate/internal", map[string]any{"common_name": "x", "other_sans": "1.2.3;UTF8:x"}, "other_sans")
	if _, err := h.do(secrets.OpRead, "nope", nil); err == nil {
		t.Fatal("unknown path served")
	}
	// No CA yet: the raw reads answer 204 with no body.
	if r := h.must(secrets.OpRead, "ca", nil); r.StatusCode != 204 || len(r.RawBody) != 0 {
		t.Fatalf("ca without issuer: %d %q", r.StatusCode, r.RawBody)
	}
}

// buildIntermediate makes root → intermediate in one mount (as Vault's
// docs do with two): intermediate/generate, root/sign-intermediate,
// intermediate/set-signed. It returns the intermediate's issuer ID.
func buildIntermediate(t *testing.T, h *harness, keyType string) (root, inter *x509.Certificate, interID string) {
	t.Helper()
	root = h.newRoot("rsa", map[string]any{"issuer_name": "root"})
	csr := h.write("intermediate/generate/internal", map[string]any{"common_name": "Example Intermediate", "key_type": keyType})["csr"].(string)
	signed := h.write("root/sign-intermediate", map[string]any{"csr": csr, "common_name": "Example Intermediate", "ttl": "43800h", "issuer_ref": "root"})
	inter = mustCert(t, signed["certificate"])
	if !inter.IsCA || inter.CheckSignatureFrom(root) != nil {
		t.Fatal("intermediate not signed by the root")
	}
	if chain := signed["ca_chain"].([]string); len(chain) != 2 {
		t.Fatalf("sign-intermediate ca_chain %d", len(chain))
	}
	imp := h.write("intermediate/set-signed", map[string]any{"certificate": signed["certificate"]})
	ids := imp["imported_issuers"].([]string)
	if len(ids) != 1 {
		t.Fatalf("set-signed imported %v", imp)
	}
	if imp["mapping"].(map[string]any)[ids[0]] == "" {
		t.Fatalf("set-signed did not link the key: %v", imp)
	}
	h.write("config/issuers", map[string]any{"default": ids[0]})
	return root, inter, ids[0]
}

func TestIntermediateChainAndIssue_ValidatesWithGoAndOpenSSL(t *testing.T) {
	for _, keyType := range []string{"rsa", "ec", "ed25519"} {
		t.Run(keyType, func(t *testing.T) {
			h := newHarness(t)
			root, inter, interID := buildIntermediate(t, h, keyType)
			iss := h.must(secrets.OpRead, "issuer/"+interID, nil).Data
			chain := iss["ca_chain"].([]string)
			if len(chain) != 2 || mustCert(t, chain[1]).Equal(root) == false || !mustCert(t, chain[0]).Equal(inter) {
				t.Fatalf("issuer chain %d", len(chain))
			}
			for _, leafKey := range []string{"rsa", "ec", "ed25519"} {
				h.write("roles/web-"+leafKey, map[string]any{
					"allowed_domains": "example.com", "allow_subdomains": true, "key_type": leafKey, "max_ttl": "72h",
				})
				out := h.write("issue/web-"+leafKey, map[string]any{"common_name": "www.example.com", "alt_names": "api.example.com", "ip_sans": "127.0.0.1"})
				leaf := mustCert(t, out["certificate"])
				cc := out["ca_chain"].([]string)
				if out["issuing_ca"] != strings.TrimSpace(chain[0]) || len(cc) != 2 {
					t.Fatalf("issuing_ca / ca_chain wrong: %d", len(cc))
				}
				if out["private_key"] == "" || out["private_key_type"] != leafKey {
					t.Fatalf("private key type %v", out["private_key_type"])
				}
				verifyGo(t, leaf, cc, "api.example.com", h.clock.Now())
				verifyOpenSSL(t, out["certificate"].(string), cc)
				if leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || len(leaf.IPAddresses) != 1 {
					t.Fatalf("eku %v ips %v", leaf.ExtKeyUsage, leaf.IPAddresses)
				}
			}
		})
	}
}

func TestSignIntermediate_PathLength(t *testing.T) {
	h := newHarness(t)
	h.newRoot("ec", map[string]any{"max_path_length": 0, "issuer_name": "leafonly"})
	csr := h.write("intermediate/generate/internal", map[string]any{"common_name": "I", "key_type": "ec"})["csr"].(string)
	h.wantErr(secrets.OpUpdate, "root/sign-intermediate", map[string]any{"csr": csr, "common_name": "I"}, "max path length is 0")
}

func TestImportBundle_ConfigCA(t *testing.T) {
	src := newHarness(t)
	out := src.write("root/generate/exported", map[string]any{"common_name": "Imported Root", "key_type": "ec"})
	bundle := out["private_key"].(string) + "\n" + out["certificate"].(string)

	h := newHarness(t)
	// set-signed refuses keys; config/ca takes the bundle.
	h.wantErr(secrets.OpUpdate, "intermediate/set-signed", map[string]any{"certificate": bundle}, "private keys")
	imp := h.write("config/ca", map[string]any{"pem_bundle": bundle})
	if len(imp["imported_issuers"].([]string)) != 1 || len(imp["imported_keys"].([]string)) != 1 {
		t.Fatalf("import %v", imp)
	}
	// Importing again is idempotent.
	again := h.write("config/ca", map[string]any{"pem_bundle": bundle})
	if len(again["imported_issuers"].([]string)) != 0 || len(again["existing_issuers"].([]string)) != 1 {
		t.Fatalf("re-import %v", again)
	}
	h.write("roles/r", map[string]any{"allow_any_name": true, "key_type": "ec"})
	leaf := h.write("issue/r", map[string]any{"common_name": "svc.internal"})
	if mustCert(t, leaf["certificate"]).CheckSignatureFrom(mustCert(t, out["certificate"])) != nil {
		t.Fatal("imported CA did not sign")
	}
	h.wantErr(secrets.OpUpdate, "config/ca", map[string]any{"pem_bundle": "garbage"}, "no data")
	h.wantErr(secrets.OpUpdate, "config/ca", map[string]any{"pem_bundle": leaf["certificate"]}, "non-CA")
}

func TestKeysGenerateImport(t *testing.T) {
	h := newHarness(t)
	k := h.write("keys/generate/internal", map[string]any{"key_type": "ec", "key_name": "k1"})
	if k["key_type"] != "ec" || k["private_key"] != nil {
		t.Fatalf("internal key %v", k)
	}
	x := h.write("keys/generate/exported", map[string]any{"key_type": "ed25519", "key_name": "k2"})
	if !strings.Contains(x["private_key"].(string), "PRIVATE KEY") {
		t.Fatalf("exported key %v", x["key_id"])
	}
	// A root over an existing key.
	root := h.write("root/generate/existing", map[string]any{"common_name": "R", "key_ref": "k1"})
	if root["key_id"] != k["key_id"] {
		t.Fatalf("root key %v want %v", root["key_id"], k["key_id"])
	}
	// Import a key, then its certificate links to it.
	src := newHarness(t)
	out := src.write("root/generate/exported", map[string]any{"common_name": "Other", "key_type": "rsa"})
	h.wantErr(secrets.OpUpdate, "keys/import", map[string]any{"pem_bundle": out["certificate"]}, "private key")
	imp := h.write("keys/import", map[string]any{"pem_bundle": out["private_key"], "key_name": "imported"})
	iss := h.write("issuers/import/cert", map[string]any{"pem_bundle": out["certificate"]})
	id := iss["imported_issuers"].([]string)[0]
	if iss["mapping"].(map[string]any)[id] != imp["key_id"] {
		t.Fatalf("mapping %v, key %v", iss["mapping"], imp["key_id"])
	}
	h.wantErr(secrets.OpUpdate, "keys/generate/internal", map[string]any{"key_name": "k1"}, "already in use")
	h.wantErr(secrets.OpUpdate, "keys/generate/kms", nil, "not supported")
}
