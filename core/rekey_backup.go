package core

import (
	"context"
	"errors"

	"github.com/vaultd/vaultd/storage"
)

// rekeyBackupKey holds the PGP-encrypted shares of the last rekey with
// backup = true (Vault's core/unseal-keys-backup), behind the barrier.
const rekeyBackupKey = "core/unseal-keys-backup"

// rekeyBackups is core/ceremony's BackupStore over the barrier.
type rekeyBackups struct{ c *Core }

func (r rekeyBackups) PutBackup(ctx context.Context, b []byte) error {
	return r.c.barrier.Put(ctx, &storage.Entry{Key: rekeyBackupKey, Value: b})
}

func (r rekeyBackups) GetBackup(ctx context.Context) ([]byte, bool, error) {
	e, err := r.c.barrier.Get(ctx, rekeyBackupKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return e.Value, true, nil
}

func (r rekeyBackups) DeleteBackup(ctx context.Context) error {
	err := r.c.barrier.Delete(ctx, rekeyBackupKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}
