package transit

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"

	"github.com/vaultd/vaultd/storage"
)

// Parsing a stored key is the expensive part of using it: an RSA version
// costs a PKCS #8 parse, rsa.Precompute and the key's self-check
// (milliseconds of CPU), ECDSA and ed25519 versions a scalar
// multiplication. The engine therefore keeps the parsed keys it used
// recently in a policyCache.
//
// The cache validates itself on every use, so it needs no invalidation
// hook: each request still reads the stored record (through the barrier,
// so it is as fresh as any read), and a cached parse is used only when the
// SHA-256 of the record's plaintext equals the hash of the record it was
// parsed from. Any write (rotate, config, trim, restore, delete and
// re-create, a snapshot restore, a write made by another node that was
// active) changes the bytes and so the hash, and the next request parses
// the new record.
//
// A cached policy is shared by concurrent requests and is read-only: the
// paths that change a key (create, rotate, config, trim, restore, delete,
// backup) parse their own private copy with loadPolicy under the key's
// lock, as before. Key material leaves memory as it did before the cache
// existed, only later: an entry replaced, evicted or dropped by Cleanup
// (unmount, remount, step-down, seal) is zeroed once the last request
// using it has released it.

// policyCacheSize bounds the parsed keys kept per mount.
const policyCacheSize = 256

type cachedPolicy struct {
	sum  [sha256.Size]byte // of the stored record's plaintext
	p    *policy
	refs int  // requests using p
	dead bool // out of the cache: zero p when refs reaches 0
}

type policyCache struct {
	mu     sync.Mutex
	m      map[string]*cachedPolicy
	closed bool
	max    int
}

func newPolicyCache(max int) *policyCache {
	return &policyCache{m: make(map[string]*cachedPolicy), max: max}
}

// release returns a func that drops one reference to ent; it is safe to
// call more than once.
func (c *policyCache) release(ent *cachedPolicy) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			ent.refs--
			if ent.dead && ent.refs == 0 {
				ent.p.zero()
			}
		})
	}
}

// drop takes ent out of the cache; callers hold c.mu.
func (c *policyCache) drop(name string, ent *cachedPolicy) {
	delete(c.m, name)
	ent.dead = true
	if ent.refs == 0 {
		ent.p.zero()
	}
}

// get returns the cached parse of name if it was parsed from a record
// whose plaintext hashes to sum, referenced for the caller.
func (c *policyCache) get(name string, sum [sha256.Size]byte) (*policy, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ent := c.m[name]
	if ent == nil || subtle.ConstantTimeCompare(ent.sum[:], sum[:]) != 1 {
		return nil, nil
	}
	ent.refs++
	return ent.p, c.release(ent)
}

// put caches p, parsed from a record hashing to sum, and returns the
// policy the caller should use (another request may have cached the same
// record first) with its release func. A closed cache keeps nothing: the
// caller gets p back, zeroed on release.
func (c *policyCache) put(name string, sum [sha256.Size]byte, p *policy) (*policy, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		var once sync.Once
		return p, func() { once.Do(p.zero) }
	}
	if old := c.m[name]; old != nil {
		if subtle.ConstantTimeCompare(old.sum[:], sum[:]) == 1 {
			p.zero()
			old.refs++
			return old.p, c.release(old)
		}
		c.drop(name, old)
	}
	for n, ent := range c.m { // bounded: evict an arbitrary entry
		if len(c.m) < c.max {
			break
		}
		c.drop(n, ent)
	}
	ent := &cachedPolicy{sum: sum, p: p, refs: 1}
	c.m[name] = ent
	return p, c.release(ent)
}

// close drops every entry (zeroing those not in use) and stops caching.
func (c *policyCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for n, ent := range c.m {
		c.drop(n, ent)
	}
}

// len is the number of cached keys (tests).
func (c *policyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

func noRelease() {}

// readKey returns key name for reading, from the cache when the stored
// record is unchanged, and the func that releases it; (nil, noRelease,
// nil) when absent. The policy is shared: the caller must not change or
// zero it, and calls release when done.
func (e *engine) readKey(ctx context.Context, s storage.Backend, name string) (*policy, func(), error) {
	ent, err := s.Get(ctx, policyKey(name))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, noRelease, nil
	}
	if err != nil {
		return nil, noRelease, fmt.Errorf("transit: load key: %w", err)
	}
	sum := sha256.Sum256(ent.Value)
	if p, release := e.cache.get(name, sum); p != nil {
		clear(ent.Value)
		return p, release, nil
	}
	p, err := decodePolicy(ent.Value)
	if err != nil {
		return nil, noRelease, err
	}
	p, release := e.cache.put(name, sum, p)
	return p, release, nil
}
