package approle_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/enginetest"
)

// FuzzRoleWrite drives the role write path, and so every field parser
// (policy lists, durations, CIDR lists, integers, booleans), with
// arbitrary role names and JSON bodies: no panic, never (nil, nil), only
// typed user errors, nothing outside the view, and a role that was
// written reads back with non-negative durations and a role ID.
func FuzzRoleWrite(f *testing.F) {
	seeds := []struct{ name, body string }{
		{"web", `{"token_policies":"a, B,,a","token_ttl":"20m","token_max_ttl":1800,"secret_id_ttl":"1d"}`},
		{"db", `{"bind_secret_id":false,"secret_id_bound_cidrs":["10.0.0.0/8","::1"],"period":"1h","policies":["x"]}`},
		{"My Role", `{"secret_id_num_uses":"3","token_bound_cidrs":"127.0.0.1","local_secret_ids":"true","role_id":"custom"}`},
		{"x", `{"token_type":"batch","token_num_uses":1,"token_ttl":1e300,"secret_id_ttl":"-1"}`},
		{"..", `{}`},
		{"a/b", `{}`},
		{"y", `{"bind_secret_id":0,"token_bound_cidrs":"::ffff:1.2.3.4/120","role_id":7}`},
	}
	for _, s := range seeds {
		f.Add(s.name, s.body)
	}
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, name, body string) {
		var data map[string]any
		if json.Unmarshal([]byte(body), &data) != nil {
			data = map[string]any{"role_id": body}
		}
		fx := fx.with(t)
		resp, err := fx.Do(secrets.OpUpdate, "role/"+name, data)
		checkTyped(t, resp, err)
		fx.AssertContained()
		if err != nil {
			return
		}
		got := fx.MustJSON(secrets.OpRead, "role/"+strings.ToUpper(name), nil)
		for _, k := range []string{"token_ttl", "token_max_ttl", "token_period", "secret_id_ttl", "secret_id_num_uses", "token_num_uses"} {
			if n, _ := got[k].(float64); n < 0 {
				t.Fatalf("%s = %v is negative", k, n)
			}
		}
		if id := fx.MustJSON(secrets.OpRead, "role/"+name+"/role-id", nil)["role_id"]; id == "" {
			t.Fatal("role without a role_id")
		}
	})
}

// FuzzSecretIDParams drives secret ID generation (metadata, cidr_list,
// token_bound_cidrs, num_uses, ttl) against a bounded role: accepted
// secret IDs always respect the role's bounds.
func FuzzSecretIDParams(f *testing.F) {
	f.Add(`{"metadata":"{\"a\":\"b\"}","ttl":"30m","num_uses":2}`)
	f.Add(`{"metadata":{"k":"v"},"cidr_list":"10.1.0.0/16","token_bound_cidrs":["10.1.2.3"]}`)
	f.Add(`{"metadata":"[1]","ttl":"2h","num_uses":"11"}`)
	f.Add(`{"cidr_list":"0.0.0.0/0","ttl":-1,"num_uses":0}`)
	fx := newFixture(f)
	fx.role("web", map[string]any{"secret_id_ttl": "1h", "secret_id_num_uses": 10,
		"secret_id_bound_cidrs": "10.0.0.0/8", "token_bound_cidrs": "10.0.0.0/8"})
	f.Fuzz(func(t *testing.T, body string) {
		var data map[string]any
		if json.Unmarshal([]byte(body), &data) != nil {
			data = map[string]any{"metadata": body}
		}
		fx := fx.with(t)
		resp, err := fx.Do(secrets.OpUpdate, "role/web/secret-id", data)
		checkTyped(t, resp, err)
		if err != nil {
			return
		}
		got := asJSON(t, resp.Data)
		ttl, _ := got["secret_id_ttl"].(float64)
		uses, _ := got["secret_id_num_uses"].(float64)
		if ttl <= 0 || ttl > 3600 || uses <= 0 || uses > 10 {
			t.Fatalf("secret ID outside the role's bounds: %v", got)
		}
		fx.Must(secrets.OpUpdate, "role/web/secret-id/destroy", map[string]any{"secret_id": got["secret_id"]})
	})
}

// FuzzLogin: arbitrary role IDs, secret IDs and client addresses never log
// in (only the real pair does), never panic, and fail with a typed error.
func FuzzLogin(f *testing.F) {
	f.Add("rid", "sid-real", "10.0.0.1")
	f.Add("rid", "sid-wrong", "10.0.0.1:80")
	f.Add("nope", "sid-real", "[::1]:1")
	f.Add("", "", "")
	f.Add(" rid ", "sid-real\n", "::ffff:10.0.0.1")
	fx := newFixture(f)
	fx.role("web", map[string]any{"role_id": "rid", "secret_id_bound_cidrs": "10.0.0.0/8"})
	fx.Must(secrets.OpUpdate, "role/web/custom-secret-id", map[string]any{"secret_id": "sid-real"})
	f.Fuzz(func(t *testing.T, roleID, secretID, remote string) {
		fx := fx.with(t)
		resp, err := fx.Eng.HandleRequest(t.Context(), fx.Req(secrets.OpUpdate, "login",
			map[string]any{"role_id": roleID, "secret_id": secretID}, remote))
		checkTyped(t, resp, err)
		if err == nil && (strings.TrimSpace(roleID) != "rid" || strings.TrimSpace(secretID) != "sid-real") {
			t.Fatalf("login(%q, %q) succeeded", roleID, secretID)
		}
	})
}

var checkTyped = enginetest.CheckTyped
