package shamir

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
)

// MaxParts is the largest number of shares: X coordinates are the non-zero
// elements of GF(2^8).
const MaxParts = 255

// Errors returned by Split and Combine.
var (
	// ErrInvalidParams reports a parts/threshold combination outside
	// 1 ≤ threshold ≤ parts ≤ 255, or threshold 1 with more than one part.
	ErrInvalidParams = errors.New("shamir: invalid parts or threshold")
	// ErrEmptySecret reports a zero-length secret.
	ErrEmptySecret = errors.New("shamir: empty secret")
	// ErrTooFewShares reports fewer than two shares passed to Combine.
	ErrTooFewShares = errors.New("shamir: at least two shares are required")
	// ErrMalformedShare reports a share that is too short, of a length
	// different from the others, or with X coordinate 0.
	ErrMalformedShare = errors.New("shamir: malformed share")
	// ErrDuplicateShare reports two shares with the same X coordinate.
	ErrDuplicateShare = errors.New("shamir: duplicate share")
)

// Split divides secret into parts shares, any threshold of which recover it.
// Each share is len(secret)+1 bytes: the Y values, then the X coordinate.
// secret is not modified and shares do not alias it.
//
// Split(secret, 1, 1) is allowed and returns one share whose Y bytes equal
// the secret (a degree-0 polynomial); Combine will not accept it alone.
func Split(secret []byte, parts, threshold int) ([][]byte, error) {
	switch {
	case threshold < 1 || parts < threshold || parts > MaxParts:
		return nil, fmt.Errorf("%w: parts=%d threshold=%d (want 1 ≤ threshold ≤ parts ≤ %d)", ErrInvalidParams, parts, threshold, MaxParts)
	case threshold == 1 && parts != 1:
		return nil, fmt.Errorf("%w: threshold 1 requires exactly one part, got %d", ErrInvalidParams, parts)
	case len(secret) == 0:
		return nil, ErrEmptySecret
	}

	xs, err := randomXs(parts)
	if err != nil {
		return nil, err
	}

	// Coefficients of degree 1..threshold-1 for every secret byte, drawn
	// uniformly (zero included: that is what makes fewer than threshold
	// shares reveal nothing).
	deg := threshold - 1
	coeffs := make([]byte, len(secret)*deg)
	defer clear(coeffs)
	if _, err := rand.Read(coeffs); err != nil {
		return nil, fmt.Errorf("shamir: reading randomness: %w", err)
	}

	n := len(secret)
	shares := make([][]byte, parts)
	for i := range shares {
		shares[i] = make([]byte, n+1)
		shares[i][n] = xs[i]
	}
	for k, s := range secret {
		c := coeffs[k*deg : (k+1)*deg]
		for i := range shares {
			shares[i][k] = evaluate(s, c, xs[i])
		}
	}
	return shares, nil
}

// evaluate returns intercept + c[0]·x + c[1]·x² + … by Horner's rule.
func evaluate(intercept byte, c []byte, x byte) byte {
	var y byte
	for d := len(c) - 1; d >= 0; d-- {
		y = mul(y, x) ^ c[d]
	}
	return mul(y, x) ^ intercept
}

// randomXs returns n distinct non-zero X coordinates in random order: the
// first n entries of a Fisher–Yates shuffle of 1..255.
func randomXs(n int) ([]byte, error) {
	var all [MaxParts]byte
	for i := range all {
		all[i] = byte(i + 1)
	}
	for i := 0; i < n; i++ {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(MaxParts-i)))
		if err != nil {
			return nil, fmt.Errorf("shamir: reading randomness: %w", err)
		}
		k := i + int(j.Int64())
		all[i], all[k] = all[k], all[i]
	}
	return append([]byte(nil), all[:n]...), nil
}

// Combine recovers the secret from threshold or more shares made by Split.
// It fails on fewer than two shares, shares of different lengths, shares
// shorter than two bytes, an X coordinate of 0, and duplicate X
// coordinates. Given fewer than threshold shares (or shares of different
// splits) it returns an unrelated value without error: the caller must
// authenticate the result.
func Combine(shares [][]byte) ([]byte, error) {
	if len(shares) < 2 {
		return nil, fmt.Errorf("%w: got %d", ErrTooFewShares, len(shares))
	}
	if len(shares) > MaxParts {
		return nil, fmt.Errorf("%w: %d shares, at most %d can be distinct", ErrDuplicateShare, len(shares), MaxParts)
	}
	size := len(shares[0])
	if size < 2 {
		return nil, fmt.Errorf("%w: share 1 is %d bytes, want at least 2", ErrMalformedShare, size)
	}
	xs := make([]byte, len(shares))
	var seen [256]bool
	for i, s := range shares {
		if len(s) != size {
			return nil, fmt.Errorf("%w: share %d is %d bytes, share 1 is %d", ErrMalformedShare, i+1, len(s), size)
		}
		x := s[size-1]
		if x == 0 {
			return nil, fmt.Errorf("%w: share %d has X coordinate 0", ErrMalformedShare, i+1)
		}
		if seen[x] {
			return nil, fmt.Errorf("%w: share %d repeats an X coordinate", ErrDuplicateShare, i+1)
		}
		seen[x] = true
		xs[i] = x
	}

	// Lagrange interpolation at x = 0. In GF(2^8) subtraction is XOR, so
	// basis_i(0) = Π_{j≠i} x_j / (x_i ⊕ x_j).
	secret := make([]byte, size-1)
	for i, s := range shares {
		num, den := byte(1), byte(1)
		for j, xj := range xs {
			if j == i {
				continue
			}
			num = mul(num, xj)
			den = mul(den, xs[i]^xj)
		}
		basis := mul(num, inv(den))
		for k := range secret {
			secret[k] ^= mul(basis, s[k])
		}
	}
	return secret, nil
}

// mul multiplies in GF(2^8) modulo x^8+x^4+x^3+x+1 without branches or
// table lookups: eight shift-and-conditionally-add rounds driven by masks.
func mul(a, b byte) byte {
	var r byte
	for i := 0; i < 8; i++ {
		r ^= -(b & 1) & a // add a when the low bit of b is set
		b >>= 1
		carry := -(a >> 7) // 0xff when the high bit of a is set
		a = a<<1 ^ 0x1b&carry
	}
	return r
}

// inv returns the multiplicative inverse a^254 (a^-1 since a^255 = 1), and
// 0 for 0, with a fixed sequence of multiplications.
func inv(a byte) byte {
	sq := mul(a, a) // a^2
	r := sq
	for i := 0; i < 6; i++ {
		sq = mul(sq, sq) // a^4, a^8, …, a^128
		r = mul(r, sq)   // a^6, a^14, …, a^254
	}
	return r
}
