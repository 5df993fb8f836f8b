package core_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

// userFacing reports whether err is a typed error api maps to a 4xx (as
// opposed to an internal 500).
func userFacing(err error) bool {
	var se *secrets.Error
	return errors.As(err, &se)
}

// FuzzCore_PolicyWrite: any policy text is either stored and read back
// verbatim, or refused with a 400; it never panics or fails internally.
func FuzzCore_PolicyWrite(f *testing.F) {
	f.Add(`path "secret/*" { capabilities = ["read"] }`)
	f.Add("path \"a\" {\n capabilities = [\"read\"\n}")
	f.Add(`{"path":{"a/+/b":{"capabilities":["list"]}}}`)
	f.Add(`path "x" { policy = "write" allowed_parameters = { "*" = [] } }`)
	f.Add(`path "{{identity.entity.id}}/*" { capabilities = ["deny"] }`)
	n := newNode(f)
	f.Fuzz(func(t *testing.T, rules string) {
		_, err := n.do(n.root, secrets.OpUpdate, "sys/policies/acl/fuzz", map[string]any{"policy": rules})
		if err != nil {
			if !errors.Is(err, secrets.ErrInvalidRequest) {
				t.Fatalf("policy write failed with %v (not a 400)", err)
			}
			return
		}
		resp, err := n.do(n.root, secrets.OpRead, "sys/policies/acl/fuzz", nil)
		if err != nil || resp.Data["policy"] == nil {
			t.Fatalf("stored policy reads back as %+v, %v", resp, err)
		}
	})
}

// FuzzCore_TokenCreateNoEscalation: whatever a non-root token sends to
// auth/token/create, the child never holds a policy the parent lacks
// (besides "default"), is never root, and bad input is a 4xx.
func FuzzCore_TokenCreateNoEscalation(f *testing.F) {
	for _, s := range []string{
		`{"policies":["app"]}`, `{"policies":["root"]}`, `{"policies":"app,admin"}`, `{"no_parent":true}`,
		`{"id":"x","ttl":"1h"}`, `{"period":"1h","explicit_max_ttl":"2h"}`, `{"num_uses":-1}`,
		`{"policies":["APP "," default"],"meta":{"a":"b"}}`, `{"ttl":1e300}`, `{"renewable":"maybe"}`,
		`{"type":"batch"}`, `{"policies":["response-wrapping"]}`, `{"meta":{"a":1}}`,
	} {
		f.Add(s)
	}
	n := newNode(f)
	n.policy("app", `
path "auth/token/create" { capabilities = ["update"] }
path "auth/token/create-orphan" { capabilities = ["update"] }
`)
	parent := n.token(map[string]any{"policies": []any{"app"}}).ClientToken
	f.Fuzz(func(t *testing.T, body string) {
		var data map[string]any
		if json.Unmarshal([]byte(body), &data) != nil {
			return
		}
		for _, path := range []string{"auth/token/create", "auth/token/create-orphan"} {
			resp, err := n.do(parent, secrets.OpUpdate, path, data)
			if err != nil {
				if !userFacing(err) {
					t.Fatalf("%s %s: internal error %v", path, body, err)
				}
				continue
			}
			for _, p := range resp.Auth.Policies {
				if p != "app" && p != "default" {
					t.Fatalf("%s %s: child got policy %q", path, body, p)
				}
			}
			if slices.Contains(resp.Auth.Policies, "root") {
				t.Fatalf("child got root from %s", body)
			}
			if resp.Auth.TokenType == "batch" {
				continue // not stored; cannot be revoked (it expires)
			}
			if _, err := n.do(n.root, secrets.OpUpdate, "auth/token/revoke", map[string]any{"token": resp.Auth.ClientToken}); err != nil {
				t.Fatal(err)
			}
		}
	})
}
