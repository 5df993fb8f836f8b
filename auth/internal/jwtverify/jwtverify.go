package jwtverify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// MaxTokenBytes bounds a presented JWT.
const MaxTokenBytes = 64 << 10

// Asymmetric is every algorithm a token may be signed with, in Vault's
// order. HMAC and "none" are deliberately absent.
var Asymmetric = []string{
	"RS256", "RS384", "RS512",
	"ES256", "ES384", "ES512",
	"PS256", "PS384", "PS512",
	"EdDSA",
}

// Errors of Verify. ErrAlgorithm and ErrSignature are distinct so that
// logs can tell them apart; clients get one message for both.
var (
	ErrMalformed = errors.New("token is malformed")
	ErrAlgorithm = errors.New("token signing algorithm is not allowed")
	ErrSignature = errors.New("failed to verify token signature")
	ErrNoKeys    = errors.New("no keys to verify the token with")
)

// ParseAlgs checks a list of algorithm names: every one must be in
// Asymmetric. An empty list means all of Asymmetric.
func ParseAlgs(list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, a := range list {
		if !slices.Contains(Asymmetric, a) {
			return nil, fmt.Errorf("invalid algorithm %q: supported algorithms are %s", a, strings.Join(Asymmetric, ", "))
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// ParsePEMKey parses one PEM block: a PKIX public key, a PKCS#1 RSA public
// key or a certificate (whose public key is used). Only RSA, ECDSA and
// Ed25519 keys are accepted.
func ParsePEMKey(s string) (crypto.PublicKey, error) {
	block, rest := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("data does not contain any valid public keys")
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, errors.New("expected one PEM block per key")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("unsupported PEM block %q: expected a public key or a certificate", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot parse public key: %v", err)
	}
	switch key.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return key, nil
	}
	return nil, fmt.Errorf("unsupported public key type %T", key)
}

// ParseKeySet decodes a JWKS document, keeping the public signing keys
// (RSA, EC, OKP) and dropping symmetric or private material.
func ParseKeySet(body []byte) ([]jose.JSONWebKey, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("cannot parse JWKS: %v", err)
	}
	out := make([]jose.JSONWebKey, 0, len(set.Keys))
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		switch k.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("JWKS has no public signing keys")
	}
	return out, nil
}

// Token is a verified token.
type Token struct {
	// Std holds the registered claims (iss, sub, aud, exp, nbf, iat).
	Std josejwt.Claims
	// Claims is every claim, as JSON decodes it.
	Claims map[string]any
	// Alg is the algorithm it was signed with; KeyID its header kid.
	Alg, KeyID string
}

// Parse decodes a compact JWS without verifying it and returns its single
// header. It refuses algorithms outside algs (Asymmetric when empty).
func Parse(raw string, algs []string) (*josejwt.JSONWebToken, jose.Header, error) {
	if len(raw) > MaxTokenBytes {
		return nil, jose.Header{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenBytes)
	}
	if len(algs) == 0 {
		algs = Asymmetric
	}
	allowed := make([]jose.SignatureAlgorithm, 0, len(algs))
	for _, a := range algs {
		if slices.Contains(Asymmetric, a) { // never widen past Asymmetric
			allowed = append(allowed, jose.SignatureAlgorithm(a))
		}
	}
	// A token with alg "none" or an HMAC alg is refused here, whatever
	// its signature: say which, as Vault does.
	tok, err := josejwt.ParseSigned(strings.TrimSpace(raw), allowed)
	if err != nil {
		var algErr *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &algErr) {
			return nil, jose.Header{}, ErrAlgorithm
		}
		return nil, jose.Header{}, ErrMalformed
	}
	if len(tok.Headers) != 1 {
		return nil, jose.Header{}, ErrMalformed
	}
	return tok, tok.Headers[0], nil
}

// Verify checks raw's signature against keys with one of algs (empty:
// Asymmetric) and returns its claims. With a kid in the header, only keys
// with that kid (or without a kid) are tried. Claims are not validated:
// see CheckTimes and the callers' bound checks.
func Verify(raw string, algs []string, keys []jose.JSONWebKey) (*Token, error) {
	tok, h, err := Parse(raw, algs)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	for _, k := range keys {
		if h.KeyID != "" && k.KeyID != "" && k.KeyID != h.KeyID {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != h.Algorithm {
			continue
		}
		if !keyFits(k.Key, h.Algorithm) {
			continue
		}
		var std josejwt.Claims
		all := map[string]any{}
		if err := tok.Claims(k.Key, &std, &all); err != nil {
			continue
		}
		return &Token{Std: std, Claims: all, Alg: h.Algorithm, KeyID: h.KeyID}, nil
	}
	return nil, ErrSignature
}

// keyFits reports whether a key of this type can verify alg, so that an
// RSA key is never handed to an EC verifier and the other way round.
func keyFits(key any, alg string) bool {
	switch key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		return strings.HasPrefix(alg, "ES")
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// Leeways are Vault's time tolerances. A zero field means Vault's default
// (clock skew 60s, expiration 150s, not-before 150s); a negative one
// means none.
type Leeways struct {
	ClockSkew, Expiration, NotBefore time.Duration
}

// Vault's defaults for a zero leeway.
const (
	DefaultClockSkew  = 60 * time.Second
	DefaultExpiration = 150 * time.Second
	DefaultNotBefore  = 150 * time.Second
)

func effective(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// CheckTimes validates exp (required), nbf and iat at now. A token
// without exp never expires, so it is refused.
func CheckTimes(c josejwt.Claims, now time.Time, l Leeways) error {
	skew := effective(l.ClockSkew, DefaultClockSkew)
	if c.Expiry == nil {
		return errors.New("no exp claim in the token")
	}
	exp := c.Expiry.Time().Add(skew + effective(l.Expiration, DefaultExpiration))
	if !now.Before(exp) {
		return errors.New("token is expired (exp)")
	}
	if c.NotBefore != nil {
		nbf := c.NotBefore.Time().Add(-skew - effective(l.NotBefore, DefaultNotBefore))
		if now.Before(nbf) {
			return errors.New("token is not yet valid (nbf)")
		}
	}
	if c.IssuedAt != nil {
		if now.Add(skew).Before(c.IssuedAt.Time()) {
			return errors.New("token was issued in the future (iat)")
		}
	}
	return nil
}

// Glob reports whether s matches pattern, where "*" matches any run of
// characters (including none) and every other character is literal. It
// runs in O(len(pattern)*len(s)) at worst (no exponential backtracking).
func Glob(pattern, s string) bool {
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			starP, starI = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case starP >= 0:
			starI++
			p, i = starP+1, starI
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// Unverified decodes a token's claims without checking its signature, for
// callers that have the token verified elsewhere (Kubernetes TokenReview).
// The algorithm must still be in algs (Asymmetric when empty).
func Unverified(raw string, algs []string) (*Token, error) {
	tok, h, err := Parse(raw, algs)
	if err != nil {
		return nil, err
	}
	var std josejwt.Claims
	all := map[string]any{}
	if err := tok.UnsafeClaimsWithoutVerification(&std, &all); err != nil {
		return nil, ErrMalformed
	}
	return &Token{Std: std, Claims: all, Alg: h.Algorithm, KeyID: h.KeyID}, nil
}
