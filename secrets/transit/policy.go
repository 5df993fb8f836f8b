package transit

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/vaultd/vaultd/storage"
)

// keySpec describes one key type.
type keySpec struct {
	name   string
	keyLen int            // AEAD key length; 0 for asymmetric types
	curve  elliptic.Curve // ECDSA types
	ed     bool           // ed25519
	rsa    int            // RSA modulus bits (rsa-2048, rsa-3072, rsa-4096)
}

func (s *keySpec) aead() bool       { return s.keyLen > 0 }
func (s *keySpec) signing() bool    { return !s.aead() }
func (s *keySpec) derivation() bool { return s.aead() || s.ed }

// encrypts: AEAD keys and RSA keys (OAEP) encrypt and decrypt.
func (s *keySpec) encrypts() bool    { return s.aead() || s.rsa > 0 }
func (s *keySpec) curveName() string { return s.curve.Params().Name }

// keyTypes are the supported key types by Vault name.
var keyTypes = map[string]*keySpec{
	"aes128-gcm96":      {name: "aes128-gcm96", keyLen: 16},
	"aes256-gcm96":      {name: "aes256-gcm96", keyLen: 32},
	"chacha20-poly1305": {name: "chacha20-poly1305", keyLen: 32},
	"ed25519":           {name: "ed25519", ed: true},
	"ecdsa-p256":        {name: "ecdsa-p256", curve: elliptic.P256()},
	"ecdsa-p384":        {name: "ecdsa-p384", curve: elliptic.P384()},
	"ecdsa-p521":        {name: "ecdsa-p521", curve: elliptic.P521()},
	"rsa-2048":          {name: "rsa-2048", rsa: 2048},
	"rsa-3072":          {name: "rsa-3072", rsa: 3072},
	"rsa-4096":          {name: "rsa-4096", rsa: 4096},
}

// defaultKeyType is what keys/:name and encrypt/:name create.
const defaultKeyType = "aes256-gcm96"

// hmacKeyLen is the size of each version's HMAC key.
const hmacKeyLen = 32

// keyVersion is one version of a key's material.
type keyVersion struct {
	// Key is the AEAD key, or the PKCS #8 DER private key.
	Key secretBytes `json:"key"`
	// HMACKey is this version's independent HMAC key.
	HMACKey      secretBytes `json:"hmac_key"`
	CreationTime time.Time   `json:"creation_time"`

	signer crypto.Signer // parsed Key for the asymmetric types
}

// policy is a named key with all its versions, as stored at policy/<name>.
type policy struct {
	Name                 string              `json:"name"`
	Type                 string              `json:"type"`
	Versions             map[int]*keyVersion `json:"versions"`
	LatestVersion        int                 `json:"latest_version"`
	MinDecryptionVersion int                 `json:"min_decryption_version"`
	MinEncryptionVersion int                 `json:"min_encryption_version"`
	// MinAvailableVersion: versions below it were trimmed (deleted).
	MinAvailableVersion  int           `json:"min_available_version"`
	DeletionAllowed      bool          `json:"deletion_allowed"`
	Exportable           bool          `json:"exportable"`
	AllowPlaintextBackup bool          `json:"allow_plaintext_backup"`
	AutoRotatePeriod     time.Duration `json:"auto_rotate_period"`

	spec *keySpec
}

const policyPrefix = "policy/"

func policyKey(name string) string { return policyPrefix + name }

// loadPolicy reads and parses a private copy of a key, for the paths that
// change it (under the key's lock); (nil, nil) when absent. The caller
// zeroes it. Paths that only use a key go through engine.readKey.
func loadPolicy(ctx context.Context, s storage.Backend, name string) (*policy, error) {
	ent, err := s.Get(ctx, policyKey(name))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("transit: load key: %w", err)
	}
	return decodePolicy(ent.Value)
}

// decodePolicy parses a stored record into a private copy and clears the
// record's bytes; the caller zeroes the result.
func decodePolicy(raw []byte) (*policy, error) {
	var p policy
	err := json.Unmarshal(raw, &p)
	clear(raw)
	if err != nil {
		p.zero()
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := p.init(); err != nil {
		p.zero()
		return nil, err
	}
	return &p, nil
}

// init validates a decoded policy and parses its private keys.
func (p *policy) init() error {
	spec, ok := keyTypes[p.Type]
	if !ok || p.LatestVersion < 1 || p.MinDecryptionVersion < 1 {
		return fmt.Errorf("%w: key %q", ErrCorrupt, p.Name)
	}
	p.spec = spec
	for v, kv := range p.Versions {
		if kv == nil || v < 1 || v > p.LatestVersion {
			return fmt.Errorf("%w: key %q version %d", ErrCorrupt, p.Name, v)
		}
		if spec.signing() {
			k, err := x509.ParsePKCS8PrivateKey(kv.Key)
			if err != nil {
				return fmt.Errorf("%w: key %q version %d", ErrCorrupt, p.Name, v)
			}
			signer, ok := k.(crypto.Signer)
			if !ok {
				return fmt.Errorf("%w: key %q version %d", ErrCorrupt, p.Name, v)
			}
			kv.signer = signer
		} else if len(kv.Key) != spec.keyLen {
			return fmt.Errorf("%w: key %q version %d", ErrCorrupt, p.Name, v)
		}
	}
	return nil
}

// save writes the policy.
func (p *policy) save(ctx context.Context, s storage.Backend) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("transit: encode key: %w", err)
	}
	defer clear(b)
	if err := s.Put(ctx, &storage.Entry{Key: policyKey(p.Name), Value: b}); err != nil {
		return fmt.Errorf("transit: save key: %w", err)
	}
	return nil
}

// zero overwrites all key material held in memory.
func (p *policy) zero() {
	if p == nil {
		return
	}
	for _, kv := range p.Versions {
		kv.Key.zero()
		kv.HMACKey.zero()
		kv.signer = nil
	}
}

// newPolicy makes a key with one fresh version.
func newPolicy(name string, spec *keySpec, now time.Time, rnd io.Reader) (*policy, error) {
	p := &policy{
		Name: name, Type: spec.name, spec: spec,
		Versions: map[int]*keyVersion{}, MinDecryptionVersion: 1,
	}
	if err := p.rotate(now, rnd); err != nil {
		return nil, err
	}
	return p, nil
}

// rotate adds a new latest version.
func (p *policy) rotate(now time.Time, rnd io.Reader) error {
	kv := &keyVersion{CreationTime: now.UTC()}
	kv.HMACKey = make(secretBytes, hmacKeyLen)
	if _, err := io.ReadFull(rnd, kv.HMACKey); err != nil {
		return fmt.Errorf("transit: generate key: %w", err)
	}
	switch {
	case p.spec.aead():
		kv.Key = make(secretBytes, p.spec.keyLen)
		if _, err := io.ReadFull(rnd, kv.Key); err != nil {
			return fmt.Errorf("transit: generate key: %w", err)
		}
	default:
		var priv crypto.Signer
		var err error
		switch {
		case p.spec.ed:
			_, priv, err = ed25519.GenerateKey(rnd)
		case p.spec.rsa > 0:
			priv, err = rsa.GenerateKey(rnd, p.spec.rsa)
		default:
			priv, err = ecdsa.GenerateKey(p.spec.curve, rnd)
		}
		if err != nil {
			return fmt.Errorf("transit: generate key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return fmt.Errorf("transit: encode key: %w", err)
		}
		kv.Key, kv.signer = der, priv
	}
	p.LatestVersion++
	p.Versions[p.LatestVersion] = kv
	return nil
}

// rotationDue reports whether auto-rotation applies at now.
func (p *policy) rotationDue(now time.Time) bool {
	if p.AutoRotatePeriod <= 0 {
		return false
	}
	latest := p.Versions[p.LatestVersion]
	return latest != nil && !now.Before(latest.CreationTime.Add(p.AutoRotatePeriod))
}

// errTooOld is Vault's ErrTooOld.
const errTooOld = "ciphertext or signature version is disallowed by policy (too old)"

// decryptionVersion returns the material for a version found in a
// ciphertext, signature or HMAC.
func (p *policy) decryptionVersion(what string, ver int) (*keyVersion, error) {
	if ver == 0 {
		ver = 1 // Vault's compatibility with keys that once started at 0
	}
	if ver > p.LatestVersion {
		return nil, invalidf("invalid %s: version is too new", what)
	}
	if ver < p.MinDecryptionVersion {
		return nil, invalidf(errTooOld)
	}
	kv := p.Versions[ver]
	if kv == nil {
		return nil, invalidf(errTooOld)
	}
	return kv, nil
}

// encryptionVersion resolves a requested key_version (0: latest) for
// encrypting, signing or HMACing.
func (p *policy) encryptionVersion(ver int) (int, *keyVersion, error) {
	switch {
	case ver == 0:
		ver = p.LatestVersion
	case ver < 0:
		return 0, nil, invalidf("requested version for encryption must be positive")
	case ver > p.LatestVersion:
		return 0, nil, invalidf("requested version for encryption is higher than the latest key version")
	case p.MinEncryptionVersion > 0 && ver < p.MinEncryptionVersion:
		return 0, nil, invalidf("requested version for encryption is less than the minimum encryption key version")
	case ver < p.MinDecryptionVersion:
		return 0, nil, invalidf("requested version for encryption is less than the minimum decryption key version")
	}
	kv := p.Versions[ver]
	if kv == nil {
		return 0, nil, invalidf("requested version for encryption does not exist")
	}
	return ver, kv, nil
}

// versionKey is the JSON map key of a version.
func versionKey(v int) string { return strconv.Itoa(v) }
