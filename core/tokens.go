package core

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/vaultd/vaultd/storage"
)

const (
	tokenSaltKey     = "core/token-salt"
	tokenIDPrefix    = "sys/token/id/"
	tokenAccessorPfx = "sys/token/accessor/"
)

// TokenEntry is a token as stored. The token ID itself is never stored:
// the entry lives at sys/token/id/<HMAC-SHA256(salt, id)>.
type TokenEntry struct {
	// ID is set only in memory on the entry returned by lookup/create; it
	// is excluded from JSON so it can never reach storage.
	ID             string            `json:"-"`
	IDHash         string            `json:"id_hash"`
	Accessor       string            `json:"accessor"`
	ParentHash     string            `json:"parent_hash,omitempty"`
	Policies       []string          `json:"policies"`
	Path           string            `json:"path"`
	Meta           map[string]string `json:"meta,omitempty"`
	DisplayName    string            `json:"display_name"`
	NumUses        int               `json:"num_uses"`
	CreationTime   time.Time         `json:"creation_time"`
	TTL            time.Duration     `json:"ttl"`
	ExplicitMaxTTL time.Duration     `json:"explicit_max_ttl"`
	Period         time.Duration     `json:"period"`
	ExpireTime     time.Time         `json:"expire_time"`
	Renewable      bool              `json:"renewable"`
	Orphan         bool              `json:"orphan"`
	Type           string            `json:"type"`
	Role           string            `json:"role,omitempty"`
	EntityID       string            `json:"entity_id,omitempty"`
}

// Expired reports whether the token's TTL has run out.
func (t *TokenEntry) Expired(now time.Time) bool {
	return !t.ExpireTime.IsZero() && !now.Before(t.ExpireTime)
}

// tokenStore keeps tokens behind the barrier, keyed by salted hash.
type tokenStore struct {
	b   storage.Backend
	now func() time.Time

	mu   sync.RWMutex // guards salt
	salt []byte
}

func newTokenStore(b storage.Backend, now func() time.Time) *tokenStore {
	return &tokenStore{b: b, now: now}
}

func (ts *tokenStore) load(ctx context.Context) error {
	e, err := ts.b.Get(ctx, tokenSaltKey)
	if err != nil {
		return fmt.Errorf("core: token salt: %w", err)
	}
	ts.mu.Lock()
	ts.salt = e.Value
	ts.mu.Unlock()
	return nil
}

// forget zeroes the salt (on seal).
func (ts *tokenStore) forget() {
	ts.mu.Lock()
	clear(ts.salt)
	ts.salt = nil
	ts.mu.Unlock()
}

// hash is the salted HMAC of a token ID or accessor.
func (ts *tokenStore) hash(v string) (string, error) {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	if ts.salt == nil {
		return "", ErrSealed
	}
	m := hmac.New(sha256.New, ts.salt)
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil)), nil
}

const base62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// randomID returns n random base62 characters.
func randomID(n int) (string, error) {
	out := make([]byte, n)
	max := big.NewInt(int64(len(base62)))
	for i := range out {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		out[i] = base62[v.Int64()]
	}
	return string(out), nil
}

// create stores te under a new random ID (or id, when given) and returns
// the token ID. te.Accessor and te.IDHash are filled in.
func (ts *tokenStore) create(ctx context.Context, te *TokenEntry, id string) (string, error) {
	var err error
	if id == "" {
		r, err := randomID(24)
		if err != nil {
			return "", err
		}
		id = "hvs." + r
	}
	acc, err := randomID(24)
	if err != nil {
		return "", err
	}
	if te.IDHash, err = ts.hash(id); err != nil {
		return "", err
	}
	accHash, err := ts.hash(acc)
	if err != nil {
		return "", err
	}
	te.Accessor = acc
	if te.CreationTime.IsZero() {
		te.CreationTime = ts.now().UTC()
	}
	if te.Type == "" {
		te.Type = "service"
	}
	if te.TTL > 0 && te.ExpireTime.IsZero() {
		te.ExpireTime = te.CreationTime.Add(te.TTL)
	}
	b, err := json.Marshal(te)
	if err != nil {
		return "", err
	}
	ab, err := json.Marshal(accessorEntry{IDHash: te.IDHash})
	if err != nil {
		return "", err
	}
	err = ts.b.Txn(ctx, []storage.Op{
		{Kind: storage.OpPut, Key: tokenIDPrefix + te.IDHash, Value: b},
		{Kind: storage.OpPut, Key: tokenAccessorPfx + accHash, Value: ab},
	})
	if err != nil {
		return "", err
	}
	te.ID = id
	return id, nil
}

type accessorEntry struct {
	IDHash string `json:"id_hash"`
}

// errTokenNotFound: no such token (or expired). Callers turn it into 403.
var errTokenNotFound = errors.New("core: token not found")

// lookup finds a live token by ID. Expired tokens are refused at once.
func (ts *tokenStore) lookup(ctx context.Context, id string) (*TokenEntry, error) {
	if id == "" {
		return nil, errTokenNotFound
	}
	h, err := ts.hash(id)
	if err != nil {
		return nil, err
	}
	e, err := ts.b.Get(ctx, tokenIDPrefix+h)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errTokenNotFound
	}
	if err != nil {
		return nil, err
	}
	var te TokenEntry
	if err := json.Unmarshal(e.Value, &te); err != nil {
		return nil, fmt.Errorf("core: token entry: %w", err)
	}
	// The key already binds the hash; compare anyway, in constant time, so a
	// corrupted or moved entry can never authenticate another token.
	if !hmac.Equal([]byte(te.IDHash), []byte(h)) {
		return nil, errTokenNotFound
	}
	if te.Expired(ts.now()) {
		return nil, errTokenNotFound
	}
	te.ID = id
	return &te, nil
}
