// Package inmem is an in-memory storage.Backend for unit tests and the
// single-node dev server without raft.
package inmem

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/vaultd/vaultd/storage"
)

// Backend is an in-memory storage.Backend. The zero value is not usable; call New.
type Backend struct {
	mu sync.RWMutex // guards m
	m  map[string][]byte
}

var _ storage.Backend = (*Backend)(nil)

// New returns an empty Backend.
func New() *Backend { return &Backend{m: make(map[string][]byte)} }

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// Get implements storage.Backend.
func (b *Backend) Get(_ context.Context, key string) (*storage.Entry, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	v, ok := b.m[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return &storage.Entry{Key: key, Value: clone(v), Rev: storage.RevOf(v)}, nil
}

// Put implements storage.Backend.
func (b *Backend) Put(_ context.Context, e *storage.Entry) error {
	if err := storage.ValidateKey(e.Key); err != nil {
		return fmt.Errorf("inmem: put %q: %w", e.Key, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[e.Key] = clone(e.Value)
	return nil
}

// Delete implements storage.Backend.
func (b *Backend) Delete(_ context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, key)
	return nil
}

// List implements storage.Backend.
func (b *Backend) List(_ context.Context, prefix string) ([]string, error) {
	b.mu.RLock()
	keys := make([]string, 0)
	for k := range b.m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	b.mu.RUnlock()
	sort.Strings(keys)
	return storage.ListChildren(prefix, keys), nil
}

// Txn implements storage.Backend: all ops are validated before any is
// applied, and every OpCheck is evaluated, under the same lock as the
// writes, against the state before the Txn.
func (b *Backend) Txn(_ context.Context, ops []storage.Op) error {
	for _, op := range ops {
		if err := storage.ValidateOp(op); err != nil {
			return fmt.Errorf("inmem: txn %q (kind %d): %w", op.Key, op.Kind, err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, op := range ops {
		if op.Kind != storage.OpCheck {
			continue
		}
		v, ok := b.m[op.Key]
		if err := storage.CheckOp(op, v, ok); err != nil {
			return fmt.Errorf("inmem: txn: check %q: %w", op.Key, err)
		}
	}
	for _, op := range ops {
		switch op.Kind {
		case storage.OpPut:
			b.m[op.Key] = clone(op.Value)
		case storage.OpDelete:
			delete(b.m, op.Key)
		}
	}
	return nil
}
