// Package storage is the one contract every layer of vaultd shares.
//
// raftstore.Store is a Backend, seal.Barrier is a Backend over a Backend,
// and a View confines a Backend to a prefix (a mount's "chroot"). Keys are
// slash-separated and never start with "/". List returns the sorted direct
// children of a prefix; children that have children of their own end in "/".
package storage

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
)

// Entry is one key/value pair.
type Entry struct {
	Key   string
	Value []byte
	// Rev is the revision of the stored value Get read: a digest of the
	// bytes the bottom backend holds for the key (for the barrier, the
	// ciphertext). Get always sets it; Put and Txn ignore it. Pass it to
	// CheckRev to make a Txn conditional on the key being unchanged since.
	Rev Rev
}

// Rev identifies the bytes stored under a key: the SHA-256 of the value as
// the bottom backend (raftstore, inmem) holds it. Layers that transform
// values (the barrier encrypts them) pass the Rev from below unchanged, so
// a Rev never reveals anything about a plaintext: above the barrier it is
// the digest of a ciphertext under a fresh random nonce, and two writes of
// the same plaintext get different Revs. The zero Rev stands for "absent".
type Rev [sha256.Size]byte

// RevOf is the Rev of stored bytes; backends that hold values call it.
func RevOf(stored []byte) Rev { return sha256.Sum256(stored) }

// IsZero reports whether r is the zero Rev ("absent").
func (r Rev) IsZero() bool { return r == Rev{} }

// OpKind says what an Op does.
type OpKind uint8

// The kinds of Op.
const (
	OpPut    OpKind = 1
	OpDelete OpKind = 2
	// OpCheck is a precondition, not a write: the Txn applies only if Key
	// currently holds the value whose Rev is Value (RevSize bytes), or, when
	// Value is empty, only if Key is absent. Every check of a Txn is
	// evaluated against the state before the Txn, atomically with its
	// writes (in raftstore: inside the FSM, on every node alike). If any
	// check fails, nothing is written and Txn returns an error wrapping
	// ErrConflict. Build checks with CheckRev.
	OpCheck OpKind = 3
)

// RevSize is the length of a Rev in an OpCheck's Value.
const RevSize = sha256.Size

// Op is one write (or, for OpCheck, one precondition) inside a Txn.
type Op struct {
	Kind  OpKind
	Key   string
	Value []byte // OpPut: the value; OpCheck: the expected Rev, or empty for "absent"
}

// CheckRev is the precondition "key still holds the value whose revision
// is rev" (what Get returned in Entry.Rev), or "key is absent" when rev is
// the zero Rev (Get returned ErrNotFound).
func CheckRev(key string, rev Rev) Op {
	if rev.IsZero() {
		return Op{Kind: OpCheck, Key: key}
	}
	return Op{Kind: OpCheck, Key: key, Value: append([]byte(nil), rev[:]...)}
}

// CheckOp evaluates an OpCheck against the key's current stored bytes
// (present reports whether the key exists). Backends that implement Txn
// call it. A malformed check (Value neither empty nor RevSize bytes) is
// ErrInvalidOp.
func CheckOp(op Op, stored []byte, present bool) error {
	switch {
	case len(op.Value) != 0 && len(op.Value) != RevSize:
		return ErrInvalidOp
	case len(op.Value) == 0 && !present:
		return nil
	case len(op.Value) == 0:
		return ErrConflict
	case !present:
		return ErrConflict
	}
	rev := RevOf(stored)
	if string(rev[:]) != string(op.Value) {
		return ErrConflict
	}
	return nil
}

// ValidateOp checks one Txn op: its key, its kind, and an OpCheck's length.
func ValidateOp(op Op) error {
	if err := ValidateKey(op.Key); err != nil {
		return err
	}
	switch op.Kind {
	case OpPut, OpDelete:
		return nil
	case OpCheck:
		if len(op.Value) != 0 && len(op.Value) != RevSize {
			return ErrInvalidOp
		}
		return nil
	default:
		return ErrInvalidOp
	}
}

// Backend is implemented by raftstore.Store, seal.Barrier, View and inmem.
// Implementations are safe for concurrent use.
type Backend interface {
	// Get returns ErrNotFound when the key is absent.
	Get(ctx context.Context, key string) (*Entry, error)
	Put(ctx context.Context, e *Entry) error
	// Delete is idempotent: deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the sorted direct children of prefix (which is "" or
	// ends in "/"); sub-prefixes end in "/".
	List(ctx context.Context, prefix string) ([]string, error)
	// Txn applies all ops or none. OpCheck preconditions are evaluated
	// atomically with the writes; a failed one fails the whole Txn with
	// ErrConflict and writes nothing.
	Txn(ctx context.Context, ops []Op) error
}

// Errors shared by every Backend.
var (
	ErrNotFound   = errors.New("storage: not found")
	ErrInvalidKey = errors.New("storage: invalid key")
	// ErrUnavailable: the backend cannot serve the operation right now
	// (a replicated backend lost leadership, timed out or is shutting
	// down). For a write the outcome is unknown; the client should retry
	// later (api answers 503 with Retry-After).
	ErrUnavailable = errors.New("storage: temporarily unavailable")
	// ErrNoSpace: the device holding the data is full; writes fail until
	// space is freed, reads go on (api answers 507).
	ErrNoSpace = errors.New("storage: no space left on the device")
	// ErrConflict: a Txn's OpCheck precondition did not hold (another
	// write changed the key since it was read). Nothing was written: the
	// outcome is definite, and the caller may read again and retry.
	ErrConflict = errors.New("storage: precondition failed: the key changed since it was read")
	// ErrInvalidOp: a Txn op of unknown kind, or a malformed OpCheck.
	ErrInvalidOp = errors.New("storage: invalid txn op")
)

// ValidateKey rejects keys that could escape a prefix or alias another
// key: empty keys, a leading "/", "//", and "." or ".." segments.
func ValidateKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "//") {
		return ErrInvalidKey
	}
	for seg := range strings.SplitSeq(key, "/") { // no allocation: this runs several times per request
		if seg == "." || seg == ".." {
			return ErrInvalidKey
		}
	}
	if strings.ContainsRune(key, 0) {
		return ErrInvalidKey
	}
	return nil
}

// validatePrefix is ValidateKey for List prefixes, which may be "" and end in "/".
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if !strings.HasSuffix(prefix, "/") {
		return ErrInvalidKey
	}
	return ValidateKey(strings.TrimSuffix(prefix, "/"))
}

// ValidatePrefix checks a List prefix: "" or a valid key followed by "/".
func ValidatePrefix(prefix string) error { return validatePrefix(prefix) }

// ListChildren turns a sorted set of full keys under prefix into the direct
// children List returns. keys must all start with prefix and be sorted.
func ListChildren(prefix string, keys []string) []string {
	out := make([]string, 0, len(keys))
	last := ""
	for _, k := range keys {
		rest := strings.TrimPrefix(k, prefix)
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i+1]
		}
		if rest == last {
			continue
		}
		out = append(out, rest)
		last = rest
	}
	return out
}
