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
