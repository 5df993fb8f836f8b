package server

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

type testPKI struct {
	caPEM            []byte
	caPool           *x509.CertPool
	serverCert       string // file
	serverKey        string // file
	caFile           string
	client, stranger tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	mk := func(tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, []byte, []byte) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if parent == nil {
			parent, parentKey = tmpl, k
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &k.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		kd, _ := x509.MarshalECPrivateKey(k)
		return c, k, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
	}
	now := time.Now()
	caT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	ca, caKey, caPEM, _ := mk(caT, nil, nil)
	srvT := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	_, _, srvPEM, srvKey := mk(srvT, ca, caKey)
	cliT := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "client"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	_, _, cliPEM, cliKey := mk(cliT, ca, caKey)
	// A self-signed client certificate from a CA the server does not trust.
	strT := &x509.Certificate{SerialNumber: big.NewInt(4), Subject: pkix.Name{CommonName: "stranger"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	_, _, strPEM, strKey := mk(strT, nil, nil)
	p := &testPKI{caPEM: caPEM, caPool: x509.NewCertPool()}
	p.caPool.AddCert(ca)
	p.serverCert, p.serverKey, p.caFile = filepath.Join(dir, "srv.pem"), filepath.Join(dir, "srv.key"), filepath.Join(dir, "ca.pem")
	for f, b := range map[string][]byte{p.serverCert: srvPEM, p.serverKey: srvKey, p.caFile: caPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if p.client, err = tls.X509KeyPair(cliPEM, cliKey); err != nil {
		t.Fatal(err)
	}
	if p.stranger, err = tls.X509KeyPair(strPEM, strKey); err != nil {
		t.Fatal(err)
	}
	return p
}

func startListenerNode(t *testing.T, l config.Listener) *Node {
	t.Helper()
	l.Type, l.Address = "tcp", "127.0.0.1:0"
	cfg := &config.Config{Storage: &config.Storage{Type: "inmem"}, Listeners: []config.Listener{l}}
	n, err := Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

func healthOver(addr string, tc *tls.Config) error {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	resp, err := c.Get("https://" + addr + "/v1/sys/health")
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Issue 10 item 1: tls_client_ca_file + tls_require_and_verify_client_cert
// make a client without a valid certificate fail the handshake.
func TestListener_RequireClientCert(t *testing.T) {
	p := newTestPKI(t)
	n := startListenerNode(t, config.Listener{TLSCertFile: p.serverCert, TLSKeyFile: p.serverKey,
		TLSClientCAFile: p.caFile, TLSRequireAndVerifyClientCert: true})
	if err := healthOver(n.ListenAddr, &tls.Config{RootCAs: p.caPool}); err == nil {
		t.Error("a client without a certificate got through")
	}
	if err := healthOver(n.ListenAddr, &tls.Config{RootCAs: p.caPool, Certificates: []tls.Certificate{p.stranger}}); err == nil {
		t.Error("a client with an untrusted certificate got through")
	}
	if err := healthOver(n.ListenAddr, &tls.Config{RootCAs: p.caPool, Certificates: []tls.Certificate{p.client}}); err != nil {
		t.Errorf("a client with a valid certificate was refused: %v", err)
	}
}

// Issue 10 item 1: a tls13 listener refuses a TLS 1.2-only client, and
// tls_cipher_suites restricts the TLS 1.2 suites.
func TestListener_TLSVersionsAndSuites(t *testing.T) {
	p := newTestPKI(t)
	n13 := startListenerNode(t, config.Listener{TLSCertFile: p.serverCert, TLSKeyFile: p.serverKey, TLSMinVersion: "tls13"})
	if err := healthOver(n13.ListenAddr, &tls.Config{RootCAs: p.caPool, MaxVersion: tls.VersionTLS12}); err == nil {
		t.Error("a tls13 listener accepted a TLS 1.2-only client")
	}
	if err := healthOver(n13.ListenAddr, &tls.Config{RootCAs: p.caPool}); err != nil {
		t.Errorf("TLS 1.3 client refused: %v", err)
	}
	n12 := startListenerNode(t, config.Listener{TLSCertFile: p.serverCert, TLSKeyFile: p.serverKey, TLSMaxVersion: "tls12",
		TLSCipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}})
	if err := healthOver(n12.ListenAddr, &tls.Config{RootCAs: p.caPool, MinVersion: tls.VersionTLS13}); err == nil {
		t.Error("a tls12-max listener accepted a TLS 1.3-only client")
	}
	if err := healthOver(n12.ListenAddr, &tls.Config{RootCAs: p.caPool, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}); err == nil {
		t.Error("a suite outside tls_cipher_suites was negotiated")
	}
	if err := healthOver(n12.ListenAddr, &tls.Config{RootCAs: p.caPool, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}}); err != nil {
		t.Errorf("the configured suite was refused: %v", err)
	}
}

// Issue 10 item 1: a client that announces a body and then stalls is cut
// off by http_read_timeout instead of holding the connection forever.
func TestListener_SlowBodyCutOff(t *testing.T) {
	n := startListenerNode(t, config.Listener{TLSDisable: true, HTTPReadTimeout: 500 * time.Millisecond})
	conn, err := net.Dial("tcp", n.ListenAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "PUT /v1/sys/unseal HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	start := time.Now()
	// The server answers (an error for the truncated body) and closes, or
	// just closes; either way the read ends well before our own deadline.
	_, err = io.ReadAll(bufio.NewReader(conn))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server held a stalled body for %s", time.Since(start))
	}
}

// Security-relevant keys that vaultd cannot honour are refused at start.
func TestConfig_RefusesUnhonouredSecurityKeys(t *testing.T) {
	_, err := config.Parse([]byte(`listener "tcp" {
  address = "127.0.0.1:8200"
  tls_disable = true
  disable_unauthed_rekey_endpoints = true
}`), "x.hcl")
	if err == nil || !strings.Contains(err.Error(), "disable_unauthed_rekey_endpoints") {
		t.Fatalf("Parse = %v, want a refusal naming the key", err)
	}
	_, err = config.Parse([]byte(`listener "tcp" {
  address = "127.0.0.1:8200"
  tls_disable = true
  tls_cipher_suites = "TLS_RSA_WITH_RC4_128_SHA"
}`), "x.hcl")
	if err == nil || !strings.Contains(err.Error(), "insecure") {
		t.Fatalf("Parse = %v, want the insecure suite refused", err)
	}
	c, err := config.Parse([]byte(`listener "tcp" {
  address = "127.0.0.1:8200"
  tls_disable = true
  tls_cipher_suites = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
  x_forwarded_for_authorized_addrs = ["10.0.0.0/8", "192.168.1.1"]
  x_forwarded_for_hop_skips = 1
  x_forwarded_for_reject_not_present = false
}`), "x.hcl")
	if err != nil {
		t.Fatal(err)
	}
	l := c.Listeners[0]
	if len(l.TLSCipherSuites) != 2 || len(l.XFFAuthorizedAddrs) != 2 || l.XFFHopSkips != 1 || !l.XFFAllowNotPresent || l.XFFAllowNotAuthorized {
		t.Fatalf("listener = %+v", l)
	}
}
