package seal_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/seal/shamir"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// initialized returns a sealed, initialized barrier over a fresh inmem
// backend, the backend and the shares.
func initialized(t testing.TB, cfg seal.Config) (*seal.Barrier, *inmem.Backend, [][]byte) {
	t.Helper()
	under := inmem.New()
	b := seal.NewBarrier(under, nil)
	shares, err := b.Initialize(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Initialize(%+v): %v", cfg, err)
	}
	return b, under, shares
}

// unsealKey rebuilds the unseal key from the first threshold shares.
func unsealKey(t testing.TB, cfg seal.Config, shares [][]byte) []byte {
	t.Helper()
	if cfg.Threshold == 1 {
		return shares[0]
	}
	k, err := shamir.Combine(shares[:cfg.Threshold])
	if err != nil {
		t.Fatalf("Combine: %v", err)
	}
	return k
}

// unsealed returns an unsealed 1-of-1 barrier, its backend and its key.
func unsealed(t testing.TB) (*seal.Barrier, *inmem.Backend, []byte) {
	t.Helper()
	cfg := seal.Config{Shares: 1, Threshold: 1}
	b, under, shares := initialized(t, cfg)
	key := unsealKey(t, cfg, shares)
	if err := b.Unseal(context.Background(), key); err != nil {
		t.Fatalf("Unseal: %v", err)
	}
	return b, under, key
}

func mustPut(t testing.TB, b storage.Backend, key, value string) {
	t.Helper()
	if err := b.Put(context.Background(), &storage.Entry{Key: key, Value: []byte(value)}); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustGet(t testing.TB, b storage.Backend, key string) string {
	t.Helper()
	e, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(e.Value)
}

var errInjected = errors.New("injected failure")

// failing wraps a Backend; while fail is set, Put and Txn fail.
type failing struct {
	storage.Backend
	fail atomic.Bool
}

func (f *failing) Put(ctx context.Context, e *storage.Entry) error {
	if f.fail.Load() {
		return errInjected
	}
	return f.Backend.Put(ctx, e)
}

func (f *failing) Txn(ctx context.Context, ops []storage.Op) error {
	if f.fail.Load() {
		return errInjected
	}
	return f.Backend.Txn(ctx, ops)
}
