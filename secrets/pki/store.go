package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// Storage layout of a PKI mount (its view, behind the barrier), after
// Vault's:
//
//	config/key/<id>      a private key (PEM) and its name and type
//	config/issuer/<id>   an issuer: certificate, chain, key ID, settings
//	config/issuers       the default issuer
//	config/keys          the default key
//	config/urls          AIA URLs
//	config/crl           CRL and OCSP settings
//	role/<name>          roles
//	certs/<serial>       issued certificates (serial as aa-bb-..)
//	revoked/<serial>     revocation records
//	crls/<issuer id>     the issuer's current CRL (DER) and number
const (
	keyPrefix     = "config/key/"
	issuerPrefix  = "config/issuer/"
	issuersConfig = "config/issuers"
	keysConfig    = "config/keys"
	urlsConfig    = "config/urls"
	crlConfigKey  = "config/crl"
	rolePrefix    = "role/"
	certPrefix    = "certs/"
	revokedPrefix = "revoked/"
	crlPrefix     = "crls/"
)

func getJSON(ctx context.Context, s storage.Backend, key string, v any) (bool, error) {
	e, err := s.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return false, fmt.Errorf("pki: corrupt entry %q: %w", key, err)
	}
	return true, nil
}

func putJSON(ctx context.Context, s storage.Backend, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.Put(ctx, &storage.Entry{Key: key, Value: b})
}

func deleteKey(ctx context.Context, s storage.Backend, key string) error {
	err := s.Delete(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

// keyEntry is a stored private key. PEM is key material: it lives only
// behind the barrier and is never returned except at generation time
// with type=exported.
type keyEntry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	Bits int    `json:"bits"`
	PEM  string `json:"private_key"`
}

func (k *keyEntry) signer() (crypto.Signer, error) {
	b, _ := pem.Decode([]byte(k.PEM))
	if b == nil {
		return nil, fmt.Errorf("pki: key %s: corrupt", k.ID)
	}
	return parsePrivateKeyBlock(b)
}

// issuerEntry is a CA certificate this mount can use.
type issuerEntry struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	KeyID       string   `json:"key_id"`
	Certificate string   `json:"certificate"` // PEM
	CAChain     []string `json:"ca_chain"`    // PEM, starting with Certificate
	ManualChain []string `json:"manual_chain"`
	// LeafNotAfterBehavior: "err" (default), "truncate" or "permit".
	LeafNotAfterBehavior string   `json:"leaf_not_after_behavior"`
	Usage                []string `json:"usage"`
	IssuingCertificates  []string `json:"issuing_certificates"`
	CRLDistribution      []string `json:"crl_distribution_points"`
	OCSPServers          []string `json:"ocsp_servers"`
	SerialNumber         string   `json:"serial_number"`
	Revoked              bool     `json:"revoked"`
	RevocationTime       int64    `json:"revocation_time"`
}

var allUsages = []string{"read-only", "issuing-certificates", "crl-signing", "ocsp-signing"}

func (i *issuerEntry) hasUsage(u string) bool {
	for _, x := range i.Usage {
		if x == u {
			return true
		}
	}
	return false
}

func (i *issuerEntry) cert() (*x509.Certificate, error) {
	return parseCertPEM(i.Certificate)
}

func parseCertPEM(s string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("pki: not a PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

func certPEM(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// issuersConf is config/issuers.
type issuersConf struct {
	Default                    string `json:"default"`
	DefaultFollowsLatestIssuer bool   `json:"default_follows_latest_issuer"`
}

// keysConf is config/keys.
type keysConf struct {
	Default string `json:"default"`
}

// certEntry is an issued certificate.
type certEntry struct {
	DER      []byte `json:"der"`
	IssuerID string `json:"issuer_id"`
}

// revokedEntry records a revocation.
type revokedEntry struct {
	Serial         string `json:"serial_number"`
	DER            []byte `json:"certificate"`
	RevocationTime int64  `json:"revocation_time"`
	IssuerID       string `json:"issuer_id"`
}

// crlEntry is an issuer's current CRL.
type crlEntry struct {
	DER        []byte    `json:"der"`
	Number     int64     `json:"number"`
	NextUpdate time.Time `json:"next_update"`
}

// serialColon formats a serial as Vault shows it: lower-case hex bytes
// joined by colons.
func serialColon(n *big.Int) string {
	b := n.Bytes()
	if len(b) == 0 {
		b = []byte{0}
	}
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = hex.EncodeToString([]byte{x})
	}
	return strings.Join(parts, ":")
}

// normalizeSerial turns "AA:BB", "aa-bb" or "aabb" into the storage form
// "aa-bb"; ok is false for anything that is not a hex serial.
func normalizeSerial(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.ReplaceAll(s, ":", "")
	s = strings.ReplaceAll(s, "-", "")
	if s == "" || len(s) > 80 {
		return "", false
	}
	if len(s)%2 == 1 {
		s = "0" + s
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", false
	}
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = hex.EncodeToString([]byte{x})
	}
	return strings.Join(parts, "-"), true
}

func storageSerial(n *big.Int) string { return strings.ReplaceAll(serialColon(n), ":", "-") }

// invalidf is a 400 with Vault's message.
func invalidf(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

// notFound is Vault's bare 404 ({"errors":[]}).
func notFound() error { return &secrets.Error{Kind: secrets.ErrNotFound} }
