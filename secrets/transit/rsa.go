package transit

import (
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"strconv"
	"strings"
)

// RSA keys (rsa-2048, rsa-3072, rsa-4096) encrypt with OAEP (SHA-256, no
// label; Vault's default) or, with padding_scheme=pkcs1v15, PKCS #1 v1.5,
// and sign with PSS (default) or PKCS #1 v1.5.

// paddingScheme reads an item's padding_scheme: "oaep" (default) or
// "pkcs1v15".
func paddingScheme(item map[string]any) (string, error) {
	s, _, err := stringField(item, "padding_scheme")
	if err != nil {
		return "", err
	}
	switch s {
	case "", "oaep":
		return "oaep", nil
	case "pkcs1v15":
		return s, nil
	}
	return "", invalidf("unsupported padding_scheme %q: must be oaep or pkcs1v15", s)
}

func rsaPrivate(kv *keyVersion) (*rsa.PrivateKey, error) {
	k, ok := kv.signer.(*rsa.PrivateKey)
	if !ok {
		return nil, ErrCorrupt
	}
	return k, nil
}

func rsaEncrypt(kv *keyVersion, item map[string]any, plain, aad []byte, rnd io.Reader) ([]byte, error) {
	if len(aad) > 0 {
		return nil, invalidf("associated_data is not supported for RSA keys")
	}
	scheme, err := paddingScheme(item)
	if err != nil {
		return nil, err
	}
	k, err := rsaPrivate(kv)
	if err != nil {
		return nil, err
	}
	var ct []byte
	if scheme == "pkcs1v15" {
		ct, err = rsa.EncryptPKCS1v15(rnd, &k.PublicKey, plain)
	} else {
		ct, err = rsa.EncryptOAEP(sha256.New(), rnd, &k.PublicKey, plain, nil)
	}
	if err != nil {
		return nil, invalidf("failed to RSA encrypt the plaintext: %v", err)
	}
	return ct, nil
}

func rsaDecrypt(kv *keyVersion, item map[string]any, ct, aad []byte) ([]byte, error) {
	if len(aad) > 0 {
		return nil, invalidf("associated_data is not supported for RSA keys")
	}
	scheme, err := paddingScheme(item)
	if err != nil {
		return nil, err
	}
	k, err := rsaPrivate(kv)
	if err != nil {
		return nil, err
	}
	var plain []byte
	if scheme == "pkcs1v15" {
		plain, err = rsa.DecryptPKCS1v15(nil, k, ct)
	} else {
		plain, err = rsa.DecryptOAEP(sha256.New(), nil, k, ct, nil)
	}
	if err != nil {
		return nil, invalidf("failed to RSA decrypt the ciphertext: %v", err)
	}
	return plain, nil
}

// rsaSignOpts reads signature_algorithm and salt_length.
func rsaSignOpts(data map[string]any, o *signOpts) error {
	alg, _, err := stringField(data, "signature_algorithm")
	if err != nil {
		return err
	}
	switch alg {
	case "", "pss":
		o.pss = true
	case "pkcs1v15":
	default:
		return invalidf("unsupported rsa signature algorithm %s", alg)
	}
	salt, _, err := stringField(data, "salt_length")
	if err != nil {
		return err
	}
	switch s := strings.TrimSpace(salt); s {
	case "", "auto":
		o.salt = rsa.PSSSaltLengthAuto
	case "hash":
		o.salt = rsa.PSSSaltLengthEqualsHash
	default:
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return invalidf("salt length must be \"auto\", \"hash\" or a non-negative integer")
		}
		o.salt = n
	}
	if o.hash == 0 && o.pss {
		return invalidf("hash_algorithm none requires signature_algorithm pkcs1v15")
	}
	return nil
}

func rsaSign(rnd io.Reader, k *rsa.PrivateKey, input []byte, o signOpts) ([]byte, error) {
	digest := o.digest(input)
	if o.pss {
		sig, err := rsa.SignPSS(rnd, k, o.hash, digest, &rsa.PSSOptions{SaltLength: o.salt, Hash: o.hash})
		if err != nil {
			return nil, invalidf("failed to sign: %v", err)
		}
		return sig, nil
	}
	sig, err := rsa.SignPKCS1v15(rnd, k, o.hash, digest)
	if err != nil {
		return nil, invalidf("failed to sign: %v", err)
	}
	return sig, nil
}

func rsaVerify(k *rsa.PublicKey, input, sig []byte, o signOpts) bool {
	digest := o.digest(input)
	if o.pss {
		// With "auto" (PSSSaltLengthAuto) verification detects the salt length.
		return rsa.VerifyPSS(k, o.hash, digest, sig, &rsa.PSSOptions{SaltLength: o.salt, Hash: o.hash}) == nil
	}
	return rsa.VerifyPKCS1v15(k, o.hash, digest, sig) == nil
}
