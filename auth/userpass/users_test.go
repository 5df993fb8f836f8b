package userpass_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/vaultd/vaultd/secrets"
)

func TestUsers_CRUD(t *testing.T) {
	f := newFixture(t)
	f.Fails(secrets.OpList, "users/", nil, secrets.ErrNotFound)
	f.Fails(secrets.OpRead, "users/alice", nil, secrets.ErrNotFound)

	f.Must(secrets.OpUpdate, "users/alice", map[string]any{
		"password":                "correct horse",
		"token_policies":          []any{"Dev", "ops", "dev"},
		"token_ttl":               "1h",
		"token_max_ttl":           7200.0,
		"token_explicit_max_ttl":  "3h",
		"token_period":            "0",
		"token_num_uses":          "5",
		"token_bound_cidrs":       "10.0.0.0/8, 127.0.0.1/32",
		"token_no_default_policy": true,
		"token_type":              "service",
	})
	got := f.MustJSON(secrets.OpRead, "users/alice", nil)
	want := map[string]any{
		"token_policies":          []any{"dev", "ops"},
		"token_ttl":               3600.0,
		"token_max_ttl":           7200.0,
		"token_explicit_max_ttl":  10800.0,
		"token_period":            0.0,
		"token_num_uses":          5.0,
		"token_bound_cidrs":       []any{"10.0.0.0/8", "127.0.0.1"},
		"token_no_default_policy": true,
		"token_type":              "service",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read users/alice = %v, want %v", got, want)
	}

	// A partial update keeps the other fields.
	f.Must(secrets.OpUpdate, "users/alice", map[string]any{"token_ttl": 60})
	got = f.MustJSON(secrets.OpRead, "users/alice", nil)
	if got["token_ttl"] != 60.0 || got["token_max_ttl"] != 7200.0 || !reflect.DeepEqual(got["token_policies"], []any{"dev", "ops"}) {
		t.Fatalf("after partial update: %v", got)
	}
	f.mustLogin("alice", "correct horse") // the password is unchanged

	f.Must(secrets.OpUpdate, "users/bob", map[string]any{"password": "b"})
	bob := f.MustJSON(secrets.OpRead, "users/bob", nil)
	if !reflect.DeepEqual(bob["token_policies"], []any{}) || !reflect.DeepEqual(bob["token_bound_cidrs"], []any{}) || bob["token_type"] != "default" {
		t.Fatalf("defaults of users/bob = %v", bob)
	}
	list := f.MustJSON(secrets.OpList, "users/", nil)
	if !reflect.DeepEqual(list["keys"], []any{"alice", "bob"}) {
		t.Fatalf("LIST users = %v", list)
	}

	f.Must(secrets.OpDelete, "users/alice", nil)
	f.Must(secrets.OpDelete, "users/alice", nil) // idempotent
	f.Fails(secrets.OpRead, "users/alice", nil, secrets.ErrNotFound)
	if _, err := f.login("127.0.0.1", "alice", "correct horse"); err == nil {
		t.Fatal("login of a deleted user succeeded")
	}
	list = f.MustJSON(secrets.OpList, "users", nil) // LIST without the trailing slash
	if !reflect.DeepEqual(list["keys"], []any{"bob"}) {
		t.Fatalf("LIST users = %v", list)
	}
	f.AssertContained()
}

func TestUsers_ReadNeverShowsPassword(t *testing.T) {
	f := newFixture(t)
	f.Must(secrets.OpUpdate, "users/alice", map[string]any{"password": "s3cr3t-pw", "token_policies": "a"})
	resp := f.Must(secrets.OpRead, "users/alice", nil)
	for k := range resp.Data {
		if k == "password" || k == "password_hash" {
			t.Fatalf("read shows %q", k)
		}
	}
	b := asJSON(t, resp.Data)
	if s := toString(b); containsAny(s, "s3cr3t-pw", "$2a$", "$2b$") {
		t.Fatalf("read response %s leaks the password or its hash", s)
	}
}

func TestUsers_CaseInsensitive(t *testing.T) {
	f := newFixture(t)
	f.Must(secrets.OpUpdate, "users/Alice.Smith", map[string]any{"password": "pw"})
	f.MustJSON(secrets.OpRead, "users/alice.smith", nil)
	f.MustJSON(secrets.OpRead, "users/ALICE.SMITH", nil)
	list := f.MustJSON(secrets.OpList, "users/", nil)
	if !reflect.DeepEqual(list["keys"], []any{"alice.smith"}) {
		t.Fatalf("LIST users = %v", list)
	}
	a := f.mustLogin("ALICE.smith", "pw")
	if a.Metadata["username"] != "alice.smith" || a.DisplayName != "alice.smith" || a.Alias != "alice.smith" {
		t.Fatalf("auth = %+v, want the lowercased username", a)
	}
	// The existence check is case-insensitive too: this is an update.
	req := f.Req(secrets.OpUpdate, "users/ALICE.SMITH", nil, "")
	exists, ok, err := f.Eng.(secrets.ExistenceChecker).Exists(t.Context(), req)
	if err != nil || !ok || !exists {
		t.Fatalf("Exists(users/ALICE.SMITH) = %v, %v, %v; want true, true, nil", exists, ok, err)
	}
}

func TestUsers_Validation(t *testing.T) {
	f := newFixture(t)
	f.Must(secrets.OpUpdate, "users/existing", map[string]any{"password": "pw"})
	long := make([]byte, 73)
	for i := range long {
		long[i] = 'x'
	}
	tests := []struct {
		name string
		path string
		data map[string]any
		msg  string
	}{
		{"create without password", "users/new", map[string]any{"token_policies": "a"}, "missing password"},
		{"empty password", "users/new", map[string]any{"password": ""}, "missing password"},
		{"password too long", "users/new", map[string]any{"password": string(long)}, "password is longer than 72 bytes"},
		{"password and hash", "users/new", map[string]any{"password": "a", "password_hash": "b"}, "'password' and 'password_hash' are mutually exclusive"},
		{"hash not bcrypt", "users/new", map[string]any{"password_hash": "plaintext"}, "'password_hash' is not a bcrypt hash"},
		{"password not a string", "users/new", map[string]any{"password": []any{"a"}}, `error converting input for field "password": expected a string`},
		{"bad username char", "users/al!ce", map[string]any{"password": "a"}, `invalid username "al!ce": only letters, digits, '_', '-' and '.' are allowed`},
		{"leading hyphen", "users/-al", map[string]any{"password": "a"}, `invalid username "-al": it cannot begin with '-' or '.', nor end with '.'`},
		{"leading period", "users/.al", map[string]any{"password": "a"}, `invalid username ".al": it cannot begin with '-' or '.', nor end with '.'`},
		{"dot dot", "users/..", map[string]any{"password": "a"}, `invalid username "..": it cannot begin with '-' or '.', nor end with '.'`},
		{"trailing period", "users/al.", map[string]any{"password": "a"}, `invalid username "al.": it cannot begin with '-' or '.', nor end with '.'`},
		{"bad token_type", "users/existing", map[string]any{"token_type": "weird"}, `invalid 'token_type' value "weird"`},
		{"negative ttl", "users/existing", map[string]any{"token_ttl": -1}, "'token_ttl' cannot be negative"},
		{"negative max_ttl", "users/existing", map[string]any{"token_max_ttl": "-1h"}, "'token_max_ttl' cannot be negative"},
		{"negative num_uses", "users/existing", map[string]any{"token_num_uses": -2}, "'token_num_uses' cannot be negative"},
		{"ttl over max", "users/existing", map[string]any{"token_ttl": "2h", "token_max_ttl": "1h"}, "'token_ttl' cannot be greater than 'token_max_ttl'"},
		{"batch periodic", "users/existing", map[string]any{"token_type": "batch", "token_period": "1h"}, "'token_type' cannot be 'batch' when set to generate periodic tokens"},
		{"batch num uses", "users/existing", map[string]any{"token_type": "batch", "token_num_uses": 3}, "'token_type' cannot be 'batch' when set to generate tokens with limited use count"},
		{"bad duration", "users/existing", map[string]any{"token_ttl": "soon"}, `error converting input for field "token_ttl": expected a duration`},
		{"fractional num_uses", "users/existing", map[string]any{"token_num_uses": 1.5}, `error converting input for field "token_num_uses": expected an integer`},
		{"bad cidr", "users/existing", map[string]any{"token_bound_cidrs": []any{"10.0.0.0/33"}}, `invalid CIDR block "10.0.0.0/33" in "token_bound_cidrs"`},
		{"zoned address", "users/existing", map[string]any{"token_bound_cidrs": "fe80::1%eth0"}, `invalid CIDR block "fe80::1%eth0" in "token_bound_cidrs"`},
		{"policy list of numbers", "users/existing", map[string]any{"token_policies": []any{1.0}}, `error converting input for field "token_policies": expected a list of strings or a comma-separated string`},
		{"root policy", "users/existing", map[string]any{"token_policies": "dev,ROOT"}, `the "root" policy cannot be assigned by an auth method`},
		{"root via policies path", "users/existing/policies", map[string]any{"token_policies": "root"}, `the "root" policy cannot be assigned by an auth method`},
		{"password path without password", "users/existing/password", map[string]any{}, "missing password"},
		{"password of unknown user", "users/nobody/password", map[string]any{"password": "x"}, "username does not exist"},
		{"policies of unknown user", "users/nobody/policies", map[string]any{"token_policies": "x"}, "username does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			se := f.with(t).Fails(secrets.OpUpdate, tt.path, tt.data, secrets.ErrInvalidRequest)
			if se.Msg != tt.msg {
				t.Fatalf("error = %q, want %q", se.Msg, tt.msg)
			}
		})
	}
	// Nothing was created and the existing user is unchanged.
	list := f.MustJSON(secrets.OpList, "users/", nil)
	if !reflect.DeepEqual(list["keys"], []any{"existing"}) {
		t.Fatalf("LIST users = %v", list)
	}
	got := f.MustJSON(secrets.OpRead, "users/existing", nil)
	if got["token_ttl"] != 0.0 || got["token_type"] != "default" || !reflect.DeepEqual(got["token_policies"], []any{}) {
		t.Fatalf("users/existing changed: %v", got)
	}
}

func TestUsers_PasswordHash(t *testing.T) {
	f := newFixture(t)
	h, err := bcrypt.GenerateFromPassword([]byte("pre-hashed"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	f.Must(secrets.OpUpdate, "users/carol", map[string]any{"password_hash": string(h)})
	f.mustLogin("carol", "pre-hashed")
	if _, err := f.login("127.0.0.1", "carol", string(h)); err == nil {
		t.Fatal("login with the hash itself as the password succeeded")
	}
}

func TestUsers_PasswordAndPolicyPaths(t *testing.T) {
	f := newFixture(t)
	f.Must(secrets.OpUpdate, "users/dave", map[string]any{"password": "old", "token_policies": "a", "token_ttl": "5m"})

	f.Must(secrets.OpUpdate, "users/dave/password", map[string]any{"password": "new"})
	if _, err := f.login("127.0.0.1", "dave", "old"); err == nil {
		t.Fatal("old password still works")
	}
	f.mustLogin("dave", "new")

	f.Must(secrets.OpUpdate, "users/dave/policies", map[string]any{"token_policies": []any{"X", "y"}})
	if a := f.mustLogin("dave", "new"); !reflect.DeepEqual(a.Policies, []string{"x", "y"}) || a.TTL != 5*time.Minute {
		t.Fatalf("after policies update: policies %v ttl %v", a.Policies, a.TTL)
	}
	// The deprecated field name works on the policies path too.
	f.Must(secrets.OpUpdate, "users/dave/policies", map[string]any{"policies": "z"})
	if a := f.mustLogin("dave", "new"); !reflect.DeepEqual(a.Policies, []string{"z"}) {
		t.Fatalf("after legacy policies update: %v", a.Policies)
	}
	// As in Vault, no policies clears them.
	f.Must(secrets.OpUpdate, "users/dave/policies", map[string]any{})
	if a := f.mustLogin("dave", "new"); len(a.Policies) != 0 {
		t.Fatalf("after clearing: %v", a.Policies)
	}
}

func TestUsers_LegacyFields(t *testing.T) {
	f := newFixture(t)
	f.Must(secrets.OpUpdate, "users/erin", map[string]any{
		"password": "pw", "policies": "p1,p2", "ttl": "10m", "max_ttl": "1h", "bound_cidrs": "127.0.0.0/8",
	})
	got := f.MustJSON(secrets.OpRead, "users/erin", nil)
	if !reflect.DeepEqual(got["token_policies"], []any{"p1", "p2"}) || got["token_ttl"] != 600.0 ||
		got["token_max_ttl"] != 3600.0 || !reflect.DeepEqual(got["token_bound_cidrs"], []any{"127.0.0.0/8"}) {
		t.Fatalf("legacy fields not applied: %v", got)
	}
	// When both are given, the token_* field wins.
	f.Must(secrets.OpUpdate, "users/erin", map[string]any{"policies": "old", "token_policies": "new", "ttl": 1, "token_ttl": 2})
	got = f.MustJSON(secrets.OpRead, "users/erin", nil)
	if !reflect.DeepEqual(got["token_policies"], []any{"new"}) || got["token_ttl"] != 2.0 {
		t.Fatalf("token_* did not win: %v", got)
	}
}

func TestUsers_NoPlaintextInStorage(t *testing.T) {
	f := newFixture(t)
	pws := []string{"first-Pa55word-alpha", "second-Pa55word-beta", "third-Pa55word-gamma"}
	f.Must(secrets.OpUpdate, "users/alice", map[string]any{"password": pws[0]})
	f.Must(secrets.OpUpdate, "users/bob", map[string]any{"password": pws[1], "token_policies": "p"})
	f.Must(secrets.OpUpdate, "users/alice/password", map[string]any{"password": pws[2]})
	f.mustLogin("alice", pws[2])
	f.mustLogin("bob", pws[1])
	for _, pw := range pws {
		f.AssertNoPlaintext(pw)
	}
	f.AssertContained()
}

// TestUsers_Concurrent runs writers and logins on a few users at once
// (meaningful under -race): every update lands whole, and logins keep
// seeing a consistent entry.
func TestUsers_Concurrent(t *testing.T) {
	f := newFixture(t)
	users := []string{"u0", "u1", "u2"}
	for _, u := range users {
		f.Must(secrets.OpUpdate, "users/"+u, map[string]any{"password": "pw"})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 6 {
		wg.Go(func() {
			u := users[i%len(users)]
			for j := range 5 {
				var err error
				if i%2 == 0 {
					_, err = f.Do(secrets.OpUpdate, "users/"+u, map[string]any{"token_num_uses": j + 1, "token_policies": "p"})
				} else {
					_, err = f.login("127.0.0.1", u, "pw")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, u := range users {
		got := f.MustJSON(secrets.OpRead, "users/"+u, nil)
		if got["token_num_uses"] != 5.0 {
			t.Fatalf("users/%s token_num_uses = %v", u, got["token_num_uses"])
		}
		f.mustLogin(u, "pw")
	}
}

func toString(m map[string]any) string {
	b, err := json.Marshal(m)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
