package kv

import (
	"context"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// versionsBody reads the required "versions" of delete/undelete/destroy;
// missingMsg is Vault's text when none is given (it differs per path).
func versionsBody(d *endpoint.Data, missingMsg string) ([]uint64, error) {
	raw := d.Ints("versions")
	if len(raw) == 0 {
		return nil, invalidf("%s", missingMsg)
	}
	out := make([]uint64, 0, len(raw))
	for _, n := range raw {
		if n > 0 { // no version 0 or below exists
			out = append(out, uint64(n))
		}
	}
	return out, nil
}

// updateVersions runs fn on key's metadata under its lock and writes the
// metadata back when fn reports a change. An absent key is a no-op.
func (b *v2) updateVersions(ctx context.Context, req *secrets.Request, key string, fn func(*keyMetadata) bool) (*secrets.Response, error) {
	present, err := checkLookupKey(key)
	if err != nil {
		return nil, err
	}
	if !present {
		return noContent(), nil
	}
	l := b.locks.forKey(key)
	l.Lock()
	defer l.Unlock()

	meta, err := loadMeta(ctx, req.Storage, key)
	if err != nil {
		return nil, err
	}
	if meta == nil || !fn(meta) {
		return noContent(), nil
	}
	if err := writeMeta(ctx, req.Storage, key, meta); err != nil {
		return nil, err
	}
	return noContent(), nil
}

// deleteVersions serves POST/PUT delete/:path {"versions": [...]}: a soft
// delete of each listed version that exists and is neither deleted nor
// destroyed.
func (b *v2) deleteVersions(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	versions, err := versionsBody(d, "No version number provided")
	if err != nil {
		return nil, err
	}
	return b.updateVersions(ctx, req, key, func(meta *keyMetadata) bool {
		now := b.now().UTC()
		changed := false
		for _, n := range versions {
			v := meta.Versions[n]
			if v == nil || v.Destroyed || v.isDeleted(now) {
				continue
			}
			v.DeletionTime = now
			changed = true
		}
		return changed
	})
}
