// Package entries holds what the auth methods do alike with their named
// records (userpass users, AppRole, JWT and Kubernetes roles): list them,
// check that one exists, read one as JSON, check a role name, and declare
// the role paths.
//
// It imports only the standard library, storage, secrets and endpoint.
package entries

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

// List answers a LIST of the records under prefix: the names of its
// leaves (sub-folders are not records), or Vault's bare 404 when there
// are none. what names the records in a storage error ("approle: roles").
func List(ctx context.Context, s storage.Backend, prefix, what string) (*secrets.Response, error) {
	keys, err := s.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("%s: list: %w", what, err)
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if !strings.HasSuffix(k, "/") {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, &secrets.Error{Kind: secrets.ErrNotFound}
	}
	return &secrets.Response{Data: map[string]any{"keys": out}}, nil
}

// Named describes a family of records named by one path capture.
type Named struct {
	// Capture is the path capture holding the name ("username").
	Capture string
	// Canonical validates a name and returns its stored form.
	Canonical func(name string) (string, error)
	// Key is the storage key of a canonical name.
	Key func(name string) string
	// What names the records in a storage error ("userpass: users").
	What string
}

// Exists is the existence check of the path that names one record: a
// name that is not valid names no record.
func (n Named) Exists(ctx context.Context, req *secrets.Request, d *endpoint.Data) (bool, error) {
	name, err := n.Canonical(d.String(n.Capture))
	if err != nil {
		return false, nil
	}
	_, err = req.Storage.Get(ctx, n.Key(name))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("%s: existence check: %w", n.What, err)
	}
	return true, nil
}

// GetJSON decodes the record at key into v; found is false when there is
// none. A record that does not decode is an error wrapping corrupt.
func GetJSON(ctx context.Context, s storage.Backend, key string, v any, corrupt error) (found bool, err error) {
	ent, err := s.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get %q: %w", key, err)
	}
	if err := json.Unmarshal(ent.Value, v); err != nil {
		return false, fmt.Errorf("%w: %q: %v", corrupt, key, err)
	}
	return true, nil
}

// Load reads the JSON record at key into a new T; it is nil when there is
// none. A storage error is prefixed with what ("jwt"); a record that does
// not decode is an error wrapping corrupt.
func Load[T any](ctx context.Context, s storage.Backend, key string, corrupt error, what string) (*T, error) {
	var v T
	found, err := GetJSON(ctx, s, key, &v, corrupt)
	switch {
	case err != nil && !errors.Is(err, corrupt):
		return nil, fmt.Errorf("%s: %w", what, err)
	case err != nil || !found:
		return nil, err
	}
	return &v, nil
}
