package transit

import (
	"context"
	"crypto"
	"crypto/hmac"

	"github.com/vaultd/vaultd/secrets"
)

// computeHMAC is the HMAC of input under a version's HMAC key.
func computeHMAC(h crypto.Hash, kv *keyVersion, input []byte) []byte {
	m := hmac.New(h.New, kv.HMACKey)
	m.Write(input)
	return m.Sum(nil)
}

// hmac answers hmac/:name(/:algorithm); every key type has HMAC keys.
func (e *engine) hmac(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	p, release, err := e.getKey(ctx, req.Storage, pr.name)
	if err != nil {
		return nil, err
	}
	defer release()
	if p == nil {
		return nil, invalidf(encKeyNotFound)
	}
	h, _, err := hashFrom(pr.a, req.Data, "algorithm", "hash_algorithm")
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
		return map[string]any{"hmac": formatVersioned(ver, computeHMAC(h, kv, in))}, nil
	})
}
