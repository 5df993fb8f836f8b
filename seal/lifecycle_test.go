package seal_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/seal/shamir"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

func TestConfig_Validate(t *testing.T) {
	for _, tc := range []struct {
		cfg seal.Config
		ok  bool
	}{
		{seal.Config{Shares: 1, Threshold: 1}, true},
		{seal.Config{Shares: 5, Threshold: 3}, true},
		{seal.Config{Shares: 2, Threshold: 2}, true},
		{seal.Config{Shares: 255, Threshold: 255}, true},
		{seal.Config{Shares: 0, Threshold: 0}, false},
		{seal.Config{Shares: 3, Threshold: 0}, false},
		{seal.Config{Shares: -1, Threshold: 1}, false},
		{seal.Config{Shares: 3, Threshold: 1}, false},
		{seal.Config{Shares: 2, Threshold: 3}, false},
		{seal.Config{Shares: 256, Threshold: 3}, false},
	} {
		err := tc.cfg.Validate()
		if tc.ok && err != nil {
			t.Errorf("%+v.Validate() = %v, want nil", tc.cfg, err)
		}
		if !tc.ok && !errors.Is(err, seal.ErrInvalidConfig) {
			t.Errorf("%+v.Validate() = %v, want ErrInvalidConfig", tc.cfg, err)
		}
	}
}

func TestBarrier_Initialize(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []seal.Config{{Shares: 1, Threshold: 1}, {Shares: 5, Threshold: 3}, {Shares: 2, Threshold: 2}} {
		t.Run(fmt.Sprintf("%d-of-%d", cfg.Threshold, cfg.Shares), func(t *testing.T) {
			under := inmem.New()
			b := seal.NewBarrier(under, nil)
			if ok, err := b.Initialized(ctx); err != nil || ok {
				t.Fatalf("Initialized before init = %v, %v", ok, err)
			}
			if _, err := b.SealConfig(ctx); !errors.Is(err, seal.ErrNotInitialized) {
				t.Fatalf("SealConfig before init err = %v, want ErrNotInitialized", err)
			}
			if err := b.Unseal(ctx, make([]byte, 32)); !errors.Is(err, seal.ErrNotInitialized) {
				t.Fatalf("Unseal before init err = %v, want ErrNotInitialized", err)
			}
			if err := b.CheckKey(ctx, make([]byte, 32)); !errors.Is(err, seal.ErrNotInitialized) {
				t.Fatalf("CheckKey before init err = %v, want ErrNotInitialized", err)
			}
			shares, err := b.Initialize(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(shares) != cfg.Shares {
				t.Fatalf("Initialize returned %d shares, want %d", len(shares), cfg.Shares)
			}
			for _, s := range shares {
				want := 33
				if cfg.Threshold == 1 {
					want = 32
				}
				if len(s) != want {
					t.Fatalf("share is %d bytes, want %d", len(s), want)
				}
			}
			if !b.Sealed() {
				t.Fatal("Initialize left the barrier unsealed")
			}
			if ok, err := b.Initialized(ctx); err != nil || !ok {
				t.Fatalf("Initialized after init = %v, %v", ok, err)
			}
			got, err := b.SealConfig(ctx)
			if err != nil || *got != cfg {
				t.Fatalf("SealConfig = %+v, %v; want %+v", got, err, cfg)
			}
			// The stored config is plaintext JSON with Vault's field names.
			e, err := under.Get(ctx, "core/seal-config")
			if err != nil {
				t.Fatal(err)
			}
			var raw map[string]int
			if err := json.Unmarshal(e.Value, &raw); err != nil || raw["secret_shares"] != cfg.Shares || raw["secret_threshold"] != cfg.Threshold {
				t.Fatalf("core/seal-config = %s (%v)", e.Value, err)
			}
			// Neither the unseal key nor a share is stored anywhere.
			key := unsealKey(t, cfg, shares)
			for _, k := range []string{"core/seal-config", "core/sealed-root-key", "core/keyring"} {
				e, err := under.Get(ctx, k)
				if err != nil {
					t.Fatalf("Get(%q): %v", k, err)
				}
				if bytes.Contains(e.Value, key) {
					t.Fatalf("%q contains the unseal key", k)
				}
			}
			if err := b.CheckKey(ctx, key); err != nil {
				t.Fatalf("CheckKey(right key) = %v", err)
			}
			if !b.Sealed() {
				t.Fatal("CheckKey unsealed the barrier")
			}
			if err := b.Unseal(ctx, key); err != nil {
				t.Fatalf("Unseal: %v", err)
			}
			if err := b.Unseal(ctx, []byte("not even a key")); err != nil {
				t.Fatalf("Unseal when unsealed = %v, want nil (no-op)", err)
			}
			if _, err := b.Initialize(ctx, cfg); !errors.Is(err, seal.ErrAlreadyInitialized) {
				t.Fatalf("second Initialize err = %v, want ErrAlreadyInitialized", err)
			}
			ks, err := b.KeyStatus()
			if err != nil || ks.Term != 1 || time.Since(ks.InstallTime) > time.Minute {
				t.Fatalf("KeyStatus = %+v, %v; want term 1 installed just now", ks, err)
			}
		})
	}
}

func TestBarrier_Initialize_InvalidConfig(t *testing.T) {
	under := inmem.New()
	b := seal.NewBarrier(under, nil)
	if _, err := b.Initialize(context.Background(), seal.Config{Shares: 3, Threshold: 1}); !errors.Is(err, seal.ErrInvalidConfig) {
		t.Fatalf("Initialize(3, 1) err = %v, want ErrInvalidConfig", err)
	}
	if keys, _ := under.List(context.Background(), ""); len(keys) != 0 {
		t.Fatalf("a refused Initialize wrote %v", keys)
	}
}

func TestBarrier_Initialize_StorageFailure(t *testing.T) {
	ctx := context.Background()
	f := &failing{Backend: inmem.New()}
	f.fail.Store(true)
	b := seal.NewBarrier(f, nil)
	if _, err := b.Initialize(ctx, seal.Config{Shares: 3, Threshold: 2}); !errors.Is(err, errInjected) {
		t.Fatalf("Initialize err = %v, want the storage error", err)
	}
	if ok, err := b.Initialized(ctx); err != nil || ok {
		t.Fatalf("Initialized after a failed init = %v, %v", ok, err)
	}
	f.fail.Store(false)
	if _, err := b.Initialize(ctx, seal.Config{Shares: 3, Threshold: 2}); err != nil {
		t.Fatalf("Initialize after the failure: %v", err)
	}
}

func TestBarrier_Unseal_WrongKey(t *testing.T) {
	ctx := context.Background()
	cfg := seal.Config{Shares: 5, Threshold: 3}
	b, _, shares := initialized(t, cfg)
	good := unsealKey(t, cfg, shares)

	// Two shares of a 3-threshold split combine to a wrong key.
	tooFew, err := shamir.Combine(shares[:2])
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[31] ^= 1
	for name, key := range map[string][]byte{
		"too few shares": tooFew,
		"flipped bit":    flipped,
		"zeros":          make([]byte, 32),
		"short":          good[:31],
		"long":           append(bytes.Clone(good), 0),
		"empty":          nil,
		"a share":        shares[0],
	} {
		if err := b.Unseal(ctx, key); !errors.Is(err, seal.ErrInvalidKey) {
			t.Errorf("Unseal(%s) err = %v, want ErrInvalidKey", name, err)
		}
		if !b.Sealed() {
			t.Fatalf("Unseal(%s) unsealed the barrier", name)
		}
		if err := b.CheckKey(ctx, key); !errors.Is(err, seal.ErrInvalidKey) {
			t.Errorf("CheckKey(%s) err = %v, want ErrInvalidKey", name, err)
		}
	}
	if err := b.Unseal(ctx, good); err != nil {
		t.Fatalf("Unseal(good) after failures: %v", err)
	}
}

func TestBarrier_Unseal_CorruptStorage(t *testing.T) {
	ctx := context.Background()
	for _, k := range []string{"core/sealed-root-key", "core/keyring"} {
		t.Run(k, func(t *testing.T) {
			b, under, key := unsealed(t)
			b.Seal()
			e, err := under.Get(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			e.Value[len(e.Value)-1] ^= 1
			if err := under.Put(ctx, e); err != nil {
				t.Fatal(err)
			}
			err = b.Unseal(ctx, key)
			if err == nil || !b.Sealed() {
				t.Fatalf("Unseal with corrupt %s = %v, sealed=%v; want an error and sealed", k, err, b.Sealed())
			}
			want := seal.ErrBadCiphertext
			if k == "core/sealed-root-key" {
				want = seal.ErrInvalidKey // indistinguishable from a wrong key
			}
			if !errors.Is(err, want) {
				t.Fatalf("Unseal with corrupt %s err = %v, want %v", k, err, want)
			}
		})
	}
	t.Run("keyring missing", func(t *testing.T) {
		b, under, key := unsealed(t)
		b.Seal()
		if err := under.Delete(ctx, "core/keyring"); err != nil {
			t.Fatal(err)
		}
		if err := b.Unseal(ctx, key); !errors.Is(err, storage.ErrNotFound) || !b.Sealed() {
			t.Fatalf("Unseal without keyring = %v, sealed=%v", err, b.Sealed())
		}
	})
	t.Run("seal config garbage", func(t *testing.T) {
		b, under, _ := unsealed(t)
		if err := under.Put(ctx, &storage.Entry{Key: "core/seal-config", Value: []byte("{nope")}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.SealConfig(ctx); !errors.Is(err, seal.ErrInvalidConfig) {
			t.Fatalf("SealConfig of garbage err = %v, want ErrInvalidConfig", err)
		}
	})
}

func physicalTerm(t *testing.T, under storage.Backend, key string) uint32 {
	t.Helper()
	e, err := under.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return binary.BigEndian.Uint32(e.Value)
}

func TestBarrier_Rotate(t *testing.T) {
	ctx := context.Background()
	b, under, key := unsealed(t)
	mustPut(t, b, "old", "written in term 1")
	before, err := b.KeyStatus()
	if err != nil || before.Term != 1 || before.Encryptions != 1 {
		t.Fatalf("KeyStatus = %+v, %v; want term 1 with 1 encryption", before, err)
	}
	for want := 2; want <= 4; want++ {
		info, err := b.Rotate(ctx)
		if err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		if info.Term != want || info.Encryptions != 0 || info.InstallTime.Before(before.InstallTime) {
			t.Fatalf("Rotate = %+v, want term %d, 0 encryptions", info, want)
		}
		k := fmt.Sprintf("new/%d", want)
		mustPut(t, b, k, k)
		if got := physicalTerm(t, under, k); got != uint32(want) {
			t.Fatalf("value written after rotation to %d has term %d", want, got)
		}
		ks, err := b.KeyStatus()
		if err != nil || ks.Term != want || ks.Encryptions != 1 {
			t.Fatalf("KeyStatus = %+v, %v; want term %d with 1 encryption", ks, err, want)
		}
	}
	if got := physicalTerm(t, under, "old"); got != 1 {
		t.Fatalf("old value's term = %d, want 1", got)
	}
	if got := mustGet(t, b, "old"); got != "written in term 1" {
		t.Fatalf("Get(old) = %q", got)
	}
	// After a seal and unseal every term is still there.
	b.Seal()
	if err := b.Unseal(ctx, key); err != nil {
		t.Fatal(err)
	}
	if ks, _ := b.KeyStatus(); ks.Term != 4 {
		t.Fatalf("term after re-unseal = %d, want 4", ks.Term)
	}
	for _, k := range []string{"old", "new/2", "new/3", "new/4"} {
		mustGet(t, b, k)
	}
}

func TestBarrier_Rotate_StorageFailure(t *testing.T) {
	ctx := context.Background()
	f := &failing{Backend: inmem.New()}
	b := seal.NewBarrier(f, nil)
	shares, err := b.Initialize(ctx, seal.Config{Shares: 1, Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, shares[0]); err != nil {
		t.Fatal(err)
	}
	f.fail.Store(true)
	if _, err := b.Rotate(ctx); !errors.Is(err, errInjected) {
		t.Fatalf("Rotate err = %v, want the storage error", err)
	}
	f.fail.Store(false)
	if ks, _ := b.KeyStatus(); ks.Term != 1 {
		t.Fatalf("term after a failed rotation = %d, want 1", ks.Term)
	}
	mustPut(t, b, "k", "v")
	if got := physicalTerm(t, f, "k"); got != 1 {
		t.Fatalf("write after a failed rotation used term %d", got)
	}
}

func TestBarrier_StandbyFollowsRotation(t *testing.T) {
	ctx := context.Background()
	active, under, key := unsealed(t)
	standby := seal.NewBarrier(under, nil)
	if err := standby.Unseal(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := active.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	mustPut(t, active, "after", "rotated")
	if ks, _ := standby.KeyStatus(); ks.Term != 1 {
		t.Fatalf("standby term before reading = %d, want 1", ks.Term)
	}
	// Get meets term 2 and reloads the keyring on demand.
	if got := mustGet(t, standby, "after"); got != "rotated" {
		t.Fatalf("standby Get = %q", got)
	}
	if ks, _ := standby.KeyStatus(); ks.Term != 2 {
		t.Fatalf("standby term after reading = %d, want 2", ks.Term)
	}
	// Decrypt does too.
	if _, err := active.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	ct, err := active.Encrypt("core/raft-challenge/x", []byte("c"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := standby.Decrypt("core/raft-challenge/x", ct); err != nil || string(pt) != "c" {
		t.Fatalf("standby Decrypt = %q, %v", pt, err)
	}
	// And Reload explicitly.
	if _, err := active.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := standby.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if ks, _ := standby.KeyStatus(); ks.Term != 4 {
		t.Fatalf("standby term after Reload = %d, want 4", ks.Term)
	}
	// A rotation on the former standby builds on the stored keyring.
	info, err := standby.Rotate(ctx)
	if err != nil || info.Term != 5 {
		t.Fatalf("standby Rotate = %+v, %v; want term 5", info, err)
	}
	// A term nobody has is an error, after one reload.
	e, err := under.Get(ctx, "after")
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint32(e.Value, 99)
	if err := under.Put(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := standby.Get(ctx, "after"); !errors.Is(err, seal.ErrBadCiphertext) {
		t.Fatalf("Get of an unknown term err = %v, want ErrBadCiphertext", err)
	}
}

func TestBarrier_ConcurrentStandbyReload(t *testing.T) {
	ctx := context.Background()
	active, under, key := unsealed(t)
	standby := seal.NewBarrier(under, nil)
	if err := standby.Unseal(ctx, key); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := active.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 16; i++ {
		mustPut(t, active, fmt.Sprintf("k/%d", i), "v")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := standby.Get(ctx, fmt.Sprintf("k/%d", i)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if ks, _ := standby.KeyStatus(); ks.Term != 4 {
		t.Fatalf("standby term = %d, want 4", ks.Term)
	}
}

func TestBarrier_Rekey(t *testing.T) {
	ctx := context.Background()
	oldCfg := seal.Config{Shares: 3, Threshold: 2}
	b, under, oldShares := initialized(t, oldCfg)
	oldKey := unsealKey(t, oldCfg, oldShares)
	if err := b.Unseal(ctx, oldKey); err != nil {
		t.Fatal(err)
	}
	mustPut(t, b, "data", "survives rekey")
	if _, err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}

	if _, err := b.Rekey(ctx, seal.Config{Shares: 4, Threshold: 1}); !errors.Is(err, seal.ErrInvalidConfig) {
		t.Fatalf("Rekey(invalid) err = %v, want ErrInvalidConfig", err)
	}
	for _, newCfg := range []seal.Config{{Shares: 5, Threshold: 3}, {Shares: 1, Threshold: 1}} {
		newShares, err := b.Rekey(ctx, newCfg)
		if err != nil {
			t.Fatalf("Rekey(%+v): %v", newCfg, err)
		}
		if len(newShares) != newCfg.Shares {
			t.Fatalf("Rekey returned %d shares, want %d", len(newShares), newCfg.Shares)
		}
		if b.Sealed() {
			t.Fatal("Rekey sealed the barrier")
		}
		if got, err := b.SealConfig(ctx); err != nil || *got != newCfg {
			t.Fatalf("SealConfig after rekey = %+v, %v; want %+v", got, err, newCfg)
		}
		newKey := unsealKey(t, newCfg, newShares)
		if err := b.CheckKey(ctx, oldKey); !errors.Is(err, seal.ErrInvalidKey) {
			t.Fatalf("CheckKey(old key) after rekey = %v, want ErrInvalidKey", err)
		}
		if err := b.CheckKey(ctx, newKey); err != nil {
			t.Fatalf("CheckKey(new key) = %v", err)
		}
		b.Seal()
		if err := b.Unseal(ctx, oldKey); !errors.Is(err, seal.ErrInvalidKey) {
			t.Fatalf("Unseal(old key) after rekey = %v, want ErrInvalidKey", err)
		}
		if err := b.Unseal(ctx, newKey); err != nil {
			t.Fatalf("Unseal(new key): %v", err)
		}
		if got := mustGet(t, b, "data"); got != "survives rekey" {
			t.Fatalf("Get(data) after rekey = %q", got)
		}
		if ks, _ := b.KeyStatus(); ks.Term != 2 {
			t.Fatalf("term after rekey = %d, want 2 (rekey does not rotate)", ks.Term)
		}
		// A second node of the same vault unseals with the new key too.
		other := seal.NewBarrier(under, nil)
		if err := other.Unseal(ctx, newKey); err != nil {
			t.Fatalf("second barrier Unseal(new key): %v", err)
		}
		oldKey = bytes.Clone(newKey)
	}
}

func TestBarrier_Rekey_StorageFailure(t *testing.T) {
	ctx := context.Background()
	f := &failing{Backend: inmem.New()}
	b := seal.NewBarrier(f, nil)
	shares, err := b.Initialize(ctx, seal.Config{Shares: 1, Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, shares[0]); err != nil {
		t.Fatal(err)
	}
	f.fail.Store(true)
	if _, err := b.Rekey(ctx, seal.Config{Shares: 3, Threshold: 2}); !errors.Is(err, errInjected) {
		t.Fatalf("Rekey err = %v, want the storage error", err)
	}
	f.fail.Store(false)
	if err := b.CheckKey(ctx, shares[0]); err != nil {
		t.Fatalf("old key after a failed rekey: %v", err)
	}
}

func TestBarrier_SealUnsealConcurrent(t *testing.T) {
	// Seal, Unseal, Rotate and data operations racing: every operation
	// either succeeds or reports ErrSealed, and -race sees no data race.
	ctx := context.Background()
	b, _, key := unsealed(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	report := func(err error) {
		if err != nil && !errors.Is(err, seal.ErrSealed) && !errors.Is(err, storage.ErrNotFound) {
			select {
			case errs <- err:
			default:
			}
		}
	}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				k := fmt.Sprintf("c/%d/%d", w, i)
				report(b.Put(ctx, &storage.Entry{Key: k, Value: []byte(k)}))
				_, err := b.Get(ctx, k)
				report(err)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			b.Seal()
			report(b.Unseal(ctx, key))
			_, err := b.Rotate(ctx)
			report(err)
			report(b.Reload(ctx))
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := b.KeyStatus(); err != nil {
		t.Fatal(err)
	}
}
