package seal_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// fakeWrapper is an in-memory auto seal: AES-GCM under its own key, and
// "down" makes every call fail as an unreachable remote would.
type fakeWrapper struct {
	aead cipher.AEAD
	down bool
}

func newFakeWrapper(t testing.TB) *fakeWrapper {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	blk, _ := aes.NewCipher(k)
	a, _ := cipher.NewGCM(blk)
	return &fakeWrapper{aead: a}
}

var errDown = errors.New("remote down")

func (w *fakeWrapper) Type() string { return "transit" }
func (w *fakeWrapper) Encrypt(_ context.Context, pt []byte) ([]byte, error) {
	if w.down {
		return nil, errDown
	}
	n := make([]byte, w.aead.NonceSize())
	_, _ = rand.Read(n)
	return w.aead.Seal(n, n, pt, nil), nil
}
func (w *fakeWrapper) Decrypt(_ context.Context, ct []byte) ([]byte, error) {
	if w.down {
		return nil, errDown
	}
	ns := w.aead.NonceSize()
	if len(ct) < ns {
		return nil, errors.New("short")
	}
	return w.aead.Open(nil, ct[:ns], ct[ns:], nil)
}

func TestAutoSeal_InitUnsealRecovery(t *testing.T) {
	ctx := context.Background()
	w := newFakeWrapper(t)
	under := inmem.New()
	b := seal.NewBarrier(under, nil)
	cfg := seal.Config{Shares: 5, Threshold: 3}
	rshares, err := b.InitializeAuto(ctx, cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(rshares) != 5 {
		t.Fatalf("got %d recovery shares", len(rshares))
	}
	got, err := b.SealConfig(ctx)
	if err != nil || got.Type != "transit" || !got.Auto() || got.Threshold != 3 {
		t.Fatalf("SealConfig = %+v, %v", got, err)
	}
	if b.Sealed() {
		t.Fatal("sealed after InitializeAuto")
	}
	b.Seal()
	// The remote down: stays sealed, no fallback.
	w.down = true
	if err := b.UnsealAuto(ctx, w); !errors.Is(err, errDown) || !b.Sealed() {
		t.Fatalf("UnsealAuto with the remote down: %v, sealed %v", err, b.Sealed())
	}
	w.down = false
	if err := b.UnsealAuto(ctx, w); err != nil || b.Sealed() {
		t.Fatalf("UnsealAuto: %v", err)
	}
	if err := b.Put(ctx, &storage.Entry{Key: "secret/a", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	// The recovery key authenticates; it does not open the root key.
	rk := unsealKey(t, cfg, rshares)
	if err := b.CheckKey(ctx, rk); err != nil {
		t.Fatalf("CheckKey(recovery) = %v", err)
	}
	b.Seal()
	if err := b.Unseal(ctx, rk); !errors.Is(err, seal.ErrInvalidKey) {
		t.Fatalf("Unseal with the recovery key = %v, want ErrInvalidKey", err)
	}
	bad := bytes.Clone(rk)
	bad[0] ^= 1
	if err := b.CheckKey(ctx, bad); !errors.Is(err, seal.ErrInvalidKey) {
		t.Fatalf("CheckKey(wrong) = %v", err)
	}
	// Another wrapper (a different remote key) cannot unseal.
	if err := b.UnsealAuto(ctx, newFakeWrapper(t)); err == nil {
		t.Fatal("a foreign wrapper unsealed")
	}
	// Rekey replaces the recovery key.
	if err := b.UnsealAuto(ctx, w); err != nil {
		t.Fatal(err)
	}
	ns, err := b.Rekey(ctx, seal.Config{Shares: 3, Threshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CheckKey(ctx, rk); !errors.Is(err, seal.ErrInvalidKey) {
		t.Fatalf("old recovery key after rekey: %v", err)
	}
	rk2 := unsealKey(t, seal.Config{Shares: 3, Threshold: 2}, ns)
	if err := b.CheckKey(ctx, rk2); err != nil {
		t.Fatalf("new recovery key: %v", err)
	}
	if c, _ := b.SealConfig(ctx); c.Type != "transit" || c.Shares != 3 {
		t.Fatalf("config after recovery rekey: %+v", c)
	}
}

func TestAutoSeal_MigrationBothWays(t *testing.T) {
	ctx := context.Background()
	cfg := seal.Config{Shares: 3, Threshold: 2}
	b, under, shares := initialized(t, cfg)
	key := unsealKey(t, cfg, shares)
	if err := b.Unseal(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, &storage.Entry{Key: "kv/x", Value: []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	b.Seal()
	w := newFakeWrapper(t)
	bad := bytes.Clone(key)
	bad[3] ^= 1
	if err := b.MigrateToAuto(ctx, bad, w); !errors.Is(err, seal.ErrInvalidKey) {
		t.Fatalf("MigrateToAuto(wrong key) = %v", err)
	}
	if err := b.MigrateToAuto(ctx, key, w); err != nil {
		t.Fatal(err)
	}
	// The old unseal key no longer opens the root key; it is the recovery key.
	if err := b.Unseal(ctx, key); !errors.Is(err, seal.ErrInvalidKey) {
		t.Fatalf("old unseal key after migration: %v", err)
	}
	if err := b.CheckKey(ctx, key); err != nil {
		t.Fatalf("old shares as recovery key: %v", err)
	}
	b2 := seal.NewBarrier(under, nil) // a restarted node
	if err := b2.UnsealAuto(ctx, w); err != nil {
		t.Fatal(err)
	}
	if e, err := b2.Get(ctx, "kv/x"); err != nil || string(e.Value) != "kept" {
		t.Fatalf("data after migration: %v", err)
	}
	b2.Seal()
	// And back: the recovery key becomes the unseal key.
	if err := b2.MigrateToShamir(ctx, bad, w); !errors.Is(err, seal.ErrInvalidKey) {
		t.Fatalf("MigrateToShamir(wrong) = %v", err)
	}
	if err := b2.MigrateToShamir(ctx, key, w); err != nil {
		t.Fatal(err)
	}
	b3 := seal.NewBarrier(under, nil)
	if c, _ := b3.SealConfig(ctx); c.Auto() {
		t.Fatalf("still auto: %+v", c)
	}
	if err := b3.UnsealAuto(ctx, w); !errors.Is(err, seal.ErrSealMismatch) {
		t.Fatalf("UnsealAuto after migration to shamir: %v", err)
	}
	if err := b3.Unseal(ctx, key); err != nil {
		t.Fatal(err)
	}
	if e, err := b3.Get(ctx, "kv/x"); err != nil || string(e.Value) != "kept" {
		t.Fatalf("data after migration back: %v", err)
	}
	if wk, _ := b3.WrappedKey(ctx); wk != nil {
		t.Fatal("wrapped key left behind")
	}
}
