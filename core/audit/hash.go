package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
)

// HashPrefix starts every hashed value.
const HashPrefix = "hmac-sha256:"

// Hasher computes a device's HMACs. Its key is never exposed.
type Hasher struct {
	mu  sync.RWMutex // guards key (zeroed on Deregister/Close)
	key []byte
}

// NewHasher returns a hasher keyed with a copy of salt.
func NewHasher(salt []byte) *Hasher {
	return &Hasher{key: append([]byte(nil), salt...)}
}

// String never shows the key.
func (h *Hasher) String() string { return "audit.Hasher([redacted])" }

// Hash returns "hmac-sha256:<hex of HMAC-SHA256(salt, s)>".
func (h *Hasher) Hash(s string) string {
	h.mu.RLock()
	m := hmac.New(sha256.New, h.key)
	h.mu.RUnlock()
	m.Write([]byte(s))
	return HashPrefix + hex.EncodeToString(m.Sum(nil))
}

func (h *Hasher) hashNonEmpty(s string) string {
	if s == "" {
		return ""
	}
	return h.Hash(s)
}

func (h *Hasher) zero() {
	h.mu.Lock()
	clear(h.key)
	h.mu.Unlock()
}

// hashMap returns a copy of m with every string value hashed, at any depth.
func (h *Hasher) hashMap(m map[string]any) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		hv, err := h.hashValue(v, 0)
		if err != nil {
			return nil, err
		}
		out[k] = hv
	}
	return out, nil
}

// maxDepth bounds recursion on hostile, deeply nested request bodies.
const maxDepth = 64

// hashValue hashes every string inside v. Numbers, booleans and nulls pass
// through, as in Vault. Types it does not know are normalised through JSON
// first, so a struct field can never carry a string past the hasher.
func (h *Hasher) hashValue(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: value nested deeper than %d levels", ErrInvalidConfig, maxDepth)
	}
	switch t := v.(type) {
	case nil, bool, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, json.Number:
		return t, nil
	case string:
		return h.Hash(t), nil
	case []byte:
		return h.Hash(string(t)), nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			he, err := h.hashValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = he
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = h.Hash(e)
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			he, err := h.hashValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = he
		}
		return out, nil
	case []string:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = h.Hash(e)
		}
		return out, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("audit: normalising a %T value: %w", v, err)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return nil, fmt.Errorf("audit: normalising a %T value: %w", v, err)
	}
	// JSON yields only the known types above, so this recursion ends.
	return h.hashValue(generic, depth+1)
}
