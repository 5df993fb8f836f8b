package approle

import (
	"hash/fnv"
	"sync"
)

// lockStripes is the number of striped mutexes; a power of two.
const lockStripes = 256

// lockSet is a fixed set of RW mutexes; a key maps to one of them by hash.
// Two keys may share a stripe (they then serialize), which is harmless
// because a request never holds more than one stripe of a set.
type lockSet struct {
	stripes [lockStripes]sync.RWMutex
}

// forKey returns the mutex guarding key.
func (l *lockSet) forKey(key string) *sync.RWMutex {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key)) // hash.Hash.Write never fails
	return &l.stripes[h.Sum64()&(lockStripes-1)]
}
