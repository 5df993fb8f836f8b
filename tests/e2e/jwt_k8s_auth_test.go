package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	vaultapi "github.com/hashicorp/vault/api"
)

// signJWT signs claims with key (RS256, kid).
func signJWT(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	obj, err := sg.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := obj.CompactSerialize()
	return s
}

// runCLI runs the vaultd CLI against addr and returns its stdout.
func runCLI(t *testing.T, addr, token string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+addr, "VAULT_TOKEN="+token, "HOME="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Logf("vaultd %s: %v\n%s", args[0], err, stderr.String())
	}
	return strings.TrimSpace(string(out)), err
}

func certPEM(s *httptest.Server) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}))
}

// TestAuthMethods_JWTAndKubernetes logs in through auth/jwt (keys from a
// local JWKS server) and auth/kubernetes (a local TokenReview server) on a
// real node, with the official client and the CLI, and checks that the
// tokens carry the role's policies, that a bad token is refused, and that
// no JWT reaches the log.
func TestAuthMethods_JWTAndKubernetes(t *testing.T) {
	p, c, _ := unsealedNode(t)
	ctx := t.Context()
	if err := c.Sys().Mount("secret", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("secret").Put(ctx, "app/config", map[string]any{"db": "postgres://app"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().PutPolicy("app-read", `path "secret/data/app/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	canRead := func(t *testing.T, token string) {
		t.Helper()
		s, err := newClient(t, p.Addr, token).KVv2("secret").Get(ctx, "app/config")
		if err != nil || s.Data["db"] != "postgres://app" {
			t.Fatalf("read with the login token = %+v, %v", s, err)
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var secretsSeen []string

	t.Run("jwt", func(t *testing.T) {
		jwks := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "ci-1", Algorithm: "RS256", Use: "sig"}}})
		}))
		defer jwks.Close()
		if err := c.Sys().EnableAuthWithOptions("jwt", &vaultapi.EnableAuthOptions{Type: "jwt"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Logical().Write("auth/jwt/config", map[string]any{
			"jwks_url": jwks.URL, "jwks_ca_pem": certPEM(jwks), "bound_issuer": "https://ci.example",
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Logical().Write("auth/jwt/role/ci", map[string]any{
			"role_type": "jwt", "user_claim": "sub", "bound_audiences": "vaultd",
			"bound_claims": map[string]any{"ref": "refs/heads/*"}, "bound_claims_type": "glob",
			"claim_mappings": map[string]any{"repo": "repository"}, "token_policies": "app-read", "token_ttl": "15m",
		}); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		claims := map[string]any{
			"iss": "https://ci.example", "sub": "repo:acme/app", "aud": "vaultd", "ref": "refs/heads/main",
			"repo": "acme/app", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		}
		tok := signJWT(t, key, "ci-1", claims)
		secretsSeen = append(secretsSeen, tok)
		s, err := newClient(t, p.Addr, "").Logical().Write("auth/jwt/login", map[string]any{"role": "ci", "jwt": tok})
		if err != nil {
			t.Fatal(err)
		}
		if s.Auth == nil || s.Auth.Metadata["repository"] != "acme/app" || s.Auth.Metadata["role"] != "ci" || s.Auth.LeaseDuration != 900 {
			t.Fatalf("login auth = %+v", s.Auth)
		}
		canRead(t, s.Auth.ClientToken)
		// Through the CLI, the JWT read from a file.
		f := filepath.Join(t.TempDir(), "jwt")
		if err := os.WriteFile(f, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := runCLI(t, p.Addr, "", "login", "-method=jwt", "-no-store", "-token-only", "role=ci", "jwt=@"+f)
		if err != nil || out == "" {
			t.Fatalf("vaultd login -method=jwt: %q, %v", out, err)
		}
		canRead(t, out)
		// Refusals: wrong audience, expired, another key.
		bad := []map[string]any{{"aud": "other"}, {"exp": now.Add(-time.Hour).Unix()}}
		for _, b := range bad {
			cl := map[string]any{}
			for k, v := range claims {
				cl[k] = v
			}
			for k, v := range b {
				cl[k] = v
			}
			_, err := newClient(t, p.Addr, "").Logical().Write("auth/jwt/login", map[string]any{"role": "ci", "jwt": signJWT(t, key, "ci-1", cl)})
			if !isStatus(err, 400) || !strings.Contains(err.Error(), "error validating claims") {
				t.Fatalf("login with %v: %v", b, err)
			}
		}
		other, _ := rsa.GenerateKey(rand.Reader, 2048)
		if _, err := newClient(t, p.Addr, "").Logical().Write("auth/jwt/login", map[string]any{"role": "ci", "jwt": signJWT(t, other, "ci-1", claims)}); !isStatus(err, 400) {
			t.Fatalf("login with a token signed by another key: %v", err)
		}
		// The login has an entity; its groups claim makes it a member of the
		// external identity group aliased by one of the names on this mount.
		if s.Auth.EntityID == "" {
			t.Fatal("jwt login token has no entity_id")
		}
		if _, err := c.KVv2("secret").Put(ctx, "admin/config", map[string]any{"k": "admin-only"}); err != nil {
			t.Fatal(err)
		}
		if err := c.Sys().PutPolicy("admin-read", `path "secret/data/admin/*" { capabilities = ["read"] }`); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Logical().Write("auth/jwt/role/grp", map[string]any{
			"role_type": "jwt", "user_claim": "sub", "bound_audiences": "vaultd", "groups_claim": "groups", "token_policies": "app-read",
		}); err != nil {
			t.Fatal(err)
		}
		g, err := c.Logical().Write("identity/group", map[string]any{"name": "ci-admins", "type": "external", "policies": "admin-read"})
		if err != nil {
			t.Fatal(err)
		}
		auths, err := c.Sys().ListAuth()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Logical().Write("identity/group-alias", map[string]any{
			"name": "admins", "mount_accessor": auths["jwt/"].Accessor, "canonical_id": g.Data["id"],
		}); err != nil {
			t.Fatal(err)
		}
		loginGroups := func(groups []any) string {
			cl := map[string]any{"groups": groups}
			for k, v := range claims {
				cl[k] = v
			}
			s, err := newClient(t, p.Addr, "").Logical().Write("auth/jwt/login", map[string]any{"role": "grp", "jwt": signJWT(t, key, "ci-1", cl)})
			if err != nil {
				t.Fatal(err)
			}
			return s.Auth.ClientToken
		}
		readsAdmin := func(tok string) error {
			_, err := newClient(t, p.Addr, tok).KVv2("secret").Get(ctx, "admin/config")
			return err
		}
		admin := loginGroups([]any{"admins", "devs"})
		if err := readsAdmin(admin); err != nil {
			t.Fatalf("read through the external group: %v", err)
		}
		// A later login without the group takes the membership away from the
		// entity, and so from its earlier token too.
		plain := loginGroups([]any{"devs"})
		if err := readsAdmin(plain); !isStatus(err, 403) {
			t.Fatalf("read without the group: %v, want 403", err)
		}
		if err := readsAdmin(admin); !isStatus(err, 403) {
			t.Fatalf("read with the earlier token after leaving the group: %v, want 403", err)
		}
	})

	t.Run("kubernetes", func(t *testing.T) {
		const uid = "0b6f7a3e-1111-4222-8333-444455556666"
		api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/apis/authentication.k8s.io/v1/tokenreviews" || r.Method != http.MethodPost {
				http.NotFound(w, r)
				return
			}
			var tr struct {
				Spec struct{ Token string } `json:"spec"`
			}
			_ = json.NewDecoder(r.Body).Decode(&tr)
			jws, err := jose.ParseSigned(tr.Spec.Token, []jose.SignatureAlgorithm{jose.RS256})
			ok := err == nil
			if ok {
				_, err = jws.Verify(&key.PublicKey)
				ok = err == nil
			}
			status := map[string]any{"authenticated": ok}
			if ok {
				status["user"] = map[string]any{"username": "system:serviceaccount:shop:web", "uid": uid}
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]any{"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1", "status": status})
		}))
		defer api.Close()
		if err := c.Sys().EnableAuthWithOptions("kubernetes", &vaultapi.EnableAuthOptions{Type: "kubernetes"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Logical().Write("auth/kubernetes/config", map[string]any{
			"kubernetes_host": api.URL, "kubernetes_ca_cert": certPEM(api), "disable_local_ca_jwt": true,
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Logical().Write("auth/kubernetes/role/web", map[string]any{
			"bound_service_account_names": "web", "bound_service_account_namespaces": "shop",
			"token_policies": "app-read",
		}); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		sa := map[string]any{
			"iss": "https://kubernetes.default.svc", "sub": "system:serviceaccount:shop:web",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"kubernetes.io": map[string]any{"namespace": "shop", "serviceaccount": map[string]any{"name": "web", "uid": uid}},
		}
		tok := signJWT(t, key, "sa", sa)
		secretsSeen = append(secretsSeen, tok)
		s, err := newClient(t, p.Addr, "").Logical().Write("auth/kubernetes/login", map[string]any{"role": "web", "jwt": tok})
		if err != nil {
			t.Fatal(err)
		}
		if s.Auth == nil || s.Auth.Metadata["service_account_namespace"] != "shop" {
			t.Fatalf("login auth = %+v", s.Auth)
		}
		// The service account's entity is found by its alias (the UID).
		auths, err := c.Sys().ListAuth()
		if err != nil {
			t.Fatal(err)
		}
		ent, err := c.Logical().Write("identity/lookup/entity", map[string]any{"alias_name": uid, "alias_mount_accessor": auths["kubernetes/"].Accessor})
		if err != nil || ent == nil || s.Auth.EntityID == "" || ent.Data["id"] != s.Auth.EntityID {
			t.Fatalf("kubernetes login entity %q, lookup %+v, %v", s.Auth.EntityID, ent, err)
		}
		canRead(t, s.Auth.ClientToken)
		// The CLI: `vaultd write auth/kubernetes/login` and `vaultd login -method=kubernetes`.
		out, err := runCLI(t, p.Addr, "", "write", "-field=token", "auth/kubernetes/login", "role=web", "jwt="+tok)
		if err != nil || out == "" {
			t.Fatalf("vaultd write auth/kubernetes/login: %q, %v", out, err)
		}
		canRead(t, out)
		out, err = runCLI(t, p.Addr, "", "login", "-method=kubernetes", "-no-store", "-token-only", "role=web", "jwt="+tok)
		if err != nil || out == "" {
			t.Fatalf("vaultd login -method=kubernetes: %q, %v", out, err)
		}
		// A token the API server does not vouch for is refused with 403.
		other, _ := rsa.GenerateKey(rand.Reader, 2048)
		_, err = newClient(t, p.Addr, "").Logical().Write("auth/kubernetes/login", map[string]any{"role": "web", "jwt": signJWT(t, other, "sa", sa)})
		if !isStatus(err, 403) {
			t.Fatalf("login with a token the API server refuses: %v", err)
		}
		sa["kubernetes.io"].(map[string]any)["namespace"] = "default"
		_, err = newClient(t, p.Addr, "").Logical().Write("auth/kubernetes/login", map[string]any{"role": "web", "jwt": signJWT(t, key, "sa", sa)})
		if !isStatus(err, 403) || !strings.Contains(err.Error(), "namespace not authorized") {
			t.Fatalf("login from another namespace: %v", err)
		}
	})

	for _, s := range secretsSeen {
		if strings.Contains(p.Log.String(), s) {
			t.Fatal("a JWT reached the server log")
		}
	}
}
