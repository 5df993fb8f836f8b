package approle_test

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRole_CRUD(t *testing.T) {
	f := newFixture(t)
	f.Fails(secrets.OpList, "role/", nil, secrets.ErrNotFound)
	f.Fails(secrets.OpRead, "role/web", nil, secrets.ErrNotFound)

	roleID := f.role("Web", map[string]any{
		"secret_id_ttl":         "10m",
		"secret_id_num_uses":    40,
		"secret_id_bound_cidrs": "10.0.0.0/8",
		"token_policies":        "b,A",
		"token_ttl":             1200,
		"token_max_ttl":         "30m",
		"token_bound_cidrs":     []any{"10.1.0.0/16"},
		"token_type":            "service",
	})
	if !uuidRE.MatchString(roleID) {
		t.Fatalf("role_id %q is not a random UUID", roleID)
	}
	got := f.MustJSON(secrets.OpRead, "role/web", nil)
	want := map[string]any{
		"bind_secret_id":          true,
		"secret_id_bound_cidrs":   []any{"10.0.0.0/8"},
		"secret_id_num_uses":      40.0,
		"secret_id_ttl":           600.0,
		"local_secret_ids":        false,
		"token_policies":          []any{"a", "b"},
		"policies":                []any{"a", "b"},
		"token_ttl":               1200.0,
		"token_max_ttl":           1800.0,
		"token_explicit_max_ttl":  0.0,
		"token_period":            0.0,
		"period":                  0.0,
		"token_num_uses":          0.0,
		"token_bound_cidrs":       []any{"10.1.0.0/16"},
		"token_no_default_policy": false,
		"token_type":              "service",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read role/web =\n%v\nwant\n%v", got, want)
	}

	// A partial update keeps the other fields and the role ID.
	f.Must(secrets.OpUpdate, "role/web", map[string]any{"token_ttl": "5m", "policies": "c"})
	got = f.MustJSON(secrets.OpRead, "role/web", nil)
	if got["token_ttl"] != 300.0 || got["secret_id_num_uses"] != 40.0 || !reflect.DeepEqual(got["token_policies"], []any{"c"}) {
		t.Fatalf("after partial update: %v", got)
	}
	if id := f.MustJSON(secrets.OpRead, "role/web/role-id", nil)["role_id"]; id != roleID {
		t.Fatalf("role_id changed on update: %v, want %v", id, roleID)
	}

	f.role("db", nil)
	if list := f.MustJSON(secrets.OpList, "role/", nil); !reflect.DeepEqual(list["keys"], []any{"db", "web"}) {
		t.Fatalf("LIST role = %v", list)
	}
	f.Must(secrets.OpDelete, "role/web", nil)
	f.Must(secrets.OpDelete, "role/web", nil) // idempotent
	f.Fails(secrets.OpRead, "role/web", nil, secrets.ErrNotFound)
	f.Fails(secrets.OpRead, "role/web/role-id", nil, secrets.ErrNotFound)
	if list := f.MustJSON(secrets.OpList, "role", nil); !reflect.DeepEqual(list["keys"], []any{"db"}) {
		t.Fatalf("LIST role = %v", list)
	}
	f.AssertContained()
}

func TestRole_Validation(t *testing.T) {
	f := newFixture(t)
	f.role("existing", nil)
	tests := []struct {
		name string
		path string
		data map[string]any
		msg  string
	}{
		{"no constraint", "role/new", map[string]any{"bind_secret_id": false}, "at least one constraint should be enabled on the role"},
		{"unbind existing", "role/existing", map[string]any{"bind_secret_id": "false"}, "at least one constraint should be enabled on the role"},
		{"negative num uses", "role/new", map[string]any{"secret_id_num_uses": -1}, "secret_id_num_uses cannot be negative"},
		{"negative ttl", "role/new", map[string]any{"secret_id_ttl": "-5m"}, "secret_id_ttl cannot be negative"},
		{"bad bool", "role/new", map[string]any{"bind_secret_id": "maybe"}, `error converting input for field "bind_secret_id": expected a boolean`},
		{"bad cidr", "role/new", map[string]any{"secret_id_bound_cidrs": "10.0.0.0/8,nope"}, `invalid CIDR block "nope" in "secret_id_bound_cidrs"`},
		{"bad token cidr", "role/new", map[string]any{"token_bound_cidrs": []any{"1.2.3.4/40"}}, `invalid CIDR block "1.2.3.4/40" in "token_bound_cidrs"`},
		{"root policy", "role/new", map[string]any{"token_policies": "root"}, `the "root" policy cannot be assigned by an auth method`},
		{"legacy root policy", "role/new", map[string]any{"policies": []any{"Root"}}, `the "root" policy cannot be assigned by an auth method`},
		{"ttl over max", "role/new", map[string]any{"token_ttl": 100, "token_max_ttl": 10}, "'token_ttl' cannot be greater than 'token_max_ttl'"},
		{"bad token type", "role/new", map[string]any{"token_type": "x"}, `invalid 'token_type' value "x"`},
		{"empty role_id", "role/new", map[string]any{"role_id": "  "}, "missing role_id"},
		{"local_secret_ids later", "role/existing", map[string]any{"local_secret_ids": true}, "local_secret_ids can only be modified during role creation"},
		{"bad name", "role/we$b", nil, `invalid role_name "we$b": only letters, digits, space, '-', '_' and '.' are allowed`},
		{"dot name", "role/..", nil, `invalid role_name ".."`},
		{"long name", "role/" + strings.Repeat("a", 4096), nil, "role_name must be less than 4096 bytes"},
		{"role-id of unknown role", "role/nope/role-id", map[string]any{"role_id": "x"}, `role "nope" does not exist`},
		{"role-id missing", "role/existing/role-id", map[string]any{}, "missing role_id"},
		{"role-id too long", "role/existing/role-id", map[string]any{"role_id": strings.Repeat("x", 4097)}, "role_id is longer than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			se := f.with(t).Fails(secrets.OpUpdate, tt.path, tt.data, secrets.ErrInvalidRequest)
			if se.Msg != tt.msg {
				t.Fatalf("error = %q, want %q", se.Msg, tt.msg)
			}
		})
	}
	if list := f.MustJSON(secrets.OpList, "role/", nil); !reflect.DeepEqual(list["keys"], []any{"existing"}) {
		t.Fatalf("LIST role = %v", list)
	}
	if got := f.MustJSON(secrets.OpRead, "role/existing", nil); got["bind_secret_id"] != true {
		t.Fatalf("role/existing changed: %v", got)
	}
}

func TestRole_RoleID(t *testing.T) {
	f := newFixture(t)
	if id := f.role("a", map[string]any{"role_id": " custom-a "}); id != "custom-a" {
		t.Fatalf("role_id = %q, want the custom, trimmed value", id)
	}
	old := f.role("b", nil)
	sid, _ := f.secretID("b", nil)
	f.mustLogin(old, sid)

	// Two roles can never share a role ID.
	se := f.Fails(secrets.OpUpdate, "role/b/role-id", map[string]any{"role_id": "custom-a"}, secrets.ErrInvalidRequest)
	if se.Msg != "role_id already in use" {
		t.Fatalf("error = %q", se.Msg)
	}
	se = f.Fails(secrets.OpUpdate, "role/c", map[string]any{"role_id": "custom-a"}, secrets.ErrInvalidRequest)
	if se.Msg != "role_id already in use" {
		t.Fatalf("error = %q", se.Msg)
	}
	f.Fails(secrets.OpRead, "role/c", nil, secrets.ErrNotFound)

	// Changing a role ID retires the old one at once.
	f.Must(secrets.OpUpdate, "role/b/role-id", map[string]any{"role_id": "custom-b"})
	if id := f.MustJSON(secrets.OpRead, "role/b/role-id", nil)["role_id"]; id != "custom-b" {
		t.Fatalf("role_id = %v", id)
	}
	f.failsLogin(old, sid)
	if a := f.mustLogin("custom-b", sid); a.Alias != "custom-b" || a.Metadata["role_name"] != "b" {
		t.Fatalf("auth = %+v", a)
	}
	// The old one is free again; setting the same value again is a no-op.
	f.Must(secrets.OpUpdate, "role/a/role-id", map[string]any{"role_id": old})
	f.Must(secrets.OpUpdate, "role/a/role-id", map[string]any{"role_id": old})
	f.Must(secrets.OpUpdate, "role/a", map[string]any{"role_id": old, "token_ttl": 5})
	sidA, _ := f.secretID("a", nil)
	f.mustLogin(old, sidA)
}

func TestRole_DeleteRemovesSecretIDs(t *testing.T) {
	f := newFixture(t)
	f.role("web", map[string]any{"role_id": "rid"})
	sid1, _ := f.secretID("web", nil)
	f.Must(secrets.OpUpdate, "role/web/custom-secret-id", map[string]any{"secret_id": "my-custom-secret"})
	f.role("other", nil)
	otherSID, _ := f.secretID("other", nil)

	f.Must(secrets.OpDelete, "role/web", nil)
	for _, k := range f.StoredKeys() {
		if strings.HasPrefix(k, "role/web") {
			t.Fatalf("role key %q left behind", k)
		}
	}
	// Exactly the other role's secret ID and accessor remain.
	var secretKeys, accessorKeys int
	for _, k := range f.StoredKeys() {
		switch {
		case strings.HasPrefix(k, "secret-id/"):
			secretKeys++
		case strings.HasPrefix(k, "accessor/"):
			accessorKeys++
		}
	}
	if secretKeys != 1 || accessorKeys != 1 {
		t.Fatalf("after delete: %d secret ID and %d accessor keys, want 1 and 1: %q", secretKeys, accessorKeys, f.StoredKeys())
	}
	// A role recreated with the same name and role ID inherits nothing.
	f.role("web", map[string]any{"role_id": "rid"})
	f.failsLogin("rid", sid1)
	f.failsLogin("rid", "my-custom-secret")
	f.Fails(secrets.OpList, "role/web/secret-id", nil, secrets.ErrNotFound)
	f.mustLogin(f.MustJSON(secrets.OpRead, "role/other/role-id", nil)["role_id"].(string), otherSID)
}

func TestRole_CaseInsensitive(t *testing.T) {
	f := newFixture(t)
	id := f.role("My App", nil)
	if got := f.MustJSON(secrets.OpRead, "role/MY APP/role-id", nil)["role_id"]; got != id {
		t.Fatalf("role-id via upper case = %v", got)
	}
	sid, _ := f.secretID("my app", nil)
	if a := f.mustLogin(id, sid); a.Metadata["role_name"] != "my app" {
		t.Fatalf("role_name = %q", a.Metadata["role_name"])
	}
}
