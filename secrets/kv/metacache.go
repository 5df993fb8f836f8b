package kv

import (
	"bytes"
	"maps"
	"sync"
)

// metaCache keeps the decoded form of recently read metadata records.
// Decoding a record (JSON with a timestamp pair per version) was the
// largest single cost of a KV v2 read and a tenth of a write (profiles in
// docs/benchmarks.md). A cached entry is used only when the bytes just
// read from storage are identical to the bytes it was decoded from, so it
// can never be stale, whoever wrote the record, and a record read from
// another mount with the same key simply misses. Callers get a deep copy
// (they modify it before writing it back). Metadata holds no secret data.
type metaCache struct {
	mu      sync.Mutex
	entries map[string]metaCacheEntry // by storage key
}

type metaCacheEntry struct {
	raw  []byte
	meta *keyMetadata // never modified
}

// metaCacheSize bounds the cache; past it an arbitrary entry is evicted.
const metaCacheSize = 4096

var metas = &metaCache{entries: map[string]metaCacheEntry{}}

// get returns a copy of the decoded record if raw is what key held when
// it was cached.
func (c *metaCache) get(key string, raw []byte) (*keyMetadata, bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if !ok || !bytes.Equal(e.raw, raw) {
		return nil, false
	}
	return e.meta.clone(), true
}

// put caches m (which the caller keeps using: a copy is stored) decoded
// from raw.
func (c *metaCache) put(key string, raw []byte, m *keyMetadata) {
	e := metaCacheEntry{raw: bytes.Clone(raw), meta: m.clone()}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= metaCacheSize {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = e
}

// clone is a deep copy of m.
func (m *keyMetadata) clone() *keyMetadata {
	cp := *m
	cp.CustomMetadata = maps.Clone(m.CustomMetadata)
	cp.Versions = make(map[uint64]*versionMeta, len(m.Versions))
	for n, v := range m.Versions {
		if v == nil {
			cp.Versions[n] = nil
			continue
		}
		vc := *v
		cp.Versions[n] = &vc
	}
	return &cp
}
