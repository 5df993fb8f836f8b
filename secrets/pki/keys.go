package pki

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"github.com/vaultd/vaultd/secrets"
)

// Key types, as Vault names them.
const (
	keyRSA     = "rsa"
	keyEC      = "ec"
	keyEd25519 = "ed25519"
	keyAny     = "any" // roles only: sign/:role accepts any CSR key type
)

// normalizeKeyParams checks a key_type/key_bits pair and fills in the
// default size (rsa 2048, ec 256), as Vault does.
func normalizeKeyParams(typ string, bits int) (string, int, error) {
	switch typ {
	case keyRSA:
		switch bits {
		case 0:
			return typ, 2048, nil
		case 2048, 3072, 4096, 8192:
			return typ, bits, nil
		}
		return "", 0, invalidf("unsupported bit length for RSA key: %d", bits)
	case keyEC:
		switch bits {
		case 0:
			return typ, 256, nil
		case 224, 256, 384, 521:
			return typ, bits, nil
		}
		return "", 0, invalidf("unsupported bit length for EC key: %d", bits)
	case keyEd25519:
		return typ, 0, nil
	}
	return "", 0, invalidf("unknown key type %q", typ)
}

func curveFor(bits int) elliptic.Curve {
	switch bits {
	case 224:
		return elliptic.P224()
	case 384:
		return elliptic.P384()
	case 521:
		return elliptic.P521()
	default:
		return elliptic.P256()
	}
}

// generateKey makes a private key of a normalized type and size, in a
// slot of the node's CPU pool (RSA key generation costs up to seconds of
// CPU; issue 11).
func generateKey(ctx context.Context, rnd io.Reader, typ string, bits int) (crypto.Signer, error) {
	release, err := secrets.AcquireCPU(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	switch typ {
	case keyRSA:
		return rsa.GenerateKey(rnd, bits)
	case keyEC:
		return ecdsa.GenerateKey(curveFor(bits), rnd)
	case keyEd25519:
		_, k, err := ed25519.GenerateKey(rnd)
		return k, err
	}
	return nil, fmt.Errorf("pki: cannot generate a %q key", typ)
}

// publicKeyInfo reports a public key's Vault type and size.
func publicKeyInfo(pub any) (typ string, bits int, err error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return keyRSA, k.N.BitLen(), nil
	case *ecdsa.PublicKey:
		return keyEC, k.Curve.Params().BitSize, nil
	case ed25519.PublicKey:
		return keyEd25519, 0, nil
	}
	return "", 0, errors.New("unsupported public key type")
}

// marshalPrivateKey encodes a key as PEM. format "der" (Vault's default)
// is the type-specific form (RSA PRIVATE KEY, EC PRIVATE KEY; Ed25519 has
// none and uses PKCS#8); "pkcs8" is always PRIVATE KEY.
func marshalPrivateKey(k crypto.Signer, format string) (pemText string, keyType string, err error) {
	typ, _, err := publicKeyInfo(k.Public())
	if err != nil {
		return "", "", err
	}
	var blk *pem.Block
	switch {
	case format == "pkcs8" || typ == keyEd25519:
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return "", "", err
		}
		blk = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	case typ == keyRSA:
		blk = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.(*rsa.PrivateKey))}
	default:
		der, err := x509.MarshalECPrivateKey(k.(*ecdsa.PrivateKey))
		if err != nil {
			return "", "", err
		}
		blk = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	}
	return string(pem.EncodeToMemory(blk)), typ, nil
}

// parsePrivateKeyBlock decodes one PEM private key block.
func parsePrivateKeyBlock(b *pem.Block) (crypto.Signer, error) {
	var k any
	var err error
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("unsupported private key block %q", b.Type)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("unsupported private key type")
	}
	if _, _, err := publicKeyInfo(s.Public()); err != nil {
		return nil, err
	}
	return s, nil
}

// signatureAlgorithm picks the signature for a signing key: for RSA,
// SHA-256/384/512 by signature_bits (PSS when asked); for EC, the hash
// matching the curve unless signature_bits says otherwise; Ed25519 is
// pure.
func signatureAlgorithm(pub any, sigBits int, pss bool) (x509.SignatureAlgorithm, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch sigBits {
		case 0, 256:
			if pss {
				return x509.SHA256WithRSAPSS, nil
			}
			return x509.SHA256WithRSA, nil
		case 384:
			if pss {
				return x509.SHA384WithRSAPSS, nil
			}
			return x509.SHA384WithRSA, nil
		case 512:
			if pss {
				return x509.SHA512WithRSAPSS, nil
			}
			return x509.SHA512WithRSA, nil
		}
	case *ecdsa.PublicKey:
		if pss {
			return 0, invalidf("use_pss applies to RSA keys only")
		}
		if sigBits == 0 {
			switch k.Curve.Params().BitSize {
			case 384:
				sigBits = 384
			case 521:
				sigBits = 512
			default:
				sigBits = 256
			}
		}
		switch sigBits {
		case 256:
			return x509.ECDSAWithSHA256, nil
		case 384:
			return x509.ECDSAWithSHA384, nil
		case 512:
			return x509.ECDSAWithSHA512, nil
		}
	case ed25519.PublicKey:
		if pss {
			return 0, invalidf("use_pss applies to RSA keys only")
		}
		return x509.PureEd25519, nil
	default:
		return 0, errors.New("unsupported signing key")
	}
	return 0, invalidf("unsupported signature_bits %d", sigBits)
}

// randomSerial is a positive 159-bit serial (RFC 5280: at most 20 octets).
func randomSerial(rnd io.Reader) ([]byte, error) {
	b := make([]byte, 20)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return nil, err
	}
	b[0] &= 0x7f
	if b[0] == 0 {
		b[0] = 1
	}
	return b, nil
}
