package jwt_test

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/vaultd/vaultd/secrets"
)

// setupPEM configures f with s's PEM key and a role "ci".
func setupPEM(t *testing.T, f *fixture, s *signer, role map[string]any) {
	t.Helper()
	f.must(secrets.OpUpdate, "config", map[string]any{
		"jwt_validation_pubkeys": []any{s.pubPEM(t)},
		"bound_issuer":           "https://issuer.example",
	})
	data := map[string]any{
		"role_type":       "jwt",
		"user_claim":      "sub",
		"bound_audiences": "vaultd",
		"token_policies":  "deploy",
		"token_ttl":       "10m",
	}
	for k, v := range role {
		data[k] = v
	}
	f.must(secrets.OpUpdate, "role/ci", data)
}

func TestLogin_PEMKey(t *testing.T) {
	f := newFixture(t)
	s := newRSA(t, "")
	setupPEM(t, f, s, map[string]any{
		"bound_subject":  "repo:acme/app:ref:refs/heads/main",
		"bound_claims":   map[string]any{"repository": "acme/app", "/ctx/env": []any{"prod", "stage"}},
		"claim_mappings": map[string]any{"repository": "repo", "/ctx/env": "env"},
	})
	tok := s.sign(t, claims(f.clock(), map[string]any{
		"repository": "acme/app",
		"ctx":        map[string]any{"env": "stage"},
	}))
	got := f.login("ci", tok)
	want := &secrets.Auth{
		Policies:    []string{"deploy"},
		Metadata:    map[string]string{"role": "ci", "repo": "acme/app", "env": "stage"},
		DisplayName: "repo:acme/app:ref:refs/heads/main",
		TTL:         10 * time.Minute,
		Renewable:   true,
		Alias:       "repo:acme/app:ref:refs/heads/main",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("auth = %+v\nwant %+v", got, want)
	}
	// default_role lets a login omit the role.
	f.must(secrets.OpUpdate, "config", map[string]any{
		"jwt_validation_pubkeys": s.pubPEM(t), "default_role": "ci",
	})
	resp := f.must(secrets.OpUpdate, "login", map[string]any{"jwt": tok})
	if resp.Auth == nil || resp.Auth.Metadata["role"] != "ci" {
		t.Fatalf("default_role login: %+v", resp.Auth)
	}
}

func TestLogin_ECKeyAndAlgRestriction(t *testing.T) {
	f := newFixture(t)
	s := newEC(t, "")
	rs := newRSA(t, "")
	f.must(secrets.OpUpdate, "config", map[string]any{
		"jwt_validation_pubkeys": []any{s.pubPEM(t), rs.pubPEM(t)},
		"jwt_supported_algs":     "ES256",
	})
	f.must(secrets.OpUpdate, "role/ci", map[string]any{"user_claim": "sub", "bound_audiences": "vaultd"})
	f.login("ci", s.sign(t, claims(f.clock(), nil)))
	// A configured key, but an algorithm outside jwt_supported_algs.
	f.loginErr("ci", rs.sign(t, claims(f.clock(), nil)), "algorithm is not allowed")
}

// b64 is base64url without padding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestLogin_AttacksRefused(t *testing.T) {
	f := newFixture(t)
	s := newRSA(t, "")
	setupPEM(t, f, s, nil)
	now := f.clock()
	other := newRSA(t, "")
	payload, _ := json.Marshal(claims(now, nil))
	good := s.sign(t, claims(now, nil))
	parts := strings.Split(good, ".")

	// HS256 keyed with the configured public key (algorithm confusion).
	hs, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(s.pubPEM(t))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hsObj, err := hs.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	hsTok, _ := hsObj.CompactSerialize()

	// A token that carries its own key in the header (jwk) signed by it.
	embedded, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: other.priv},
		(&jose.SignerOptions{EmbedJWK: true}))
	if err != nil {
		t.Fatal(err)
	}
	embObj, _ := embedded.Sign(payload)
	embTok, _ := embObj.CompactSerialize()

	cases := []struct {
		name, token, want string
	}{
		{"alg none", b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64(payload) + ".", "algorithm is not allowed"},
		{"alg none with signature", b64([]byte(`{"alg":"none"}`)) + "." + b64(payload) + "." + parts[2], "algorithm is not allowed"},
		{"HS256 with the public key as secret", hsTok, "algorithm is not allowed"},
		{"unsigned (signature stripped)", parts[0] + "." + parts[1] + ".", "failed to verify"},
		{"two parts", parts[0] + "." + parts[1], "malformed"},
		{"garbage", "not-a-jwt", "malformed"},
		{"payload swapped", parts[0] + "." + b64([]byte(`{"sub":"root","aud":"vaultd","exp":99999999999}`)) + "." + parts[2], "failed to verify"},
		{"wrong key", other.sign(t, claims(now, nil)), "failed to verify"},
		{"embedded jwk", embTok, "failed to verify"},
		{"expired", s.sign(t, claims(now, map[string]any{"exp": now.Add(-time.Hour).Unix()})), "expired"},
		{"no exp", s.sign(t, claims(now, map[string]any{"exp": nil})), "no exp"},
		{"not yet valid", s.sign(t, claims(now, map[string]any{"nbf": now.Add(time.Hour).Unix()})), "not yet valid"},
		{"issued in the future", s.sign(t, claims(now, map[string]any{"iat": now.Add(time.Hour).Unix()})), "future"},
		{"wrong audience", s.sign(t, claims(now, map[string]any{"aud": "someone-else"})), "aud claim does not match"},
		{"no audience", s.sign(t, claims(now, map[string]any{"aud": nil})), "aud claim does not match"},
		{"wrong issuer", s.sign(t, claims(now, map[string]any{"iss": "https://evil.example"})), "bound_issuer"},
		{"no user claim", s.sign(t, claims(now, map[string]any{"sub": nil})), `claim "sub" not found`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.t = t
			f.loginErr("ci", c.token, c.want)
		})
	}
	f.t = t
	// The good token still works after all that.
	f.login("ci", good)
	f.loginErr("ci", "", "missing token")
	f.loginErr("nope", good, `role "nope" could not be found`)
	f.loginErr("", good, "missing role")
}

func TestLogin_AudienceWithoutBoundAudiences(t *testing.T) {
	f := newFixture(t)
	s := newRSA(t, "")
	setupPEM(t, f, s, map[string]any{"bound_audiences": ""})
	f.loginErr("ci", s.sign(t, claims(f.clock(), nil)), "no audiences bound to the role")
	f.login("ci", s.sign(t, claims(f.clock(), map[string]any{"aud": nil})))
}

func TestLogin_Leeways(t *testing.T) {
	f := newFixture(t)
	s := newRSA(t, "")
	setupPEM(t, f, s, nil)
	now := f.clock()
	// Expired 100s ago: inside the default 60s skew + 150s expiration leeway.
	recent := s.sign(t, claims(now, map[string]any{"exp": now.Add(-100 * time.Second).Unix()}))
	f.login("ci", recent)
	// Expired 300s ago: outside.
	f.loginErr("ci", s.sign(t, claims(now, map[string]any{"exp": now.Add(-300 * time.Second).Unix()})), "expired")
	// No leeway at all: the 100s-old expiry is refused.
	f.must(secrets.OpUpdate, "role/ci", map[string]any{"clock_skew_leeway": -1, "expiration_leeway": -1, "not_before_leeway": -1})
	f.loginErr("ci", recent, "expired")
	f.loginErr("ci", s.sign(t, claims(now, map[string]any{"nbf": now.Add(5 * time.Second).Unix()})), "not yet valid")
	// The clock moves: a token valid now expires later.
	tok := s.sign(t, claims(now, nil))
	f.login("ci", tok)
	f.now.Add(int64(10 * time.Minute / time.Second))
	f.loginErr("ci", tok, "expired")
}

func TestLogin_BoundClaimsGlobAndString(t *testing.T) {
	f := newFixture(t)
	s := newRSA(t, "")
	setupPEM(t, f, s, map[string]any{
		"bound_claims":      map[string]any{"ref": "refs/heads/release-*", "groups": []any{"admins", "ops"}},
		"bound_claims_type": "glob",
	})
	ok := s.sign(t, claims(f.clock(), map[string]any{"ref": "refs/heads/release-1.2", "groups": []any{"dev", "ops"}}))
	f.login("ci", ok)
	f.loginErr("ci", s.sign(t, claims(f.clock(), map[string]any{"ref": "refs/heads/main", "groups": []any{"ops"}})),
		`claim "ref" does not match`)
	f.loginErr("ci", s.sign(t, claims(f.clock(), map[string]any{"ref": "refs/heads/release-1", "groups": []any{"dev"}})),
		`claim "groups" does not match`)
	f.loginErr("ci", s.sign(t, claims(f.clock(), map[string]any{"groups": []any{"ops"}})), `claim "ref" is missing`)
	// In string mode the "*" is literal.
	f.must(secrets.OpUpdate, "role/ci", map[string]any{"bound_claims_type": "string"})
	f.loginErr("ci", ok, `claim "ref" does not match`)
}

func TestLogin_GroupsClaim(t *testing.T) {
	f := newFixture(t)
	s := newRSA(t, "")
	setupPEM(t, f, s, map[string]any{"groups_claim": "groups"})
	if a := f.login("ci", s.sign(t, claims(f.clock(), map[string]any{"groups": []any{"a", "b"}}))); !slices.Equal(a.GroupAliases, []string{"a", "b"}) {
		t.Fatalf("group aliases = %v, want [a b]", a.GroupAliases)
	}
	if a := f.login("ci", s.sign(t, claims(f.clock(), map[string]any{"groups": "solo"}))); !slices.Equal(a.GroupAliases, []string{"solo"}) {
		t.Fatalf("group aliases = %v, want [solo]", a.GroupAliases)
	}
	f.loginErr("ci", s.sign(t, claims(f.clock(), nil)), `"groups" claim not found`)
	f.loginErr("ci", s.sign(t, claims(f.clock(), map[string]any{"groups": []any{1}})), "not a string")
}

func TestLogin_BoundCIDRs(t *testing.T) {
	f := newFixture(t)
	s := newRSA(t, "")
	setupPEM(t, f, s, map[string]any{"token_bound_cidrs": "10.0.0.0/8"})
	_, err := f.do(secrets.OpUpdate, "login", map[string]any{"role": "ci", "jwt": s.sign(t, claims(f.clock(), nil))})
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("login from outside token_bound_cidrs: %v", err)
	}
}
