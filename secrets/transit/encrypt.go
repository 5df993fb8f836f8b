package transit

import (
	"context"
	"encoding/base64"

	"github.com/vaultd/vaultd/secrets"
)

// encKeyNotFound is Vault's answer when encrypt/decrypt/rewrap/datakey/hmac
// name an absent key.
const encKeyNotFound = "encryption key not found"

// encryptionKey returns a key for encrypt, decrypt, rewrap or datakey and
// the func that releases it (see getKey: the caller must not change or
// zero the policy).
func (e *engine) encryptionKey(ctx context.Context, req *secrets.Request, name, op string) (*policy, func(), error) {
	p, release, err := e.getKey(ctx, req.Storage, name)
	if err != nil {
		return nil, noRelease, err
	}
	if p == nil {
		return nil, noRelease, invalidf(encKeyNotFound)
	}
	if !p.spec.encrypts() {
		release()
		return nil, noRelease, invalidf("message %s not supported for key type %s", op, p.Type)
	}
	return p, release, nil
}

// upsertEncryptionKey is encrypt's key lookup: a create (the existence
// check found no key) makes the key, of the request's "type".
func (e *engine) upsertEncryptionKey(ctx context.Context, req *secrets.Request, name string) (*policy, func(), error) {
	if req.Operation != secrets.OpCreate {
		return e.encryptionKey(ctx, req, name, "encryption")
	}
	typ, _, err := stringField(req.Data, "type")
	if err != nil {
		return nil, noRelease, err
	}
	if typ == "" {
		typ = defaultKeyType
	}
	spec, ok := keyTypes[typ]
	if !ok || !spec.aead() {
		return nil, noRelease, invalidf("unknown key type %v", typ)
	}
	mu := e.lock(name)
	mu.Lock()
	p, err := loadPolicy(ctx, req.Storage, name)
	if err == nil && p == nil {
		p, err = newPolicy(name, spec, e.now(), e.rand)
		if err == nil {
			if err = p.save(ctx, req.Storage); err != nil {
				p.zero()
				p = nil
			} else {
				e.log.Info("transit key created by encrypt", "key", name, "type", typ)
			}
		}
	}
	mu.Unlock()
	if err != nil {
		return nil, noRelease, err
	}
	if p != nil && !p.spec.encrypts() {
		p.zero()
		return nil, noRelease, invalidf("message encryption not supported for key type %s", p.Type)
	}
	return p, p.zero, nil
}

// aeadInputs reads an item's context (validated, unused: keys are not
// derived), nonce (refused) and associated_data.
func aeadInputs(item map[string]any) (aad []byte, err error) {
	if _, _, err := b64Field(item, "context", "failed to base64-decode context"); err != nil {
		return nil, err
	}
	if n, set, err := stringField(item, "nonce"); err != nil {
		return nil, err
	} else if set && n != "" {
		return nil, invalidf("provided nonce not allowed for this key")
	}
	aad, _, err = b64Field(item, "associated_data", "failed to base64-decode associated_data")
	return aad, err
}

// encryptItem encrypts one base64 plaintext with the requested version.
func (e *engine) encryptItem(p *policy, item map[string]any, plain []byte) (map[string]any, error) {
	aad, err := aeadInputs(item)
	if err != nil {
		return nil, err
	}
	reqVer, _, err := versionField(item, "key_version")
	if err != nil {
		return nil, err
	}
	ver, kv, err := p.encryptionVersion(reqVer)
	if err != nil {
		return nil, err
	}
	var ct []byte
	if p.spec.rsa > 0 {
		ct, err = rsaEncrypt(kv, item, plain, aad, e.rand)
	} else {
		ct, err = seal(p.spec, kv.Key, plain, aad, e.rand)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"ciphertext": formatVersioned(ver, ct), "key_version": ver}, nil
}

// decryptItem decrypts one item's "ciphertext"; the caller zeroes the result.
func decryptItem(p *policy, item map[string]any) ([]byte, error) {
	ct, _, err := stringField(item, "ciphertext")
	if err != nil {
		return nil, err
	}
	if ct == "" {
		return nil, invalidf("missing ciphertext to decrypt")
	}
	aad, err := aeadInputs(item)
	if err != nil {
		return nil, err
	}
	ver, payload, err := parseVersioned("ciphertext", ct)
	if err != nil {
		return nil, err
	}
	kv, err := p.decryptionVersion("ciphertext", ver)
	if err != nil {
		return nil, err
	}
	if p.spec.rsa > 0 {
		return rsaDecrypt(kv, item, payload, aad)
	}
	return open(p.spec, kv.Key, payload, aad)
}

// encrypt answers encrypt/:name.
func (e *engine) encrypt(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	if _, _, err := batchItems(req.Data); err != nil {
		return nil, err // a malformed batch creates no key
	}
	p, releaseKey, err := e.upsertEncryptionKey(ctx, req, pr.name)
	if err != nil {
		return nil, err
	}
	defer releaseKey()
	release, err := rsaCPU(ctx, p)
	if err != nil {
		return nil, err
	}
	defer release()
	return runBatch(req.Data, func(item map[string]any) (map[string]any, error) {
		if _, ok := item["plaintext"]; !ok {
			return nil, invalidf("missing plaintext to encrypt")
		}
		plain, _, err := b64Field(item, "plaintext", "failed to base64-decode plaintext")
		if err != nil {
			return nil, err
		}
		defer clear(plain)
		return e.encryptItem(p, item, plain)
	})
}

// decrypt answers decrypt/:name.
func (e *engine) decrypt(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	p, releaseKey, err := e.encryptionKey(ctx, req, pr.name, "decryption")
	if err != nil {
		return nil, err
	}
	defer releaseKey()
	release, err := rsaCPU(ctx, p)
	if err != nil {
		return nil, err
	}
	defer release()
	return runBatch(req.Data, func(item map[string]any) (map[string]any, error) {
		plain, err := decryptItem(p, item)
		if err != nil {
			return nil, err
		}
		defer clear(plain)
		return map[string]any{"plaintext": base64.StdEncoding.EncodeToString(plain)}, nil
	})
}

// rewrap answers rewrap/:name: decrypt, then encrypt with the latest (or
// the requested) version, never revealing the plaintext.
func (e *engine) rewrap(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	p, releaseKey, err := e.encryptionKey(ctx, req, pr.name, "encryption")
	if err != nil {
		return nil, err
	}
	defer releaseKey()
	release, err := rsaCPU(ctx, p)
	if err != nil {
		return nil, err
	}
	defer release()
	return runBatch(req.Data, func(item map[string]any) (map[string]any, error) {
		plain, err := decryptItem(p, item)
		if err != nil {
			return nil, err
		}
		defer clear(plain)
		return e.encryptItem(p, item, plain)
	})
}
