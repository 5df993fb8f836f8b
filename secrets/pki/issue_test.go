package pki

import (
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

func TestRoles_CRUD(t *testing.T) {
	h := newHarness(t)
	if _, err := h.do(secrets.OpRead, "roles/web", nil); err == nil {
		t.Fatal("absent role read succeeded")
	}
	d := h.write("roles/web", map[string]any{"allowed_domains": []any{"example.com", "example.org"}, "allow_subdomains": true, "ttl": "1h", "max_ttl": 7200, "key_type": "ec"})
	if d["key_bits"] != 256 || d["ttl"] != int64(3600) || d["max_ttl"] != int64(7200) || d["server_flag"] != true {
		t.Fatalf("role defaults %v", d)
	}
	r := h.must(secrets.OpRead, "roles/web", nil).Data
	if strings.Join(r["allowed_domains"].([]string), ",") != "example.com,example.org" || r["allow_subdomains"] != true {
		t.Fatalf("role read %v", r)
	}
	// PATCH keeps other fields; a plain write replaces the role.
	h.must(secrets.OpPatch, "roles/web", map[string]any{"allow_ip_sans": false})
	if r := h.must(secrets.OpRead, "roles/web", nil).Data; r["allow_ip_sans"] != false || r["allow_subdomains"] != true {
		t.Fatalf("after patch %v", r)
	}
	if keys := h.must(secrets.OpList, "roles/", nil).Data["keys"].([]string); len(keys) != 1 || keys[0] != "web" {
		t.Fatalf("list %v", keys)
	}
	h.wantErr(secrets.OpUpdate, "roles/bad", map[string]any{"ttl": "2h", "max_ttl": "1h"}, "max_ttl")
	h.wantErr(secrets.OpUpdate, "roles/bad", map[string]any{"key_usage": "Teleport"}, "key_usage")
	h.wantErr(secrets.OpUpdate, "roles/bad", map[string]any{"ext_key_usage": "Nope"}, "ext_key_usage")
	h.wantErr(secrets.OpUpdate, "roles/bad", map[string]any{"allowed_domains_template": true}, "not supported")
	h.wantErr(secrets.OpUpdate, "roles/bad", map[string]any{"generate_lease": true}, "generate_lease")
	h.wantErr(secrets.OpUpdate, "roles/bad", map[string]any{"allow_subdomains": "maybe"}, "allow_subdomains")
	resp := h.must(secrets.OpUpdate, "roles/w2", map[string]any{"alowed_domains": "typo.com"})
	if len(resp.Warnings) == 0 || !strings.Contains(resp.Warnings[0], "alowed_domains") {
		t.Fatalf("unknown field warning: %v", resp.Warnings)
	}
	h.must(secrets.OpDelete, "roles/web", nil)
	if _, err := h.do(secrets.OpRead, "roles/web", nil); err == nil {
		t.Fatal("deleted role still readable")
	}
}

// TestIssue_RolePolicy: the attacks a role must stop.
func TestIssue_RolePolicy(t *testing.T) {
	h := newHarness(t)
	h.newRoot("ec", nil)
	h.write("roles/web", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true, "allow_ip_sans": false, "key_type": "ec", "allow_localhost": false})
	h.write("roles/bare", map[string]any{"allowed_domains": "example.com", "allow_bare_domains": true, "key_type": "ec"})
	h.write("roles/glob", map[string]any{"allowed_domains": "*.svc.example.com", "allow_glob_domains": true, "key_type": "ec"})
	h.write("roles/nowild", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true, "allow_wildcard_certificates": false, "key_type": "ec"})
	ok := []struct{ role, cn string }{
		{"web", "www.example.com"}, {"web", "a.b.example.com"}, {"web", "*.example.com"}, {"web", "WWW.Example.COM"},
		{"bare", "example.com"}, {"bare", "localhost"},
		{"glob", "api.svc.example.com"},
		{"nowild", "x.example.com"},
	}
	for _, c := range ok {
		h.write("issue/"+c.role, map[string]any{"common_name": c.cn})
	}
	bad := []struct{ role, cn, want string }{
		{"web", "example.com", "common name example.com not allowed"}, // bare not allowed
		{"web", "evil.com", "not allowed"},
		{"web", "www.example.com.evil.com", "not allowed"},
		{"web", "wwwexample.com", "not allowed"},
		{"web", "localhost", "not allowed"},
		{"web", "bad_host!.example.com", "not allowed"},
		{"bare", "www.example.com", "not allowed"},
		{"glob", "svc.example.com", "not allowed"},
		{"nowild", "*.example.com", "not allowed"},
	}
	for _, c := range bad {
		h.wantErr(secrets.OpUpdate, "issue/"+c.role, map[string]any{"common_name": c.cn}, c.want)
	}
	// A SAN outside the role is refused even with a good CN.
	h.wantErr(secrets.OpUpdate, "issue/web", map[string]any{"common_name": "www.example.com", "alt_names": "evil.com"}, "subject alternate name evil.com not allowed")
	// IP SANs are refused when the role does not allow them.
	h.wantErr(secrets.OpUpdate, "issue/web", map[string]any{"common_name": "www.example.com", "ip_sans": "10.0.0.1"}, "IP Subject Alternative Names are not allowed")
	h.wantErr(secrets.OpUpdate, "issue/bare", map[string]any{"common_name": "example.com", "ip_sans": "not-an-ip"}, "not a valid IP")
	// URI SANs need allowed_uri_sans.
	h.wantErr(secrets.OpUpdate, "issue/bare", map[string]any{"common_name": "example.com", "uri_sans": "spiffe://x/y"}, "URI Subject Alternative Names are not allowed")
	h.write("roles/spiffe", map[string]any{"allow_any_name": true, "allowed_uri_sans": "spiffe://cluster/*", "key_type": "ec"})
	out := h.write("issue/spiffe", map[string]any{"common_name": "w", "uri_sans": "spiffe://cluster/ns/a"})
	if u := mustCert(t, out["certificate"]).URIs; len(u) != 1 || u[0].String() != "spiffe://cluster/ns/a" {
		t.Fatalf("uris %v", u)
	}
	h.wantErr(secrets.OpUpdate, "issue/spiffe", map[string]any{"common_name": "w", "uri_sans": "spiffe://other/x"}, "not allowed")
	h.wantErr(secrets.OpUpdate, "issue/absent", map[string]any{"common_name": "x"}, "unknown role")
	h.wantErr(secrets.OpUpdate, "issue/web", map[string]any{}, "common_name field is required")
}

func TestIssue_TTLCaps(t *testing.T) {
	h := newHarness(t)
	root := h.newRoot("ec", map[string]any{"ttl": "100h"})
	now := h.clock.Now()
	h.write("roles/r", map[string]any{"allow_any_name": true, "key_type": "ec", "ttl": "1h", "max_ttl": "10h"})
	c := mustCert(t, h.write("issue/r", map[string]any{"common_name": "a"})["certificate"])
	if c.NotAfter.Sub(now) != time.Hour {
		t.Fatalf("role ttl: %s", c.NotAfter.Sub(now))
	}
	// A ttl above max_ttl is capped to max_ttl, with a warning.
	resp := h.must(secrets.OpUpdate, "issue/r", map[string]any{"common_name": "a", "ttl": "50h"})
	c = mustCert(t, resp.Data["certificate"])
	if c.NotAfter.Sub(now) != 10*time.Hour || len(resp.Warnings) == 0 {
		t.Fatalf("max_ttl cap: %s, warnings %v", c.NotAfter.Sub(now), resp.Warnings)
	}
	// Beyond the CA's notAfter: refused by default (err) ...
	h.write("roles/long", map[string]any{"allow_any_name": true, "key_type": "ec", "max_ttl": "1000h"})
	h.wantErr(secrets.OpUpdate, "issue/long", map[string]any{"common_name": "a", "ttl": "500h"}, "beyond the expiration of the CA certificate")
	// ... truncated to it with leaf_not_after_behavior=truncate.
	h.write("issuer/default", map[string]any{"leaf_not_after_behavior": "truncate"})
	c = mustCert(t, h.write("issue/long", map[string]any{"common_name": "a", "ttl": "500h"})["certificate"])
	if !c.NotAfter.Equal(root.NotAfter) {
		t.Fatalf("truncate: %s vs CA %s", c.NotAfter, root.NotAfter)
	}
	h.wantErr(secrets.OpUpdate, "issuer/default", map[string]any{"leaf_not_after_behavior": "whenever"}, "leaf_not_after_behavior")
	// not_after is honoured (and still capped by the CA).
	na := now.Add(5 * time.Hour).Format(time.RFC3339)
	c = mustCert(t, h.write("issue/long", map[string]any{"common_name": "a", "not_after": na})["certificate"])
	if c.NotAfter.Format(time.RFC3339) != na {
		t.Fatalf("not_after %s want %s", c.NotAfter, na)
	}
}

func TestSign_CSR(t *testing.T) {
	h := newHarness(t)
	h.newRoot("rsa", nil)
	h.write("roles/web", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true, "key_type": "ec", "allow_ip_sans": false})
	csr, _ := csrFor(t, "app.example.com", []string{"app.example.com", "x.example.com"}, nil)
	out := h.write("sign/web", map[string]any{"csr": csr})
	c := mustCert(t, out["certificate"])
	if c.Subject.CommonName != "app.example.com" || len(c.DNSNames) != 2 {
		t.Fatalf("signed %v %v", c.Subject, c.DNSNames)
	}
	if _, ok := out["private_key"]; ok {
		t.Fatal("sign returned a private key")
	}
	verifyGo(t, c, out["ca_chain"].([]string), "x.example.com", h.clock.Now())
	verifyOpenSSL(t, out["certificate"].(string), out["ca_chain"].([]string))
	// The CSR's SANs are checked against the role like any name.
	bad, _ := csrFor(t, "app.example.com", []string{"evil.com"}, nil)
	h.wantErr(secrets.OpUpdate, "sign/web", map[string]any{"csr": bad}, "evil.com not allowed")
	ipcsr, _ := csrFor(t, "app.example.com", nil, []net.IP{net.ParseIP("10.1.1.1")})
	h.wantErr(secrets.OpUpdate, "sign/web", map[string]any{"csr": ipcsr}, "IP Subject Alternative Names are not allowed")
	// Key type must match the role.
	h.write("roles/rsaonly", map[string]any{"allow_any_name": true, "key_type": "rsa"})
	h.wantErr(secrets.OpUpdate, "sign/rsaonly", map[string]any{"csr": csr}, "role requires keys of type rsa")
	h.wantErr(secrets.OpUpdate, "sign/web", map[string]any{"csr": "not a csr"}, "could not be parsed")
	// A tampered CSR (signature broken) is refused.
	tampered := strings.Replace(csr, csr[100:104], "AAAA", 1)
	if _, err := h.do(secrets.OpUpdate, "sign/web", map[string]any{"csr": tampered}); err == nil {
		t.Fatal("tampered CSR signed")
	}
	// sign-verbatim keeps the CSR's names and takes the usages asked for.
	v := h.write("sign-verbatim", map[string]any{"csr": bad, "ext_key_usage": "ClientAuth", "ttl": "2h"})
	vc := mustCert(t, v["certificate"])
	if vc.DNSNames[0] != "evil.com" || len(vc.ExtKeyUsage) != 1 || vc.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Fatalf("verbatim %v %v", vc.DNSNames, vc.ExtKeyUsage)
	}
	verifyOpenSSL(t, v["certificate"].(string), v["ca_chain"].([]string))
}

// TestVaultBenchmarkPKIIssueFlow replays vault-benchmark's pki_issue
// setup: root and intermediate mounts, sign-intermediate as pem_bundle,
// set-signed with certificate+issuing_ca joined, a role, then issue.
func TestVaultBenchmarkPKIIssueFlow(t *testing.T) {
	root, inter := newHarness(t), newHarness(t)
	root.write("root/generate/internal", map[string]any{"type": "internal", "common_name": "example.com"})
	root.write("config/urls", map[string]any{"issuing_certificates": "http://127.0.0.1:8200/v1/r/ca", "crl_distribution_points": []any{"http://127.0.0.1:8200/v1/r/crl"}})
	csr := inter.write("intermediate/generate/internal", map[string]any{"type": "internal", "common_name": "example.com Intermediate Authority"})["csr"]
	// Its setup_delay (1s) and requests pass between the root and the
	// signing: with both TTLs defaulted the intermediate outlives the
	// root, which Vault allows for sign-intermediate (a warning).
	root.clock.Add(2 * time.Second)
	signed := root.must(secrets.OpUpdate, "root/sign-intermediate", map[string]any{"format": "pem_bundle", "csr": csr})
	if len(signed.Warnings) == 0 || !strings.Contains(signed.Warnings[0], "after the CA's expiration time") {
		t.Fatalf("sign-intermediate beyond the root: warnings %q", signed.Warnings)
	}
	s := signed.Data
	inter.write("intermediate/set-signed", map[string]any{"certificate": s["certificate"].(string) + "\n" + s["issuing_ca"].(string)})
	inter.write("roles/benchmark-issue", map[string]any{"name": "benchmark-issue", "allow_subdomains": true, "allow_any_name": true, "ttl": "5m"})
	out := inter.write("issue/benchmark-issue", map[string]any{"common_name": "test.vault.benchmark"})
	leaf := mustCert(t, out["certificate"])
	if got := leaf.NotAfter.Sub(inter.clock.Now()); got != 5*time.Minute {
		t.Fatalf("ttl %s", got)
	}
	chain := out["ca_chain"].([]string)
	verifyGo(t, leaf, chain, "test.vault.benchmark", inter.clock.Now())
	verifyOpenSSL(t, out["certificate"].(string), chain)
}

// TestIssue_BodyCannotPickIssuer: issue/:role signs with the role's
// issuer; an issuer_ref in the body is not a field there (so an ACL on
// issuer/:ref/issue/* cannot be sidestepped) and draws the warning.
func TestIssue_BodyCannotPickIssuer(t *testing.T) {
	h := newHarness(t)
	r1 := h.newRoot("ec", map[string]any{"issuer_name": "one"})
	h.newRoot("ec", map[string]any{"issuer_name": "two"})
	h.write("roles/r", map[string]any{"allow_any_name": true, "key_type": "ec", "issuer_ref": "one"})
	resp := h.must(secrets.OpUpdate, "issue/r", map[string]any{"common_name": "x", "issuer_ref": "two"})
	if mustCert(t, resp.Data["certificate"]).CheckSignatureFrom(r1) != nil {
		t.Fatal("the body's issuer_ref chose the issuer")
	}
	if len(resp.Warnings) == 0 || !strings.Contains(resp.Warnings[len(resp.Warnings)-1], "issuer_ref") {
		t.Fatalf("warnings %v", resp.Warnings)
	}
}

func TestIssue_UsagesAndNoStore(t *testing.T) {
	h := newHarness(t)
	h.newRoot("ec", nil)
	h.write("roles/client", map[string]any{
		"allow_any_name": true, "key_type": "ec", "server_flag": false, "client_flag": true,
		"ext_key_usage": "CodeSigning", "key_usage": "DigitalSignature", "no_store": true,
		"organization": "Example Org", "ou": "Eng",
	})
	out := h.write("issue/client", map[string]any{"common_name": "svc"})
	c := mustCert(t, out["certificate"])
	if c.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Fatalf("key usage %v", c.KeyUsage)
	}
	eku := map[x509.ExtKeyUsage]bool{}
	for _, u := range c.ExtKeyUsage {
		eku[u] = true
	}
	if !eku[x509.ExtKeyUsageClientAuth] || !eku[x509.ExtKeyUsageCodeSigning] || eku[x509.ExtKeyUsageServerAuth] {
		t.Fatalf("ext key usage %v", c.ExtKeyUsage)
	}
	if c.Subject.Organization[0] != "Example Org" || c.Subject.OrganizationalUnit[0] != "Eng" {
		t.Fatalf("subject %v", c.Subject)
	}
	// no_store: not stored, not listed; it can still be revoked by
	// presenting the certificate.
	if _, err := h.do(secrets.OpRead, "cert/"+out["serial_number"].(string), nil); err == nil {
		t.Fatal("no_store certificate was stored")
	}
	if keys := h.must(secrets.OpList, "certs/", nil).Data["keys"].([]string); len(keys) != 1 { // the root only
		t.Fatalf("certs %v", keys)
	}
	h.wantErr(secrets.OpUpdate, "revoke", map[string]any{"serial_number": out["serial_number"]}, "not found")
	h.write("revoke", map[string]any{"certificate": out["certificate"]})
}
