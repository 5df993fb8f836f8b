package kv

import (
	"context"
	"testing"
	"time"

	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// TestMetaCache_NeverStale: loadMeta returns what storage holds now, even
// when the record was rewritten behind the cache's back, and a caller
// modifying what it got cannot change what the next caller gets.
func TestMetaCache_NeverStale(t *testing.T) {
	ctx := context.Background()
	s := storage.NewView(inmem.New(), "mc/")
	put := func(m *keyMetadata) {
		t.Helper()
		op, err := putOp(metadataKey("k"), m)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Txn(ctx, []storage.Op{op}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	put(&keyMetadata{CurrentVersion: 1, Versions: map[uint64]*versionMeta{1: {CreatedTime: now}}})

	m1, err := loadMeta(ctx, s, "k")
	if err != nil || m1 == nil || m1.CurrentVersion != 1 {
		t.Fatalf("first load = %+v, %v", m1, err)
	}
	// Modify what we got: the next load must not see it.
	m1.CurrentVersion = 99
	m1.Versions[1].Destroyed = true
	m1.Versions[2] = &versionMeta{}
	m2, err := loadMeta(ctx, s, "k")
	if err != nil || m2.CurrentVersion != 1 || m2.Versions[1].Destroyed || len(m2.Versions) != 1 {
		t.Fatalf("second load saw a caller's changes: %+v, %v", m2, err)
	}

	// Rewrite storage directly (as a restore or another writer would).
	put(&keyMetadata{CurrentVersion: 2, Versions: map[uint64]*versionMeta{1: {CreatedTime: now}, 2: {CreatedTime: now}}})
	m3, err := loadMeta(ctx, s, "k")
	if err != nil || m3.CurrentVersion != 2 || len(m3.Versions) != 2 {
		t.Fatalf("load after rewrite = %+v, %v; want version 2", m3, err)
	}
	if err := s.Delete(ctx, metadataKey("k")); err != nil {
		t.Fatal(err)
	}
	if m4, err := loadMeta(ctx, s, "k"); err != nil || m4 != nil {
		t.Fatalf("load after delete = %+v, %v; want nil", m4, err)
	}
}
