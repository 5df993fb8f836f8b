package seal

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/vaultd/vaultd/storage"
)

// Barrier is a storage.Backend over a storage.Backend: plaintext above,
// ciphertext below. While sealed it holds no keys and every storage method,
// Encrypt and Decrypt return ErrSealed. It is safe for concurrent use.
type Barrier struct {
	under  storage.Backend
	logger *slog.Logger

	// readOnly, when set, is the error Put, Delete and Txn fail with
	// (SetReadOnly).
	readOnly atomic.Pointer[error]

	// opMu serialises the operations that read or write the barrier's own
	// keys (Initialize, Unseal, Rotate, Rekey, Reload), so at most one of
	// them builds a new keyring at a time. Seal does not take it, so it
	// never waits for storage.
	opMu sync.Mutex

	// mu guards root and the key bytes of the installed keyring (Seal
	// zeroes them; Rotate and Reload read them), and is held to install or
	// drop a keyring.
	mu   sync.Mutex
	root Secret // the root key; nil while sealed

	// kr is the installed keyring, nil while sealed. Readers Load it
	// without a lock; writers Store it with mu held.
	kr atomic.Pointer[keyring]

	// encs and decs count the values this barrier encrypted and decrypted
	// since the process started (Stats; the metrics read them).
	encs, decs atomic.Uint64
}

// Stats are the barrier's cumulative operation counts.
type Stats struct {
	Encryptions, Decryptions uint64
}

// Stats returns the barrier's cumulative counts since the process started.
func (b *Barrier) Stats() Stats {
	return Stats{Encryptions: b.encs.Load(), Decryptions: b.decs.Load()}
}

var _ storage.Backend = (*Barrier)(nil)

// NewBarrier returns a sealed barrier over under (raftstore in production,
// inmem in tests). A nil logger discards.
func NewBarrier(under storage.Backend, logger *slog.Logger) *Barrier {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Barrier{under: under, logger: logger.With("component", "seal")}
}

// Sealed reports whether the barrier is sealed.
func (b *Barrier) Sealed() bool { return b.kr.Load() == nil }

// checkKey validates a key used through the storage methods.
func checkKey(key string) error {
	if err := storage.ValidateKey(key); err != nil {
		return fmt.Errorf("%w: %q", err, key)
	}
	if reserved(key) {
		return fmt.Errorf("%w: %q", ErrReservedKey, key)
	}
	return nil
}

// Get implements storage.Backend: it reads and decrypts key. Reserved keys
// are refused with ErrReservedKey.
func (b *Barrier) Get(ctx context.Context, key string) (*storage.Entry, error) {
	kr := b.kr.Load()
	if kr == nil {
		return nil, ErrSealed
	}
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("seal: get: %w", err)
	}
	e, err := b.under.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	pt, err := b.decrypt(ctx, kr, key, e.Value)
	if err != nil {
		return nil, fmt.Errorf("seal: get %q: %w", key, err)
	}
	// Rev is the digest of the ciphertext below: passed through unchanged,
	// so a Txn's OpCheck is evaluated against what storage holds.
	return &storage.Entry{Key: key, Value: pt, Rev: e.Rev}, nil
}

// SetReadOnly makes Put, Delete and Txn fail with err (nil: writable
// again). A performance secondary's storage is written by the replication
// stream only (below the barrier); a request that would write above it is
// refused with err and forwarded to the primary.
func (b *Barrier) SetReadOnly(err error) {
	if err == nil {
		b.readOnly.Store(nil)
		return
	}
	b.readOnly.Store(&err)
}

func (b *Barrier) roErr() error {
	if p := b.readOnly.Load(); p != nil {
		return *p
	}
	return nil
}

// Put implements storage.Backend: it encrypts the value with the active
// term, bound to e.Key.
func (b *Barrier) Put(ctx context.Context, e *storage.Entry) error {
	kr := b.kr.Load()
	if kr == nil {
		return ErrSealed
	}
	if err := b.roErr(); err != nil {
		return err
	}
	if e == nil {
		return fmt.Errorf("seal: put: nil entry: %w", storage.ErrInvalidKey)
	}
	if err := checkKey(e.Key); err != nil {
		return fmt.Errorf("seal: put: %w", err)
	}
	b.encs.Add(1)
	return b.under.Put(ctx, &storage.Entry{Key: e.Key, Value: encrypt(kr, e.Key, e.Value)})
}

// Delete implements storage.Backend.
func (b *Barrier) Delete(ctx context.Context, key string) error {
	if b.Sealed() {
		return ErrSealed
	}
	if err := b.roErr(); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return fmt.Errorf("seal: delete: %w", err)
	}
	return b.under.Delete(ctx, key)
}

// List implements storage.Backend. Keys are not encrypted, so it passes
// through, except that the reserved keys are left out (and "core/" itself
// when they are all it holds): above the barrier they do not exist.
func (b *Barrier) List(ctx context.Context, prefix string) ([]string, error) {
	if b.Sealed() {
		return nil, ErrSealed
	}
	if err := storage.ValidatePrefix(prefix); err != nil {
		return nil, fmt.Errorf("seal: list: %w: %q", err, prefix)
	}
	keys, err := b.under.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	switch prefix {
	case "core/":
		keys = slices.DeleteFunc(keys, func(k string) bool { return reserved(prefix + k) })
	case "":
		if _, found := slices.BinarySearch(keys, "core/"); found {
			sub, err := b.List(ctx, "core/")
			if err != nil {
				return nil, err
			}
			if len(sub) == 0 {
				keys = slices.DeleteFunc(keys, func(k string) bool { return k == "core/" })
			}
		}
	}
	return keys, nil
}

// Txn implements storage.Backend: every put is encrypted and the whole
// batch goes down as one Txn. Nothing is written if any op is invalid.
// An OpCheck passes through as it is: its Rev came from Get, which
// returns the Rev of the ciphertext below (see storage.Rev).
func (b *Barrier) Txn(ctx context.Context, ops []storage.Op) error {
	kr := b.kr.Load()
	if kr == nil {
		return ErrSealed
	}
	if err := b.roErr(); err != nil {
		return err
	}
	out := make([]storage.Op, len(ops))
	for i, op := range ops {
		if err := checkKey(op.Key); err != nil {
			return fmt.Errorf("seal: txn: %w", err)
		}
		if err := storage.ValidateOp(op); err != nil {
			return fmt.Errorf("seal: txn: op %q (kind %d): %w", op.Key, op.Kind, err)
		}
		out[i] = storage.Op{Kind: op.Kind, Key: op.Key}
		if op.Kind == storage.OpCheck {
			out[i].Value = op.Value
		}
	}
	for i, op := range ops {
		if op.Kind == storage.OpPut {
			b.encs.Add(1)
			out[i].Value = encrypt(kr, op.Key, op.Value)
		}
	}
	return b.under.Txn(ctx, out)
}

// Encrypt seals plaintext for path with the active term, in the barrier
// format, with no storage side effect (used for raft join challenges).
func (b *Barrier) Encrypt(path string, plaintext []byte) ([]byte, error) {
	kr := b.kr.Load()
	if kr == nil {
		return nil, ErrSealed
	}
	b.encs.Add(1)
	return encrypt(kr, path, plaintext), nil
}

// Decrypt opens a ciphertext made by Encrypt (or stored through the
// barrier) for path. Like Get, it reloads the keyring once if ciphertext
// carries a term newer than this node knows.
func (b *Barrier) Decrypt(path string, ciphertext []byte) ([]byte, error) {
	kr := b.kr.Load()
	if kr == nil {
		return nil, ErrSealed
	}
	pt, err := b.decrypt(context.Background(), kr, path, ciphertext)
	if err != nil {
		return nil, fmt.Errorf("seal: decrypt: %w", err)
	}
	return pt, nil
}

// encrypt seals plaintext for path with kr's active term and counts it.
func encrypt(kr *keyring, path string, plaintext []byte) []byte {
	t := kr.active()
	t.encryptions.Add(1)
	return encryptWith(t.aead, t.term, path, plaintext)
}

// decrypt opens ct for path. A term newer than kr's active one makes it
// reload the keyring once (another node rotated). If the barrier was
// sealed while it ran, it discards the plaintext and returns ErrSealed.
func (b *Barrier) decrypt(ctx context.Context, kr *keyring, path string, ct []byte) ([]byte, error) {
	b.decs.Add(1)
	term, body, err := parseEnvelope(ct)
	if err != nil {
		return nil, err
	}
	t := kr.get(term)
	if t == nil && term > kr.active().term {
		if kr, err = b.reloadFor(ctx, term); err != nil {
			return nil, err
		}
		t = kr.get(term)
	}
	if t == nil {
		return nil, fmt.Errorf("%w: unknown key term %d", ErrBadCiphertext, term)
	}
	pt, err := t.aead.Open(nil, nil, body, []byte(path))
	if err != nil {
		return nil, fmt.Errorf("%w: message authentication failed", ErrBadCiphertext)
	}
	if b.Sealed() {
		clear(pt)
		return nil, ErrSealed
	}
	return pt, nil
}
