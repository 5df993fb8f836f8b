package shamir_test

import (
	"bytes"
	"testing"

	"github.com/vaultd/vaultd/seal/shamir"
)

// FuzzCombine feeds Combine arbitrary shares: data cut into n equal pieces
// (the remainder dropped). Combine must never panic, must return either an
// error or a value one byte shorter than a share, and must be deterministic.
func FuzzCombine(f *testing.F) {
	seed := func(secret []byte, parts, threshold int) {
		shares, err := shamir.Split(secret, parts, threshold)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.Join(shares[:threshold], nil), uint8(threshold))
	}
	seed([]byte("0123456789abcdef0123456789abcdef"), 5, 3)
	seed([]byte{0}, 2, 2)
	seed([]byte("x"), 255, 2)
	f.Add([]byte{}, uint8(0))
	f.Add([]byte{1, 1, 2, 1}, uint8(2)) // duplicate X
	f.Add([]byte{1, 0, 2, 0}, uint8(2)) // X = 0
	f.Add([]byte{1, 2, 3}, uint8(3))    // one-byte shares
	f.Add(bytes.Repeat([]byte{7}, 300), uint8(255))

	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		if n == 0 {
			n = 1
		}
		size := len(data) / int(n)
		shares := make([][]byte, n)
		for i := range shares {
			shares[i] = data[i*size : (i+1)*size]
		}
		got, err := shamir.Combine(shares)
		if err != nil {
			if got != nil {
				t.Fatalf("Combine returned %x with error %v", got, err)
			}
			return
		}
		if len(got) != size-1 {
			t.Fatalf("Combine returned %d bytes from %d-byte shares", len(got), size)
		}
		again, err := shamir.Combine(shares)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("Combine is not deterministic: %x then %x, %v", got, again, err)
		}
	})
}

// FuzzSplitCombine checks the round trip for arbitrary secrets and
// parameters: whenever Split accepts its input, the first threshold shares
// (and the last threshold shares) recover the secret.
func FuzzSplitCombine(f *testing.F) {
	f.Add([]byte("secret"), uint8(5), uint8(3))
	f.Add([]byte{0, 0, 0}, uint8(2), uint8(2))
	f.Add([]byte{0xff}, uint8(255), uint8(254))
	f.Add([]byte("k"), uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, secret []byte, parts, threshold uint8) {
		shares, err := shamir.Split(secret, int(parts), int(threshold))
		if err != nil {
			return
		}
		if threshold < 2 {
			return // a 1-of-1 share is the secret itself; Combine needs two
		}
		for _, sub := range [][][]byte{shares[:threshold], shares[len(shares)-int(threshold):]} {
			got, err := shamir.Combine(sub)
			if err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("Combine = %x, %v; want %x", got, err, secret)
			}
		}
	})
}
