package raftstore

import (
	"testing"

	"github.com/hashicorp/raft"
)

// countingDeletes records the ranges DeleteRange was called with.
type countingDeletes struct {
	raft.LogStore
	calls [][2]uint64
}

func (c *countingDeletes) DeleteRange(lo, hi uint64) error {
	c.calls = append(c.calls, [2]uint64{lo, hi})
	return c.LogStore.DeleteRange(lo, hi)
}

func TestChunkedTruncate(t *testing.T) {
	fill := func(n uint64) (*countingDeletes, chunkedTruncate) {
		st := raft.NewInmemStore()
		for i := uint64(1); i <= n; i++ {
			if err := st.StoreLog(&raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte{1}}); err != nil {
				t.Fatal(err)
			}
		}
		cd := &countingDeletes{LogStore: st}
		return cd, chunkedTruncate{LogStore: cd}
	}
	check := func(cd *countingDeletes, first, last uint64) {
		t.Helper()
		f, _ := cd.FirstIndex()
		l, _ := cd.LastIndex()
		if f != first || l != last {
			t.Fatalf("log = [%d, %d], want [%d, %d]", f, l, first, last)
		}
	}

	// A prefix (raft's compaction): oldest first, in chunks, contiguous.
	cd, ct := fill(3000)
	if err := ct.DeleteRange(1, 2000); err != nil {
		t.Fatal(err)
	}
	check(cd, 2001, 3000)
	if len(cd.calls) != 4 || cd.calls[0] != [2]uint64{1, truncateChunk} || cd.calls[3] != [2]uint64{3*truncateChunk + 1, 2000} {
		t.Fatalf("calls = %v", cd.calls)
	}
	for i := 1; i < len(cd.calls); i++ {
		if cd.calls[i][0] != cd.calls[i-1][1]+1 {
			t.Fatalf("calls not contiguous: %v", cd.calls)
		}
	}

	// A tail (a follower dropping conflicting entries) or the whole log:
	// one call.
	cd, ct = fill(3000)
	if err := ct.DeleteRange(1000, 3000); err != nil {
		t.Fatal(err)
	}
	check(cd, 1, 999)
	cd, ct = fill(3000)
	if err := ct.DeleteRange(1, 3000); err != nil {
		t.Fatal(err)
	}
	if len(cd.calls) != 1 {
		t.Fatalf("whole-log delete split: %v", cd.calls)
	}
	// A small prefix: one call.
	cd, ct = fill(3000)
	if err := ct.DeleteRange(1, 100); err != nil {
		t.Fatal(err)
	}
	check(cd, 101, 3000)
	if len(cd.calls) != 1 {
		t.Fatalf("small delete split: %v", cd.calls)
	}
}
