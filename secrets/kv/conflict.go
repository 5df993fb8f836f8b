package kv

import (
	"context"
	"errors"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// conflictAttempts bounds how often a write is run when its storage
// precondition keeps failing.
const conflictAttempts = 5

// retryOnConflict runs a read-modify-write handler again when its Txn
// failed with storage.ErrConflict: the record it read changed before its
// write applied, and nothing was written. The rerun reads the new record,
// so a cas option is checked against it (and then fails with Vault's
// mismatch) and a new version gets the next free number. Under the key's
// lock a conflict needs a write that outlived its lock (a client gone
// while raft still held the entry, a deposed leader's entry committed by
// the next one), so reruns are rare and converge: the conflicting entry
// was applied before this one was refused, and the rerun reads after it.
func retryOnConflict(h endpoint.Handler) endpoint.Handler {
	return func(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
		for attempt := 1; ; attempt++ {
			resp, err := h(ctx, req, d)
			if err == nil || !errors.Is(err, storage.ErrConflict) || attempt == conflictAttempts || ctx.Err() != nil {
				return resp, err
			}
		}
	}
}
