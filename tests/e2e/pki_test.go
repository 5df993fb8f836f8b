package e2e

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"golang.org/x/crypto/ocsp"
)

// TestPKI_DevServer drives the PKI engine on a real -dev server: the
// official client builds root → intermediate, a role, issue and sign (as
// cert-manager's Vault issuer calls it), the CLI issues with `vaultd
// write pki/issue/web common_name=…`, every certificate verifies with
// x509.Verify and `openssl verify` against the chain returned, the CA,
// chain and CRL are readable without a token as raw DER/PEM, revocation
// shows in the CRL and in OCSP (GET and POST), and private keys never
// reach the server log.
func TestPKI_DevServer(t *testing.T) {
	port := freePort(t)
	addr := fmt.Sprintf("http://127.0.0.1:%d", port)
	p := startProc(t, addr, "server", "-dev", "-dev-root-token-id=devroot", fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port))
	waitFor(t, 10e9, "dev output", func() bool { r, _ := devOutput(p.Stdout.String()); return r != "" })
	root, _ := devOutput(p.Stdout.String())
	c := newClient(t, addr, root)
	l := c.Logical()

	for _, m := range []string{"pki", "pki_int"} {
		if err := c.Sys().Mount(m, &vaultapiMountInput{Type: "pki"}); err != nil {
			t.Fatalf("mount %s: %v", m, err)
		}
	}
	w := func(path string, data map[string]any) map[string]any {
		t.Helper()
		s, err := l.Write(path, data)
		if err != nil || s == nil {
			t.Fatalf("write %s: %v", path, err)
		}
		return s.Data
	}
	rootOut := w("pki/root/generate/internal", map[string]any{"common_name": "vaultd e2e Root", "ttl": "8760h", "key_type": "ec"})
	rootPEM := rootOut["certificate"].(string)
	w("pki_int/config/urls", map[string]any{"issuing_certificates": addr + "/v1/pki_int/ca", "crl_distribution_points": addr + "/v1/pki_int/crl"})
	csr := w("pki_int/intermediate/generate/internal", map[string]any{"common_name": "vaultd e2e Intermediate"})["csr"].(string)
	signed := w("pki/root/sign-intermediate", map[string]any{"csr": csr, "format": "pem_bundle", "ttl": "4380h"})
	w("pki_int/intermediate/set-signed", map[string]any{"certificate": signed["certificate"]})
	w("pki_int/roles/web", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true, "max_ttl": "72h"})

	// issue through the official client.
	iss := w("pki_int/issue/web", map[string]any{"common_name": "www.example.com", "ttl": "24h"})
	chain := toStrings(iss["ca_chain"])
	if len(chain) != 2 || strings.TrimSpace(chain[1]) != strings.TrimSpace(rootPEM) {
		t.Fatalf("ca_chain has %d certificates or does not end at the root", len(chain))
	}
	checkLeaf(t, iss["certificate"].(string), chain, "www.example.com")

	// sign/:role with a CSR, as cert-manager does.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrDER, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "api.example.com"}, DNSNames: []string{"api.example.com"}}, key)
	if _, err := l.Write("pki_int/sign/web", map[string]any{"csr": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))}); !isStatus(err, 400) {
		t.Fatalf("EC CSR on an rsa role: %v", err)
	}
	w("pki_int/roles/cm", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true, "key_type": "any"})
	sg := w("pki_int/sign/cm", map[string]any{"csr": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})), "ttl": "1h"})
	checkLeaf(t, sg["certificate"].(string), toStrings(sg["ca_chain"]), "api.example.com")

	// Attacks through the API: other domains and IP SANs.
	if _, err := l.Write("pki_int/issue/web", map[string]any{"common_name": "evil.com"}); !isStatus(err, 400) {
		t.Fatalf("issue evil.com: %v", err)
	}
	// The CLI: vaultd write pki_int/issue/web common_name=…
	cli := exec.Command(binPath, "write", "-format=json", "pki_int/issue/web", "common_name=cli.example.com", "ttl=2h")
	cli.Env = append(os.Environ(), "VAULT_ADDR="+addr, "VAULT_TOKEN="+root)
	out, err := cli.CombinedOutput()
	if err != nil {
		t.Fatalf("vaultd write pki_int/issue/web: %v\n%s", err, out)
	}
	var cliResp struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(out, &cliResp); err != nil {
		t.Fatalf("CLI output: %v\n%s", err, out)
	}
	checkLeaf(t, cliResp.Data["certificate"].(string), toStrings(cliResp.Data["ca_chain"]), "cli.example.com")

	// Unauthenticated raw reads: ca (DER), ca/pem, ca_chain, crl.
	get := func(path string) (int, string, []byte) {
		t.Helper()
		resp, err := http.Get(addr + "/v1/" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b
	}
	code, ct, body := get("pki/ca")
	rootCert := mustParse(t, rootPEM)
	if code != 200 || ct != "application/pkix-cert" || !bytes.Equal(body, rootCert.Raw) {
		t.Fatalf("GET pki/ca: %d %q", code, ct)
	}
	if code, _, body = get("pki/ca/pem"); code != 200 || strings.TrimSpace(string(body)) != strings.TrimSpace(rootPEM) {
		t.Fatalf("GET pki/ca/pem: %d", code)
	}
	if code, _, body = get("pki_int/ca_chain"); code != 200 || strings.Count(string(body), "BEGIN CERTIFICATE") != 2 {
		t.Fatalf("GET pki_int/ca_chain: %d %s", code, body)
	}
	// A token is still needed for everything else.
	if code, _, _ = get("pki_int/roles/web"); code != 403 {
		t.Fatalf("unauthenticated role read: %d", code)
	}

	// Revoke; the CRL (DER, unauthenticated) and OCSP show it.
	if _, err := l.Write("pki_int/revoke", map[string]any{"serial_number": iss["serial_number"]}); err != nil {
		t.Fatal(err)
	}
	code, ct, body = get("pki_int/crl")
	crl, err := x509.ParseRevocationList(body)
	if code != 200 || ct != "application/pkix-crl" || err != nil || len(crl.RevokedCertificateEntries) != 1 {
		t.Fatalf("GET pki_int/crl: %d %q %v", code, ct, err)
	}
	leaf, inter := mustParse(t, iss["certificate"].(string)), mustParse(t, chain[0])
	if crl.CheckSignatureFrom(inter) != nil || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatal("CRL is not the intermediate's or misses the revoked serial")
	}
	oreq, _ := ocsp.CreateRequest(leaf, inter, &ocsp.RequestOptions{Hash: crypto.SHA1})
	resp, err := http.Post(addr+"/v1/pki_int/ocsp", "application/ocsp-request", bytes.NewReader(oreq))
	if err != nil {
		t.Fatal(err)
	}
	ob, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	or, err := ocsp.ParseResponseForCert(ob, leaf, inter)
	if err != nil || or.Status != ocsp.Revoked || resp.Header.Get("Content-Type") != "application/ocsp-response" {
		t.Fatalf("OCSP POST: %v status %v", err, or)
	}
	// cert/:serial is public and shows the revocation.
	s, err := l.Read("pki_int/cert/" + iss["serial_number"].(string))
	if err != nil || s == nil || fmt.Sprint(s.Data["revocation_time"]) == "0" {
		t.Fatalf("cert read: %+v %v", s, err)
	}
	if keys, err := l.List("pki_int/certs"); err != nil || keys == nil || len(toStrings(keys.Data["keys"])) < 3 {
		t.Fatalf("certs list: %+v %v", keys, err)
	}

	// No private key in the server log.
	logText := p.Log.String() + p.Stdout.String()
	for _, k := range []string{iss["private_key"].(string), cliResp.Data["private_key"].(string)} {
		body := strings.Split(strings.TrimSpace(k), "\n")[1]
		if strings.Contains(logText, body) {
			t.Fatal("a private key reached the server output")
		}
	}
}

type vaultapiMountInput = vaultapi.MountInput

func toStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			out = append(out, fmt.Sprint(x))
		}
	}
	return out
}

func mustParse(t *testing.T, p string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		t.Fatalf("not PEM: %q", p)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkLeaf verifies leafPEM against chain (last = root) with Go and,
// where present, openssl.
func checkLeaf(t *testing.T, leafPEM string, chain []string, dns string) {
	t.Helper()
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	for i, p := range chain {
		if i == len(chain)-1 {
			roots.AddCert(mustParse(t, p))
		} else {
			inters.AddCert(mustParse(t, p))
		}
	}
	if _, err := mustParse(t, leafPEM).Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, DNSName: dns, CurrentTime: time.Now()}); err != nil {
		t.Fatalf("x509.Verify %s: %v", dns, err)
	}
	bin, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl is required in CI")
		}
		t.Log("openssl not found: skipping openssl verify")
		return
	}
	dir := t.TempDir()
	wf := func(n, s string) string {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte(s+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	args := []string{"verify", "-CAfile", wf("root.pem", chain[len(chain)-1])}
	if len(chain) > 1 {
		args = append(args, "-untrusted", wf("inter.pem", strings.Join(chain[:len(chain)-1], "\n")))
	}
	out, err := exec.Command(bin, append(args, wf("leaf.pem", leafPEM))...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify %s: %v\n%s", dns, err, out)
	}
}
