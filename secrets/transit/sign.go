package transit

import (
	"context"
	"crypto"
	"crypto/hmac"
	"encoding/base64"

	"github.com/vaultd/vaultd/secrets"
)

// hashFrom picks the hash algorithm: the URL segment, else the first set
// body field, else sha2-256.
func hashFrom(pathAlg string, data map[string]any, fields ...string) (crypto.Hash, string, error) {
	alg := pathAlg
	for _, f := range fields {
		if alg != "" {
			break
		}
		s, _, err := stringField(data, f)
		if err != nil {
			return 0, "", err
		}
		alg = s
	}
	if alg == "" {
		alg = "sha2-256"
	}
	h, ok := hashAlgorithms[alg]
	if !ok || !h.Available() {
		return 0, alg, invalidf("unsupported hash algorithm %s", alg)
	}
	return h, alg, nil
}

// hashName is the hash algorithm a request names (URL segment first).
func hashName(pathAlg string, data map[string]any) string {
	if pathAlg != "" {
		return pathAlg
	}
	for _, f := range []string{"hash_algorithm", "algorithm"} {
		if s, _, err := stringField(data, f); err == nil && s != "" {
			return s
		}
	}
	return ""
}

// signOptions reads a sign/verify request's algorithm fields.
func signOptions(p *policy, pathAlg string, data map[string]any) (signOpts, *base64.Encoding, error) {
	var o signOpts
	if p.spec.rsa > 0 && hashName(pathAlg, data) == "none" {
		o.hash = 0 // PKCS #1 v1.5 over the raw input (rsaSignOpts checks the algorithm)
	} else {
		h, _, err := hashFrom(pathAlg, data, "hash_algorithm", "algorithm")
		if err != nil {
			return o, nil, err
		}
		o.hash = h
	}
	var err error
	if o.prehashed, _, err = boolField(data, "prehashed"); err != nil {
		return o, nil, err
	}
	if o.prehashed && p.spec.ed {
		return o, nil, invalidf("prehashed input is not supported for ed25519 keys")
	}
	enc := base64.StdEncoding
	m, _, err := stringField(data, "marshaling_algorithm")
	if err != nil {
		return o, nil, err
	}
	switch m {
	case "", "asn1":
	case "jws":
		if !p.spec.ed {
			o.jws, enc = p.spec.rsa == 0, base64.RawURLEncoding
		}
	default:
		return o, nil, invalidf("invalid marshaling type %q", m)
	}
	if p.spec.rsa > 0 {
		if err := rsaSignOpts(data, &o); err != nil {
			return o, nil, err
		}
	}
	return o, enc, nil
}

// itemInput decodes an item's base64 "input".
func itemInput(item map[string]any) ([]byte, error) {
	in, _, err := b64Field(item, "input", "unable to decode input as base64")
	return in, err
}

// sign answers sign/:name(/:hash_algorithm).
func (e *engine) sign(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	p, release, err := e.getKey(ctx, req.Storage, pr.name)
	if err != nil {
		return nil, err
	}
	defer release()
	if p == nil {
		return nil, invalidf("signing key not found")
	}
	if !p.spec.signing() {
		return nil, invalidf("key type %s does not support signing", p.Type)
	}
	o, enc, err := signOptions(p, pr.a, req.Data)
	if err != nil {
		return nil, err
	}
	reqVer, _, err := versionField(req.Data, "key_version")
	if err != nil {
		return nil, err
	}
	ver, kv, err := p.encryptionVersion(reqVer)
	if err != nil {
		return nil, err
	}
	return runBatch(req.Data, func(item map[string]any) (map[string]any, error) {
		in, err := itemInput(item)
		if err != nil {
			return nil, err
		}
		sig, err := sign(p.spec, kv, in, o)
		if err != nil {
			return nil, err
		}
		return map[string]any{"signature": formatVersionedEnc(ver, sig, enc), "key_version": ver}, nil
	})
}

// verify answers verify/:name(/:hash_algorithm): a signature (signing
// keys) or an HMAC (any key).
func (e *engine) verify(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	p, release, err := e.getKey(ctx, req.Storage, pr.name)
	if err != nil {
		return nil, err
	}
	defer release()
	if p == nil {
		return nil, invalidf("signature verification key not found")
	}
	var (
		o      signOpts
		enc    *base64.Encoding
		hashFn crypto.Hash
	)
	return runBatch(req.Data, func(item map[string]any) (map[string]any, error) {
		sigStr, sigSet, err := stringField(item, "signature")
		if err != nil {
			return nil, err
		}
		macStr, macSet, err := stringField(item, "hmac")
		if err != nil {
			return nil, err
		}
		switch {
		case sigSet && macSet:
			return nil, invalidf("provide one of 'signature' or 'hmac'")
		case !sigSet && !macSet:
			return nil, invalidf("neither a 'signature' nor an 'hmac' were given to verify")
		}
		in, err := itemInput(item)
		if err != nil {
			return nil, err
		}
		if macSet {
			if hashFn == 0 {
				if hashFn, _, err = hashFrom(pr.a, req.Data, "hash_algorithm", "algorithm"); err != nil {
					return nil, err
				}
			}
			ver, mac, err := parseVersioned("hmac", macStr)
			if err != nil {
				return nil, err
			}
			kv, err := p.decryptionVersion("hmac", ver)
			if err != nil {
				return nil, err
			}
			return map[string]any{"valid": hmac.Equal(mac, computeHMAC(hashFn, kv, in))}, nil
		}
		if !p.spec.signing() {
			return nil, invalidf("key type %s does not support verification", p.Type)
		}
		if enc == nil {
			if o, enc, err = signOptions(p, pr.a, req.Data); err != nil {
				return nil, err
			}
		}
		ver, sig, err := parseVersionedEnc("signature", sigStr, enc)
		if err != nil {
			return nil, err
		}
		kv, err := p.decryptionVersion("signature", ver)
		if err != nil {
			return nil, err
		}
		return map[string]any{"valid": verifySig(p.spec, kv, in, sig, o)}, nil
	})
}
