package seal_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"

	"github.com/vaultd/vaultd/seal"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestUnsealer_Progress(t *testing.T) {
	ctx := context.Background()
	cfg := seal.Config{Shares: 5, Threshold: 3}
	b, _, shares := initialized(t, cfg)
	u := seal.NewUnsealer()
	if p := u.Progress(); p != (seal.Progress{}) {
		t.Fatalf("new Unsealer progress = %+v, want zero", p)
	}

	key, p, err := u.Add(cfg, shares[4])
	if err != nil || key != nil || p.N != 1 || p.Threshold != 3 || !uuidRE.MatchString(p.Nonce) {
		t.Fatalf("Add #1 = %v, %+v, %v; want no key, 1/3 with a UUID nonce", key, p, err)
	}
	nonce := p.Nonce
	// The same share again is ignored.
	key, p, err = u.Add(cfg, bytes.Clone(shares[4]))
	if err != nil || key != nil || p.N != 1 || p.Nonce != nonce {
		t.Fatalf("duplicate Add = %v, %+v, %v; want progress unchanged", key, p, err)
	}
	key, p, err = u.Add(cfg, shares[1])
	if err != nil || key != nil || p.N != 2 || p.Nonce != nonce {
		t.Fatalf("Add #2 = %v, %+v, %v; want 2/3, same nonce", key, p, err)
	}
	if got := u.Progress(); got != p {
		t.Fatalf("Progress() = %+v, want %+v", got, p)
	}
	key, p, err = u.Add(cfg, shares[2])
	if err != nil || key == nil {
		t.Fatalf("Add #3 = %v, %+v, %v; want the key", key, p, err)
	}
	if p != (seal.Progress{N: 0, Threshold: 3}) {
		t.Fatalf("progress after combining = %+v, want reset", p)
	}
	if err := b.Unseal(ctx, key); err != nil {
		t.Fatalf("Unseal with the combined key: %v", err)
	}
	key.Zero()
	if !bytes.Equal(key, make([]byte, 32)) {
		t.Fatal("Secret.Zero left bytes")
	}

	// A new attempt has a new nonce.
	_, p, err = u.Add(cfg, shares[0])
	if err != nil || p.N != 1 || p.Nonce == nonce || !uuidRE.MatchString(p.Nonce) {
		t.Fatalf("new attempt = %+v, %v; want 1/3 with a fresh nonce (old %s)", p, err, nonce)
	}
}

func TestUnsealer_Reset(t *testing.T) {
	cfg := seal.Config{Shares: 3, Threshold: 2}
	_, _, shares := initialized(t, cfg)
	u := seal.NewUnsealer()
	_, p1, err := u.Add(cfg, shares[0])
	if err != nil || p1.N != 1 {
		t.Fatalf("Add = %+v, %v", p1, err)
	}
	if p := u.Reset(); p != (seal.Progress{Threshold: 2}) {
		t.Fatalf("Reset() = %+v, want 0/2 with no nonce", p)
	}
	if p := u.Progress(); p.N != 0 || p.Nonce != "" {
		t.Fatalf("Progress after Reset = %+v", p)
	}
	// The share given before the reset no longer counts.
	key, p2, err := u.Add(cfg, shares[1])
	if err != nil || key != nil || p2.N != 1 || p2.Nonce == p1.Nonce {
		t.Fatalf("Add after Reset = %v, %+v, %v; want 1/2 with a new nonce", key, p2, err)
	}
}

func TestUnsealer_InvalidShares(t *testing.T) {
	cfg := seal.Config{Shares: 3, Threshold: 2}
	_, _, shares := initialized(t, cfg)
	u := seal.NewUnsealer()
	_, before, err := u.Add(cfg, shares[0])
	if err != nil {
		t.Fatal(err)
	}
	sameX := bytes.Clone(shares[1])
	sameX[32] = shares[0][32]
	zeroX := bytes.Clone(shares[1])
	zeroX[32] = 0
	for name, share := range map[string][]byte{
		"empty":          nil,
		"32 bytes":       shares[1][:32],
		"34 bytes":       append(bytes.Clone(shares[1]), 1),
		"X coordinate 0": zeroX,
		"same X":         sameX,
	} {
		key, p, err := u.Add(cfg, share)
		if !errors.Is(err, seal.ErrInvalidShare) || key != nil {
			t.Errorf("Add(%s) = %v, %v; want ErrInvalidShare", name, key, err)
		}
		if p != before {
			t.Errorf("Add(%s) changed progress to %+v, want %+v", name, p, before)
		}
	}
	if _, _, err := u.Add(seal.Config{Shares: 2, Threshold: 5}, shares[1]); !errors.Is(err, seal.ErrInvalidConfig) {
		t.Errorf("Add with an invalid config err = %v, want ErrInvalidConfig", err)
	}
	if p := u.Progress(); p != before {
		t.Errorf("progress after invalid config = %+v, want %+v", p, before)
	}
	// The attempt still completes.
	key, _, err := u.Add(cfg, shares[2])
	if err != nil || key == nil {
		t.Fatalf("completing Add = %v, %v", key, err)
	}
}

func TestUnsealer_WrongCombination(t *testing.T) {
	// Shares of two different vaults combine to a key that fails to unseal;
	// the caller resets.
	ctx := context.Background()
	cfg := seal.Config{Shares: 3, Threshold: 2}
	b, _, shares := initialized(t, cfg)
	_, _, others := initialized(t, cfg)
	other := others[0]
	if other[32] == shares[0][32] {
		other = others[1]
	}
	if other[32] == shares[0][32] {
		other = others[2]
	}
	u := seal.NewUnsealer()
	if _, _, err := u.Add(cfg, shares[0]); err != nil {
		t.Fatal(err)
	}
	key, _, err := u.Add(cfg, other)
	if err != nil || key == nil {
		t.Fatalf("Add = %v, %v; want a (wrong) key", key, err)
	}
	if err := b.Unseal(ctx, key); !errors.Is(err, seal.ErrInvalidKey) {
		t.Fatalf("Unseal(wrong combination) err = %v, want ErrInvalidKey", err)
	}
	if p := u.Reset(); p.N != 0 {
		t.Fatalf("Reset = %+v", p)
	}
}

func TestUnsealer_OneOfOne(t *testing.T) {
	ctx := context.Background()
	cfg := seal.Config{Shares: 1, Threshold: 1}
	b, _, shares := initialized(t, cfg)
	u := seal.NewUnsealer()
	if _, _, err := u.Add(cfg, append(bytes.Clone(shares[0]), 1)); !errors.Is(err, seal.ErrInvalidShare) {
		t.Fatalf("Add(33 bytes) for 1-of-1 err = %v, want ErrInvalidShare", err)
	}
	key, p, err := u.Add(cfg, shares[0])
	if err != nil || !bytes.Equal(key, shares[0]) || p != (seal.Progress{Threshold: 1}) {
		t.Fatalf("Add = %v, %+v, %v; want the share itself as key and 0/1", key, p, err)
	}
	key.Zero()
	if bytes.Equal(shares[0], make([]byte, 32)) {
		t.Fatal("the returned key aliases the caller's share")
	}
	if err := b.Unseal(ctx, shares[0]); err != nil {
		t.Fatal(err)
	}
}

func TestUnsealer_ConfigChangeRestarts(t *testing.T) {
	old := seal.Config{Shares: 3, Threshold: 2}
	_, _, shares := initialized(t, old)
	u := seal.NewUnsealer()
	_, p, err := u.Add(old, shares[0])
	if err != nil || p.N != 1 {
		t.Fatal(p, err)
	}
	next := seal.Config{Shares: 5, Threshold: 3}
	_, _, newShares := initialized(t, next)
	key, p2, err := u.Add(next, newShares[0])
	if err != nil || key != nil || p2.N != 1 || p2.Threshold != 3 || p2.Nonce == p.Nonce {
		t.Fatalf("Add under a new config = %v, %+v, %v; want a new 1/3 attempt", key, p2, err)
	}
}

func TestUnsealer_Concurrent(t *testing.T) {
	cfg := seal.Config{Shares: 10, Threshold: 10}
	b, _, shares := initialized(t, cfg)
	u := seal.NewUnsealer()
	keys := make(chan seal.Secret, len(shares))
	var wg sync.WaitGroup
	for _, s := range shares {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key, _, err := u.Add(cfg, s)
			if err != nil {
				t.Error(err)
			}
			if key != nil {
				keys <- key
			}
		}()
	}
	wg.Wait()
	close(keys)
	var got []seal.Secret
	for k := range keys {
		got = append(got, k)
	}
	if len(got) != 1 {
		t.Fatalf("%d Adds returned a key, want exactly 1", len(got))
	}
	if err := b.Unseal(context.Background(), got[0]); err != nil {
		t.Fatal(err)
	}
}
