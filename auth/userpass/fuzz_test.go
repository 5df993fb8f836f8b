package userpass_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/enginetest"
)

// FuzzUserWrite drives the user write path, and so every field parser
// (policy lists, durations, CIDR lists, integers, booleans, token types),
// with arbitrary usernames and JSON bodies. Whatever comes in: no panic,
// never (nil, nil), only typed user errors, nothing outside the view; a
// write that succeeds reads back as JSON with sorted, lowercased policies
// and never shows a password.
func FuzzUserWrite(f *testing.F) {
	seeds := []struct{ name, body string }{
		{"alice", `{"password":"pw","token_policies":"a, B ,c,,a","token_ttl":"1h","token_max_ttl":7200}`},
		{"bob", `{"password":"pw","policies":["x","y"],"ttl":"30m","max_ttl":"1d","bound_cidrs":"10.0.0.0/8,::1"}`},
		{"carol", `{"password":"pw","token_bound_cidrs":["127.0.0.1","2001:db8::/32"],"token_num_uses":"3","token_type":"batch"}`},
		{"dave", `{"password":"pw","token_period":"1.5h","token_explicit_max_ttl":"-1","token_no_default_policy":"true"}`},
		{"erin", `{"password_hash":"$2a$04$abcdefghijklmnopqrstuu","token_ttl":1e30}`},
		{"Frank", `{"password":"pw","token_policies":[1,2],"token_ttl":"9223372036854775807"}`},
		{"..", `{"password":"pw"}`},
		{"a/b", `{"password":"pw"}`},
		{"x", `{"password":"pw","token_bound_cidrs":"::ffff:10.0.0.0/104","token_num_uses":2147483648}`},
	}
	for _, s := range seeds {
		f.Add(s.name, s.body)
	}
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, name, body string) {
		var data map[string]any
		if json.Unmarshal([]byte(body), &data) != nil {
			data = map[string]any{"password": body}
		}
		fx := fx.with(t)
		resp, err := fx.Do(secrets.OpUpdate, "users/"+name, data)
		checkTyped(t, resp, err)
		fx.AssertContained()
		if err != nil {
			return
		}
		got := fx.MustJSON(secrets.OpRead, "users/"+strings.ToUpper(name), nil)
		if _, ok := got["password"]; ok {
			t.Fatalf("read shows the password: %v", got)
		}
		pols, _ := got["token_policies"].([]any)
		for i, p := range pols {
			s, _ := p.(string)
			if s != strings.ToLower(s) || s == "" || (i > 0 && pols[i-1].(string) >= s) {
				t.Fatalf("token_policies not sanitized: %v", pols)
			}
		}
		for _, k := range []string{"token_ttl", "token_max_ttl", "token_explicit_max_ttl", "token_period", "token_num_uses"} {
			if n, _ := got[k].(float64); n < 0 {
				t.Fatalf("%s = %v is negative", k, n)
			}
		}
	})
}

// FuzzLogin: arbitrary usernames and passwords never log in (only the one
// real password does), never panic, and fail with a typed error.
func FuzzLogin(f *testing.F) {
	f.Add("alice", "right", "127.0.0.1")
	f.Add("alice", "wrong", "10.0.0.1:99")
	f.Add("ALICE", "right", "[::1]:1")
	f.Add("nobody", "", "")
	f.Add("../x", "p", "garbage")
	f.Add("alice", "right\x00", "::ffff:127.0.0.1")
	fx := newFixture(f)
	fx.Must(secrets.OpUpdate, "users/alice", map[string]any{"password": "right", "token_bound_cidrs": "127.0.0.0/8,::1"})
	f.Fuzz(func(t *testing.T, user, password, remote string) {
		fx := fx.with(t)
		resp, err := fx.login(remote, user, password)
		checkTyped(t, resp, err)
		if err == nil && (password != "right" || !strings.EqualFold(user, "alice")) {
			t.Fatalf("login(%q, %q) succeeded", user, password)
		}
	})
}

var checkTyped = enginetest.CheckTyped
