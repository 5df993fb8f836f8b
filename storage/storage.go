// Package storage is the one contract every layer of vaultd shares.
//
// raftstore.Store is a Backend, seal.Barrier is a Backend over a Backend,
// and a View confines a Backend to a prefix (a mount's "chroot"). Keys are
// slash-separated and never start with "/". List returns the sorted direct
// children of a prefix; children that have children of their own end in "/".
package storage

import (
	"context"
	"errors"
	"strings"
)

// Entry is one key/value pair.
type Entry struct {
	Key   string
	Value []byte
}

// OpKind says what an Op does.
type OpKind uint8

// The kinds of Op.
const (
	OpPut    OpKind = 1
	OpDelete OpKind = 2
)

// Op is one write inside a Txn.
type Op struct {
	Kind  OpKind
	Key   string
	Value []byte // OpPut only
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
	// Txn applies all ops or none.
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
