package keylock

import (
	"hash/fnv"
	"sync"
)

// stripes is the number of striped mutexes; a power of two.
const stripes = 256

// Set is a fixed set of RW mutexes; a key maps to one of them by hash.
// Its zero value is ready to use; a Set must not be copied after first
// use.
type Set struct {
	stripes [stripes]sync.RWMutex
}

// ForKey returns the mutex guarding key. It always returns the same mutex
// for the same key.
func (l *Set) ForKey(key string) *sync.RWMutex {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key)) // hash.Hash.Write never fails
	return &l.stripes[h.Sum64()&(stripes-1)]
}
