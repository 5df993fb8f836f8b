package acl

import "testing"

func TestRender(t *testing.T) {
	p, err := Parse("t", `
path "secret/data/{{identity.entity.name}}/*" { capabilities = ["read"] }
path "secret/data/team/{{identity.groups.names.ops.id}}" { capabilities = ["update"] }
path "secret/data/{{identity.entity.aliases.auth_userpass_1.name}}" { capabilities = ["list"] }
path "secret/data/plain" { capabilities = ["read"] }
`)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{
		"identity.entity.name":                         "alice",
		"identity.entity.aliases.auth_userpass_1.name": "*",
	}
	r := p.Render(func(k string) (string, bool) { v, ok := vals[k]; return v, ok })
	if p.Paths[0].Path != "secret/data/{{identity.entity.name}}/*" || !p.Paths[0].Templated {
		t.Fatal("Render modified its receiver")
	}
	a, err := New(r)
	if err != nil {
		t.Fatal(err)
	}
	check := func(op, path string, want bool) {
		t.Helper()
		if got, _ := a.Allowed(op, path); got != want {
			t.Errorf("%s %s = %v, want %v", op, path, got, want)
		}
	}
	check("read", "secret/data/alice/x", true)
	check("read", "secret/data/bob/x", false)
	check("read", "secret/data/plain", true)
	// Unresolved (no ops group) and unsafe ("*") values match nothing.
	check("update", "secret/data/team/", false)
	check("update", "secret/data/team/{{identity.groups.names.ops.id}}", false)
	check("list", "secret/data/anything", false)
	check("list", "secret/data/*", false)
	// Without a resolver, templated rules stay inert.
	a2, _ := New(p.Render(nil))
	if got, _ := a2.Allowed("read", "secret/data/alice/x"); got {
		t.Error("an unrendered template matched")
	}
}

// FuzzRender: any value a resolver answers (an entity or alias name is
// user-chosen) renders to a policy New accepts, and never widens a path
// into a glob or a wildcard.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"alice", "*", "+", "a/b", "{{x}}", "", "a}}b", "../x", "a*b"} {
		f.Add(s)
	}
	p, err := Parse("f", `path "secret/{{identity.entity.name}}/x" { capabilities = ["read"] }`)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := p.Render(func(string) (string, bool) { return v, true })
		a, err := New(r)
		if err != nil {
			t.Fatalf("New after Render(%q): %v", v, err)
		}
		if !r.Paths[0].Templated && (r.Paths[0].IsPrefix || r.Paths[0].HasSegmentWildcards) {
			t.Fatalf("value %q made %q a glob or wildcard path", v, r.Paths[0].Path)
		}
		if ok, _ := a.Allowed("read", "secret/someone-else/x"); ok && v != "someone-else" {
			t.Fatalf("value %q granted another entity's path", v)
		}
	})
}
