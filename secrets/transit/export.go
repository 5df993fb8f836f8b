package transit

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strconv"

	"github.com/vaultd/vaultd/secrets"
)

// export answers GET export/:key_type/:name(/:version). Private material
// (encryption-key, signing-key, hmac-key) requires an exportable key;
// public-key works for any signing key.
func (e *engine) export(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	switch pr.kind {
	case "encryption-key", "signing-key", "hmac-key", "public-key":
	default:
		return nil, invalidf("invalid export type: %s", pr.kind)
	}
	p, release, err := e.getKey(ctx, req.Storage, pr.name)
	if err != nil {
		return nil, err
	}
	defer release()
	if p == nil {
		return nil, notFound()
	}
	if pr.kind != "public-key" && !p.Exportable {
		return nil, invalidf("private key material is not exportable")
	}
	switch {
	case pr.kind == "encryption-key" && !p.spec.encrypts():
		return nil, invalidf("encryption not supported for the key")
	case (pr.kind == "signing-key" || pr.kind == "public-key") && !p.spec.signing():
		return nil, invalidf("signing not supported for the key")
	}
	versions := []int{}
	switch pr.a {
	case "":
		for v := p.MinDecryptionVersion; v <= p.LatestVersion; v++ {
			versions = append(versions, v)
		}
	case "latest":
		versions = append(versions, p.LatestVersion)
	default:
		v, err := strconv.Atoi(pr.a)
		if err != nil || v < 1 {
			return nil, invalidf("invalid key version")
		}
		if v < p.MinDecryptionVersion {
			return nil, invalidf("version for export is below minimum decryption version")
		}
		if v > p.LatestVersion {
			return nil, invalidf("version does not exist or cannot be found")
		}
		versions = append(versions, v)
	}
	keys := map[string]any{}
	for _, v := range versions {
		kv := p.Versions[v]
		if kv == nil {
			continue
		}
		s, err := exportOne(pr.kind, kv)
		if err != nil {
			return nil, err
		}
		keys[versionKey(v)] = s
	}
	e.log.Info("transit key exported", "key", pr.name, "export_type", pr.kind)
	return &secrets.Response{Data: map[string]any{"name": p.Name, "type": p.Type, "keys": keys}}, nil
}

// exportOne renders one version as Vault does: base64 raw keys, base64
// ed25519 keys, PEM ECDSA keys.
func exportOne(kind string, kv *keyVersion) (string, error) {
	if kind == "encryption-key" && kv.signer == nil {
		return base64.StdEncoding.EncodeToString(kv.Key), nil
	}
	switch kind {
	case "hmac-key":
		return base64.StdEncoding.EncodeToString(kv.HMACKey), nil
	case "public-key":
		return publicKeyString(kv)
	}
	switch k := kv.signer.(type) {
	case ed25519.PrivateKey:
		return base64.StdEncoding.EncodeToString(k), nil
	case *rsa.PrivateKey:
		der := x509.MarshalPKCS1PrivateKey(k)
		defer clear(der)
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})), nil
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return "", fmt.Errorf("transit: encode private key: %w", err)
		}
		defer clear(der)
		return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), nil
	default:
		return "", fmt.Errorf("%w: no private key", ErrCorrupt)
	}
}
