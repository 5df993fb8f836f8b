package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
	"github.com/vaultd/vaultd/storage/storagetest"
)

func TestInmem_Conformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend { return inmem.New() })
}

func TestView_Conformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		under := inmem.New()
		// Noise outside the view must never show through it.
		_ = under.Put(context.Background(), &storage.Entry{Key: "other/a", Value: []byte("x")})
		return storage.NewView(under, "logical/abc/")
	})
}

func TestView_PathTricks(t *testing.T) {
	ctx := context.Background()
	under := inmem.New()
	if err := under.Put(ctx, &storage.Entry{Key: "core/secret", Value: []byte("s")}); err != nil {
		t.Fatal(err)
	}
	v := storage.NewView(under, "logical/m1/")
	for _, k := range []string{"../core/secret", "a/../../core/secret", "/abs", "a//b", ".", "a/./b", ""} {
		if _, err := v.Get(ctx, k); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Get(%q) err = %v, want ErrInvalidKey", k, err)
		}
		if err := v.Put(ctx, &storage.Entry{Key: k, Value: []byte("x")}); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Put(%q) err = %v, want ErrInvalidKey", k, err)
		}
	}
	if _, err := v.List(ctx, "../"); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("List(../) err = %v, want ErrInvalidKey", err)
	}
}

func TestClearPrefix(t *testing.T) {
	ctx := context.Background()
	b := inmem.New()
	for _, k := range []string{"m/a", "m/b/c", "m/b/d/e", "keep"} {
		_ = b.Put(ctx, &storage.Entry{Key: k, Value: []byte("1")})
	}
	if err := storage.ClearPrefix(ctx, b, "m/"); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.List(ctx, ""); len(got) != 1 || got[0] != "keep" {
		t.Fatalf("after ClearPrefix List = %q, want [keep]", got)
	}
}

func BenchmarkValidateKey(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if err := storage.ValidateKey("logical/5f0c3a1e-7d2b-4c8e-9a61-0b2f4e6d8c10/data/app/prod/db"); err != nil {
			b.Fatal(err)
		}
	}
}
