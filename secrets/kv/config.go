package kv

import (
	"context"
	"math"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// configRead serves GET config.
func (b *v2) configRead(ctx context.Context, req *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
	c, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{
		"max_versions":         c.MaxVersions,
		"cas_required":         c.CASRequired,
		"delete_version_after": c.DeleteVersionAfter.String(),
	}}, nil
}

// configWrite serves POST/PUT config {max_versions, cas_required,
// delete_version_after}. A negative delete_version_after disables it on
// every key; zero clears the setting.
// A field sent as null is reset to its default.
func (b *v2) configWrite(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	maxV, mOK := d.Int64("max_versions"), d.Has("max_versions")
	if mOK && (maxV < 0 || maxV > math.MaxUint32) {
		return nil, invalidf("max_versions must be between 0 and %d", uint32(math.MaxUint32))
	}
	cas, cOK := d.Bool("cas_required"), d.Has("cas_required")
	dva, dOK := d.Duration("delete_version_after"), d.Has("delete_version_after")
	mOK = mOK || d.IsNull("max_versions")
	cOK = cOK || d.IsNull("cas_required")
	dOK = dOK || d.IsNull("delete_version_after")
	if !mOK && !cOK && !dOK {
		return noContent(), nil
	}

	b.cfgMu.Lock()
	defer b.cfgMu.Unlock()
	c, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if mOK {
		c.MaxVersions = uint32(maxV)
	}
	if cOK {
		c.CASRequired = cas
	}
	if dOK {
		switch {
		case dva < 0:
			c.DeleteVersionAfter = deleteVersionAfterDisabled
		default:
			c.DeleteVersionAfter = dva
		}
	}
	op, err := putOp(configKey, c)
	if err != nil {
		return nil, err
	}
	if err := txn(ctx, req.Storage, []storage.Op{storage.CheckRev(configKey, c.rev), op}); err != nil {
		return nil, err
	}
	return noContent(), nil
}
