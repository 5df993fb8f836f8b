package acl_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vaultd/vaultd/core/acl"
)

func mustNew(t testing.TB, rules ...string) *acl.ACL {
	t.Helper()
	ps := make([]*acl.Policy, 0, len(rules))
	for i, r := range rules {
		ps = append(ps, mustParse(t, "p"+string(rune('0'+i)), r))
	}
	a, err := acl.New(ps...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

type check struct {
	op, path string
	want     bool
}

func runChecks(t *testing.T, a *acl.ACL, checks []check) {
	t.Helper()
	for _, c := range checks {
		if got, _ := a.Allowed(c.op, c.path); got != c.want {
			t.Errorf("Allowed(%q, %q) = %v, want %v (capabilities %q)", c.op, c.path, got, c.want, a.Capabilities(c.path))
		}
	}
}

// The path-matching examples of Vault's policy documentation.
func TestACL_DocPathExamples(t *testing.T) {
	a := mustNew(t, `
# Permit reading only "secret/foo". An attached token cannot read "secret/food"
# or "secret/foo/bar".
path "secret/foo" {
  capabilities = ["read"]
}

# Permit reading everything under "secret/bar". An attached token could read
# "secret/bar/zip", "secret/bar/zip/zap", but not "secret/bars/zip".
path "secret/bar/*" {
  capabilities = ["read"]
}

# Permit reading everything prefixed with "zip-". An attached token could read
# "secret/zip-zap" or "secret/zip-zap/zong", but not "secret/zip/zap
path "secret/zip-*" {
  capabilities = ["read"]
}

# Permit reading the "teamb" path under any top-level path under secret/
path "secret/+/teamb" {
  capabilities = ["read"]
}

# Permit reading secret/foo/bar/teamb, secret/bar/foo/teamb, etc.
path "secret/+/+/teamb" {
  capabilities = ["read"]
}
`)
	runChecks(t, a, []check{
		{"read", "secret/foo", true},
		{"read", "/secret/foo", true}, // leading slashes are ignored
		{"read", "secret/food", false},
		{"read", "secret/foo/bar", false},
		{"update", "secret/foo", false},
		{"read", "secret/bar/zip", true},
		{"read", "secret/bar/zip/zap", true},
		{"read", "secret/bars/zip", false},
		{"read", "secret/bar", false},
		{"read", "secret/zip-zap", true},
		{"read", "secret/zip-zap/zong", true},
		{"read", "secret/zip/zap", false},
		{"read", "secret/x/teamb", true},
		{"read", "secret/x/teamb/more", false},
		{"read", "secret/foo/bar/teamb", true},
		{"read", "secret/bar/foo/teamb", true}, // secret/bar/* is lower priority than +/+/teamb, both read
		{"read", "secret/a/b/c/teamb", false},
		{"read", "other/foo", false},
	})
}

// The documented example: secret/* grants everything, secret/super-secret
// denies, secret/restricted constrains parameters.
func TestACL_DocDenyExample(t *testing.T) {
	a := mustNew(t, `
path "secret/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}
path "secret/super-secret" {
  capabilities = ["deny"]
}
path "secret/restricted" {
  capabilities = ["create"]
  allowed_parameters = {
    "foo" = []
    "bar" = ["zip", "zap"]
  }
}`)
	runChecks(t, a, []check{
		{"read", "secret/anything", true},
		{"patch", "secret/a/b", true},
		{"list", "secret/", true},
		{"read", "secret/super-secret", false},
		{"update", "secret/super-secret", false},
		{"read", "secret/super-secret/child", true}, // deny is an exact rule
		{"create", "secret/restricted", true},
		{"update", "secret/restricted", false},
	})
	tests := []struct {
		data map[string]any
		want bool
	}{
		{map[string]any{"foo": "anything", "bar": "zip"}, true},
		{map[string]any{"foo": 1.0}, true},
		{map[string]any{"bar": "zap"}, true},
		{map[string]any{"BAR": "zap"}, true}, // parameter names are case-insensitive
		{map[string]any{"bar": "zop"}, false},
		{map[string]any{"baz": "x"}, false},
	}
	for _, tt := range tests {
		got := a.Check(acl.Request{Operation: "create", Path: "secret/restricted", Data: tt.data}).Allowed
		if got != tt.want {
			t.Errorf("create secret/restricted %v: Allowed = %v, want %v", tt.data, got, tt.want)
		}
	}
	if got := a.Capabilities("secret/super-secret"); !cmp.Equal(got, []string{"deny"}) {
		t.Errorf(`Capabilities("secret/super-secret") = %q, want ["deny"]`, got)
	}
}

// Vault's five documented priority rules, one case (or more) each.
func TestACL_Priority(t *testing.T) {
	tests := []struct {
		name     string
		winner   string // rule expected to decide
		loser    string
		path     string
		rulePath string // the winner's normalized pattern as Result.Rule reports it
	}{
		// Rule 1: the first wildcard or glob later wins.
		{"rule 1: later glob beats earlier glob", `path "secret/foo*" {}`, `path "secret/*" {}`, "secret/foobar", "secret/foo*"},
		{"rule 1: later glob beats earlier wildcard", `path "secret/foo*" {}`, `path "secret/+/bar" {}`, "secret/foo/bar", "secret/foo*"},
		{"rule 1: later wildcard beats earlier wildcard", `path "secret/a/+/baz" {}`, `path "secret/+/b/baz" {}`, "secret/a/b/baz", "secret/a/+/baz"},
		{"rule 1: later wildcard beats earlier glob", `path "secret/a/+" {}`, `path "secret/*" {}`, "secret/a/b", "secret/a/+"},
		// Rule 2: at the same position, the rule without a trailing * wins.
		{"rule 2: wildcard beats glob at same position", `path "secret/+/bar" {}`, `path "secret/*" {}`, "secret/foo/bar", "secret/+/bar"},
		{"rule 2: foo/+ beats foo/*", `path "foo/+" {}`, `path "foo/*" {}`, "foo/x", "foo/+"},
		{"rule 2: exact tail beats prefix tail", `path "foo/+/bar" {}`, `path "foo/+/ba*" {}`, "foo/x/bar", "foo/+/bar"},
		// Rule 3: fewer + segments win. The documented example.
		{"rule 3: documented example", `path "secret/*" {}`, `path "secret/+/+/foo/*" {}`, "secret/a/b/foo/c", "secret/*"},
		{"rule 3: fewer wildcards", `path "foo/+/bar/+" {}`, `path "foo/+/+/+" {}`, "foo/x/bar/y", "foo/+/bar/+"},
		// Rule 4: the longer pattern wins.
		{"rule 4: longer prefix", `path "foo/+/bar/ba*" {}`, `path "foo/+/bar/b*" {}`, "foo/x/bar/baz", "foo/+/bar/ba*"},
		// Rule 5: the lexicographically greater pattern wins. Reaching it
		// needs Vault's literal "+" inside a segment: "+y" is literal.
		{"rule 5: lexicographic", `path "x/+y/+" {}`, `path "x/+/yy" {}`, "x/+y/yy", "x/+y/+"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The winner grants read only, the loser update only: the
			// outcome shows which rule decided, in either policy order.
			win := withCaps(tt.winner, `"read"`)
			lose := withCaps(tt.loser, `"update"`)
			for _, a := range []*acl.ACL{mustNew(t, win, lose), mustNew(t, lose, win), mustNew(t, win+"\n"+lose)} {
				res := a.Check(acl.Request{Operation: "read", Path: tt.path})
				if !res.Allowed || res.Rule != tt.rulePath {
					t.Errorf("read %q: Allowed=%v Rule=%q, want the winner %q to decide", tt.path, res.Allowed, res.Rule, tt.rulePath)
				}
				if ok, _ := a.Allowed("update", tt.path); ok {
					t.Errorf("update %q allowed: the loser %s decided", tt.path, tt.loser)
				}
			}
		})
	}
}

// withCaps fills an empty stanza `path "x" {}` with capabilities.
func withCaps(stanza, caps string) string {
	return stanza[:len(stanza)-1] + "capabilities = [" + caps + "] }"
}

func TestACL_ExactBeatsEverything(t *testing.T) {
	a := mustNew(t,
		`path "secret/+/x" { capabilities = ["update"] }
		 path "secret/*"   { capabilities = ["update"] }
		 path "secret/a/x" { capabilities = ["read"] }`)
	runChecks(t, a, []check{
		{"read", "secret/a/x", true},
		{"update", "secret/a/x", false},
		{"update", "secret/b/x", true},
	})
}

// Only the deciding rule counts: a deny on a less specific pattern does not
// override a more specific grant, and a more specific deny overrides a
// broader grant.
func TestACL_DenyOnlyInDecidingRule(t *testing.T) {
	a := mustNew(t,
		`path "secret/*"            { capabilities = ["deny"] }
		 path "secret/team/*"       { capabilities = ["read", "list"] }
		 path "secret/team/private" { capabilities = ["deny"] }`)
	runChecks(t, a, []check{
		{"read", "secret/other", false},
		{"read", "secret/team/doc", true},
		// Vault's LIST quirk: "secret/team/" is first tried as "secret/team",
		// which only secret/* matches, and that rule decides.
		{"list", "secret/team/", false},
		{"list", "secret/team/sub/", true},
		{"read", "secret/team/private", false},
		{"read", "secret/team/private2", true},
	})
}

func TestACL_MergeSamePath(t *testing.T) {
	t.Run("union across policies", func(t *testing.T) {
		a := mustNew(t,
			`path "secret/app/*" { capabilities = ["read"] }`,
			`path "secret/app/*" { capabilities = ["update", "list"] }`,
			`path "secret/app/+" { capabilities = ["delete"] }`, // a different pattern: no union
		)
		if got, want := a.Capabilities("secret/app/x/y"), []string{"list", "read", "update"}; !cmp.Equal(got, want) {
			t.Errorf("Capabilities = %q, want %q", got, want)
		}
		// secret/app/+ outranks secret/app/* (rule 2) and alone decides.
		if got, want := a.Capabilities("secret/app/x"), []string{"delete"}; !cmp.Equal(got, want) {
			t.Errorf("Capabilities = %q, want %q", got, want)
		}
		res := a.Check(acl.Request{Operation: "update", Path: "secret/app/x/y"})
		if !res.Allowed || !cmp.Equal(res.GrantingPolicies, []string{"p1"}) {
			t.Errorf("update: Allowed=%v GrantingPolicies=%q, want [p1]", res.Allowed, res.GrantingPolicies)
		}
	})
	t.Run("union within a policy", func(t *testing.T) {
		a := mustNew(t, `
path "a" { capabilities = ["read"] }
path "a" { capabilities = ["sudo"] }`)
		if got, want := a.Capabilities("a"), []string{"read", "sudo"}; !cmp.Equal(got, want) {
			t.Errorf("Capabilities = %q, want %q", got, want)
		}
	})
	t.Run("deny in any wins", func(t *testing.T) {
		for _, order := range [][]string{
			{`path "x/*" { capabilities = ["deny"] }`, `path "x/*" { capabilities = ["read", "sudo"] }`},
			{`path "x/*" { capabilities = ["read", "sudo"] }`, `path "x/*" { capabilities = ["deny"] }`},
			{`path "x/*" { capabilities = ["read"] }`, `path "x/*" { policy = "deny" }`, `path "x/*" { capabilities = ["list"] }`},
		} {
			a := mustNew(t, order...)
			if ok, sudo := a.Allowed("read", "x/y"); ok || sudo {
				t.Errorf("%q: Allowed = %v, sudo = %v; want deny", order, ok, sudo)
			}
			if got := a.Capabilities("x/y"); !cmp.Equal(got, []string{"deny"}) {
				t.Errorf("%q: Capabilities = %q, want [deny]", order, got)
			}
		}
	})
}

func TestACL_LegacyPolicies(t *testing.T) {
	a := mustNew(t, `
path "sys/*"        { policy = "deny" }
path "secret/*"     { policy = "write" }
path "secret/foo"   { policy = "read" }
path "secret/admin" { policy = "sudo" }`)
	runChecks(t, a, []check{
		{"read", "sys/mounts", false},
		{"create", "secret/x", true},
		{"patch", "secret/x", false}, // write predates patch
		{"update", "secret/foo", false},
		{"list", "secret/foo", true},
		{"delete", "secret/admin", true},
	})
	if _, sudo := a.Allowed("update", "secret/admin"); !sudo {
		t.Error("secret/admin: sudo = false, want true")
	}
}

func TestACL_Sudo(t *testing.T) {
	a := mustNew(t, `
path "sys/seal"  { capabilities = ["update", "sudo"] }
path "sys/audit" { capabilities = ["read"] }`)
	tests := []struct {
		op, path      string
		allowed, sudo bool
	}{
		{"update", "sys/seal", true, true},
		{"read", "sys/seal", false, true},
		{"read", "sys/audit", true, false},
		{"read", "sys/raw", false, false},
	}
	for _, tt := range tests {
		ok, sudo := a.Allowed(tt.op, tt.path)
		if ok != tt.allowed || sudo != tt.sudo {
			t.Errorf("Allowed(%q, %q) = %v, %v; want %v, %v", tt.op, tt.path, ok, sudo, tt.allowed, tt.sudo)
		}
	}
}

func TestACL_Root(t *testing.T) {
	a := acl.Root()
	if !a.IsRoot() {
		t.Fatal("Root().IsRoot() = false")
	}
	for _, op := range []string{"create", "read", "update", "patch", "delete", "list"} {
		if ok, sudo := a.Allowed(op, "sys/raw/anything"); !ok || !sudo {
			t.Errorf("root Allowed(%q) = %v, %v; want true, true", op, ok, sudo)
		}
	}
	if got := a.Capabilities("anything"); !cmp.Equal(got, []string{"root"}) {
		t.Errorf(`root Capabilities = %q, want ["root"]`, got)
	}
	if ok, _ := a.Allowed("bogus", "x"); !ok {
		// Vault's root fast path allows every operation.
		t.Error("root denies an unknown operation")
	}
	if mustNew(t, `path "*" { capabilities = ["sudo"] }`).IsRoot() {
		t.Error("a policy granting everything is not the root ACL")
	}
}

func TestACL_DefaultDeny(t *testing.T) {
	var nilACL *acl.ACL
	empty, err := acl.New()
	if err != nil {
		t.Fatal(err)
	}
	skipNil, err := acl.New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]*acl.ACL{"nil": nilACL, "empty": empty, "nil policies": skipNil, "zero": {}} {
		if ok, sudo := a.Allowed("read", "secret/foo"); ok || sudo {
			t.Errorf("%s: Allowed = %v, %v", name, ok, sudo)
		}
		if got := a.Capabilities("secret/foo"); !cmp.Equal(got, []string{"deny"}) {
			t.Errorf("%s: Capabilities = %q", name, got)
		}
	}
	a := mustNew(t, `path "*" { capabilities = ["read"] }`)
	if ok, _ := a.Allowed("", "x"); ok {
		t.Error("empty operation allowed")
	}
	if ok, _ := a.Allowed("READ", "x"); ok {
		t.Error("operation names are case-sensitive, READ allowed")
	}
	// A stanza without capabilities still decides (and grants nothing).
	a = mustNew(t, `path "*" { capabilities = ["read"] }
path "secret/*" {}`)
	runChecks(t, a, []check{{"read", "secret/x", false}, {"read", "other", true}})
}

func TestACL_Capabilities(t *testing.T) {
	a := mustNew(t, `
path "secret/*" { capabilities = ["update", "read", "create", "patch", "delete", "list", "sudo"] }
path "kv/+/x"   { capabilities = ["list"] }
path "kv/exact" { capabilities = ["read"] }`)
	tests := []struct {
		path string
		want []string
	}{
		{"secret/foo", []string{"create", "delete", "list", "patch", "read", "sudo", "update"}},
		{"kv/a/x", []string{"list"}},
		{"kv/exact", []string{"read"}},
		{"kv/exact/", []string{"read"}}, // list fallback: trailing "/" tries "kv/exact"
		{"kv/a/x/", []string{"list"}},
		{"nothing", []string{"deny"}},
	}
	for _, tt := range tests {
		if got := a.Capabilities(tt.path); !cmp.Equal(got, tt.want) {
			t.Errorf("Capabilities(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestACL_ListTrailingSlash(t *testing.T) {
	a := mustNew(t, `
path "secret/metadata/app" { capabilities = ["list"] }
path "kv/+"                { capabilities = ["list"] }`)
	runChecks(t, a, []check{
		{"list", "secret/metadata/app/", true},
		{"list", "secret/metadata/app", true},
		{"read", "secret/metadata/app/", false}, // only LIST falls back
		{"list", "kv/team/", true},              // kv/+ matches "kv/team" first
		{"list", "kv/", true},                   // Vault: "+" also matches the empty last segment of "kv/"
	})
}

func TestACL_Parameters(t *testing.T) {
	tests := []struct {
		name  string
		rules string
		data  map[string]any
		want  bool
	}{
		{"required present", `required_parameters = ["bar", "baz"]`, map[string]any{"bar": 1, "baz": 2}, true},
		{"required missing", `required_parameters = ["bar", "baz"]`, map[string]any{"bar": 1}, false},
		{"required without data", `required_parameters = ["bar"]`, nil, false},
		{"allowed any value", `allowed_parameters = { "bar" = [] }`, map[string]any{"bar": "x"}, true},
		{"allowed other param", `allowed_parameters = { "bar" = [] }`, map[string]any{"bar": "x", "qux": 1}, false},
		{"allowed value", `allowed_parameters = { "bar" = ["zip", "zap"] }`, map[string]any{"bar": "zap"}, true},
		{"allowed wrong value", `allowed_parameters = { "bar" = ["zip", "zap"] }`, map[string]any{"bar": "zup"}, false},
		{"allowed star", `allowed_parameters = { "bar" = ["zip"], "*" = [] }`, map[string]any{"bar": "zip", "other": true}, true},
		{"allowed star still restricts", `allowed_parameters = { "bar" = ["zip"], "*" = [] }`, map[string]any{"bar": "zap"}, false},
		{"allowed only star", `allowed_parameters = { "*" = [] }`, map[string]any{"x": 1}, true},
		{"allowed prefix glob", `allowed_parameters = { "bar" = ["foo-*"] }`, map[string]any{"bar": "foo-1"}, true},
		{"allowed prefix glob miss", `allowed_parameters = { "bar" = ["foo-*"] }`, map[string]any{"bar": "bar-foo"}, false},
		{"allowed suffix glob", `allowed_parameters = { "bar" = ["*-foo"] }`, map[string]any{"bar": "x-foo"}, true},
		{"allowed contains glob", `allowed_parameters = { "bar" = ["*mid*"] }`, map[string]any{"bar": "amidb"}, true},
		{"allowed number vs json float", `allowed_parameters = { "ttl" = [30] }`, map[string]any{"ttl": 30.0}, true},
		{"allowed number vs json.Number", `allowed_parameters = { "ttl" = [30] }`, map[string]any{"ttl": json.Number("30")}, true},
		{"allowed number vs string", `allowed_parameters = { "ttl" = [30] }`, map[string]any{"ttl": "30"}, false},
		{"allowed bool", `allowed_parameters = { "flag" = [true] }`, map[string]any{"flag": true}, true},
		{"allowed bool mismatch", `allowed_parameters = { "flag" = [true] }`, map[string]any{"flag": false}, false},
		{"allowed list value", `allowed_parameters = { "bar" = ["a", "b"] }`, map[string]any{"bar": []any{"a", "b"}}, true},
		{"allowed list with other value", `allowed_parameters = { "bar" = ["a", "b"] }`, map[string]any{"bar": []any{"a", "c"}}, false},
		{"allowed empty list value", `allowed_parameters = { "bar" = ["a"] }`, map[string]any{"bar": []any{}}, false},
		{"allowed comma string", `allowed_parameters = { "bar" = ["a", "b"] }`, map[string]any{"bar": "a, b"}, true},
		{"allowed comma string other", `allowed_parameters = { "bar" = ["a", "b"] }`, map[string]any{"bar": "a,c"}, false},
		{"allowed empty string", `allowed_parameters = { "bar" = ["a"] }`, map[string]any{"bar": ""}, false},
		{"allowed object value", `allowed_parameters = { "bar" = ["a"] }`, map[string]any{"bar": map[string]any{"a": 1}}, false},
		{"allowed null value", `allowed_parameters = { "bar" = ["a"] }`, map[string]any{"bar": nil}, false},
		{"denied param", `denied_parameters = { "bar" = [] }`, map[string]any{"bar": "x"}, false},
		{"denied other param ok", `denied_parameters = { "bar" = [] }`, map[string]any{"baz": "x"}, true},
		{"denied value", `denied_parameters = { "bar" = ["zip", "zap"] }`, map[string]any{"bar": "zip"}, false},
		{"denied other value", `denied_parameters = { "bar" = ["zip", "zap"] }`, map[string]any{"bar": "zop"}, true},
		{"denied value in list", `denied_parameters = { "policies" = ["root"] }`, map[string]any{"policies": []any{"dev", "root"}}, false},
		{"denied value in comma string", `denied_parameters = { "policies" = ["root"] }`, map[string]any{"policies": "dev, root"}, false},
		{"denied value first in comma string", `denied_parameters = { "policies" = ["root"] }`, map[string]any{"policies": "root,dev"}, false},
		{"denied glob in comma string", `denied_parameters = { "policies" = ["adm*"] }`, map[string]any{"policies": "dev,admin,x"}, false},
		{"not denied comma string", `denied_parameters = { "policies" = ["root"] }`, map[string]any{"policies": "dev,ops"}, true},
		{"denied star", `denied_parameters = { "*" = [] }`, map[string]any{"a": 1}, false},
		{"denied star no data", `denied_parameters = { "*" = [] }`, nil, true},
		{"denied beats allowed", `allowed_parameters = { "bar" = [] }
		denied_parameters = { "bar" = ["zip"] }`, map[string]any{"bar": "zip"}, false},
		{"denied case-insensitive", `denied_parameters = { "Bar" = [] }`, map[string]any{"bAR": 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustNew(t, "path \"secret/foo\" {\n capabilities = [\"create\", \"read\", \"list\", \"delete\"]\n "+tt.rules+"\n}")
			got := a.Check(acl.Request{Operation: "create", Path: "secret/foo", Data: tt.data}).Allowed
			if got != tt.want {
				t.Errorf("create with %v: Allowed = %v, want %v", tt.data, got, tt.want)
			}
			// Vault checks parameters on read too, but not on list or delete.
			if got := a.Check(acl.Request{Operation: "read", Path: "secret/foo", Data: tt.data}).Allowed; got != tt.want {
				t.Errorf("read with %v: Allowed = %v, want %v", tt.data, got, tt.want)
			}
			for _, op := range []string{"list", "delete"} {
				if !a.Check(acl.Request{Operation: op, Path: "secret/foo", Data: tt.data}).Allowed {
					t.Errorf("%s with %v denied; parameters apply only to read/create/update/patch", op, tt.data)
				}
			}
		})
	}
}

func TestACL_ParameterMerge(t *testing.T) {
	// Same path in two policies: allowed values are unioned, and an empty
	// list (any value) wins, as in Vault.
	a := mustNew(t,
		`path "p" {
  capabilities = ["update"]
  allowed_parameters = { "a" = ["1"], "b" = ["x"] }
  required_parameters = ["a"]
}`,
		`path "p" {
  capabilities = ["update"]
  allowed_parameters = { "a" = ["2"], "b" = [] }
  required_parameters = ["b"]
}`)
	tests := []struct {
		data map[string]any
		want bool
	}{
		{map[string]any{"a": "1", "b": "anything"}, true},
		{map[string]any{"a": "2", "b": "y"}, true},
		{map[string]any{"a": "3", "b": "y"}, false},
		{map[string]any{"a": "1"}, false}, // b is required by the second policy
	}
	for _, tt := range tests {
		if got := a.Check(acl.Request{Operation: "update", Path: "p", Data: tt.data}).Allowed; got != tt.want {
			t.Errorf("update p %v: Allowed = %v, want %v", tt.data, got, tt.want)
		}
	}
}

func TestACL_WrappingTTL(t *testing.T) {
	a := mustNew(t, `
path "auth/approle/role/my-role/secret-id" {
    capabilities = ["create", "update"]
    min_wrapping_ttl = "1s"
    max_wrapping_ttl = "90s"
}
path "max-only" {
    capabilities = ["read"]
    max_wrapping_ttl = 60
}`)
	tests := []struct {
		path string
		op   string
		ttl  time.Duration
		want bool
	}{
		{"auth/approle/role/my-role/secret-id", "update", 0, false}, // wrapping is mandatory
		{"auth/approle/role/my-role/secret-id", "update", 500 * time.Millisecond, false},
		{"auth/approle/role/my-role/secret-id", "update", time.Second, true},
		{"auth/approle/role/my-role/secret-id", "update", 90 * time.Second, true},
		{"auth/approle/role/my-role/secret-id", "update", 91 * time.Second, false},
		{"max-only", "read", 0, false}, // a max alone also makes wrapping mandatory (Vault)
		{"max-only", "read", time.Minute, true},
		{"max-only", "read", time.Hour, false},
	}
	for _, tt := range tests {
		got := a.Check(acl.Request{Operation: tt.op, Path: tt.path, WrapTTL: tt.ttl}).Allowed
		if got != tt.want {
			t.Errorf("%s %s wrap %v: Allowed = %v, want %v", tt.op, tt.path, tt.ttl, got, tt.want)
		}
	}

	// Merging keeps the smallest bounds, which can leave min > max: then
	// nothing is allowed.
	m := mustNew(t,
		`path "x" { capabilities = ["read"]
  min_wrapping_ttl = "30s"
  max_wrapping_ttl = "60s" }`,
		`path "x" { capabilities = ["read"]
  max_wrapping_ttl = "20s" }`)
	for _, ttl := range []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second, time.Minute} {
		if m.Check(acl.Request{Operation: "read", Path: "x", WrapTTL: ttl}).Allowed {
			t.Errorf("merged min 30s > max 20s: wrap %v allowed", ttl)
		}
	}
}

func TestACL_DefaultPolicy(t *testing.T) {
	a := mustNew(t, acl.DefaultPolicy)
	runChecks(t, a, []check{
		{"read", "auth/token/lookup-self", true},
		{"update", "auth/token/lookup-self", false},
		{"update", "auth/token/renew-self", true},
		{"update", "auth/token/revoke-self", true},
		{"update", "sys/capabilities-self", true},
		{"read", "sys/internal/ui/resultant-acl", true},
		{"update", "sys/leases/renew", true},
		{"update", "sys/leases/lookup", true},
		{"create", "cubbyhole/my-secret", true},
		{"list", "cubbyhole/", true},
		{"patch", "cubbyhole/my-secret", false},
		{"update", "sys/wrapping/wrap", true},
		{"update", "sys/wrapping/unwrap", true},
		{"update", "sys/tools/hash/sha2-256", true},
		{"update", "sys/tools/random", false},
		{"read", "identity/oidc/provider/my-provider/authorize", true},
		{"read", "secret/data/foo", false},
		{"update", "sys/seal", false},
	})
	// Templated paths never match without an identity entity, even the
	// literal template text.
	for _, p := range []string{"identity/entity/id/{{identity.entity.id}}", "identity/entity/id/abc"} {
		if got := a.Capabilities(p); !cmp.Equal(got, []string{"deny"}) {
			t.Errorf("Capabilities(%q) = %q, want [deny]", p, got)
		}
	}

	rw := mustNew(t, acl.ResponseWrappingPolicy)
	runChecks(t, rw, []check{
		{"read", "cubbyhole/response", true},
		{"update", "sys/wrapping/unwrap", true},
		{"read", "cubbyhole/other", false},
	})
}

func TestNew_InvalidHandBuiltPolicy(t *testing.T) {
	tests := []acl.PathRule{
		{Path: "", Caps: acl.Read},
		{Path: "a/*/b", Caps: acl.Read},
		{Path: "a/+*", Caps: acl.Read},
		{Path: "a", Caps: 1 << 20},
	}
	for _, pr := range tests {
		_, err := acl.New(&acl.Policy{Name: "hand", Paths: []acl.PathRule{pr}})
		if !errors.Is(err, acl.ErrInvalidPolicy) {
			t.Errorf("New with %+v: error = %v, want ErrInvalidPolicy", pr, err)
		}
	}
	// New uses Caps, copies parameter maps, and is unaffected by later
	// changes to the Policy.
	p := &acl.Policy{Name: "hand", Paths: []acl.PathRule{{
		Path: "x", Caps: acl.Update, AllowedParameters: map[string][]any{"A": {"1"}},
	}}}
	a, err := acl.New(p)
	if err != nil {
		t.Fatal(err)
	}
	p.Paths[0].AllowedParameters["a"] = []any{}
	p.Paths[0].Caps = acl.Deny
	if !a.Check(acl.Request{Operation: "update", Path: "x", Data: map[string]any{"a": "1"}}).Allowed {
		t.Error("update x a=1 denied")
	}
	if a.Check(acl.Request{Operation: "update", Path: "x", Data: map[string]any{"a": "2"}}).Allowed {
		t.Error("update x a=2 allowed: the ACL saw a later change to the policy")
	}
}

func TestACL_ConcurrentUse(t *testing.T) {
	a := mustNew(t, acl.DefaultPolicy, `path "secret/+/x*" { capabilities = ["read"] }`)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if ok, _ := a.Allowed("read", "secret/a/xyz"); !ok {
					t.Error("read secret/a/xyz denied")
					return
				}
				_ = a.Capabilities("cubbyhole/x")
			}
		}()
	}
	wg.Wait()
}

func TestACL_CheckDoesNotAllocate(t *testing.T) {
	a := benchACL(t)
	paths := benchPaths()
	listPaths := make([]string, len(paths))
	for i, p := range paths {
		listPaths[i] = p + "/"
	}
	data := map[string]any{"bar": "zip", "plaintext": "x,y", "list": []any{"a", "b"}}
	allocs := testing.AllocsPerRun(100, func() {
		for i, p := range paths {
			a.Allowed("read", p)
			a.Allowed("list", listPaths[i])
			a.Capabilities(p) // allocates only its result; not counted below
			a.Check(acl.Request{Operation: "update", Path: p, Data: data, WrapTTL: time.Minute})
		}
	})
	allocs -= float64(len(paths)) // one result slice per Capabilities call
	if allocs != 0 {
		t.Errorf("Check allocates %v times per run, want 0", allocs)
	}
}
