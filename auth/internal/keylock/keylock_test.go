package keylock_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/vaultd/vaultd/auth/internal/keylock"
)

func TestSet_ForKey_Stable(t *testing.T) {
	var s keylock.Set
	stripes := map[*sync.RWMutex]bool{}
	for i := range 1000 {
		key := fmt.Sprintf("key-%d", i)
		mu := s.ForKey(key)
		if mu != s.ForKey(key) {
			t.Fatalf("ForKey(%q) is not stable", key)
		}
		stripes[mu] = true
	}
	// 1000 keys over 256 stripes: a hash that spreads them uses most.
	if len(stripes) < 200 {
		t.Fatalf("1000 keys use only %d stripes", len(stripes))
	}
	var other keylock.Set
	if other.ForKey("a") == s.ForKey("a") {
		t.Fatal("two sets share a mutex")
	}
}

// TestSet_ForKey_Excludes: writers of the same key never overlap (run with
// -race, the unguarded counter would also be reported).
func TestSet_ForKey_Excludes(t *testing.T) {
	var s keylock.Set
	counts := map[string]int{}
	var countsMu sync.Mutex // guards the map itself; the values are guarded by the stripes
	keys := []string{"alice", "bob", "carol"}
	for _, k := range keys {
		counts[k] = 0
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := keys[(g+i)%len(keys)]
				mu := s.ForKey(k)
				mu.Lock()
				countsMu.Lock()
				n := counts[k]
				countsMu.Unlock()
				countsMu.Lock()
				counts[k] = n + 1
				countsMu.Unlock()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != 8*200 {
		t.Fatalf("%d increments survived, want %d (lost updates)", total, 8*200)
	}
}
