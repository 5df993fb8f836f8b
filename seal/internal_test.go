package seal

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func newUnsealed(t *testing.T) (*Barrier, *inmem.Backend, []byte) {
	t.Helper()
	ctx := context.Background()
	under := inmem.New()
	b := NewBarrier(under, nil)
	shares, err := b.Initialize(ctx, Config{Shares: 1, Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, shares[0]); err != nil {
		t.Fatal(err)
	}
	return b, under, shares[0]
}

func TestSeal_ZeroesKeyBuffers(t *testing.T) {
	ctx := context.Background()
	b, _, _ := newUnsealed(t)
	if _, err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	kr := b.kr.Load()
	root := b.root
	var keys [][]byte
	for _, tk := range kr.terms {
		keys = append(keys, tk.key)
	}
	if len(keys) != 3 || allZero(root) || len(root) != keySize {
		t.Fatalf("before Seal: %d keys, root %d bytes", len(keys), len(root))
	}
	for i, k := range keys {
		if len(k) != keySize || allZero(k) {
			t.Fatalf("term %d key is %d bytes or all zero before Seal", i+1, len(k))
		}
	}
	b.Seal()
	if !allZero(root) {
		t.Fatal("Seal left the root key in memory")
	}
	for i, k := range keys {
		if !allZero(k) {
			t.Fatalf("Seal left the key of term %d in memory", i+1)
		}
	}
	if b.root != nil || b.kr.Load() != nil {
		t.Fatal("Seal kept references to the keys")
	}
}

func TestReload_NothingNewKeepsKeyring(t *testing.T) {
	// A Reload that finds no new term keeps the installed keyring (and
	// with it the per-term encryption counters).
	ctx := context.Background()
	b, _, _ := newUnsealed(t)
	if err := b.Put(ctx, &storage.Entry{Key: "k", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	before := b.kr.Load()
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if b.kr.Load() != before {
		t.Fatal("Reload with nothing new replaced the keyring")
	}
	if got := before.active().encryptions.Load(); got != 1 {
		t.Fatalf("encryptions = %d, want 1", got)
	}
}

func TestReload_ConflictingTerm(t *testing.T) {
	ctx := context.Background()
	b, under, _ := newUnsealed(t)
	// Store a keyring whose term 1 differs from the one in memory.
	key, err := randomKey()
	if err != nil {
		t.Fatal(err)
	}
	tk, err := newTermKey(1, key, now())
	if err != nil {
		t.Fatal(err)
	}
	forged := (&keyring{terms: []*termKey{tk}}).encode()
	ct, err := encryptEnvelope(b.root, keyringPath, forged)
	if err != nil {
		t.Fatal(err)
	}
	if err := under.Put(ctx, &storage.Entry{Key: keyringPath, Value: ct}); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(ctx); !errors.Is(err, ErrBadCiphertext) {
		t.Fatalf("Reload of a conflicting keyring err = %v, want ErrBadCiphertext", err)
	}
	if b.Sealed() {
		t.Fatal("a failed Reload sealed the barrier")
	}
}

func TestKeyring_EncodeDecode(t *testing.T) {
	var terms []*termKey
	for i := uint32(1); i <= 3; i++ {
		key, err := randomKey()
		if err != nil {
			t.Fatal(err)
		}
		tk, err := newTermKey(i, key, time.Unix(1700000000+int64(i), 123).UTC())
		if err != nil {
			t.Fatal(err)
		}
		terms = append(terms, tk)
	}
	kr := &keyring{terms: terms}
	enc := kr.encode()
	if len(enc) != keyringHeaderSize+3*keyringEntrySize || string(enc[:4]) != "VDKR" || enc[4] != 1 {
		t.Fatalf("encoding header = %x", enc[:9])
	}
	dec, err := decodeKeyring(enc)
	if err != nil {
		t.Fatal(err)
	}
	if dec.active().term != 3 {
		t.Fatalf("active term = %d, want 3", dec.active().term)
	}
	for i, tk := range dec.terms {
		if tk.term != terms[i].term || !tk.installed.Equal(terms[i].installed) || !bytes.Equal(tk.key, terms[i].key) {
			t.Fatalf("term %d decoded as %d/%v", i+1, tk.term, tk.installed)
		}
	}
	clear(enc)
	if allZero(dec.terms[0].key) {
		t.Fatal("decoded keys alias the encoding")
	}
	// Ciphertexts made with one decode open with the other.
	ct := encryptWith(terms[1].aead, 2, "p", []byte("x"))
	_, body, err := parseEnvelope(ct)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := dec.get(2).aead.Open(nil, nil, body, []byte("p")); err != nil || string(pt) != "x" {
		t.Fatalf("decoded term 2 Open = %q, %v", pt, err)
	}
	if dec.get(0) != nil || dec.get(4) != nil {
		t.Fatal("get of a missing term returned a key")
	}
}

func TestKeyring_DecodeRejects(t *testing.T) {
	key := bytes.Repeat([]byte{7}, keySize)
	entry := func(term uint32) []byte {
		e := []byte{byte(term >> 24), byte(term >> 16), byte(term >> 8), byte(term), 0, 0, 0, 0, 0, 0, 0, 1}
		return append(e, key...)
	}
	header := func(n byte) []byte { return []byte{'V', 'D', 'K', 'R', 1, 0, 0, 0, n} }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	valid := cat(header(2), entry(1), entry(2))
	if _, err := decodeKeyring(valid); err != nil {
		t.Fatalf("valid keyring: %v", err)
	}
	for name, b := range map[string][]byte{
		"empty":         nil,
		"bad magic":     cat([]byte{'X', 'D', 'K', 'R', 1, 0, 0, 0, 1}, entry(1)),
		"bad version":   cat([]byte{'V', 'D', 'K', 'R', 2, 0, 0, 0, 1}, entry(1)),
		"zero terms":    header(0),
		"count too big": cat(header(3), entry(1), entry(2)),
		"truncated":     valid[:len(valid)-1],
		"trailing":      cat(valid, []byte{0}),
		"term gap":      cat(header(2), entry(1), entry(3)),
		"term zero":     cat(header(1), entry(0)),
		"out of order":  cat(header(2), entry(2), entry(1)),
	} {
		if _, err := decodeKeyring(b); !errors.Is(err, ErrBadCiphertext) {
			t.Errorf("decodeKeyring(%s) err = %v, want ErrBadCiphertext", name, err)
		}
	}
}

func FuzzDecodeKeyring(f *testing.F) {
	key := bytes.Repeat([]byte{9}, keySize)
	tk, err := newTermKey(1, key, time.Unix(1, 2))
	if err != nil {
		f.Fatal(err)
	}
	tk2, err := newTermKey(2, bytes.Clone(key), time.Unix(3, 4))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte((&keyring{terms: []*termKey{tk}}).encode()))
	f.Add([]byte((&keyring{terms: []*termKey{tk, tk2}}).encode()))
	f.Add([]byte("VDKR"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		kr, err := decodeKeyring(b)
		if err != nil {
			if !errors.Is(err, ErrBadCiphertext) {
				t.Fatalf("decodeKeyring error %v does not wrap ErrBadCiphertext", err)
			}
			return
		}
		// The encoding is canonical: what decodes re-encodes to itself.
		if got := kr.encode(); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", []byte(got), b)
		}
	})
}
