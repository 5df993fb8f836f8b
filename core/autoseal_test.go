package core_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// memSeal is an in-memory auto seal whose remote can go down.
type memSeal struct {
	aead cipher.AEAD
	down atomic.Bool
}

func newMemSeal(t *testing.T) *memSeal {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	b, _ := aes.NewCipher(k)
	a, _ := cipher.NewGCM(b)
	return &memSeal{aead: a}
}

func (m *memSeal) Type() string { return "transit" }
func (m *memSeal) Encrypt(_ context.Context, pt []byte) ([]byte, error) {
	if m.down.Load() {
		return nil, errors.New("remote down")
	}
	n := make([]byte, m.aead.NonceSize())
	_, _ = rand.Read(n)
	return m.aead.Seal(n, n, pt, nil), nil
}
func (m *memSeal) Decrypt(_ context.Context, ct []byte) ([]byte, error) {
	if m.down.Load() {
		return nil, errors.New("remote down")
	}
	ns := m.aead.NonceSize()
	if len(ct) < ns {
		return nil, errors.New("short")
	}
	return m.aead.Open(nil, ct[:ns], ct[ns:], nil)
}

// autoCore starts a core over phys with the given seals.
func autoCore(t *testing.T, phys storage.Backend, w, from *memSeal) *core.Core {
	t.Helper()
	cfg := core.Config{
		Storage: phys, Cluster: core.NewStandaloneCluster("n1"), Engines: testEngines(),
		Logger: slog.New(slog.DiscardHandler),
	}
	if w != nil {
		cfg.Seal = w
	}
	if from != nil {
		cfg.MigrateFrom = from
	}
	c, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCore(t, c)
	return c
}

func TestCore_AutoSeal_Modes(t *testing.T) {
	ctx := context.Background()
	phys := inmem.New()
	w := newMemSeal(t)
	c := autoCore(t, phys, w, nil)
	if st := c.Status(ctx); st.SealType != "transit" || !st.RecoverySeal || st.Initialized {
		t.Fatalf("status before init = %+v", st)
	}
	if _, err := c.Init(ctx, core.InitRequest{SecretShares: 1, SecretThreshold: 1, PGPKeys: []string{"x"}}, nil); err == nil {
		t.Fatal("pgp_keys accepted under an auto seal")
	}
	res, err := c.Init(ctx, core.InitRequest{RecoveryShares: 3, RecoveryThreshold: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Shares) != 0 || len(res.RecoveryShares) != 3 {
		t.Fatalf("init = %d shares, %d recovery shares", len(res.Shares), len(res.RecoveryShares))
	}
	waitFor(t, 10*time.Second, "active after init", c.IsActive)
	st := c.Status(ctx)
	if st.Sealed || st.SealType != "transit" || !st.RecoverySeal || st.Threshold != 2 || st.Shares != 3 || st.Migration {
		t.Fatalf("status after init = %+v", st)
	}

	// sys/seal holds: the loop does not unseal; the recovery shares do.
	c.SealNode()
	time.Sleep(1500 * time.Millisecond) // three periods of the auto-unseal loop
	if !c.Sealed() {
		t.Fatal("auto-unsealed after sys/seal")
	}
	if _, err := c.UnsealMigrate(ctx, res.RecoveryShares[0], true); err == nil || !strings.Contains(err.Error(), "no seal migration") {
		t.Fatalf("migrate without a pending migration: %v", err)
	}
	for _, s := range res.RecoveryShares[1:] {
		if _, err := c.Unseal(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if c.Sealed() {
		t.Fatal("recovery shares did not unseal after sys/seal")
	}

	// The same storage without the seal stanza: refused, never unsealed.
	c2 := autoCore(t, phys, nil, nil)
	if _, err := c2.Unseal(ctx, res.RecoveryShares[0]); err == nil || !strings.Contains(err.Error(), "no seal \"transit\" stanza") {
		t.Fatalf("unseal without the seal configured: %v", err)
	}

	// The remote down: a fresh node stays sealed; it unseals once back.
	w.down.Store(true)
	c3 := autoCore(t, phys, w, nil)
	time.Sleep(1500 * time.Millisecond)
	if !c3.Sealed() {
		t.Fatal("unsealed with the remote down")
	}
	w.down.Store(false)
	waitFor(t, 20*time.Second, "auto-unseal once the remote is back", func() bool { return !c3.Sealed() })

	// Shamir refuses recovery parameters.
	c4 := autoCore(t, inmem.New(), nil, nil)
	if _, err := c4.Init(ctx, core.InitRequest{SecretShares: 1, SecretThreshold: 1, RecoveryShares: 1}, nil); err == nil || !strings.Contains(err.Error(), "not applicable to seal type shamir") {
		t.Fatalf("recovery_shares under shamir: %v", err)
	}
}

// TestRestoreInit_RefusedUnderAutoSeal: a node with an auto seal would
// unseal itself with a restored snapshot's key, so an anonymous
// snapshot-init is refused there (400) and the node stays empty.
func TestRestoreInit_RefusedUnderAutoSeal(t *testing.T) {
	ctx := context.Background()
	c := autoCore(t, inmem.New(), newMemSeal(t), nil)
	err := c.RestoreInit(ctx, strings.NewReader("not even an archive"))
	if err == nil || !strings.Contains(err.Error(), "auto seal") {
		t.Fatalf("RestoreInit under an auto seal: %v", err)
	}
	if st := c.Status(ctx); st.Initialized {
		t.Fatalf("status after a refused restore: %+v", st)
	}
	// Without raft storage it is refused too.
	plain := autoCore(t, inmem.New(), nil, nil)
	if err := plain.RestoreInit(ctx, strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), "raft storage is not in use") {
		t.Fatalf("RestoreInit without raft: %v", err)
	}
}
