package seal_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
	"github.com/vaultd/vaultd/storage/storagetest"
)

func TestBarrier_Conformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		b, _, _ := unsealed(t)
		return b
	})
}

func TestBarrier_ViewConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		b, _, _ := unsealed(t)
		return storage.NewView(b, "logical/0123/")
	})
}

func TestBarrier_Confidentiality(t *testing.T) {
	ctx := context.Background()
	b, under, _ := unsealed(t)
	secret := []byte("correct horse battery staple")
	if err := b.Put(ctx, &storage.Entry{Key: "secret/a", Value: secret}); err != nil {
		t.Fatal(err)
	}
	if err := b.Txn(ctx, []storage.Op{{Kind: storage.OpPut, Key: "secret/b", Value: secret}}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, k := range []string{"secret/a", "secret/b"} {
		e, err := under.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(e.Value, secret) || bytes.Contains(e.Value, secret[:8]) {
			t.Fatalf("physical value of %q contains the plaintext", k)
		}
		if got := binary.BigEndian.Uint32(e.Value); got != 1 {
			t.Fatalf("physical value of %q has term %d, want 1", k, got)
		}
		if e.Value[4] != 0x02 {
			t.Fatalf("physical value of %q has version %#02x, want 0x02", k, e.Value[4])
		}
		if want := 4 + 1 + 12 + len(secret) + 16; len(e.Value) != want {
			t.Fatalf("physical value of %q is %d bytes, want %d", k, len(e.Value), want)
		}
		seen[string(e.Value[5:17])] = true
	}
	if len(seen) != 2 {
		t.Fatal("two encryptions used the same nonce")
	}
}

func TestBarrier_Integrity(t *testing.T) {
	ctx := context.Background()
	b, under, _ := unsealed(t)
	mustPut(t, b, "k", "some value")
	e, err := under.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	orig := e.Value
	for i := range orig {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(orig)
			bad[i] ^= bit
			if err := under.Put(ctx, &storage.Entry{Key: "k", Value: bad}); err != nil {
				t.Fatal(err)
			}
			if got, err := b.Get(ctx, "k"); !errors.Is(err, seal.ErrBadCiphertext) {
				t.Fatalf("Get after flipping bit %#02x of byte %d = %v, %v; want ErrBadCiphertext", bit, i, got, err)
			}
		}
	}
	for _, n := range []int{0, 1, 5, 32, len(orig) - 1} {
		if err := under.Put(ctx, &storage.Entry{Key: "k", Value: orig[:n]}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Get(ctx, "k"); !errors.Is(err, seal.ErrBadCiphertext) {
			t.Fatalf("Get of a value truncated to %d bytes err = %v, want ErrBadCiphertext", n, err)
		}
	}
	if err := under.Put(ctx, &storage.Entry{Key: "k", Value: orig}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, b, "k"); got != "some value" {
		t.Fatalf("Get after restoring = %q", got)
	}
}

func TestBarrier_PathBinding(t *testing.T) {
	ctx := context.Background()
	b, under, _ := unsealed(t)
	mustPut(t, b, "logical/m1/secret", "for m1 only")
	e, err := under.Get(ctx, "logical/m1/secret")
	if err != nil {
		t.Fatal(err)
	}
	if err := under.Put(ctx, &storage.Entry{Key: "logical/m2/secret", Value: e.Value}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, "logical/m2/secret"); !errors.Is(err, seal.ErrBadCiphertext) {
		t.Fatalf("Get of a moved ciphertext = %v, %v; want ErrBadCiphertext", got, err)
	}
	ct, err := b.Encrypt("core/raft-challenge/n1", []byte("nonce"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Decrypt("core/raft-challenge/n2", ct); !errors.Is(err, seal.ErrBadCiphertext) {
		t.Fatalf("Decrypt for another path err = %v, want ErrBadCiphertext", err)
	}
}

func TestBarrier_EncryptDecrypt(t *testing.T) {
	ctx := context.Background()
	b, under, key := unsealed(t)
	before, err := under.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	ct, err := b.Encrypt("core/raft-challenge/n1", []byte("challenge"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("challenge")) {
		t.Fatal("Encrypt output contains the plaintext")
	}
	pt, err := b.Decrypt("core/raft-challenge/n1", ct)
	if err != nil || string(pt) != "challenge" {
		t.Fatalf("Decrypt = %q, %v; want challenge", pt, err)
	}
	after, err := under.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("Encrypt/Decrypt touched storage: %v → %v", before, after)
	}
	// A second barrier of the same vault decrypts it (the joiner's side).
	b2 := seal.NewBarrier(under, nil)
	if err := b2.Unseal(ctx, key); err != nil {
		t.Fatal(err)
	}
	if pt, err := b2.Decrypt("core/raft-challenge/n1", ct); err != nil || string(pt) != "challenge" {
		t.Fatalf("second barrier Decrypt = %q, %v", pt, err)
	}
}

func TestBarrier_ReservedKeys(t *testing.T) {
	ctx := context.Background()
	b, under, _ := unsealed(t)
	mustPut(t, b, "core/mounts", "m")
	for _, k := range []string{"core/seal-config", "core/sealed-root-key", "core/keyring"} {
		before, err := under.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Get(ctx, k); !errors.Is(err, seal.ErrReservedKey) {
			t.Errorf("Get(%q) err = %v, want ErrReservedKey", k, err)
		}
		if err := b.Put(ctx, &storage.Entry{Key: k, Value: []byte("x")}); !errors.Is(err, seal.ErrReservedKey) {
			t.Errorf("Put(%q) err = %v, want ErrReservedKey", k, err)
		}
		if err := b.Delete(ctx, k); !errors.Is(err, seal.ErrReservedKey) {
			t.Errorf("Delete(%q) err = %v, want ErrReservedKey", k, err)
		}
		err = b.Txn(ctx, []storage.Op{
			{Kind: storage.OpPut, Key: "fine", Value: []byte("1")},
			{Kind: storage.OpDelete, Key: k},
		})
		if !errors.Is(err, seal.ErrReservedKey) {
			t.Errorf("Txn deleting %q err = %v, want ErrReservedKey", k, err)
		}
		after, err := under.Get(ctx, k)
		if err != nil || !bytes.Equal(before.Value, after.Value) {
			t.Fatalf("%q changed: %v", k, err)
		}
	}
	if _, err := under.Get(ctx, "fine"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a refused Txn wrote part of its ops: %v", err)
	}
	// The reserved keys are hidden from List; the rest of core/ is not.
	got, err := b.List(ctx, "core/")
	if err != nil || fmt.Sprint(got) != "[mounts]" {
		t.Fatalf("List(core/) = %v, %v; want [mounts]", got, err)
	}
	got, err = b.List(ctx, "")
	if err != nil || fmt.Sprint(got) != "[core/]" {
		t.Fatalf("List() = %v, %v; want [core/]", got, err)
	}
	if err := b.Delete(ctx, "core/mounts"); err != nil {
		t.Fatal(err)
	}
	got, err = b.List(ctx, "")
	if err != nil || len(got) != 0 {
		t.Fatalf("List() with only reserved keys = %v, %v; want []", got, err)
	}
	// ClearPrefix through the barrier cannot reach them either.
	mustPut(t, b, "core/leader/n1", "x")
	if err := storage.ClearPrefix(ctx, b, "core/"); err != nil {
		t.Fatalf("ClearPrefix(core/): %v", err)
	}
	for _, k := range []string{"core/seal-config", "core/sealed-root-key", "core/keyring"} {
		if _, err := under.Get(ctx, k); err != nil {
			t.Fatalf("%q gone after ClearPrefix: %v", k, err)
		}
	}
}

func TestBarrier_InvalidKeysAndOps(t *testing.T) {
	ctx := context.Background()
	b, _, _ := unsealed(t)
	for _, k := range []string{"", "/abs", "a//b", "../x", "a/./b"} {
		if _, err := b.Get(ctx, k); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Get(%q) err = %v, want storage.ErrInvalidKey", k, err)
		}
		if err := b.Put(ctx, &storage.Entry{Key: k}); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Put(%q) err = %v, want storage.ErrInvalidKey", k, err)
		}
		if err := b.Delete(ctx, k); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Delete(%q) err = %v, want storage.ErrInvalidKey", k, err)
		}
	}
	if err := b.Put(ctx, nil); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("Put(nil) err = %v, want storage.ErrInvalidKey", err)
	}
	if _, err := b.List(ctx, "no-slash"); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("List(no-slash) err = %v, want storage.ErrInvalidKey", err)
	}
	err := b.Txn(ctx, []storage.Op{{Kind: storage.OpPut, Key: "a"}, {Kind: 9, Key: "b"}})
	if err == nil {
		t.Fatal("Txn with an unknown op kind succeeded")
	}
	if _, err := b.Get(ctx, "a"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("refused Txn wrote a: %v", err)
	}
}

func TestBarrier_Sealed(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, b *seal.Barrier) {
		t.Helper()
		if !b.Sealed() {
			t.Fatal("Sealed() = false")
		}
		calls := map[string]error{}
		_, calls["Get"] = b.Get(ctx, "k")
		calls["Put"] = b.Put(ctx, &storage.Entry{Key: "k", Value: []byte("v")})
		calls["Delete"] = b.Delete(ctx, "k")
		_, calls["List"] = b.List(ctx, "")
		calls["Txn"] = b.Txn(ctx, []storage.Op{{Kind: storage.OpPut, Key: "k"}})
		_, calls["Encrypt"] = b.Encrypt("p", []byte("x"))
		_, calls["Decrypt"] = b.Decrypt("p", make([]byte, 64))
		_, calls["KeyStatus"] = b.KeyStatus()
		_, calls["Rotate"] = b.Rotate(ctx)
		calls["Reload"] = b.Reload(ctx)
		_, calls["Rekey"] = b.Rekey(ctx, seal.Config{Shares: 1, Threshold: 1})
		for name, err := range calls {
			if !errors.Is(err, seal.ErrSealed) {
				t.Errorf("%s while sealed err = %v, want ErrSealed", name, err)
			}
		}
	}
	t.Run("new", func(t *testing.T) {
		check(t, seal.NewBarrier(inmem.New(), nil))
	})
	t.Run("initialized", func(t *testing.T) {
		b, _, _ := initialized(t, seal.Config{Shares: 3, Threshold: 2})
		check(t, b)
	})
	t.Run("resealed", func(t *testing.T) {
		b, under, _ := unsealed(t)
		mustPut(t, b, "k", "v")
		b.Seal()
		check(t, b)
		if _, err := under.Get(ctx, "k"); err != nil {
			t.Fatalf("data gone after Seal: %v", err)
		}
		b.Seal() // idempotent
		check(t, b)
	})
}

func TestBarrier_AddEncryptions(t *testing.T) {
	b, _, _ := unsealed(t)
	before, err := b.KeyStatus()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.AddEncryptions(before.Term, 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Encrypt("x", []byte("y")); err != nil {
		t.Fatal(err)
	}
	after, _ := b.KeyStatus()
	if after.Encryptions != before.Encryptions+1001 {
		t.Fatalf("encryptions = %d, want %d", after.Encryptions, before.Encryptions+1001)
	}
	if err := b.AddEncryptions(before.Term+5, 1); err == nil {
		t.Fatal("unknown term accepted")
	}
}

// A read-only barrier (a performance secondary's) refuses every write
// with the error it was given and writes nothing; reads go on; nil makes
// it writable again.
func TestBarrier_ReadOnly(t *testing.T) {
	b, under, _ := unsealed(t)
	ctx := context.Background()
	if err := b.Put(ctx, &storage.Entry{Key: "logical/a", Value: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	ro := errors.New("read-only here")
	b.SetReadOnly(ro)
	if err := b.Put(ctx, &storage.Entry{Key: "logical/b", Value: []byte("2")}); !errors.Is(err, ro) {
		t.Fatalf("Put: %v", err)
	}
	if err := b.Delete(ctx, "logical/a"); !errors.Is(err, ro) {
		t.Fatalf("Delete: %v", err)
	}
	if err := b.Txn(ctx, []storage.Op{{Kind: storage.OpPut, Key: "logical/c", Value: []byte("3")}}); !errors.Is(err, ro) {
		t.Fatalf("Txn: %v", err)
	}
	if e, err := b.Get(ctx, "logical/a"); err != nil || string(e.Value) != "1" {
		t.Fatalf("Get while read-only: %v %v", e, err)
	}
	for _, k := range []string{"logical/b", "logical/c"} {
		if _, err := under.Get(ctx, k); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("%s was written: %v", k, err)
		}
	}
	b.SetReadOnly(nil)
	if err := b.Put(ctx, &storage.Entry{Key: "logical/b", Value: []byte("2")}); err != nil {
		t.Fatal(err)
	}
}
