package jwt_test

import (
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/vaultd/vaultd/secrets"
)

func TestJWKS_LoginAndRotation(t *testing.T) {
	f := newFixture(t)
	k1 := newRSA(t, "k1")
	ks := newKeyServer(t, k1.jwk())
	// Without the CA the server's certificate is not trusted.
	_, err := f.do(secrets.OpUpdate, "config", map[string]any{"jwks_url": ks.srv.URL + "/keys"})
	if err == nil || !strings.Contains(err.Error(), "error checking jwks_url") {
		t.Fatalf("config with an untrusted JWKS server: %v", err)
	}
	f.must(secrets.OpUpdate, "config", map[string]any{"jwks_url": ks.srv.URL + "/keys", "jwks_ca_pem": ks.caPEM()})
	f.must(secrets.OpUpdate, "role/ci", map[string]any{"user_claim": "sub", "bound_audiences": "vaultd"})
	f.login("ci", k1.sign(t, claims(f.clock(), nil)))
	hits := ks.hits.Load()
	f.login("ci", k1.sign(t, claims(f.clock(), nil)))
	if ks.hits.Load() != hits {
		t.Fatal("a second login fetched the JWKS again: the keys are not cached")
	}
	// The issuer rotates to k2: the first token signed with it makes the
	// engine fetch the keys again (once the minimum interval has passed).
	k2 := newRSA(t, "k2")
	ks.setKeys(k2.jwk())
	f.now.Add(11)
	f.login("ci", k2.sign(t, claims(f.clock(), nil)))
	// Bad tokens right after do not trigger more fetches.
	hits = ks.hits.Load()
	for range 5 {
		f.loginErr("ci", newRSA(t, "k3").sign(t, claims(f.clock(), nil)), "failed to verify")
	}
	if got := ks.hits.Load() - hits; got != 0 {
		t.Fatalf("%d JWKS fetches for bad tokens within the refetch interval", got)
	}
	// A JWK whose alg says ES256 is never used for an RS256 token.
	bad := k2.jwk()
	bad.Algorithm = "ES256"
	ks.setKeys(bad)
	f.now.Add(400)
	f.loginErr("ci", k2.sign(t, claims(f.clock(), nil)), "failed to verify")
}

func TestJWKS_SymmetricKeysDropped(t *testing.T) {
	f := newFixture(t)
	ks := newKeyServer(t, jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "h", Algorithm: "HS256"})
	_, err := f.do(secrets.OpUpdate, "config", map[string]any{"jwks_url": ks.srv.URL + "/keys", "jwks_ca_pem": ks.caPEM()})
	if err == nil || !strings.Contains(err.Error(), "no public signing keys") {
		t.Fatalf("config with only a symmetric JWK: %v", err)
	}
}

func TestOIDCDiscovery(t *testing.T) {
	f := newFixture(t)
	k := newEC(t, "e1")
	ks := newKeyServer(t, k.jwk())
	f.must(secrets.OpUpdate, "config", map[string]any{
		"oidc_discovery_url": ks.srv.URL, "oidc_discovery_ca_pem": ks.caPEM(),
	})
	f.must(secrets.OpUpdate, "role/ci", map[string]any{"user_claim": "sub", "bound_audiences": "vaultd"})
	f.login("ci", k.sign(t, claims(f.clock(), map[string]any{"iss": ks.srv.URL})))
	// The token must come from the discovered issuer.
	f.loginErr("ci", k.sign(t, claims(f.clock(), map[string]any{"iss": "https://issuer.example"})), "OIDC issuer")

	// A discovery document that names another issuer is refused.
	ks2 := newKeyServer(t, k.jwk())
	ks2.issue = "https://elsewhere.example"
	_, err := f.do(secrets.OpUpdate, "config", map[string]any{
		"oidc_discovery_url": ks2.srv.URL, "oidc_discovery_ca_pem": ks2.caPEM(),
	})
	if err == nil || !strings.Contains(err.Error(), "does not match the discovery URL") {
		t.Fatalf("discovery with a foreign issuer: %v", err)
	}
}

func TestConfig_Validation(t *testing.T) {
	f := newFixture(t)
	s := newRSA(t, "")
	cases := []struct {
		name string
		data map[string]any
		want string
	}{
		{"nothing", map[string]any{}, "exactly one of"},
		{"two sources", map[string]any{"jwt_validation_pubkeys": s.pubPEM(t), "jwks_url": "https://x.example/keys"}, "exactly one of"},
		{"HMAC alg", map[string]any{"jwt_validation_pubkeys": s.pubPEM(t), "jwt_supported_algs": "RS256,HS256"}, "invalid jwt_supported_algs"},
		{"none alg", map[string]any{"jwt_validation_pubkeys": s.pubPEM(t), "jwt_supported_algs": "none"}, "invalid jwt_supported_algs"},
		{"bad pem", map[string]any{"jwt_validation_pubkeys": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}, "error parsing public key"},
		{"not a URL", map[string]any{"jwks_url": "file:///etc/passwd"}, "absolute http or https URL"},
		{"CA without URL", map[string]any{"jwt_validation_pubkeys": s.pubPEM(t), "jwks_ca_pem": "x"}, "only be set with"},
		{"oidc client", map[string]any{"jwt_validation_pubkeys": s.pubPEM(t), "oidc_client_id": "x"}, "not supported"},
	}
	for _, c := range cases {
		_, err := f.do(secrets.OpUpdate, "config", c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := f.do(secrets.OpRead, "config", nil); err == nil {
		t.Fatal("a refused config was stored")
	}
	// Two keys in one PEM string; read back as a list.
	f.must(secrets.OpUpdate, "config", map[string]any{"jwt_validation_pubkeys": s.pubPEM(t) + newEC(t, "").pubPEM(t), "bound_issuer": "x", "bogus": 1})
	resp := f.must(secrets.OpRead, "config", nil)
	if keys := resp.Data["jwt_validation_pubkeys"].([]string); len(keys) != 2 {
		t.Fatalf("pubkeys read back: %d", len(keys))
	}
	if resp.Data["bound_issuer"] != "x" {
		t.Fatalf("config read: %v", resp.Data)
	}
}

func TestRole_CRUD(t *testing.T) {
	f := newFixture(t)
	if _, err := f.do(secrets.OpUpdate, "role/r1", map[string]any{"bound_audiences": "a"}); err == nil || !strings.Contains(err.Error(), "user claim must be defined") {
		t.Fatalf("role without user_claim: %v", err)
	}
	if _, err := f.do(secrets.OpUpdate, "role/r1", map[string]any{"user_claim": "sub", "role_type": "oidc"}); err == nil {
		t.Fatal("an oidc role was accepted")
	}
	if _, err := f.do(secrets.OpUpdate, "role/r1", map[string]any{"user_claim": "sub", "token_policies": "root"}); err == nil {
		t.Fatal("a role with the root policy was accepted")
	}
	if _, err := f.do(secrets.OpUpdate, "role/r1", map[string]any{"user_claim": "sub", "claim_mappings": map[string]any{"a": "role"}}); err == nil {
		t.Fatal("a claim mapping onto the reserved key role was accepted")
	}
	f.must(secrets.OpUpdate, "role/r1", map[string]any{
		"user_claim": "email", "bound_audiences": []any{"a", "b"}, "bound_claims": map[string]any{"x": "y"},
		"clock_skew_leeway": "30s", "token_policies": "p1,P2", "groups_claim": "groups",
	})
	// An update changes only the fields given.
	f.must(secrets.OpUpdate, "role/r1", map[string]any{"bound_subject": "s"})
	d := f.must(secrets.OpRead, "role/r1", nil).Data
	if d["user_claim"] != "email" || d["bound_subject"] != "s" || d["clock_skew_leeway"] != int64(30) ||
		len(d["bound_audiences"].([]string)) != 2 || d["role_type"] != "jwt" || d["bound_claims_type"] != "string" ||
		!equal(d["token_policies"].([]string), []string{"p1", "p2"}) {
		t.Fatalf("role read: %v", d)
	}
	keys := f.must(secrets.OpList, "role/", nil).Data["keys"].([]string)
	if !equal(keys, []string{"r1"}) {
		t.Fatalf("list: %v", keys)
	}
	f.must(secrets.OpDelete, "role/r1", nil)
	if _, err := f.do(secrets.OpRead, "role/r1", nil); err == nil {
		t.Fatal("deleted role still read")
	}
	if _, err := f.do(secrets.OpUpdate, "role/..", map[string]any{"user_claim": "sub"}); err == nil {
		t.Fatal("role name .. accepted")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestJWKS_ConcurrentLogins: logins in parallel share the key cache while
// a rotation forces refetches (run with -race).
func TestJWKS_ConcurrentLogins(t *testing.T) {
	f := newFixture(t)
	k1, k2 := newRSA(t, "k1"), newRSA(t, "k2")
	ks := newKeyServer(t, k1.jwk(), k2.jwk())
	f.must(secrets.OpUpdate, "config", map[string]any{"jwks_url": ks.srv.URL + "/keys", "jwks_ca_pem": ks.caPEM()})
	f.must(secrets.OpUpdate, "role/ci", map[string]any{"user_claim": "sub", "bound_audiences": "vaultd"})
	toks := []string{k1.sign(t, claims(f.clock(), nil)), k2.sign(t, claims(f.clock(), nil))}
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			if i%10 == 0 {
				f.now.Add(11) // lets a refetch happen
			}
			_, err := f.do(secrets.OpUpdate, "login", map[string]any{"role": "ci", "jwt": toks[i%2]})
			errs <- err
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
