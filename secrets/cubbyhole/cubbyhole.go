package cubbyhole

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vaultd/vaultd/endpoint"
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
type Backend struct {
	ep *endpoint.Backend
}

// Factory makes a cubbyhole engine. It takes no options.
func Factory(_ context.Context, conf secrets.Config) (secrets.Backend, error) {
	for k := range conf.Options {
		return nil, secrets.Errorf(secrets.ErrInvalidRequest, "cubbyhole: unknown option %q", k)
	}
	b := &Backend{}
	b.ep = b.paths()
	return b, nil
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

// paths declares the engine: one path family serving every path below
// the mount, each holding the JSON object last written (any fields).
func (b *Backend) paths() *endpoint.Backend {
	return &endpoint.Backend{
		Help:      "Per-token private secret storage: each token sees only its own area, destroyed when the token is revoked.",
		NoStorage: ErrNoStorage,
		Paths: []*endpoint.Path{{
			Pattern:             "{path*}",
			TakesArbitraryInput: true,
			Summary:             "Read, write, list or delete a secret of the calling token.",
			Fields: map[string]*endpoint.Field{
				"path": {Type: endpoint.TypeString, Description: "Path of the secret, relative to the mount."},
			},
			Operations: map[secrets.Operation]endpoint.Handler{
				secrets.OpRead:   b.read,
				secrets.OpUpdate: b.write,
				secrets.OpDelete: b.delete,
				secrets.OpList:   b.list,
			},
			Exists: b.exists,
		}},
	}
}

// Endpoints returns the engine's declarations (for docs and OpenAPI).
func (b *Backend) Endpoints() *endpoint.Backend { return b.ep }

// tokenKey is the storage key of the request's path in the calling
// token's area.
func tokenKey(req *secrets.Request, d *endpoint.Data) (string, error) {
	prefix, err := tokenPrefix(req.ClientToken)
	if err != nil {
		return "", err
	}
	return key(prefix, d.String("path"))
}

// HandleRequest implements secrets.Backend.
func (b *Backend) HandleRequest(ctx context.Context, req *secrets.Request) (*secrets.Response, error) {
	return b.ep.HandleRequest(ctx, req)
}

// Exists implements secrets.ExistenceChecker: a write to an absent path is
// a create, to an existing one an update.
func (b *Backend) Exists(ctx context.Context, req *secrets.Request) (exists, ok bool, err error) {
	if req == nil || req.Storage == nil {
		return false, false, ErrNoStorage
	}
	return b.ep.Exists(ctx, req)
}

func (b *Backend) read(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	k, err := tokenKey(req, d)
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

func (b *Backend) write(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	k, err := tokenKey(req, d)
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

func (b *Backend) delete(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	k, err := tokenKey(req, d)
	if err != nil {
		return nil, err
	}
	if err := req.Storage.Delete(ctx, k); err != nil {
		return nil, fmt.Errorf("cubbyhole: delete: %w", err)
	}
	return &secrets.Response{}, nil
}

func (b *Backend) list(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	prefix, err := tokenPrefix(req.ClientToken)
	if err != nil {
		return nil, err
	}
	p := strings.TrimPrefix(d.String("path"), "/")
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

// exists is the path's existence check. A bad token or path is not an
// existence question: the handler rejects it with the proper error.
func (b *Backend) exists(ctx context.Context, req *secrets.Request, d *endpoint.Data) (bool, error) {
	k, err := tokenKey(req, d)
	if err != nil {
		return false, err
	}
	_, err = req.Storage.Get(ctx, k)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cubbyhole: exists: %w", err)
	}
	return true, nil
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
