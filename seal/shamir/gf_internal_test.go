package shamir

import "testing"

// slowMul is a textbook carry-less multiply followed by reduction modulo
// x^8+x^4+x^3+x+1, used as the reference for the branch-free mul.
func slowMul(a, b byte) byte {
	var p uint16
	for i := 0; i < 8; i++ {
		if b&(1<<i) != 0 {
			p ^= uint16(a) << i
		}
	}
	for i := 15; i >= 8; i-- {
		if p&(1<<i) != 0 {
			p ^= 0x11b << (i - 8)
		}
	}
	return byte(p)
}

func TestMul_MatchesReference(t *testing.T) {
	for a := 0; a < 256; a++ {
		for b := 0; b < 256; b++ {
			if got, want := mul(byte(a), byte(b)), slowMul(byte(a), byte(b)); got != want {
				t.Fatalf("mul(%#02x, %#02x) = %#02x, want %#02x", a, b, got, want)
			}
		}
	}
	// Known value from FIPS-197 section 4.2: {57}·{83} = {c1}.
	if got := mul(0x57, 0x83); got != 0xc1 {
		t.Fatalf("mul(0x57, 0x83) = %#02x, want 0xc1", got)
	}
}

func TestInv(t *testing.T) {
	if got := inv(0); got != 0 {
		t.Fatalf("inv(0) = %#02x, want 0", got)
	}
	for a := 1; a < 256; a++ {
		if got := mul(byte(a), inv(byte(a))); got != 1 {
			t.Fatalf("a·inv(a) for a=%#02x = %#02x, want 1", a, got)
		}
	}
}

func TestEvaluate(t *testing.T) {
	// p(x) = 7 + 3x + 5x² at x = 2: 7 ⊕ 3·2 ⊕ 5·4.
	want := byte(7) ^ mul(3, 2) ^ mul(5, mul(2, 2))
	if got := evaluate(7, []byte{3, 5}, 2); got != want {
		t.Fatalf("evaluate = %#02x, want %#02x", got, want)
	}
	if got := evaluate(42, nil, 9); got != 42 {
		t.Fatalf("evaluate(degree 0) = %d, want 42", got)
	}
}

func TestRandomXs(t *testing.T) {
	xs, err := randomXs(MaxParts)
	if err != nil {
		t.Fatal(err)
	}
	var seen [256]bool
	for _, x := range xs {
		if x == 0 || seen[x] {
			t.Fatalf("randomXs(255) = %v: zero or repeated coordinate %d", xs, x)
		}
		seen[x] = true
	}
}
