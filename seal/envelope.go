package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
)

// Sizes of the ciphertext format (see the package doc).
const (
	keySize    = 32 // AES-256
	termSize   = 4
	headerSize = termSize + 1 // term | version
	nonceSize  = 12
	tagSize    = 16
	minSealed  = headerSize + nonceSize + tagSize

	// versionPathAAD is the only version: AES-256-GCM, random 96-bit
	// nonce, the storage path as additional data.
	versionPathAAD byte = 0x02

	// envelopeTerm is the term field of the root-key and keyring
	// envelopes, which are not encrypted by a keyring term.
	envelopeTerm uint32 = 0
)

// The barrier's own physical keys.
const (
	sealConfigPath    = "core/seal-config"
	sealedRootKeyPath = "core/sealed-root-key"
	keyringPath       = "core/keyring"
	// wrappedKeyPath holds the unseal key wrapped by an auto seal.
	wrappedKeyPath = "core/wrapped-unseal-key"
	// recoveryCheckPath holds an envelope under the recovery key (auto
	// seals only): opening it authenticates a recovery key.
	recoveryCheckPath = "core/recovery-key-check"
)

// reserved reports whether key is one of the barrier's own physical keys.
func reserved(key string) bool {
	return key == sealConfigPath || key == sealedRootKeyPath || key == keyringPath ||
		key == wrappedKeyPath || key == recoveryCheckPath
}

// newAEAD returns AES-256-GCM with random nonces for a 32-byte key: Seal
// prepends a fresh nonce and Open reads it back.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("seal: key is %d bytes, want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: aes: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("seal: gcm: %w", err)
	}
	return aead, nil
}

// encryptWith seals plaintext in the barrier format under aead, binding it
// to path.
func encryptWith(aead cipher.AEAD, term uint32, path string, plaintext []byte) []byte {
	out := make([]byte, headerSize, headerSize+len(plaintext)+aead.Overhead())
	binary.BigEndian.PutUint32(out, term)
	out[termSize] = versionPathAAD
	return aead.Seal(out, nil, plaintext, []byte(path))
}

// parseEnvelope checks the length and version of a barrier ciphertext and
// returns its term and the nonce‖ciphertext‖tag body.
func parseEnvelope(ct []byte) (term uint32, body []byte, err error) {
	if len(ct) < minSealed {
		return 0, nil, fmt.Errorf("%w: %d bytes is too short", ErrBadCiphertext, len(ct))
	}
	if v := ct[termSize]; v != versionPathAAD {
		return 0, nil, fmt.Errorf("%w: unknown version %#02x", ErrBadCiphertext, v)
	}
	return binary.BigEndian.Uint32(ct), ct[headerSize:], nil
}

// encryptEnvelope seals plaintext with a one-off key (the unseal key or the
// root key) for path, with term 0.
func encryptEnvelope(key []byte, path string, plaintext []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return encryptWith(aead, envelopeTerm, path, plaintext), nil
}

// openEnvelope opens a term-0 envelope made by encryptEnvelope. It returns
// ErrBadCiphertext when ct is malformed and errAuth when ct is well formed
// but key does not authenticate it.
func openEnvelope(key []byte, path string, ct []byte) (Secret, error) {
	term, body, err := parseEnvelope(ct)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if term != envelopeTerm {
		return nil, fmt.Errorf("%s: %w: term %d, want %d", path, ErrBadCiphertext, term, envelopeTerm)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nil, body, []byte(path))
	if err != nil {
		return nil, errAuth
	}
	return pt, nil
}

// errAuth is openEnvelope's authentication failure; callers translate it
// (to ErrInvalidKey for the sealed root key, to ErrBadCiphertext for the
// keyring). It never leaves the package.
var errAuth = fmt.Errorf("%w: message authentication failed", ErrBadCiphertext)

// randomKey returns 32 fresh random bytes.
func randomKey() (Secret, error) {
	k := make(Secret, keySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("seal: reading randomness: %w", err)
	}
	return k, nil
}
