package approle

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/vaultd/vaultd/auth/internal/entries"
	"github.com/vaultd/vaultd/auth/internal/tokenparams"
	"github.com/vaultd/vaultd/storage"
)

// Storage keys inside the mount's view (see doc.go).
const (
	saltKey        = "salt"
	rolePrefix     = "role/"
	roleIDPrefix   = "role-id/"
	secretIDPrefix = "secret-id/"
	accessorPrefix = "accessor/"
)

// dummyName is a role name no role can have ('#' is not allowed in role
// names): failed logins read keys under it to do the same storage work as
// real ones.
const dummyName = "#dummy"

// saltBytes is the size of the mount's HMAC key.
const saltBytes = 32

// maxRoleNameBytes bounds a role name (Vault: less than 4096 bytes).
const maxRoleNameBytes = 4095

// maxIDBytes bounds a role_id, secret_id or accessor given by a client.
const maxIDBytes = 4096

// HMAC domains keep the hashes of different kinds of values apart.
const (
	domainRoleID   = "role_id"
	domainRoleName = "role_name"
	domainSecretID = "secret_id"
	domainAccessor = "secret_id_accessor"
)

// hmacKey is key material: it formats and logs as "[redacted]".
type hmacKey []byte

func (hmacKey) String() string       { return "[redacted]" }
func (hmacKey) GoString() string     { return "[redacted]" }
func (hmacKey) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Format prints "[redacted]" for every verb (%x included).
func (hmacKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, "[redacted]") }

// mac is the hex HMAC-SHA256 of value in domain: the domain's length,
// the domain, then the value, so no two (domain, value) pairs collide.
func (k hmacKey) mac(domain, value string) string {
	h := hmac.New(sha256.New, k)
	h.Write([]byte{byte(len(domain))})
	h.Write([]byte(domain))
	h.Write([]byte(value))
	return hex.EncodeToString(h.Sum(nil))
}

// saltFor returns the mount's HMAC key, loading it from storage the first
// time. When the mount has none yet, create makes (and stores) one;
// without create the result is nil.
func (e *engine) saltFor(ctx context.Context, s storage.Backend, create bool) (hmacKey, error) {
	if k := e.salt.Load(); k != nil {
		return *k, nil
	}
	e.saltMu.Lock()
	defer e.saltMu.Unlock()
	if k := e.salt.Load(); k != nil {
		return *k, nil
	}
	ent, err := s.Get(ctx, saltKey)
	switch {
	case err == nil:
		if len(ent.Value) != saltBytes {
			return nil, fmt.Errorf("%w: salt has %d bytes", ErrCorrupt, len(ent.Value))
		}
		k := hmacKey(ent.Value)
		e.salt.Store(&k)
		return k, nil
	case !errors.Is(err, storage.ErrNotFound):
		return nil, fmt.Errorf("approle: get salt: %w", err)
	case !create:
		return nil, nil
	}
	k := make(hmacKey, saltBytes)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("approle: new salt: %w", err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: saltKey, Value: k}); err != nil {
		return nil, fmt.Errorf("approle: put salt: %w", err)
	}
	e.salt.Store(&k)
	return k, nil
}

// roleEntry is the record at role/<name>.
type roleEntry struct {
	Name               string        `json:"name"`
	RoleID             string        `json:"role_id"`
	BindSecretID       bool          `json:"bind_secret_id"`
	SecretIDBoundCIDRs []string      `json:"secret_id_bound_cidrs,omitempty"`
	SecretIDNumUses    int           `json:"secret_id_num_uses,omitempty"`
	SecretIDTTL        time.Duration `json:"secret_id_ttl,omitempty"`
	LocalSecretIDs     bool          `json:"local_secret_ids,omitempty"`
	tokenparams.Params
}

// roleIDEntry is the record at role-id/<hmac(role_id)>: the role's name.
type roleIDEntry struct {
	Name string `json:"name"`
}

// secretIDEntry is the record at secret-id/<hmac(role name)>/<hmac(secret_id)>.
// The secret ID itself is never stored.
type secretIDEntry struct {
	SecretIDHMAC    string            `json:"secret_id_hmac"`
	Accessor        string            `json:"secret_id_accessor"`
	NumUses         int               `json:"secret_id_num_uses"`
	TTL             time.Duration     `json:"secret_id_ttl"`
	CreationTime    time.Time         `json:"creation_time"`
	ExpirationTime  time.Time         `json:"expiration_time,omitzero"`
	LastUpdatedTime time.Time         `json:"last_updated_time"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	CIDRList        []string          `json:"cidr_list,omitempty"`
	TokenBoundCIDRs []string          `json:"token_bound_cidrs,omitempty"`
}

// accessorEntry is the record at accessor/<hmac(accessor)>: where the
// secret ID entry is.
type accessorEntry struct {
	RoleNameHMAC string `json:"role_name_hmac"`
	SecretIDHMAC string `json:"secret_id_hmac"`
}

// expired reports whether the secret ID's TTL has run out at now.
func (s *secretIDEntry) expired(now time.Time) bool {
	return !s.ExpirationTime.IsZero() && !now.Before(s.ExpirationTime)
}

// view is the secret ID as lookups show it (Vault's shape).
func (s *secretIDEntry) view() map[string]any {
	meta := map[string]string{}
	for k, v := range s.Metadata {
		meta[k] = v
	}
	return map[string]any{
		"secret_id_accessor": s.Accessor,
		"secret_id_num_uses": s.NumUses,
		"secret_id_ttl":      tokenparams.Seconds(s.TTL),
		"creation_time":      s.CreationTime.UTC().Format(time.RFC3339Nano),
		"expiration_time":    s.ExpirationTime.UTC().Format(time.RFC3339Nano),
		"last_updated_time":  s.LastUpdatedTime.UTC().Format(time.RFC3339Nano),
		"metadata":           meta,
		"cidr_list":          tokenparams.NonNil(s.CIDRList),
		"token_bound_cidrs":  tokenparams.NonNil(s.TokenBoundCIDRs),
	}
}

func roleKey(name string) string { return rolePrefix + name }

func roleIDKey(k hmacKey, roleID string) string { return roleIDPrefix + k.mac(domainRoleID, roleID) }

// secretIDDir is the folder of a role's secret IDs.
func secretIDDir(k hmacKey, name string) string {
	return secretIDPrefix + k.mac(domainRoleName, name) + "/"
}

func accessorKey(k hmacKey, accessor string) string {
	return accessorPrefix + k.mac(domainAccessor, accessor)
}

// canonicalRoleName lowercases a role name and checks Vault's rule:
// letters, digits, space, "-", "_" and "."; less than 4096 bytes. The
// result is always one safe storage segment.
func canonicalRoleName(name string) (string, error) {
	if name == "" {
		return "", invalidf("missing role_name")
	}
	if len(name) > maxRoleNameBytes {
		return "", invalidf("role_name must be less than %d bytes", maxRoleNameBytes+1)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == ' ' || c == '-' || c == '_' || c == '.'
		if !ok {
			return "", invalidf("invalid role_name %q: only letters, digits, space, '-', '_' and '.' are allowed", name)
		}
	}
	if strings.Trim(name, ".") == "" {
		return "", invalidf("invalid role_name %q", name)
	}
	return strings.ToLower(name), nil
}

// getJSON decodes the record at key into v; found is false when there
// is none.
func getJSON(ctx context.Context, s storage.Backend, key string, v any) (found bool, err error) {
	found, err = entries.GetJSON(ctx, s, key, v, ErrCorrupt)
	if err != nil && !errors.Is(err, ErrCorrupt) {
		err = fmt.Errorf("approle: %w", err)
	}
	return found, err
}

func putOp(key string, v any) (storage.Op, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return storage.Op{}, fmt.Errorf("approle: encode %q: %w", key, err)
	}
	return storage.Op{Kind: storage.OpPut, Key: key, Value: b}, nil
}

func deleteOp(key string) storage.Op { return storage.Op{Kind: storage.OpDelete, Key: key} }

func txn(ctx context.Context, s storage.Backend, ops ...storage.Op) error {
	if err := s.Txn(ctx, ops); err != nil {
		return fmt.Errorf("approle: txn: %w", err)
	}
	return nil
}

// loadRole returns the role, or nil when there is none.
func loadRole(ctx context.Context, s storage.Backend, name string) (*roleEntry, error) {
	var r roleEntry
	found, err := getJSON(ctx, s, roleKey(name), &r)
	if err != nil || !found {
		return nil, err
	}
	return &r, nil
}

// loadSecretID returns the secret ID entry at key, or nil.
func loadSecretID(ctx context.Context, s storage.Backend, key string) (*secretIDEntry, error) {
	var ent secretIDEntry
	found, err := getJSON(ctx, s, key, &ent)
	if err != nil || !found {
		return nil, err
	}
	return &ent, nil
}

// loadAccessor returns the accessor entry, or nil.
func loadAccessor(ctx context.Context, s storage.Backend, key string) (*accessorEntry, error) {
	var ent accessorEntry
	found, err := getJSON(ctx, s, key, &ent)
	if err != nil || !found {
		return nil, err
	}
	return &ent, nil
}

// roles names the role records; its Exists is the existence check of
// role/:role_name.
var roles = entries.Named{Capture: "role_name", Canonical: canonicalRoleName, Key: roleKey, What: "approle: roles"}

// newUUID is a random (version 4) UUID, the form of Vault's role IDs,
// secret IDs and accessors: 122 random bits.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("approle: random id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}
