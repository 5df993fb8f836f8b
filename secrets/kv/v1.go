package kv

import (
	"context"
	"errors"
	"fmt"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// v1Paths declares KV v1: one path family serving every path (so it
// needs no answer for unmatched paths). Each secret is one entry at its
// own path in the view, holding the JSON object written.
func v1Paths() *endpoint.Backend {
	return &endpoint.Backend{
		Help: "Key/value secret storage (KV version 1): each path holds the last JSON object written to it.",
		Paths: []*endpoint.Path{{
			Pattern:             "{path*}",
			Summary:             "Read, write, list or delete the secret at a path.",
			TakesArbitraryInput: true,
			Fields:              map[string]*endpoint.Field{"path": {Type: endpoint.TypeString, Description: "Path of the secret."}},
			Exists:              existsCheck(v1Exists),
			Operations: map[secrets.Operation]endpoint.Handler{
				secrets.OpRead:   v1Read,
				secrets.OpUpdate: v1Write,
				secrets.OpDelete: v1Delete,
				secrets.OpList:   v1List,
			},
		}},
	}
}

func v1Exists(ctx context.Context, s storage.Backend, key string) (bool, error) {
	_, err := s.Get(ctx, key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("kv: existence check: %w", err)
	}
	return true, nil
}

// v1Read serves GET <path>.
func v1Read(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	present, err := checkLookupKey(key)
	if err != nil {
		return nil, err
	}
	if !present {
		return nil, notFound()
	}
	e, err := req.Storage.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, notFound()
	}
	if err != nil {
		return nil, fmt.Errorf("kv: read: %w", err)
	}
	data, err := decodeObject(e.Value)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrCorrupt, key, err)
	}
	return &secrets.Response{Data: data}, nil
}

// v1Write serves POST/PUT <path>: the body replaces the secret.
func v1Write(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	if err := checkWriteKey(key); err != nil {
		return nil, err
	}
	if len(req.Data) == 0 {
		return nil, invalidf("missing data fields")
	}
	raw, err := encodeObject(req.Data)
	if err != nil {
		return nil, err
	}
	if err := req.Storage.Put(ctx, &storage.Entry{Key: key, Value: raw}); err != nil {
		return nil, fmt.Errorf("kv: write: %w", err)
	}
	return noContent(), nil
}

// v1Delete serves DELETE <path>; deleting an absent secret is a no-op.
func v1Delete(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	present, err := checkLookupKey(key)
	if err != nil {
		return nil, err
	}
	if !present {
		return noContent(), nil
	}
	if err := req.Storage.Delete(ctx, key); err != nil {
		return nil, fmt.Errorf("kv: delete: %w", err)
	}
	return noContent(), nil
}

// v1List serves LIST <folder>/: keys, with sub-folders ending in "/". An
// empty or absent folder is a 404, as in Vault.
func v1List(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	if err := storage.ValidatePrefix(key); err != nil {
		return nil, invalidf("invalid path %q", key)
	}
	keys, err := req.Storage.List(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("kv: list: %w", err)
	}
	if len(keys) == 0 {
		return nil, notFound()
	}
	return &secrets.Response{Data: map[string]any{"keys": keys}}, nil
}
