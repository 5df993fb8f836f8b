package storage

import (
	"context"
	"fmt"
)

// View confines a Backend to a prefix. Keys passed to a View are validated
// (no "..", "//" or leading "/"), so no key can reach outside the prefix.
type View struct {
	under  Backend
	prefix string
}

var _ Backend = (*View)(nil)

// NewView confines b to prefix, which must be "" or end in "/".
func NewView(b Backend, prefix string) *View {
	return &View{under: b, prefix: prefix}
}

// Prefix is the prefix this view adds to every key.
func (v *View) Prefix() string { return v.prefix }

func (v *View) key(k string) (string, error) {
	if err := ValidateKey(k); err != nil {
		return "", fmt.Errorf("%w: %q", err, k)
	}
	return v.prefix + k, nil
}

// Get implements Backend.
func (v *View) Get(ctx context.Context, key string) (*Entry, error) {
	k, err := v.key(key)
	if err != nil {
		return nil, err
	}
	e, err := v.under.Get(ctx, k)
	if err != nil {
		return nil, err
	}
	return &Entry{Key: key, Value: e.Value, Rev: e.Rev}, nil
}

// Put implements Backend.
func (v *View) Put(ctx context.Context, e *Entry) error {
	k, err := v.key(e.Key)
	if err != nil {
		return err
	}
	return v.under.Put(ctx, &Entry{Key: k, Value: e.Value})
}

// Delete implements Backend.
func (v *View) Delete(ctx context.Context, key string) error {
	k, err := v.key(key)
	if err != nil {
		return err
	}
	return v.under.Delete(ctx, k)
}

// List implements Backend.
func (v *View) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return nil, fmt.Errorf("%w: %q", err, prefix)
	}
	return v.under.List(ctx, v.prefix+prefix)
}

// Txn implements Backend.
func (v *View) Txn(ctx context.Context, ops []Op) error {
	out := make([]Op, len(ops))
	for i, op := range ops {
		k, err := v.key(op.Key)
		if err != nil {
			return err
		}
		out[i] = Op{Kind: op.Kind, Key: k, Value: op.Value}
	}
	return v.under.Txn(ctx, out)
}

// ClearPrefix deletes every key below prefix in b (recursively), in
// batches of Txns. Used when a mount is disabled.
func ClearPrefix(ctx context.Context, b Backend, prefix string) error {
	keys, err := b.List(ctx, prefix)
	if err != nil {
		return err
	}
	var ops []Op
	for _, k := range keys {
		full := prefix + k
		if len(k) > 0 && k[len(k)-1] == '/' {
			if err := ClearPrefix(ctx, b, full); err != nil {
				return err
			}
			continue
		}
		ops = append(ops, Op{Kind: OpDelete, Key: full})
		if len(ops) >= 256 {
			if err := b.Txn(ctx, ops); err != nil {
				return err
			}
			ops = ops[:0]
		}
	}
	if len(ops) > 0 {
		return b.Txn(ctx, ops)
	}
	return nil
}
