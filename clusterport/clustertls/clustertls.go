// Package clustertls is the cluster's TLS material: the cluster CA (kept
// behind the barrier at core/cluster-tls) and each node's certificate and
// key issued from it. core creates, stores and issues it; clusterport
// serves with it. It is apart from clusterport so that core, which only
// handles the material, does not depend on the listener (and on raft's
// transport types).
//
// It imports seal (for Secret) only.
package clustertls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/vaultd/vaultd/seal"
)

// ServerName is the DNS name in every node certificate; dialers verify it
// (peers are dialled by IP address, so the name is a fixed cluster-wide one).
const ServerName = "vaultd-cluster"

// Validity of generated certificates. A node certificate is issued afresh
// at every unseal, so it only has to outlive one unsealed period.
const (
	caValidity   = 10 * 365 * 24 * time.Hour
	nodeValidity = 365 * 24 * time.Hour
)

// ErrBadMaterial: TLS material (a CA or a node certificate set) does not
// parse, or the certificate and key do not match.
var ErrBadMaterial = errors.New("clustertls: bad TLS material")

// CA is the cluster certificate authority kept behind the barrier at
// core/cluster-tls. Key is PEM (PKCS#8) and never printed.
type CA struct {
	CertPEM []byte
	KeyPEM  seal.Secret
}

// Material is what one node needs on the cluster port: the CA certificate
// to verify peers and its own certificate and key.
type Material struct {
	CACertPEM   []byte
	NodeCertPEM []byte
	NodeKeyPEM  seal.Secret
}

// NewCA generates a self-signed ECDSA P-256 cluster CA.
func NewCA(clusterName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("clustertls: generate CA key: %w", err)
	}
	serial, err := randSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "vaultd cluster CA " + clusterName},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("clustertls: create CA certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("clustertls: marshal CA key: %w", err)
	}
	return &CA{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  seal.Secret(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})),
	}, nil
}

func randSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("clustertls: serial: %w", err)
	}
	return n, nil
}

// Issue creates a certificate for nodeID signed by the CA, valid for both
// ends of a cluster connection.
func (ca *CA) Issue(nodeID string) (*Material, error) {
	caCert, err := parseCert(ca.CertPEM)
	if err != nil {
		return nil, err
	}
	caKey, err := parseKey(ca.KeyPEM)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("clustertls: generate node key: %w", err)
	}
	serial, err := randSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: nodeID},
		DNSNames:     []string{ServerName},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(nodeValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("clustertls: issue node certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("clustertls: marshal node key: %w", err)
	}
	return &Material{
		CACertPEM:   append([]byte(nil), ca.CertPEM...),
		NodeCertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		NodeKeyPEM:  seal.Secret(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})),
	}, nil
}

func parseCert(p []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(p)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: no PEM certificate", ErrBadMaterial)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadMaterial, err)
	}
	return c, nil
}

func parseKey(p []byte) (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(p)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%w: no PEM private key", ErrBadMaterial)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: private key: %v", ErrBadMaterial, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: private key is not ECDSA", ErrBadMaterial)
	}
	return ek, nil
}

// wire forms: seal.Secret refuses to marshal itself, so the encoders copy
// the key into a plain []byte field explicitly. The results are secrets:
// callers store them behind the barrier only.
type caWire struct {
	Cert []byte `json:"cert"`
	Key  []byte `json:"key"`
}

type materialWire struct {
	CA   []byte `json:"ca_cert"`
	Cert []byte `json:"cert"`
	Key  []byte `json:"key"`
}

// Encode serialises the CA (key included) for storage behind the barrier.
func (ca *CA) Encode() (seal.Secret, error) {
	b, err := json.Marshal(caWire{Cert: ca.CertPEM, Key: ca.KeyPEM})
	return seal.Secret(b), err
}

// DecodeCA parses Encode's output and checks that certificate and key match.
func DecodeCA(b []byte) (*CA, error) {
	var w caWire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadMaterial, err)
	}
	ca := &CA{CertPEM: w.Cert, KeyPEM: seal.Secret(w.Key)}
	if _, err := tls.X509KeyPair(ca.CertPEM, ca.KeyPEM); err != nil {
		return nil, fmt.Errorf("%w: CA: %v", ErrBadMaterial, err)
	}
	c, _ := parseCert(ca.CertPEM)
	if c == nil || !c.IsCA {
		return nil, fmt.Errorf("%w: not a CA certificate", ErrBadMaterial)
	}
	return ca, nil
}

// Encode serialises the material (key included) for the join hand-off,
// which the caller encrypts under the barrier.
func (m *Material) Encode() (seal.Secret, error) {
	b, err := json.Marshal(materialWire{CA: m.CACertPEM, Cert: m.NodeCertPEM, Key: m.NodeKeyPEM})
	return seal.Secret(b), err
}

// DecodeMaterial parses Encode's output and validates it (see Compile).
func DecodeMaterial(b []byte) (*Material, error) {
	var w materialWire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadMaterial, err)
	}
	m := &Material{CACertPEM: w.CA, NodeCertPEM: w.Cert, NodeKeyPEM: seal.Secret(w.Key)}
	if _, err := m.Compile(); err != nil {
		return nil, err
	}
	return m, nil
}

// Compiled is Material in the form crypto/tls wants.
type Compiled struct {
	Cert tls.Certificate
	Pool *x509.CertPool
}

// Compile parses the material and checks that the node certificate chains
// to the CA.
func (m *Material) Compile() (*Compiled, error) {
	cert, err := tls.X509KeyPair(m.NodeCertPEM, m.NodeKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: node certificate: %v", ErrBadMaterial, err)
	}
	caCert, err := parseCert(m.CACertPEM)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadMaterial, err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: pool, DNSName: ServerName,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return nil, fmt.Errorf("%w: node certificate does not chain to the CA: %v", ErrBadMaterial, err)
	}
	cert.Leaf = leaf
	return &Compiled{Cert: cert, Pool: pool}, nil
}
