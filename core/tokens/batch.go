package tokens

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// Batch tokens (Vault's type=batch) are not stored: the token is its own
// entry, sealed with AES-256-GCM under a key derived from the token salt
// (which is behind the barrier and replicated, so every node of the
// cluster can open them), prefixed "hvb.". They have no accessor, cannot
// be renewed, revoked on their own, limited in uses or used to create
// other tokens; they die at their TTL, or with their parent when they have
// one (checked at every lookup).

// BatchPrefix starts every batch token.
const BatchPrefix = "hvb."

const (
	TypeService = "service"
	TypeBatch   = "batch"
)

// batchAAD binds a sealed entry to its purpose and format version.
var batchAAD = []byte("vaultd batch token v1")

// batchKeyLabel derives the batch key from the salt.
const batchKeyLabel = "vaultd batch token encryption key"

// IsBatch reports whether id has the form of a batch token.
func IsBatch(id string) bool { return strings.HasPrefix(id, BatchPrefix) }

func deriveBatchKey(salt []byte) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(batchKeyLabel))
	return m.Sum(nil)
}

func (ts *Store) batchAEAD() (cipher.AEAD, error) {
	ts.mu.RLock()
	key := ts.batchKey
	ts.mu.RUnlock()
	if key == nil {
		return nil, ErrSealed
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(blk)
}

// CreateBatch issues a batch token for te (Type becomes batch; no
// accessor; never renewable; no use limit). When te.ParentHash is set the
// parent must exist, and the token dies with it.
func (ts *Store) CreateBatch(ctx context.Context, te *Entry) (string, error) {
	if te.NumUses != 0 || te.Period != 0 {
		return "", badRequest("batch tokens cannot be periodic or have a use limit")
	}
	te.Type, te.Accessor, te.Renewable, te.IDHash = TypeBatch, "", false, ""
	if te.CreationTime.IsZero() {
		te.CreationTime = ts.now().UTC()
	}
	if te.TTL > 0 && te.ExpireTime.IsZero() {
		te.ExpireTime = te.CreationTime.Add(te.TTL)
	}
	if te.ParentHash != "" {
		if _, err := ts.GetByHash(ctx, te.ParentHash); err != nil {
			return "", err
		}
	}
	plain, err := json.Marshal(te)
	if err != nil {
		return "", err
	}
	aead, err := ts.batchAEAD()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	id := BatchPrefix + base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, batchAAD))
	clear(plain)
	if te.IDHash, err = ts.Hash(id); err != nil {
		return "", err
	}
	te.ID = id
	return id, nil
}

// lookupBatch opens a batch token. Anything that does not open, is
// expired, or whose parent is gone is ErrNotFound.
func (ts *Store) lookupBatch(ctx context.Context, id string) (*Entry, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(id, BatchPrefix))
	if err != nil {
		return nil, ErrNotFound
	}
	aead, err := ts.batchAEAD()
	if err != nil {
		return nil, err
	}
	if len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrNotFound
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], batchAAD)
	if err != nil {
		return nil, ErrNotFound
	}
	var te Entry
	err = json.Unmarshal(plain, &te)
	clear(plain)
	if err != nil || te.Type != TypeBatch {
		return nil, ErrNotFound
	}
	now := ts.now()
	if te.Expired(now) {
		return nil, ErrNotFound
	}
	if te.ParentHash != "" {
		p, err := ts.GetByHash(ctx, te.ParentHash)
		if errors.Is(err, ErrNotFound) || (err == nil && (p.Expired(now) || p.NumUses < 0)) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
	}
	if te.IDHash, err = ts.Hash(id); err != nil {
		return nil, err
	}
	te.ID = id
	return &te, nil
}

// stateKeyLabel derives the key of X-Vault-Index state tokens from the
// salt (core/standby.go).
const stateKeyLabel = "vaultd x-vault-index state v1"

// StateMAC is HMAC-SHA256 of msg under a key derived from the cluster's
// token salt, for the state tokens every node of the cluster must be able
// to check (X-Vault-Index). ErrSealed while the salt is not loaded.
func (ts *Store) StateMAC(msg []byte) ([]byte, error) {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	if ts.stateKey == nil {
		return nil, ErrSealed
	}
	m := hmac.New(sha256.New, ts.stateKey)
	m.Write(msg)
	return m.Sum(nil), nil
}

func deriveStateKey(salt []byte) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(stateKeyLabel))
	return m.Sum(nil)
}
