package e2e

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
)

// TestAuthMethods_UserpassAndAppRole enables userpass and approle through
// sys/auth on a real node, logs in through each with the official client,
// uses the tokens (allowed and denied by policy), and checks that wrong
// credentials fail without telling which part was wrong and that no
// password or secret ID reaches the log or the disk in plaintext.
func TestAuthMethods_UserpassAndAppRole(t *testing.T) {
	p, c, _ := unsealedNode(t)
	ctx := t.Context()

	if err := c.Sys().Mount("secret", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatalf("mount kv: %v", err)
	}
	if _, err := c.KVv2("secret").Put(ctx, "app/config", map[string]any{"db": "postgres://app"}); err != nil {
		t.Fatalf("kv put: %v", err)
	}
	if err := c.Sys().PutPolicy("app-read", `path "secret/data/app/*" { capabilities = ["read"] }`); err != nil {
		t.Fatalf("put policy: %v", err)
	}
	for _, typ := range []string{"userpass", "approle"} {
		if err := c.Sys().EnableAuthWithOptions(typ, &vaultapi.EnableAuthOptions{Type: typ}); err != nil {
			t.Fatalf("enable %s: %v", typ, err)
		}
	}
	auths, err := c.Sys().ListAuth()
	if err != nil || auths["userpass/"] == nil || auths["userpass/"].Type != "userpass" || auths["approle/"] == nil || auths["approle/"].Type != "approle" {
		t.Fatalf("ListAuth = %v, %v", auths, err)
	}

	// useToken checks what a login's token may and may not do.
	useToken := func(t *testing.T, token string) {
		t.Helper()
		u := newClient(t, p.Addr, token)
		s, err := u.KVv2("secret").Get(ctx, "app/config")
		if err != nil || s.Data["db"] != "postgres://app" {
			t.Fatalf("read with the login token = %+v, %v", s, err)
		}
		if _, err := u.KVv2("secret").Put(ctx, "app/config", map[string]any{"db": "x"}); !isStatus(err, 403) {
			t.Fatalf("write with a read-only token: err = %v, want 403", err)
		}
		if _, err := u.Logical().Read("auth/userpass/users/alice"); !isStatus(err, 403) {
			t.Fatalf("admin read with the login token: err = %v, want 403", err)
		}
	}
	// loginFails asserts a 400 with exactly msg.
	loginFails := func(t *testing.T, path string, data map[string]any, msg string) {
		t.Helper()
		_, err := newClient(t, p.Addr, "").Logical().Write(path, data)
		var re *vaultapi.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 400 || !slices.Equal(re.Errors, []string{msg}) {
			t.Fatalf("login %s: err = %v, want 400 %q", path, err, msg)
		}
	}

	const password = "Tr0ub4dor&3-e2e-password"
	var secretIDs []string
	t.Run("userpass", func(t *testing.T) {
		if _, err := c.Logical().Write("auth/userpass/users/Alice", map[string]any{
			"password": password, "token_policies": "app-read", "token_ttl": "1h",
		}); err != nil {
			t.Fatalf("create user: %v", err)
		}
		u, err := c.Logical().Read("auth/userpass/users/alice")
		if err != nil || u == nil || u.Data["password"] != nil || u.Data["token_ttl"] == nil {
			t.Fatalf("read user = %+v, %v", u, err)
		}
		s, err := newClient(t, p.Addr, "").Logical().Write("auth/userpass/login/ALICE", map[string]any{"password": password})
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		a := s.Auth
		if a == nil || a.ClientToken == "" || !slices.Contains(a.Policies, "app-read") || !slices.Contains(a.Policies, "default") ||
			a.Metadata["username"] != "alice" || a.LeaseDuration != 3600 || !a.Renewable {
			t.Fatalf("login auth = %+v", a)
		}
		useToken(t, a.ClientToken)

		loginFails(t, "auth/userpass/login/alice", map[string]any{"password": "wrong"}, "invalid username or password")
		loginFails(t, "auth/userpass/login/mallory", map[string]any{"password": password}, "invalid username or password")
		loginFails(t, "auth/userpass/login/alice", map[string]any{}, "missing password")
	})

	// token_bound_cidrs bind the token: usable over loopback when bound to
	// it; a user bound elsewhere cannot log in (Vault checks the list at
	// login), and a token bound elsewhere (through a token role, which has
	// no creation-time check) is refused on use like an invalid token.
	t.Run("bound_cidrs", func(t *testing.T) {
		for user, cidrs := range map[string]string{"local": "127.0.0.1/32", "remote": "10.9.9.0/24"} {
			if _, err := c.Logical().Write("auth/userpass/users/"+user, map[string]any{
				"password": password, "token_policies": "app-read", "token_bound_cidrs": cidrs,
			}); err != nil {
				t.Fatalf("create user %s: %v", user, err)
			}
		}
		s, err := newClient(t, p.Addr, "").Logical().Write("auth/userpass/login/local", map[string]any{"password": password})
		if err != nil || s.Auth == nil {
			t.Fatalf("login over loopback = %+v, %v", s, err)
		}
		useToken(t, s.Auth.ClientToken)
		self, err := newClient(t, p.Addr, s.Auth.ClientToken).Auth().Token().LookupSelf()
		if err != nil || !slices.Equal(amStrings(self.Data["bound_cidrs"]), []string{"127.0.0.1"}) {
			t.Fatalf("lookup-self = %+v, %v; want bound_cidrs [127.0.0.1]", self, err)
		}
		if _, err := newClient(t, p.Addr, "").Logical().Write("auth/userpass/login/remote", map[string]any{"password": password}); !isStatus(err, 403) {
			t.Fatalf("login from outside token_bound_cidrs: err = %v, want 403", err)
		}

		if _, err := c.Logical().Write("auth/token/roles/far", map[string]any{"token_bound_cidrs": "10.9.9.0/24"}); err != nil {
			t.Fatalf("create token role: %v", err)
		}
		far, err := c.Auth().Token().CreateWithRole(&vaultapi.TokenCreateRequest{Policies: []string{"app-read"}}, "far")
		if err != nil || far.Auth == nil {
			t.Fatalf("create with role = %+v, %v", far, err)
		}
		_, err = newClient(t, p.Addr, far.Auth.ClientToken).Auth().Token().LookupSelf()
		var re *vaultapi.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 403 || !slices.Equal(re.Errors, []string{"permission denied"}) {
			t.Fatalf("token bound to 10.9.9.0/24 used over loopback: err = %v, want 403 permission denied", err)
		}
		// Named in a body, the token is CIDR-bound too (issue 10): root over
		// loopback cannot look it up by ID, only by accessor.
		if _, err := c.Auth().Token().Lookup(far.Auth.ClientToken); !isStatus(err, 403) {
			t.Fatalf("root lookup of the bound token by ID from outside its CIDRs: err = %v, want 403", err)
		}
		look, err := c.Auth().Token().LookupAccessor(far.Auth.Accessor)
		if err != nil || !slices.Equal(amStrings(look.Data["bound_cidrs"]), []string{"10.9.9.0/24"}) {
			t.Fatalf("root lookup of the bound token by accessor = %+v, %v", look, err)
		}
	})

	t.Run("approle", func(t *testing.T) {
		if _, err := c.Logical().Write("auth/approle/role/web", map[string]any{
			"token_policies": "app-read", "secret_id_num_uses": 2, "secret_id_ttl": "10m",
		}); err != nil {
			t.Fatalf("create role: %v", err)
		}
		r, err := c.Logical().Read("auth/approle/role/web/role-id")
		if err != nil || r == nil {
			t.Fatalf("read role-id: %v", err)
		}
		roleID, _ := r.Data["role_id"].(string)
		g, err := c.Logical().Write("auth/approle/role/web/secret-id", map[string]any{"metadata": `{"env":"e2e"}`})
		if err != nil || g == nil {
			t.Fatalf("generate secret-id: %v", err)
		}
		secretID, _ := g.Data["secret_id"].(string)
		accessor, _ := g.Data["secret_id_accessor"].(string)
		secretIDs = append(secretIDs, secretID)
		ls, err := c.Logical().List("auth/approle/role/web/secret-id")
		if err != nil || ls == nil || !slices.Equal(amStrings(ls.Data["keys"]), []string{accessor}) {
			t.Fatalf("LIST secret-id = %+v, %v", ls, err)
		}

		creds := map[string]any{"role_id": roleID, "secret_id": secretID}
		s, err := newClient(t, p.Addr, "").Logical().Write("auth/approle/login", creds)
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		a := s.Auth
		if a == nil || a.ClientToken == "" || !slices.Contains(a.Policies, "app-read") ||
			a.Metadata["role_name"] != "web" || a.Metadata["env"] != "e2e" {
			t.Fatalf("login auth = %+v", a)
		}
		useToken(t, a.ClientToken)

		loginFails(t, "auth/approle/login", map[string]any{"role_id": roleID, "secret_id": "wrong"}, "invalid role or secret ID")
		loginFails(t, "auth/approle/login", map[string]any{"role_id": "no-such-role", "secret_id": secretID}, "invalid role or secret ID")

		// The second (last) use, then the secret ID is gone.
		if _, err := newClient(t, p.Addr, "").Logical().Write("auth/approle/login", creds); err != nil {
			t.Fatalf("second login: %v", err)
		}
		loginFails(t, "auth/approle/login", creds, "invalid role or secret ID")
		if ls, err := c.Logical().List("auth/approle/role/web/secret-id"); err != nil || ls != nil {
			t.Fatalf("LIST secret-id after the last use = %+v, %v; want none", ls, err)
		}
	})

	// Issue 15 item 8: the secret ID lookups show its CIDR blocks as
	// submitted; issue 9: a declared endpoint warns about unknown fields.
	t.Run("approle_cidrs_as_submitted", func(t *testing.T) {
		g, err := c.Logical().Write("auth/approle/role/web/secret-id", map[string]any{
			"cidr_list": "127.0.0.1/32", "token_bound_cidrs": "127.0.0.1/32", "bogus": 1,
		})
		if err != nil || g == nil {
			t.Fatalf("generate secret-id: %v", err)
		}
		if id, ok := g.Data["secret_id"].(string); ok {
			secretIDs = append(secretIDs, id)
		}
		if want := "Endpoint ignored these unrecognized parameters: [bogus]"; !slices.Contains(g.Warnings, want) {
			t.Fatalf("warnings = %q, want %q", g.Warnings, want)
		}
		lookups := map[string]map[string]any{
			"auth/approle/role/web/secret-id/lookup":          {"secret_id": g.Data["secret_id"]},
			"auth/approle/role/web/secret-id-accessor/lookup": {"secret_id_accessor": g.Data["secret_id_accessor"]},
		}
		for path, body := range lookups {
			look, err := c.Logical().Write(path, body)
			if err != nil || look == nil {
				t.Fatalf("%s: %+v, %v", path, look, err)
			}
			for _, field := range []string{"cidr_list", "token_bound_cidrs"} {
				if got := amStrings(look.Data[field]); !slices.Equal(got, []string{"127.0.0.1/32"}) {
					t.Errorf("%s %s = %q, want [127.0.0.1/32] as submitted", path, field, got)
				}
			}
			if len(look.Warnings) != 0 {
				t.Errorf("%s warned: %q", path, look.Warnings)
			}
		}
	})

	// Nothing secret in the log or, in any encoding, on disk.
	leaks := append([]string{password}, secretIDs...)
	for _, s := range leaks {
		if strings.Contains(p.Log.String(), s) {
			t.Fatalf("the server log contains a password or secret ID")
		}
	}
	err = filepath.WalkDir(p.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range leaks {
			for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s))} {
				if bytes.Contains(b, []byte(form)) {
					t.Errorf("%s contains a password or secret ID", path)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func amStrings(v any) []string {
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, _ := it.(string)
		out = append(out, s)
	}
	return out
}
