package approle_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

func TestSecretID_GenerateLookupDestroy(t *testing.T) {
	f := newFixture(t)
	f.role("web", map[string]any{"secret_id_ttl": "1h", "secret_id_num_uses": 10})
	f.Fails(secrets.OpList, "role/web/secret-id", nil, secrets.ErrNotFound)

	gen := f.MustJSON(secrets.OpUpdate, "role/web/secret-id", map[string]any{
		"metadata": `{"tag1":"production","team":"a"}`,
		"ttl":      600,
		"num_uses": 5,
	})
	sid, acc := gen["secret_id"].(string), gen["secret_id_accessor"].(string)
	if !uuidRE.MatchString(sid) || !uuidRE.MatchString(acc) || sid == acc {
		t.Fatalf("secret_id %q / accessor %q are not distinct random UUIDs", sid, acc)
	}
	if gen["secret_id_ttl"] != 600.0 || gen["secret_id_num_uses"] != 5.0 {
		t.Fatalf("generate = %v", gen)
	}
	// Defaults come from the role.
	def := f.MustJSON(secrets.OpUpdate, "role/web/secret-id", nil)
	if def["secret_id_ttl"] != 3600.0 || def["secret_id_num_uses"] != 10.0 {
		t.Fatalf("generate with role defaults = %v", def)
	}

	want := map[string]any{
		"secret_id_accessor": acc,
		"secret_id_num_uses": 5.0,
		"secret_id_ttl":      600.0,
		"creation_time":      "2024-01-02T03:04:05Z",
		"expiration_time":    "2024-01-02T03:14:05Z",
		"last_updated_time":  "2024-01-02T03:04:05Z",
		"metadata":           map[string]any{"tag1": "production", "team": "a"},
		"cidr_list":          []any{},
		"token_bound_cidrs":  []any{},
	}
	got := f.MustJSON(secrets.OpUpdate, "role/web/secret-id/lookup", map[string]any{"secret_id": sid})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lookup =\n%v\nwant\n%v", got, want)
	}
	got = f.MustJSON(secrets.OpUpdate, "role/web/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": acc})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("accessor lookup =\n%v\nwant\n%v", got, want)
	}
	list := f.MustJSON(secrets.OpList, "role/web/secret-id/", nil)
	keys, _ := list["keys"].([]any)
	if len(keys) != 2 || (keys[0] != acc && keys[1] != acc) {
		t.Fatalf("LIST secret-id = %v, want 2 accessors including %s", list, acc)
	}

	// Destroy by secret ID (POST), then by accessor (DELETE).
	f.Must(secrets.OpUpdate, "role/web/secret-id/destroy", map[string]any{"secret_id": sid})
	f.Must(secrets.OpUpdate, "role/web/secret-id/destroy", map[string]any{"secret_id": sid}) // idempotent
	if resp := f.Must(secrets.OpUpdate, "role/web/secret-id/lookup", map[string]any{"secret_id": sid}); resp.Data != nil {
		t.Fatalf("lookup after destroy = %v, want no data (204)", resp.Data)
	}
	se := f.Fails(secrets.OpUpdate, "role/web/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": acc}, secrets.ErrNotFound)
	if !strings.Contains(se.Msg, "failed to find accessor entry for secret_id_accessor") {
		t.Fatalf("error = %q", se.Msg)
	}
	f.Must(secrets.OpDelete, "role/web/secret-id-accessor/destroy", map[string]any{"secret_id_accessor": def["secret_id_accessor"]})
	f.failsLogin(f.MustJSON(secrets.OpRead, "role/web/role-id", nil)["role_id"].(string), def["secret_id"].(string))
	f.Fails(secrets.OpUpdate, "role/web/secret-id-accessor/destroy", map[string]any{"secret_id_accessor": def["secret_id_accessor"]}, secrets.ErrNotFound)
	f.Fails(secrets.OpList, "role/web/secret-id", nil, secrets.ErrNotFound)
	for _, k := range f.StoredKeys() {
		if strings.HasPrefix(k, "secret-id/") || strings.HasPrefix(k, "accessor/") {
			t.Fatalf("key %q left after destroying every secret ID", k)
		}
	}
}

func TestSecretID_AccessorOfAnotherRole(t *testing.T) {
	f := newFixture(t)
	f.role("a", nil)
	f.role("b", nil)
	_, accA := f.secretID("a", nil)
	f.Fails(secrets.OpUpdate, "role/b/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": accA}, secrets.ErrNotFound)
	f.Fails(secrets.OpUpdate, "role/b/secret-id-accessor/destroy", map[string]any{"secret_id_accessor": accA}, secrets.ErrNotFound)
	f.MustJSON(secrets.OpUpdate, "role/a/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": accA})
}

func TestSecretID_Custom(t *testing.T) {
	f := newFixture(t)
	id := f.role("web", nil)
	got := f.MustJSON(secrets.OpUpdate, "role/web/custom-secret-id", map[string]any{"secret_id": "testsecretid", "ttl": "10m", "num_uses": 50})
	if got["secret_id"] != "testsecretid" || got["secret_id_ttl"] != 600.0 || got["secret_id_num_uses"] != 50.0 || !uuidRE.MatchString(got["secret_id_accessor"].(string)) {
		t.Fatalf("custom-secret-id = %v", got)
	}
	se := f.Fails(secrets.OpUpdate, "role/web/custom-secret-id", map[string]any{"secret_id": "testsecretid"}, secrets.ErrInvalidRequest)
	if se.Msg != "SecretID is already registered" {
		t.Fatalf("error = %q", se.Msg)
	}
	// The same custom value on another role is a different secret ID.
	f.role("other", nil)
	f.Must(secrets.OpUpdate, "role/other/custom-secret-id", map[string]any{"secret_id": "testsecretid"})
	f.mustLogin(id, "testsecretid")
	f.Fails(secrets.OpUpdate, "role/web/custom-secret-id", map[string]any{}, secrets.ErrInvalidRequest)
}

func TestSecretID_Validation(t *testing.T) {
	f := newFixture(t)
	f.role("web", map[string]any{
		"secret_id_num_uses": 5, "secret_id_ttl": "1h",
		"secret_id_bound_cidrs": "10.0.0.0/8", "token_bound_cidrs": "10.1.0.0/16",
	})
	f.role("nobind", map[string]any{"bind_secret_id": false, "secret_id_bound_cidrs": "127.0.0.1"})
	tests := []struct {
		name string
		path string
		data map[string]any
		msg  string
	}{
		{"num_uses over role", "role/web/secret-id", map[string]any{"num_uses": 6}, "num_uses cannot be higher than the role's secret_id_num_uses"},
		{"unlimited over role", "role/web/secret-id", map[string]any{"num_uses": 0}, "num_uses cannot be higher than the role's secret_id_num_uses"},
		{"negative num_uses", "role/web/secret-id", map[string]any{"num_uses": -1}, "num_uses cannot be negative"},
		{"ttl over role", "role/web/secret-id", map[string]any{"ttl": "2h"}, "ttl cannot be longer than the role's secret_id_ttl"},
		{"no ttl over role", "role/web/secret-id", map[string]any{"ttl": 0}, "ttl cannot be longer than the role's secret_id_ttl"},
		{"negative ttl", "role/web/secret-id", map[string]any{"ttl": -1}, "ttl cannot be negative"},
		{"cidr_list outside role", "role/web/secret-id", map[string]any{"cidr_list": "10.0.0.0/8,11.0.0.0/8"}, "cidr_list must be a subset of the role's secret_id_bound_cidrs"},
		{"cidr_list wider", "role/web/secret-id", map[string]any{"cidr_list": "10.0.0.0/7"}, "cidr_list must be a subset of the role's secret_id_bound_cidrs"},
		{"token cidrs outside role", "role/web/secret-id", map[string]any{"token_bound_cidrs": "10.2.0.0/16"}, "token_bound_cidrs must be a subset of the role's token_bound_cidrs"},
		{"bad cidr_list", "role/web/secret-id", map[string]any{"cidr_list": "x"}, `invalid CIDR block "x" in "cidr_list"`},
		{"metadata not json", "role/web/secret-id", map[string]any{"metadata": "{nope"}, "failed to parse metadata: must be a JSON object of strings"},
		{"metadata not strings", "role/web/secret-id", map[string]any{"metadata": `{"a":1}`}, "failed to parse metadata: must be a JSON object of strings"},
		{"metadata array", "role/web/secret-id", map[string]any{"metadata": []any{"a"}}, "failed to parse metadata: must be a JSON object of strings"},
		{"metadata null json", "role/web/secret-id", map[string]any{"metadata": "null"}, "failed to parse metadata: must be a JSON object of strings"},
		{"unknown role", "role/nope/secret-id", nil, `role "nope" does not exist`},
		{"unbound role", "role/nobind/secret-id", nil, "bind_secret_id is not set on the role"},
		{"lookup without secret_id", "role/web/secret-id/lookup", nil, "missing secret_id"},
		{"destroy without secret_id", "role/web/secret-id/destroy", nil, "missing secret_id"},
		{"accessor lookup without accessor", "role/web/secret-id-accessor/lookup", nil, "missing secret_id_accessor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			se := f.with(t).Fails(secrets.OpUpdate, tt.path, tt.data, secrets.ErrInvalidRequest)
			if se.Msg != tt.msg {
				t.Fatalf("error = %q, want %q", se.Msg, tt.msg)
			}
		})
	}
	f.Fails(secrets.OpList, "role/web/secret-id", nil, secrets.ErrNotFound)

	// Within bounds: accepted, with map metadata too.
	got := f.MustJSON(secrets.OpUpdate, "role/web/secret-id", map[string]any{
		"num_uses": 5, "ttl": "1h", "cidr_list": "10.2.3.0/24,10.9.9.9", "token_bound_cidrs": "10.1.2.0/24",
		"metadata": map[string]any{"k": "v"},
	})
	look := f.MustJSON(secrets.OpUpdate, "role/web/secret-id/lookup", map[string]any{"secret_id": got["secret_id"]})
	if !reflect.DeepEqual(look["cidr_list"], []any{"10.2.3.0/24", "10.9.9.9"}) ||
		!reflect.DeepEqual(look["token_bound_cidrs"], []any{"10.1.2.0/24"}) ||
		!reflect.DeepEqual(look["metadata"], map[string]any{"k": "v"}) {
		t.Fatalf("lookup = %v", look)
	}
}

func TestSecretID_TTLAndTidy(t *testing.T) {
	f := newFixture(t)
	id := f.role("web", nil)
	short, shortAcc := f.secretID("web", map[string]any{"ttl": "1m"})
	long, _ := f.secretID("web", map[string]any{"ttl": "1h"})
	forever, _ := f.secretID("web", nil)

	f.clock.Advance(59 * time.Second)
	f.mustLogin(id, short)
	f.clock.Advance(time.Second) // exactly at expiration_time: expired
	f.failsLogin(id, short)
	if resp := f.Must(secrets.OpUpdate, "role/web/secret-id/lookup", map[string]any{"secret_id": short}); resp.Data != nil {
		t.Fatalf("lookup of an expired secret ID = %v", resp.Data)
	}
	f.Fails(secrets.OpUpdate, "role/web/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": shortAcc}, secrets.ErrNotFound)

	f.clock.Advance(time.Hour)
	list := f.MustJSON(secrets.OpList, "role/web/secret-id", nil)
	if keys := list["keys"].([]any); len(keys) != 1 {
		t.Fatalf("LIST after expiry = %v, want only the secret ID without a TTL", list)
	}
	got := f.MustJSON(secrets.OpUpdate, "tidy/secret-id", nil)
	if got["secret_ids_deleted"] != 1.0 { // the short one went at its failed login
		t.Fatalf("tidy = %v", got)
	}
	f.failsLogin(id, long)
	f.mustLogin(id, forever)
	var n int
	for _, k := range f.StoredKeys() {
		if strings.HasPrefix(k, "secret-id/") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d secret ID entries after tidy, want 1: %q", n, f.StoredKeys())
	}
}

// TestSecretID_CIDRsAsSubmitted (issue 15 item 8): both lookups show
// cidr_list and token_bound_cidrs as submitted ("127.0.0.1/32", not
// "127.0.0.1"), and the blocks still bind the login.
func TestSecretID_CIDRsAsSubmitted(t *testing.T) {
	f := newFixture(t)
	roleID := f.role("web", nil)
	id, acc := f.secretID("web", map[string]any{
		"cidr_list": "127.0.0.1/32", "token_bound_cidrs": []any{"127.0.0.1/32", "10.0.0.0/8"},
	})
	want := map[string][]any{
		"cidr_list":         {"127.0.0.1/32"},
		"token_bound_cidrs": {"127.0.0.1/32", "10.0.0.0/8"},
	}
	for _, look := range []map[string]any{
		f.MustJSON(secrets.OpUpdate, "role/web/secret-id/lookup", map[string]any{"secret_id": id}),
		f.MustJSON(secrets.OpUpdate, "role/web/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": acc}),
	} {
		for field, w := range want {
			if !reflect.DeepEqual(look[field], w) {
				t.Errorf("lookup %s = %v, want %v as submitted", field, look[field], w)
			}
		}
	}
	if _, err := f.login("127.0.0.2", roleID, id); err == nil {
		t.Fatal("login from outside cidr_list succeeded")
	}
	auth := f.mustLogin(roleID, id)
	if !reflect.DeepEqual(auth.BoundCIDRs, []string{"127.0.0.1/32", "10.0.0.0/8"}) {
		t.Fatalf("token bound CIDRs = %q", auth.BoundCIDRs)
	}
}
