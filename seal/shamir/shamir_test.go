package shamir_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/vaultd/vaultd/seal/shamir"
)

func randomSecret(t testing.TB, n int) []byte {
	t.Helper()
	s := make([]byte, n)
	if _, err := rand.Read(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// subsets calls f with every k-element subset of {0..n-1}.
func subsets(n, k int, f func(idx []int)) {
	idx := make([]int, k)
	var rec func(start, depth int)
	rec = func(start, depth int) {
		if depth == k {
			f(idx)
			return
		}
		for i := start; i <= n-(k-depth); i++ {
			idx[depth] = i
			rec(i+1, depth+1)
		}
	}
	rec(0, 0)
}

func pick(shares [][]byte, idx []int) [][]byte {
	out := make([][]byte, len(idx))
	for i, j := range idx {
		out[i] = shares[j]
	}
	return out
}

func TestSplitCombine_EverySubset(t *testing.T) {
	for _, tc := range []struct{ parts, threshold, secretLen int }{
		{2, 2, 32},
		{3, 2, 32},
		{5, 3, 32},
		{4, 4, 32},
		{6, 2, 32},
		{7, 4, 1},
		{5, 5, 100},
	} {
		t.Run(fmt.Sprintf("%d-of-%d", tc.threshold, tc.parts), func(t *testing.T) {
			secret := randomSecret(t, tc.secretLen)
			orig := bytes.Clone(secret)
			shares, err := shamir.Split(secret, tc.parts, tc.threshold)
			if err != nil {
				t.Fatalf("Split: %v", err)
			}
			if !bytes.Equal(secret, orig) {
				t.Fatal("Split modified the secret")
			}
			if len(shares) != tc.parts {
				t.Fatalf("Split returned %d shares, want %d", len(shares), tc.parts)
			}
			for i, s := range shares {
				if len(s) != tc.secretLen+1 {
					t.Fatalf("share %d is %d bytes, want %d", i, len(s), tc.secretLen+1)
				}
			}
			// Every subset of threshold or more shares recovers the secret.
			for k := tc.threshold; k <= tc.parts; k++ {
				subsets(tc.parts, k, func(idx []int) {
					got, err := shamir.Combine(pick(shares, idx))
					if err != nil {
						t.Fatalf("Combine(%v): %v", idx, err)
					}
					if !bytes.Equal(got, secret) {
						t.Fatalf("Combine(%v) = %x, want %x", idx, got, secret)
					}
				})
			}
			// Fewer than threshold shares (but at least the two Combine needs)
			// interpolate to something else. A short secret could match by
			// chance (1/256 per byte), so only long secrets are checked.
			if tc.secretLen < 16 {
				return
			}
			for k := 2; k < tc.threshold; k++ {
				subsets(tc.parts, k, func(idx []int) {
					got, err := shamir.Combine(pick(shares, idx))
					if err != nil {
						t.Fatalf("Combine(%v): %v", idx, err)
					}
					if bytes.Equal(got, secret) {
						t.Fatalf("Combine(%v) of %d < threshold %d shares recovered the secret", idx, k, tc.threshold)
					}
				})
			}
		})
	}
}

func TestSplit_MaxParts(t *testing.T) {
	secret := randomSecret(t, 32)
	shares, err := shamir.Split(secret, 255, 255)
	if err != nil {
		t.Fatal(err)
	}
	got, err := shamir.Combine(shares)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Combine(255 shares) = %x, %v; want the secret", got, err)
	}
	got, err = shamir.Combine(shares[:254])
	if err != nil || bytes.Equal(got, secret) {
		t.Fatalf("Combine(254 of 255-threshold shares) = %x, %v; want another value", got, err)
	}
}

func TestSplit_OneOfOne(t *testing.T) {
	secret := randomSecret(t, 32)
	shares, err := shamir.Split(secret, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(shares) != 1 || !bytes.Equal(shares[0][:32], secret) || shares[0][32] == 0 {
		t.Fatalf("Split(1,1) = %x, want secret followed by a non-zero X", shares)
	}
	if _, err := shamir.Combine(shares); !errors.Is(err, shamir.ErrTooFewShares) {
		t.Fatalf("Combine(one share) err = %v, want ErrTooFewShares", err)
	}
}

func TestSplit_XCoordinates(t *testing.T) {
	secret := randomSecret(t, 16)
	seenOrders := map[string]bool{}
	for round := 0; round < 8; round++ {
		shares, err := shamir.Split(secret, 10, 3)
		if err != nil {
			t.Fatal(err)
		}
		var xs []byte
		seen := map[byte]bool{}
		for _, s := range shares {
			x := s[len(s)-1]
			if x == 0 || seen[x] {
				t.Fatalf("X coordinates %v: zero or repeated %d", xs, x)
			}
			seen[x] = true
			xs = append(xs, x)
		}
		seenOrders[string(xs)] = true
	}
	// Ten of 255 coordinates drawn at random: eight draws that all agree
	// would mean the coordinates are not random.
	if len(seenOrders) < 2 {
		t.Fatalf("eight splits all used the same X coordinates")
	}
}

func TestSplit_SharesDoNotRevealSecret(t *testing.T) {
	// With threshold ≥ 2 a share's Y bytes are the secret plus random
	// terms; over 64 bytes they must not equal the secret.
	secret := randomSecret(t, 64)
	shares, err := shamir.Split(secret, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range shares {
		if bytes.Equal(s[:64], secret) {
			t.Fatalf("share %d carries the secret in the clear", i)
		}
	}
}

func TestSplit_InvalidInput(t *testing.T) {
	secret := []byte("secret")
	for _, tc := range []struct {
		name             string
		secret           []byte
		parts, threshold int
		want             error
	}{
		{"threshold 0", secret, 3, 0, shamir.ErrInvalidParams},
		{"negative", secret, -1, -1, shamir.ErrInvalidParams},
		{"threshold above parts", secret, 2, 3, shamir.ErrInvalidParams},
		{"too many parts", secret, 256, 3, shamir.ErrInvalidParams},
		{"threshold 1 with many parts", secret, 3, 1, shamir.ErrInvalidParams},
		{"empty secret", nil, 3, 2, shamir.ErrEmptySecret},
		{"zero-length secret", []byte{}, 1, 1, shamir.ErrEmptySecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shares, err := shamir.Split(tc.secret, tc.parts, tc.threshold)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Split(%d, %d) = %d shares, err %v; want %v", tc.parts, tc.threshold, len(shares), err, tc.want)
			}
			if shares != nil {
				t.Fatalf("Split returned shares with an error")
			}
		})
	}
}

func TestCombine_InvalidInput(t *testing.T) {
	shares, err := shamir.Split([]byte("sixteen byte key"), 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	dupY := bytes.Clone(shares[1])
	dupY[0] ^= 0xff // same X as shares[1], different Y
	zeroX := bytes.Clone(shares[2])
	zeroX[len(zeroX)-1] = 0
	tooMany := make([][]byte, 256)
	for i := range tooMany {
		tooMany[i] = []byte{1, byte(i)}
	}
	for _, tc := range []struct {
		name   string
		shares [][]byte
		want   error
	}{
		{"none", nil, shamir.ErrTooFewShares},
		{"one", shares[:1], shamir.ErrTooFewShares},
		{"duplicate share", [][]byte{shares[0], shares[1], shares[0]}, shamir.ErrDuplicateShare},
		{"same X different Y", [][]byte{shares[0], shares[1], dupY}, shamir.ErrDuplicateShare},
		{"different lengths", [][]byte{shares[0], shares[1][:10], shares[2]}, shamir.ErrMalformedShare},
		{"too short", [][]byte{{1}, {2}}, shamir.ErrMalformedShare},
		{"empty shares", [][]byte{{}, {}}, shamir.ErrMalformedShare},
		{"X zero", [][]byte{shares[0], shares[1], zeroX}, shamir.ErrMalformedShare},
		{"more than 255", tooMany, shamir.ErrDuplicateShare},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := shamir.Combine(tc.shares)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Combine = %x, %v; want %v", got, err, tc.want)
			}
			if got != nil {
				t.Fatalf("Combine returned a value with an error")
			}
		})
	}
}

func TestCombine_DoesNotModifyShares(t *testing.T) {
	shares, err := shamir.Split([]byte("do not touch"), 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	before := make([][]byte, len(shares))
	for i, s := range shares {
		before[i] = bytes.Clone(s)
	}
	if _, err := shamir.Combine(shares); err != nil {
		t.Fatal(err)
	}
	for i := range shares {
		if !bytes.Equal(shares[i], before[i]) {
			t.Fatalf("Combine modified share %d", i)
		}
	}
}

func BenchmarkSplit_32B_5of3(b *testing.B) {
	secret := randomSecret(b, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := shamir.Split(secret, 5, 3); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCombine_32B_3(b *testing.B) {
	shares, err := shamir.Split(randomSecret(b, 32), 5, 3)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := shamir.Combine(shares[:3]); err != nil {
			b.Fatal(err)
		}
	}
}
