package kv

import (
	"context"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// undeleteVersions serves POST/PUT undelete/:path {"versions": [...]}: each
// listed version that exists and is not destroyed becomes readable again
// (its deletion_time is cleared, or reset to now + delete_version_after when
// one applies).
func (b *v2) undeleteVersions(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	versions, err := versionsBody(d, "No version number provided")
	if err != nil {
		return nil, err
	}
	c, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return b.updateVersions(ctx, req, key, func(meta *keyMetadata) bool {
		now := b.now().UTC()
		changed := false
		for _, n := range versions {
			v := meta.Versions[n]
			if v == nil || v.Destroyed {
				continue
			}
			v.DeletionTime = deletionTimeFor(now, c, meta)
			changed = true
		}
		return changed
	})
}
