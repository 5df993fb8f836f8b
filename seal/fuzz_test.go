package seal_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// FuzzBarrier_Decrypt feeds arbitrary ciphertexts to Decrypt (and, through
// storage, to Get). Nothing may panic; anything that is not a genuine
// ciphertext for the path must fail with ErrBadCiphertext.
func FuzzBarrier_Decrypt(f *testing.F) {
	ctx := context.Background()
	under := inmem.New()
	b := seal.NewBarrier(under, nil)
	shares, err := b.Initialize(ctx, seal.Config{Shares: 1, Threshold: 1})
	if err != nil {
		f.Fatal(err)
	}
	if err := b.Unseal(ctx, shares[0]); err != nil {
		f.Fatal(err)
	}
	genuine, err := b.Encrypt("p", []byte("plaintext"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(genuine)
	f.Add(genuine[:len(genuine)-1])
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 1, 2})
	f.Add(bytes.Repeat([]byte{0xff}, 40))
	f.Add(append([]byte{0, 0, 0, 0, 2}, make([]byte, 40)...))

	f.Fuzz(func(t *testing.T, ct []byte) {
		pt, err := b.Decrypt("p", ct)
		if err == nil {
			if !bytes.Equal(ct, genuine) || string(pt) != "plaintext" {
				t.Fatalf("Decrypt accepted a forged ciphertext %x → %q", ct, pt)
			}
			return
		}
		if !errors.Is(err, seal.ErrBadCiphertext) {
			t.Fatalf("Decrypt error %v does not wrap ErrBadCiphertext", err)
		}
		if err := under.Put(ctx, &storage.Entry{Key: "f", Value: ct}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Get(ctx, "f"); !errors.Is(err, seal.ErrBadCiphertext) {
			t.Fatalf("Get of a forged value err = %v, want ErrBadCiphertext", err)
		}
	})
}

// FuzzSealConfig feeds arbitrary bytes as the stored seal configuration:
// SealConfig either returns a valid config or ErrInvalidConfig.
func FuzzSealConfig(f *testing.F) {
	f.Add([]byte(`{"secret_shares":5,"secret_threshold":3}`))
	f.Add([]byte(`{"secret_shares":1,"secret_threshold":1}`))
	f.Add([]byte(`{"secret_shares":3,"secret_threshold":1}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"secret_shares":"5"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ctx := context.Background()
		under := inmem.New()
		if err := under.Put(ctx, &storage.Entry{Key: "core/seal-config", Value: raw}); err != nil {
			t.Fatal(err)
		}
		cfg, err := seal.NewBarrier(under, nil).SealConfig(ctx)
		if err != nil {
			if cfg != nil || !errors.Is(err, seal.ErrInvalidConfig) {
				t.Fatalf("SealConfig = %v, %v; want nil and ErrInvalidConfig", cfg, err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("SealConfig returned an invalid config %+v: %v", cfg, err)
		}
	})
}
