// Package storagetest is the conformance suite every storage.Backend passes,
// in the style of testing/fstest.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/vaultd/vaultd/storage"
)

// Run runs the conformance suite against backends made by newBackend; each
// subtest gets a fresh, empty backend.
func Run(t *testing.T, newBackend func(t *testing.T) storage.Backend) {
	t.Helper()
	ctx := context.Background()

	t.Run("GetMissing", func(t *testing.T) {
		b := newBackend(t)
		if _, err := b.Get(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Get(missing) err = %v, want ErrNotFound", err)
		}
	})

	t.Run("PutGetOverwrite", func(t *testing.T) {
		b := newBackend(t)
		for _, v := range [][]byte{[]byte("one"), []byte("two"), {}} {
			if err := b.Put(ctx, &storage.Entry{Key: "a/b", Value: v}); err != nil {
				t.Fatalf("Put: %v", err)
			}
			e, err := b.Get(ctx, "a/b")
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if e.Key != "a/b" || !bytes.Equal(e.Value, v) {
				t.Fatalf("Get = %q/%q, want a/b/%q", e.Key, e.Value, v)
			}
		}
	})

	t.Run("ValueIsCopied", func(t *testing.T) {
		b := newBackend(t)
		v := []byte("value")
		if err := b.Put(ctx, &storage.Entry{Key: "k", Value: v}); err != nil {
			t.Fatal(err)
		}
		v[0] = 'X'
		e, err := b.Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Value) != "value" {
			t.Fatalf("stored value changed with caller's slice: %q", e.Value)
		}
	})

	t.Run("DeleteIdempotent", func(t *testing.T) {
		b := newBackend(t)
		if err := b.Delete(ctx, "never"); err != nil {
			t.Fatalf("Delete(missing) = %v", err)
		}
		if err := b.Put(ctx, &storage.Entry{Key: "x", Value: []byte("1")}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if err := b.Delete(ctx, "x"); err != nil {
				t.Fatalf("Delete #%d = %v", i, err)
			}
		}
		if _, err := b.Get(ctx, "x"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Get after delete err = %v", err)
		}
	})

	t.Run("List", func(t *testing.T) {
		b := newBackend(t)
		for _, k := range []string{"foo", "foo/bar", "foo/baz/qux", "fop", "zed/1", "a"} {
			if err := b.Put(ctx, &storage.Entry{Key: k, Value: []byte(k)}); err != nil {
				t.Fatal(err)
			}
		}
		check := func(prefix string, want ...string) {
			t.Helper()
			got, err := b.List(ctx, prefix)
			if err != nil {
				t.Fatalf("List(%q): %v", prefix, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("List(%q) = %q, want %q", prefix, got, want)
			}
		}
		check("", "a", "foo", "foo/", "fop", "zed/")
		check("foo/", "bar", "baz/")
		check("foo/baz/", "qux")
		check("nothing/")
	})

	t.Run("TxnAtomic", func(t *testing.T) {
		b := newBackend(t)
		if err := b.Put(ctx, &storage.Entry{Key: "gone", Value: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		err := b.Txn(ctx, []storage.Op{
			{Kind: storage.OpPut, Key: "t/1", Value: []byte("1")},
			{Kind: storage.OpPut, Key: "t/2", Value: []byte("2")},
			{Kind: storage.OpDelete, Key: "gone"},
		})
		if err != nil {
			t.Fatalf("Txn: %v", err)
		}
		for k, want := range map[string]string{"t/1": "1", "t/2": "2"} {
			e, err := b.Get(ctx, k)
			if err != nil || string(e.Value) != want {
				t.Fatalf("Get(%q) = %v, %v; want %q", k, e, err, want)
			}
		}
		if _, err := b.Get(ctx, "gone"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("deleted in txn still there: %v", err)
		}
		// A txn with an invalid op applies nothing.
		err = b.Txn(ctx, []storage.Op{
			{Kind: storage.OpPut, Key: "t/3", Value: []byte("3")},
			{Kind: storage.OpPut, Key: "../escape", Value: []byte("x")},
		})
		if err == nil {
			t.Fatal("Txn with invalid key succeeded")
		}
		if _, err := b.Get(ctx, "t/3"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("failed txn left a partial write: %v", err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		b := newBackend(t)
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					k := fmt.Sprintf("c/%d/%d", w, i)
					if err := b.Put(ctx, &storage.Entry{Key: k, Value: []byte(k)}); err != nil {
						errs <- err
						return
					}
					if _, err := b.Get(ctx, k); err != nil {
						errs <- err
						return
					}
					if _, err := b.List(ctx, "c/"); err != nil {
						errs <- err
						return
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got, err := b.List(ctx, "c/")
		if err != nil || len(got) != 8 {
			t.Fatalf("List(c/) = %v, %v; want 8 children", got, err)
		}
	})
}
