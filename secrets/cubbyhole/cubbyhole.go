package cubbyhole

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// Errors that are not user-facing *secrets.Error values.
var (
	// ErrNoStorage: a request arrived without a storage view.
	ErrNoStorage = errors.New("cubbyhole: request has no storage")
	// ErrCorrupt: a stored value could not be decoded.
	ErrCorrupt = errors.New("cubbyhole: corrupt value")
)

var (
	_ secrets.Factory          = Factory
	_ secrets.Backend          = (*Backend)(nil)
	_ secrets.ExistenceChecker = (*Backend)(nil)
)

// Backend is the cubbyhole engine. It keeps no state of its own.
type Backend struct{}

// Factory makes a cubbyhole engine. It takes no options.
func Factory(_ context.Context, conf secrets.Config) (secrets.Backend, error) {
	for k := range conf.Options {
		return nil, secrets.Errorf(secrets.ErrInvalidRequest, "cubbyhole: unknown option %q", k)
	}
	return &Backend{}, nil
}

// tokenPrefix checks that core handed us a salted hash, never a raw token.
func tokenPrefix(clientToken string) (string, error) {
	if len(clientToken) != 64 {
		return "", secrets.Errorf(secrets.ErrPermissionDenied, "permission denied")
	}
	for i := 0; i < len(clientToken); i++ {
		c := clientToken[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", secrets.Errorf(secrets.ErrPermissionDenied, "permission denied")
		}
	}
	return clientToken + "/", nil
}

// key returns the storage key of path for the token, validating it.
func key(prefix, path string) (string, error) {
	path = strings.TrimPrefix(path, "/")
	if path == "" || strings.HasSuffix(path, "/") {
		return "", secrets.Errorf(secrets.ErrInvalidRequest, "missing or invalid path %q", path)
	}
	k := prefix + path
	if err := storage.ValidateKey(k); err != nil {
		return "", secrets.Errorf(secrets.ErrInvalidRequest, "invalid path %q", path)
	}
	return k, nil
}

// HandleRequest implements secrets.Backend.
func (b *Backend) HandleRequest(ctx context.Context, req *secrets.Request) (*secrets.Response, error) {
	if req == nil {
		return nil, secrets.Errorf(secrets.ErrInvalidRequest, "missing request")
	}
	if req.Storage == nil {
		return nil, ErrNoStorage
	}
	prefix, err := tokenPrefix(req.ClientToken)
	if err != nil {
		return nil, err
	}
	switch req.Operation {
	case secrets.OpList:
		return b.list(ctx, req, prefix)
	case secrets.OpRead:
		return b.read(ctx, req, prefix)
	case secrets.OpCreate, secrets.OpUpdate:
		return b.write(ctx, req, prefix)
	case secrets.OpDelete:
		k, err := key(prefix, req.Path)
		if err != nil {
			return nil, err
		}
		if err := req.Storage.Delete(ctx, k); err != nil {
			return nil, fmt.Errorf("cubbyhole: delete: %w", err)
		}
		return &secrets.Response{}, nil
	}
	return nil, secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
}

func (b *Backend) read(ctx context.Context, req *secrets.Request, prefix string) (*secrets.Response, error) {
	k, err := key(prefix, req.Path)
	if err != nil {
		return nil, err
	}
	e, err := req.Storage.Get(ctx, k)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, secrets.Errorf(secrets.ErrNotFound, "not found")
	}
	if err != nil {
		return nil, fmt.Errorf("cubbyhole: read: %w", err)
	}
	var data map[string]any
	if err := json.Unmarshal(e.Value, &data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return &secrets.Response{Data: data}, nil
}

func (b *Backend) write(ctx context.Context, req *secrets.Request, prefix string) (*secrets.Response, error) {
	k, err := key(prefix, req.Path)
	if err != nil {
		return nil, err
	}
	if len(req.Data) == 0 {
		return nil, secrets.Errorf(secrets.ErrInvalidRequest, "missing data fields")
	}
	v, err := json.Marshal(req.Data)
	if err != nil {
		return nil, secrets.Errorf(secrets.ErrInvalidRequest, "failed to encode data: %v", err)
	}
	if err := req.Storage.Put(ctx, &storage.Entry{Key: k, Value: v}); err != nil {
		return nil, fmt.Errorf("cubbyhole: write: %w", err)
	}
	return &secrets.Response{}, nil
}

func (b *Backend) list(ctx context.Context, req *secrets.Request, prefix string) (*secrets.Response, error) {
	p := strings.TrimPrefix(req.Path, "/")
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	if err := storage.ValidatePrefix(prefix + p); err != nil {
		return nil, secrets.Errorf(secrets.ErrInvalidRequest, "invalid path %q", p)
	}
	keys, err := req.Storage.List(ctx, prefix+p)
	if err != nil {
		return nil, fmt.Errorf("cubbyhole: list: %w", err)
	}
	if len(keys) == 0 {
		return nil, secrets.Errorf(secrets.ErrNotFound, "not found")
	}
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return &secrets.Response{Data: map[string]any{"keys": out}}, nil
}

// Exists implements secrets.ExistenceChecker: a write to an absent path is
// a create, to an existing one an update.
func (b *Backend) Exists(ctx context.Context, req *secrets.Request) (exists, ok bool, err error) {
	if req == nil || req.Storage == nil {
		return false, false, ErrNoStorage
	}
	// A bad token or path is not an existence question: HandleRequest
	// rejects it with the proper error.
	prefix, err := tokenPrefix(req.ClientToken)
	if err != nil {
		return false, false, nil
	}
	k, err := key(prefix, req.Path)
	if err != nil {
		return false, false, nil
	}
	_, err = req.Storage.Get(ctx, k)
	if errors.Is(err, storage.ErrNotFound) {
		return false, true, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("cubbyhole: exists: %w", err)
	}
	return true, true, nil
}

// DestroyTokenData deletes everything the token whose salted hash is
// clientToken stored. It is idempotent. Core calls it on revocation.
func (b *Backend) DestroyTokenData(ctx context.Context, s storage.Backend, clientToken string) error {
	prefix, err := tokenPrefix(clientToken)
	if err != nil {
		return err
	}
	if err := storage.ClearPrefix(ctx, s, prefix); err != nil {
		return fmt.Errorf("cubbyhole: destroy: %w", err)
	}
	return nil
}
