package userpass

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vaultd/vaultd/auth/internal/entries"
	"github.com/vaultd/vaultd/auth/internal/tokenparams"
	"github.com/vaultd/vaultd/storage"
)

// userPrefix is where user entries live in the mount's view (see doc.go).
const userPrefix = "user/"

// maxUsernameBytes bounds a username.
const maxUsernameBytes = 512

// userEntry is the record at user/<username>. The password is kept only
// as a bcrypt hash.
type userEntry struct {
	PasswordHash []byte `json:"password_hash"`
	tokenparams.Params
}

func userKey(name string) string { return userPrefix + name }

// canonicalUsername lowercases a username and checks Vault's rule:
// letters, digits, "_", "-" and "."; it cannot begin with "-" nor begin
// or end with ".". The result is always a single safe storage segment.
func canonicalUsername(name string) (string, error) {
	if name == "" {
		return "", invalidf("missing username")
	}
	if len(name) > maxUsernameBytes {
		return "", invalidf("username is longer than %d bytes", maxUsernameBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '-' || c == '.'
		if !ok {
			return "", invalidf("invalid username %q: only letters, digits, '_', '-' and '.' are allowed", name)
		}
	}
	if name[0] == '-' || name[0] == '.' || name[len(name)-1] == '.' {
		return "", invalidf("invalid username %q: it cannot begin with '-' or '.', nor end with '.'", name)
	}
	return strings.ToLower(name), nil
}

// loadUser returns the user's entry, or nil when there is none.
func loadUser(ctx context.Context, s storage.Backend, name string) (*userEntry, error) {
	var u userEntry
	found, err := entries.GetJSON(ctx, s, userKey(name), &u, ErrCorrupt)
	if err != nil && !errors.Is(err, ErrCorrupt) {
		err = fmt.Errorf("userpass: %w", err)
	}
	if err != nil || !found {
		return nil, err
	}
	return &u, nil
}

// saveUser writes the user's entry.
func saveUser(ctx context.Context, s storage.Backend, name string, u *userEntry) error {
	b, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("userpass: encode user: %w", err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: userKey(name), Value: b}); err != nil {
		return fmt.Errorf("userpass: put user: %w", err)
	}
	return nil
}

// users names the user records; its Exists is the existence check of
// users/:username.
var users = entries.Named{Capture: "username", Canonical: canonicalUsername, Key: userKey, What: "userpass: users"}
