package transit

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"

	// Register the hash functions hashAlgorithms names.
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha3"
	_ "crypto/sha512"

	"golang.org/x/crypto/chacha20poly1305"
)

// hashAlgorithms are Vault's hash algorithm names.
var hashAlgorithms = map[string]crypto.Hash{
	"sha1":     crypto.SHA1,
	"sha2-224": crypto.SHA224,
	"sha2-256": crypto.SHA256,
	"sha2-384": crypto.SHA384,
	"sha2-512": crypto.SHA512,
	"sha3-224": crypto.SHA3_224,
	"sha3-256": crypto.SHA3_256,
	"sha3-384": crypto.SHA3_384,
	"sha3-512": crypto.SHA3_512,
}

// aeadFor builds the AEAD of an encryption key version.
func aeadFor(spec *keySpec, key []byte) (cipher.AEAD, error) {
	if spec.name == "chacha20-poly1305" {
		a, err := chacha20poly1305.New(key)
		if err != nil {
			return nil, fmt.Errorf("transit: chacha20-poly1305: %w", err)
		}
		return a, nil
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("transit: aes: %w", err)
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("transit: gcm: %w", err)
	}
	return a, nil
}

// seal encrypts plaintext: nonce || ciphertext || tag.
func seal(spec *keySpec, key, plaintext, aad []byte, rnd io.Reader) ([]byte, error) {
	a, err := aeadFor(spec, key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, a.NonceSize(), a.NonceSize()+len(plaintext)+a.Overhead())
	if _, err := io.ReadFull(rnd, out); err != nil {
		return nil, fmt.Errorf("transit: nonce: %w", err)
	}
	return a.Seal(out, out, plaintext, aad), nil
}

// open decrypts what seal produced. Authentication failures are 400s with
// the cipher's message, as Vault answers.
func open(spec *keySpec, key, payload, aad []byte) ([]byte, error) {
	a, err := aeadFor(spec, key)
	if err != nil {
		return nil, err
	}
	if len(payload) < a.NonceSize()+a.Overhead() {
		return nil, invalidf("invalid ciphertext length")
	}
	nonce, ct := payload[:a.NonceSize()], payload[a.NonceSize():]
	plain, err := a.Open(nil, nonce, ct, aad)
	if err != nil {
		return nil, invalidf("cipher: message authentication failed")
	}
	return plain, nil
}

// signOpts are a sign or verify request's algorithm choices.
type signOpts struct {
	hash      crypto.Hash
	prehashed bool
	jws       bool // marshaling_algorithm=jws (ECDSA): r||s, base64url
	pss       bool // RSA: signature_algorithm=pss (default) or pkcs1v15
	salt      int  // RSA PSS salt length (rsa.PSSSaltLength* or bytes)
}

// digest hashes input for ECDSA unless it is prehashed.
func (o signOpts) digest(input []byte) []byte {
	if o.prehashed || o.hash == 0 { // hash_algorithm=none (RSA PKCS #1 v1.5)
		return input
	}
	h := o.hash.New()
	h.Write(input)
	return h.Sum(nil)
}

// sign signs input with a signing key version.
func sign(spec *keySpec, kv *keyVersion, input []byte, o signOpts) ([]byte, error) {
	switch k := kv.signer.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(k, input), nil
	case *rsa.PrivateKey:
		return rsaSign(rand.Reader, k, input, o)
	case *ecdsa.PrivateKey:
		der, err := ecdsa.SignASN1(rand.Reader, k, o.digest(input))
		if err != nil {
			return nil, fmt.Errorf("transit: ecdsa sign: %w", err)
		}
		if !o.jws {
			return der, nil
		}
		var sig struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &sig); err != nil {
			return nil, fmt.Errorf("transit: ecdsa sign: %w", err)
		}
		size := (spec.curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		sig.R.FillBytes(out[:size])
		sig.S.FillBytes(out[size:])
		return out, nil
	default:
		return nil, fmt.Errorf("%w: key %q has no signer", ErrCorrupt, spec.name)
	}
}

// verifySig checks a signature made by sign.
func verifySig(spec *keySpec, kv *keyVersion, input, sig []byte, o signOpts) bool {
	switch k := kv.signer.Public().(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(k, input, sig)
	case *rsa.PublicKey:
		return rsaVerify(k, input, sig, o)
	case *ecdsa.PublicKey:
		if !o.jws {
			return ecdsa.VerifyASN1(k, o.digest(input), sig)
		}
		size := (spec.curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(k, o.digest(input), r, s)
	default:
		return false
	}
}
