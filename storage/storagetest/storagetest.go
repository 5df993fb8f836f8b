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

	t.Run("TxnCheck", func(t *testing.T) { testTxnCheck(t, newBackend(t)) })
	t.Run("TxnCheckConcurrent", func(t *testing.T) { testTxnCheckConcurrent(t, newBackend(t)) })
}

// mustGet is Get that fails the test on error.
func mustGet(t *testing.T, b storage.Backend, key string) *storage.Entry {
	t.Helper()
	e, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return e
}

// testTxnCheck: storage.OpCheck preconditions hold or fail the whole Txn.
func testTxnCheck(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	put := func(k, v string) storage.Op { return storage.Op{Kind: storage.OpPut, Key: k, Value: []byte(v)} }
	wantValue := func(k, want string) {
		t.Helper()
		e, err := b.Get(ctx, k)
		switch {
		case want == "" && !errors.Is(err, storage.ErrNotFound):
			t.Fatalf("Get(%s) = %v, want absent", k, err)
		case want != "" && (err != nil || string(e.Value) != want):
			t.Fatalf("Get(%s) = %v, want %q", k, err, want)
		}
	}

	// Absent: a check for absence passes, and the Txn applies.
	if err := b.Txn(ctx, []storage.Op{storage.CheckRev("m/k", storage.Rev{}), put("m/k", "1"), put("m/other", "a")}); err != nil {
		t.Fatalf("Txn(check absent on absent key) = %v", err)
	}
	wantValue("m/k", "1")
	e1 := mustGet(t, b, "m/k")
	if e1.Rev.IsZero() {
		t.Fatal("Get returned a zero Rev for a present key")
	}
	if again := mustGet(t, b, "m/k"); again.Rev != e1.Rev {
		t.Fatal("two Gets of an unchanged key returned different Revs")
	}

	// Present: a check for absence fails with ErrConflict and writes nothing.
	err := b.Txn(ctx, []storage.Op{put("m/other", "b"), storage.CheckRev("m/k", storage.Rev{}), put("m/k", "2")})
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("Txn(check absent on present key) = %v, want ErrConflict", err)
	}
	wantValue("m/k", "1")
	wantValue("m/other", "a")

	// The Rev Get returned passes; the key changes; the old Rev fails.
	if err := b.Txn(ctx, []storage.Op{storage.CheckRev("m/k", e1.Rev), put("m/k", "2")}); err != nil {
		t.Fatalf("Txn(check current rev) = %v", err)
	}
	wantValue("m/k", "2")
	e2 := mustGet(t, b, "m/k")
	if e2.Rev == e1.Rev {
		t.Fatal("the Rev did not change when the value did")
	}
	err = b.Txn(ctx, []storage.Op{storage.CheckRev("m/k", e1.Rev), put("m/k", "3"), {Kind: storage.OpDelete, Key: "m/other"}})
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("Txn(check stale rev) = %v, want ErrConflict", err)
	}
	wantValue("m/k", "2")
	wantValue("m/other", "a")

	// A check for a Rev on an absent key fails.
	if err := b.Txn(ctx, []storage.Op{storage.CheckRev("m/none", e2.Rev), put("m/none", "x")}); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("Txn(check rev on absent key) = %v, want ErrConflict", err)
	}
	wantValue("m/none", "")

	// Checks see the state before the Txn, wherever they stand in it.
	if err := b.Txn(ctx, []storage.Op{put("m/new", "n"), storage.CheckRev("m/new", storage.Rev{})}); err != nil {
		t.Fatalf("Txn(put, then check absent of the same key) = %v", err)
	}
	wantValue("m/new", "n")

	// After a delete the key is absent again for checks.
	e := mustGet(t, b, "m/new")
	if err := b.Txn(ctx, []storage.Op{storage.CheckRev("m/new", e.Rev), {Kind: storage.OpDelete, Key: "m/new"}}); err != nil {
		t.Fatalf("Txn(check, delete) = %v", err)
	}
	if err := b.Txn(ctx, []storage.Op{storage.CheckRev("m/new", storage.Rev{}), put("m/new", "again")}); err != nil {
		t.Fatalf("Txn(check absent after delete) = %v", err)
	}

	// A malformed check is refused as invalid, not as a conflict.
	err = b.Txn(ctx, []storage.Op{{Kind: storage.OpCheck, Key: "m/k", Value: []byte("short")}, put("m/k", "bad")})
	if err == nil || errors.Is(err, storage.ErrConflict) {
		t.Fatalf("Txn(malformed check) = %v, want an invalid-op error", err)
	}
	wantValue("m/k", "2")
}

// testTxnCheckConcurrent: read-modify-write through checked Txns loses no
// update: every increment that succeeded is counted exactly once.
func testTxnCheckConcurrent(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	const workers, per = 4, 15
	var wg sync.WaitGroup
	var mu sync.Mutex
	succeeded, conflicts := 0, 0
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				var n int
				var rev storage.Rev
				e, err := b.Get(ctx, "counter")
				switch {
				case errors.Is(err, storage.ErrNotFound):
				case err != nil:
					errs <- err
					return
				default:
					rev = e.Rev
					if _, err := fmt.Sscan(string(e.Value), &n); err != nil {
						errs <- err
						return
					}
				}
				err = b.Txn(ctx, []storage.Op{
					storage.CheckRev("counter", rev),
					{Kind: storage.OpPut, Key: "counter", Value: []byte(fmt.Sprint(n + 1))},
				})
				mu.Lock()
				switch {
				case err == nil:
					succeeded++
				case errors.Is(err, storage.ErrConflict):
					conflicts++
				default:
					mu.Unlock()
					errs <- err
					return
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	e := mustGet(t, b, "counter")
	if string(e.Value) != fmt.Sprint(succeeded) {
		t.Fatalf("counter = %s after %d successful increments (%d conflicts): an update was lost", e.Value, succeeded, conflicts)
	}
}
