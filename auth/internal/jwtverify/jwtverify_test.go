package jwtverify

import (
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

func TestGlob(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"*", "abc", true}, {"a*", "abc", true}, {"*c", "abc", true},
		{"a*c", "abc", true}, {"a*c", "ab", false}, {"abc", "abc", true}, {"abc", "abd", false},
		{"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"dev-*-ns", "dev-x-ns", true}, {"dev-*-ns", "dev-ns", false}, {"", "", true}, {"", "a", false},
	}
	for _, c := range cases {
		if got := Glob(c.p, c.s); got != c.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}

func TestCheckTimes(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	at := func(d time.Duration) *josejwt.NumericDate { return josejwt.NewNumericDate(now.Add(d)) }
	none := Leeways{ClockSkew: -1, Expiration: -1, NotBefore: -1}
	if err := CheckTimes(josejwt.Claims{Expiry: at(time.Second)}, now, none); err != nil {
		t.Fatal(err)
	}
	if err := CheckTimes(josejwt.Claims{Expiry: at(0)}, now, none); err == nil {
		t.Fatal("exp == now accepted without leeway")
	}
	if err := CheckTimes(josejwt.Claims{Expiry: at(-200 * time.Second)}, now, Leeways{}); err != nil {
		t.Fatalf("default leeways (210s) refused a token expired 200s ago: %v", err)
	}
	if err := CheckTimes(josejwt.Claims{}, now, Leeways{}); err == nil {
		t.Fatal("token without exp accepted")
	}
}

func FuzzVerify(f *testing.F) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	sg, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, nil)
	obj, _ := sg.Sign([]byte(`{"sub":"a","exp":4000000000}`))
	good, _ := obj.CompactSerialize()
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	keys := []jose.JSONWebKey{{Key: &k.PublicKey}}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Verify(s, nil, keys)
		if err == nil && tok.Alg != "RS256" {
			t.Fatalf("verified with alg %q", tok.Alg)
		}
	})
}
