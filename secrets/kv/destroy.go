package kv

import (
	"context"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// destroyVersions serves POST/PUT destroy/:path {"versions": [...]}: each
// listed version that exists is marked destroyed and its data is deleted,
// together with the metadata update in one Txn. Destroying is permanent.
func (b *v2) destroyVersions(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	versions, err := versionsBody(d, "no version number provided")
	if err != nil {
		return nil, err
	}
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
	if meta == nil {
		return noContent(), nil
	}
	var dels []storage.Op
	for _, n := range versions {
		v := meta.Versions[n]
		if v == nil || v.Destroyed {
			continue
		}
		v.Destroyed = true
		dels = append(dels, storage.Op{Kind: storage.OpDelete, Key: versionKey(key, n)})
	}
	if len(dels) == 0 {
		return noContent(), nil
	}
	mop, err := putOp(metadataKey(key), meta)
	if err != nil {
		return nil, err
	}
	if err := txn(ctx, req.Storage, append([]storage.Op{metaCheck(key, meta), mop}, dels...)); err != nil {
		return nil, err
	}
	return noContent(), nil
}
