package core_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/core/acl"
	"github.com/vaultd/vaultd/secrets"
)

func TestPolicies_CRUD(t *testing.T) {
	n := newNode(t)
	// default exists from the start, with Vault's text.
	d := n.must(n.root, secrets.OpRead, "sys/policies/acl/default", nil).Data
	if d["name"] != "default" || d["policy"] != acl.DefaultPolicy {
		t.Fatalf("default policy = %v", d)
	}
	const rules = `path "secret/data/app/*" { capabilities = ["read", "list"] }`
	n.policy("App-Read ", rules) // names are lower-cased and trimmed
	d = n.must(n.root, secrets.OpRead, "sys/policies/acl/app-read", nil).Data
	if d["policy"] != rules {
		t.Fatalf("read back %v", d)
	}
	legacy := n.must(n.root, secrets.OpRead, "sys/policy/app-read", nil).Data
	if legacy["name"] != "app-read" || legacy["rules"] != rules {
		t.Fatalf("legacy read = %v", legacy)
	}
	keys := n.must(n.root, secrets.OpList, "sys/policies/acl/", nil).Data["keys"].([]string)
	if !slices.Equal(keys, []string{"app-read", "default", "root"}) {
		t.Fatalf("list = %v", keys)
	}
	llr := n.must(n.root, secrets.OpRead, "sys/policy", nil)
	ll := llr.Data
	if fmt.Sprint(ll["policies"]) != fmt.Sprint(keys) || fmt.Sprint(ll["keys"]) != fmt.Sprint(keys) {
		t.Fatalf("legacy list = %v", ll)
	}
	// ... with keys and policies at the top level as well (issue 15 item 7).
	if fmt.Sprint(llr.Raw["policies"]) != fmt.Sprint(keys) || fmt.Sprint(llr.Raw["keys"]) != fmt.Sprint(keys) || llr.Raw["data"] == nil {
		t.Fatalf("legacy list body = %v", llr.Raw)
	}
	// The legacy write form and base64 bodies work too.
	n.must(n.root, secrets.OpUpdate, "sys/policy/legacy", map[string]any{"rules": rules})
	n.must(n.root, secrets.OpUpdate, "sys/policies/acl/b64", map[string]any{"policy": "cGF0aCAiYS8qIiB7IGNhcGFiaWxpdGllcyA9IFsicmVhZCJdIH0="})
	if p := n.must(n.root, secrets.OpRead, "sys/policies/acl/b64", nil).Data["policy"]; p != `path "a/*" { capabilities = ["read"] }` {
		t.Fatalf("base64 policy stored as %q", p)
	}
	n.must(n.root, secrets.OpDelete, "sys/policies/acl/app-read", nil)
	n.wantErr(n.root, secrets.OpRead, "sys/policies/acl/app-read", nil, secrets.ErrNotFound)
	n.must(n.root, secrets.OpDelete, "sys/policies/acl/never-existed", nil)
}

func TestPolicies_BadInput(t *testing.T) {
	n := newNode(t)
	cases := []struct {
		name, path string
		data       map[string]any
		want       string // substring of the error
	}{
		{"malformed HCL names the line", "sys/policies/acl/bad", map[string]any{"policy": "path \"a\" {\n  capabilities = [\"read\"]\n}\npath \"b\" {\n  capabilities = [\"read\"\n}\n"}, "line "},
		{"unknown capability", "sys/policies/acl/bad", map[string]any{"policy": "\n\npath \"a\" { capabilities = [\"fly\"] }"}, "line 3"},
		{"empty policy", "sys/policies/acl/bad", map[string]any{"policy": ""}, "policy"},
		{"root is immutable", "sys/policies/acl/root", map[string]any{"policy": `path "*" { capabilities = ["read"] }`}, "root"},
		{"response-wrapping is built in", "sys/policies/acl/response-wrapping", map[string]any{"policy": `path "*" { capabilities = ["read"] }`}, "response-wrapping"},
		{"invalid name", "sys/policies/acl/a,b", map[string]any{"policy": `path "*" { capabilities = ["read"] }`}, "invalid policy name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := n.wantErr(n.root, secrets.OpUpdate, tc.path, tc.data, errInvalid)
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	n.wantErr(n.root, secrets.OpDelete, "sys/policies/acl/root", nil, errInvalid)
	n.wantErr(n.root, secrets.OpDelete, "sys/policies/acl/default", nil, errInvalid)
	// default can be edited.
	n.policy("default", `path "auth/token/lookup-self" { capabilities = ["read"] }`)
}

func TestPolicies_EnforcedAndInvalidated(t *testing.T) {
	n := newNode(t)
	n.must(n.root, secrets.OpUpdate, "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	n.must(n.root, secrets.OpUpdate, "secret/data/app/db", map[string]any{"data": map[string]any{"pw": "s3cret"}})
	n.must(n.root, secrets.OpUpdate, "secret/data/other", map[string]any{"data": map[string]any{"pw": "x"}})
	n.policy("app", `path "secret/data/app/*" { capabilities = ["read"] }`)
	tok := n.token(map[string]any{"policies": []any{"app"}}).ClientToken

	n.must(tok, secrets.OpRead, "secret/data/app/db", nil)
	n.wantErr(tok, secrets.OpRead, "secret/data/other", nil, errDenied)                                                 // default deny
	n.wantErr(tok, secrets.OpUpdate, "secret/data/app/db", map[string]any{"data": map[string]any{"x": "y"}}, errDenied) // read only
	n.wantErr(tok, secrets.OpRead, "sys/mounts", nil, errDenied)
	// Writing policies without permission.
	n.wantErr(tok, secrets.OpUpdate, "sys/policies/acl/app", map[string]any{"policy": `path "*" { capabilities = ["sudo","read","update"] }`}, errDenied)
	n.wantErr(tok, secrets.OpUpdate, "sys/policy/app", map[string]any{"policy": `path "*" { capabilities = ["read"] }`}, errDenied)

	// A policy change applies to live tokens at once (cache invalidated).
	n.policy("app", `path "secret/data/other" { capabilities = ["read"] }`)
	n.wantErr(tok, secrets.OpRead, "secret/data/app/db", nil, errDenied)
	n.must(tok, secrets.OpRead, "secret/data/other", nil)
	n.must(n.root, secrets.OpDelete, "sys/policies/acl/app", nil)
	n.wantErr(tok, secrets.OpRead, "secret/data/other", nil, errDenied)

	// deny wins; sudo-protected sys paths need sudo on top.
	n.policy("ops", `
path "secret/data/*" { capabilities = ["read"] }
path "secret/data/app/db" { capabilities = ["deny"] }
path "sys/rotate" { capabilities = ["update"] }
path "sys/key-status" { capabilities = ["read", "sudo"] }
`)
	ops := n.token(map[string]any{"policies": []any{"ops"}}).ClientToken
	n.wantErr(ops, secrets.OpRead, "secret/data/app/db", nil, errDenied)
	n.must(ops, secrets.OpRead, "secret/data/other", nil)
	n.wantErr(ops, secrets.OpUpdate, "sys/rotate", nil, errDenied)
	n.must(ops, secrets.OpRead, "sys/key-status", nil)
}

func TestCapabilities(t *testing.T) {
	n := newNode(t)
	n.policy("app", `
path "secret/data/app/*" { capabilities = ["read", "list"] }
path "secret/data/app/admin" { capabilities = ["deny"] }
`)
	a := n.token(map[string]any{"policies": []any{"app"}})
	self := n.must(a.ClientToken, secrets.OpUpdate, "sys/capabilities-self", map[string]any{"paths": []any{"secret/data/app/x", "secret/data/app/admin", "nope"}}).Data
	want := map[string][]string{
		"secret/data/app/x": {"list", "read"}, "secret/data/app/admin": {"deny"}, "nope": {"deny"},
	}
	for p, w := range want {
		if got := self[p].([]string); !slices.Equal(got, w) {
			t.Errorf("capabilities-self %s = %v, want %v", p, got, w)
		}
	}
	one := n.must(n.root, secrets.OpUpdate, "sys/capabilities", map[string]any{"token": a.ClientToken, "path": "secret/data/app/x"}).Data
	if !slices.Equal(one["capabilities"].([]string), []string{"list", "read"}) {
		t.Fatalf("capabilities = %v", one)
	}
	acc := n.must(n.root, secrets.OpUpdate, "sys/capabilities-accessor", map[string]any{"accessor": a.Accessor, "paths": []any{"secret/data/app/x"}}).Data
	if !slices.Equal(acc["capabilities"].([]string), []string{"list", "read"}) {
		t.Fatalf("capabilities-accessor = %v", acc)
	}
	rootCaps := n.must(n.root, secrets.OpUpdate, "sys/capabilities-self", map[string]any{"path": "anything"}).Data
	if !slices.Equal(rootCaps["capabilities"].([]string), []string{"root"}) {
		t.Fatalf("root capabilities = %v", rootCaps)
	}
	// The default policy allows capabilities-self but not sys/capabilities.
	n.wantErr(a.ClientToken, secrets.OpUpdate, "sys/capabilities", map[string]any{"token": n.root, "path": "x"}, errDenied)
	n.wantErr(n.root, secrets.OpUpdate, "sys/capabilities", map[string]any{"token": "hvs.bogus", "path": "x"}, errInvalid)
}

func TestUIMounts_FilteredByCapability(t *testing.T) {
	n := newNode(t)
	for _, m := range []string{"team-a", "team-b"} {
		n.must(n.root, secrets.OpUpdate, "sys/mounts/"+m, map[string]any{"type": "kv"})
	}
	n.policy("a", `path "team-a/apps/+/config" { capabilities = ["read"] }`)
	tok := n.token(map[string]any{"policies": []any{"a"}}).ClientToken
	secret := n.must(tok, secrets.OpRead, "sys/internal/ui/mounts", nil).Data["secret"].(map[string]any)
	if _, ok := secret["team-a/"]; !ok {
		t.Errorf("team-a/ hidden from a token that can read below it: %v", secret)
	}
	if _, ok := secret["team-b/"]; ok {
		t.Errorf("team-b/ shown to a token with no capability there")
	}
	n.must(tok, secrets.OpRead, "sys/internal/ui/mounts/team-a/apps/x/config", nil)
	n.wantErr(tok, secrets.OpRead, "sys/internal/ui/mounts/team-b/x", nil, errInvalid)
	all := n.must(n.root, secrets.OpRead, "sys/internal/ui/mounts", nil).Data["secret"].(map[string]any)
	if len(all) != 3 { // cubbyhole/, team-a/, team-b/
		t.Fatalf("root sees %d mounts: %v", len(all), all)
	}
}
