package pki

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage/inmem"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	t     testing.TB
	e     *engine
	s     *inmem.Backend
	clock *fakeClock
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	clk := &fakeClock{t: time.Now().UTC().Truncate(time.Second)}
	s := inmem.New()
	b, err := Factory(context.Background(), secrets.Config{Type: "pki", Storage: s, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, e: b.(*engine), s: s, clock: clk}
}

func (h *harness) do(op secrets.Operation, path string, data map[string]any) (*secrets.Response, error) {
	req := &secrets.Request{Operation: op, Path: path, Data: data, Storage: h.s, MountPoint: "pki/", ClientToken: "test-token"}
	if op == secrets.OpUpdate {
		if exists, ok, err := h.e.Exists(context.Background(), req); err == nil && ok && !exists {
			req.Operation = secrets.OpCreate
		}
	}
	return h.e.HandleRequest(context.Background(), req)
}

func (h *harness) must(op secrets.Operation, path string, data map[string]any) *secrets.Response {
	h.t.Helper()
	r, err := h.do(op, path, data)
	if err != nil {
		h.t.Fatalf("%s %s: %v", op, path, err)
	}
	return r
}

func (h *harness) write(path string, data map[string]any) map[string]any {
	h.t.Helper()
	r := h.must(secrets.OpUpdate, path, data)
	if r == nil || r.Data == nil {
		h.t.Fatalf("write %s: no data", path)
	}
	return r.Data
}

// wantErr runs a request that must fail with a 400 whose message holds want.
func (h *harness) wantErr(op secrets.Operation, path string, data map[string]any, want string) {
	h.t.Helper()
	_, err := h.do(op, path, data)
	if err == nil {
		h.t.Fatalf("%s %s: succeeded, want an error containing %q", op, path, want)
	}
	if !errors.Is(err, secrets.ErrInvalidRequest) || !strings.Contains(err.Error(), want) {
		h.t.Fatalf("%s %s: err = %v, want a 400 containing %q", op, path, err, want)
	}
}

func mustCert(t testing.TB, p any) *x509.Certificate {
	t.Helper()
	s, _ := p.(string)
	c, err := parseCertPEM(s)
	if err != nil {
		t.Fatalf("parse certificate %q: %v", s, err)
	}
	return c
}

// newRoot generates an internal root and returns its certificate.
func (h *harness) newRoot(keyType string, extra map[string]any) *x509.Certificate {
	h.t.Helper()
	data := map[string]any{"common_name": "Example Root CA", "key_type": keyType, "ttl": "87600h"}
	for k, v := range extra {
		data[k] = v
	}
	out := h.write("root/generate/internal", data)
	return mustCert(h.t, out["certificate"])
}

// csrFor makes a CSR with an EC P-256 key.
func csrFor(t testing.TB, cn string, dns []string, ips []net.IP) (string, crypto.Signer) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn}, DNSNames: dns, IPAddresses: ips,
	}, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), k
}

// verifyGo checks leaf against the chain with x509.Verify (roots: the
// last chain element).
func verifyGo(t testing.TB, leaf *x509.Certificate, chain []string, dnsName string, at time.Time) {
	t.Helper()
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	for i, p := range chain {
		c := mustCert(t, p)
		if i == len(chain)-1 {
			roots.AddCert(c)
		} else {
			inters.AddCert(c)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inters, DNSName: dnsName, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		t.Fatalf("x509.Verify: %v", err)
	}
}

// verifyOpenSSL runs `openssl verify` on leaf with the chain's root as
// CAfile and the rest as untrusted intermediates. Skipped (with a
// message) when openssl is missing, except in CI.
func verifyOpenSSL(t testing.TB, leafPEM string, chain []string) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl is required in CI for the certificate chain check")
		}
		t.Skip("openssl not found: skipping the openssl verify check")
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	root := write("root.pem", chain[len(chain)-1]+"\n")
	args := []string{"verify", "-CAfile", root}
	if len(chain) > 1 {
		args = append(args, "-untrusted", write("inter.pem", strings.Join(chain[:len(chain)-1], "\n")+"\n"))
	}
	args = append(args, write("leaf.pem", leafPEM+"\n"))
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
