package pgp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Errors returned by this package.
var (
	// ErrBadKey: the data is not a usable OpenPGP public key.
	ErrBadKey = errors.New("pgp: not a usable OpenPGP public key")
	// ErrKeybase: keybase:<user> keys need the network; vaultd refuses them.
	ErrKeybase = errors.New("pgp: keybase: keys are not supported; export the key to a file and pass its path")
	// ErrDecrypt: the message could not be decrypted with the given keys.
	ErrDecrypt = errors.New("pgp: cannot decrypt")
)

// maxKeyFile bounds a key file read by ReadKeyFile.
const maxKeyFile = 1 << 20

// config is what vaultd encrypts with: AES-256, SHA-256, no compression.
func config() *packet.Config {
	return &packet.Config{DefaultCipher: packet.CipherAES256, DefaultHash: 0}
}

// ParsePublicKey decodes a public key in Vault's wire form: base64 of the
// binary (non-armored) key.
func ParsePublicKey(b64 string) (*openpgp.Entity, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("%w: the key is not base64: %v", ErrBadKey, err)
	}
	el, err := openpgp.ReadKeyRing(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("%w: want exactly one key, got %d", ErrBadKey, len(el))
	}
	if _, ok := el[0].EncryptionKey(time.Now()); !ok {
		return nil, fmt.Errorf("%w: it has no valid encryption key (expired or revoked?)", ErrBadKey)
	}
	return el[0], nil
}

// Encrypt encrypts plain to the public key b64 (base64 of the binary key)
// and returns the binary OpenPGP message. Its signature is that of
// core.ShareEncrypter.
func Encrypt(plain []byte, b64 string) ([]byte, error) {
	e, err := ParsePublicKey(b64)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	w, err := openpgp.Encrypt(&out, []*openpgp.Entity{e}, nil, &openpgp.FileHints{IsBinary: true}, config())
	if err != nil {
		return nil, fmt.Errorf("pgp: encrypt: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("pgp: encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("pgp: encrypt: %w", err)
	}
	return out.Bytes(), nil
}

// Fingerprint returns the lowercase hex fingerprint of the primary key of
// b64, as Vault reports pgp_fingerprints.
func Fingerprint(b64 string) (string, error) {
	e, err := ParsePublicKey(b64)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(e.PrimaryKey.Fingerprint), nil
}

// ReadKeyFile reads a public key file as Vault's CLI does and returns it in
// wire form (base64 of the binary key). The file may hold an ASCII-armored
// key, a binary key, or the base64 of a binary key. A leading '@' is
// ignored. "keybase:user" is refused with ErrKeybase.
func ReadKeyFile(path string) (string, error) {
	path = strings.TrimPrefix(strings.TrimSpace(path), "@")
	if strings.HasPrefix(path, "keybase:") {
		return "", ErrKeybase
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("pgp: reading key file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return "", fmt.Errorf("pgp: reading key file %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return "", fmt.Errorf("%w: %s is larger than %d bytes", ErrBadKey, path, maxKeyFile)
	}
	b64, err := PublicKeyFromBytes(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return b64, nil
}

// PublicKeyFromBytes turns the contents of a key file (armored, binary or
// base64) into wire form, checking that it holds exactly one usable key.
func PublicKeyFromBytes(data []byte) (string, error) {
	var b64 string
	if el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data)); err == nil {
		if len(el) != 1 {
			return "", fmt.Errorf("%w: want exactly one key, got %d", ErrBadKey, len(el))
		}
		var buf bytes.Buffer
		if err := el[0].Serialize(&buf); err != nil {
			return "", fmt.Errorf("%w: %v", ErrBadKey, err)
		}
		b64 = base64.StdEncoding.EncodeToString(buf.Bytes())
	} else if t := strings.TrimSpace(string(data)); isBase64(t) {
		b64 = t
	} else {
		b64 = base64.StdEncoding.EncodeToString(data)
	}
	if _, err := ParsePublicKey(b64); err != nil {
		return "", err
	}
	return b64, nil
}

func isBase64(s string) bool {
	if s == "" {
		return false
	}
	_, err := base64.StdEncoding.DecodeString(s)
	return err == nil
}

// ReadPrivateKeys parses a private keyring (armored or binary). Encrypted
// private keys are unlocked with passphrase (which may be nil when they are
// not protected).
func ReadPrivateKeys(data, passphrase []byte) (openpgp.EntityList, error) {
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		el, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("pgp: reading private key: %w", err)
	}
	found := false
	for _, e := range el {
		if e.PrivateKey == nil {
			continue
		}
		found = true
		if e.PrivateKey.Encrypted || anySubkeyEncrypted(e) {
			if len(passphrase) == 0 {
				return nil, fmt.Errorf("%w: the private key is protected by a passphrase", ErrDecrypt)
			}
			if err := e.DecryptPrivateKeys(passphrase); err != nil {
				return nil, fmt.Errorf("%w: wrong passphrase", ErrDecrypt)
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: the file holds no private key", ErrDecrypt)
	}
	return el, nil
}

func anySubkeyEncrypted(e *openpgp.Entity) bool {
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil && s.PrivateKey.Encrypted {
			return true
		}
	}
	return false
}

// Decrypt decrypts a binary OpenPGP message with keys. The caller zeroes
// the result.
func Decrypt(ciphertext []byte, keys openpgp.EntityList) ([]byte, error) {
	md, err := openpgp.ReadMessage(bytes.NewReader(ciphertext), keys, nil, config())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	out, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		clear(out)
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	return out, nil
}

// DecryptShare decrypts one share as `operator init` printed it (base64 of
// the OpenPGP message) and returns the share in the form Vault encrypts it:
// its hex string. The caller zeroes the result.
func DecryptShare(b64 string, keys openpgp.EntityList) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("%w: the encrypted share is not base64: %v", ErrDecrypt, err)
	}
	return Decrypt(ct, keys)
}

// KeyPair is a generated key pair, both halves ASCII-armored.
type KeyPair struct {
	Public  []byte
	Private []byte
}

// Generate makes an Ed25519/Curve25519 key pair for name <email>. vaultd
// uses it in tests and demos; operators normally bring their own keys.
func Generate(name, email string) (KeyPair, error) {
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519, DefaultCipher: packet.CipherAES256}
	e, err := openpgp.NewEntity(name, "", email, cfg)
	if err != nil {
		return KeyPair{}, fmt.Errorf("pgp: generate: %w", err)
	}
	var pub, priv bytes.Buffer
	if err := armorTo(&pub, openpgp.PublicKeyType, e.Serialize); err != nil {
		return KeyPair{}, err
	}
	if err := armorTo(&priv, openpgp.PrivateKeyType, func(w io.Writer) error { return e.SerializePrivate(w, cfg) }); err != nil {
		return KeyPair{}, err
	}
	return KeyPair{Public: pub.Bytes(), Private: priv.Bytes()}, nil
}

func armorTo(w io.Writer, blockType string, write func(io.Writer) error) error {
	aw, err := armor.Encode(w, blockType, nil)
	if err != nil {
		return fmt.Errorf("pgp: armor: %w", err)
	}
	if err := write(aw); err != nil {
		return fmt.Errorf("pgp: serialize: %w", err)
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("pgp: armor: %w", err)
	}
	_, err = io.WriteString(w, "\n")
	return err
}
