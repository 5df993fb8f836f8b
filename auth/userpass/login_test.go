package userpass_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/vaultd/vaultd/auth/userpass"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

func TestLogin_Success(t *testing.T) {
	f := newFixture(t)
	f.Must(secrets.OpUpdate, "users/alice", map[string]any{
		"password":                "pw",
		"token_policies":          "dev,ops",
		"token_ttl":               "1h",
		"token_max_ttl":           "2h",
		"token_explicit_max_ttl":  "3h",
		"token_period":            "30m",
		"token_num_uses":          4,
		"token_no_default_policy": true,
	})
	resp, err := f.login("127.0.0.1", "alice", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Data != nil {
		t.Fatalf("login response has data %v", resp.Data)
	}
	want := &secrets.Auth{
		Policies:     []string{"dev", "ops"},
		Metadata:     map[string]string{"username": "alice"},
		DisplayName:  "alice",
		TTL:          time.Hour,
		MaxTTL:       2 * time.Hour,
		Period:       30 * time.Minute,
		NumUses:      4,
		Renewable:    true,
		ExplicitMax:  3 * time.Hour,
		NoDefaultPol: true,
		Alias:        "alice",
	}
	if !reflect.DeepEqual(resp.Auth, want) {
		t.Fatalf("auth = %+v, want %+v", resp.Auth, want)
	}
	// The Auth is the caller's: changing it does not change the user.
	resp.Auth.Policies[0] = "root"
	if a := f.mustLogin("alice", "pw"); a.Policies[0] != "dev" {
		t.Fatalf("stored policies changed through a returned Auth: %v", a.Policies)
	}
}

// TestLogin_NoEnumeration: an unknown user, an invalid username and a wrong
// password get the same error, and each costs exactly one bcrypt
// comparison; an unknown user's is against the dummy hash, made at the
// same cost as real hashes.
func TestLogin_NoEnumeration(t *testing.T) {
	f := newFixture(t)
	f.Must(secrets.OpUpdate, "users/alice", map[string]any{"password": "right"})
	f.spy.Take()

	type attempt struct{ user, password string }
	cases := map[string]attempt{
		"wrong password":   {"alice", "wrong"},
		"unknown user":     {"mallory", "right"},
		"invalid username": {"bad!name", "right"},
		"too long":         {"alice", "right" + string(bytes.Repeat([]byte{'x'}, 80))},
	}
	var msgs []string
	for name, a := range cases {
		resp, err := f.login("127.0.0.1", a.user, a.password)
		se := checkFails(t, secrets.OpUpdate, "login/"+a.user, resp, err, secrets.ErrInvalidRequest)
		msgs = append(msgs, se.Msg)
		hashes := f.spy.Take()
		if len(hashes) != 1 {
			t.Fatalf("%s: %d bcrypt comparisons, want 1", name, len(hashes))
		}
		if a.user != "alice" && !bytes.Equal(hashes[0], userpass.DummyHash(f.Eng)) {
			t.Fatalf("%s: compared against %q, want the dummy hash", name, hashes[0])
		}
	}
	for _, m := range msgs {
		if m != "invalid username or password" {
			t.Fatalf("login errors = %q, want all %q", msgs, "invalid username or password")
		}
	}
	// The dummy hash has the same cost as a user's.
	f.mustLogin("alice", "right")
	real := f.spy.Take()[0]
	rc, err1 := bcrypt.Cost(real)
	dc, err2 := bcrypt.Cost(userpass.DummyHash(f.Eng))
	if err1 != nil || err2 != nil || rc != dc {
		t.Fatalf("cost of a user's hash %d (%v), of the dummy %d (%v); want equal", rc, err1, dc, err2)
	}
}

func TestLogin_MissingPassword(t *testing.T) {
	f := newFixture(t)
	for _, data := range []map[string]any{nil, {}, {"password": ""}} {
		se := f.Fails(secrets.OpUpdate, "login/alice", data, secrets.ErrInvalidRequest)
		if se.Msg != "missing password" {
			t.Fatalf("error = %q, want %q", se.Msg, "missing password")
		}
	}
	if n := len(f.spy.Take()); n != 0 {
		t.Fatalf("%d comparisons for a request without a password", n)
	}
}

func TestLogin_BoundCIDRs(t *testing.T) {
	f := newFixture(t)
	f.Must(secrets.OpUpdate, "users/alice", map[string]any{
		"password": "pw", "token_bound_cidrs": []any{"10.0.0.0/8", "192.168.1.5", "2001:db8::/32"},
	})
	tests := []struct {
		remote string
		ok     bool
	}{
		{"10.1.2.3", true},
		{"10.1.2.3:51234", true},
		{"::ffff:10.0.0.1", true},
		{"192.168.1.5", true},
		{"[2001:db8::7]:443", true},
		{"192.168.1.6", false},
		{"11.0.0.1", false},
		{"2001:db9::1", false},
		{"", false},
		{"not-an-ip", false},
	}
	for _, tt := range tests {
		t.Run(tt.remote, func(t *testing.T) {
			resp, err := f.with(t).login(tt.remote, "alice", "pw")
			if tt.ok {
				if err != nil {
					t.Fatalf("login from %q: %v", tt.remote, err)
				}
				return
			}
			checkFails(t, secrets.OpUpdate, "login/alice", resp, err, secrets.ErrPermissionDenied)
		})
	}
	// A wrong password from outside the CIDRs is still the generic 400.
	resp, err := f.login("11.0.0.1", "alice", "wrong")
	checkFails(t, secrets.OpUpdate, "login/alice", resp, err, secrets.ErrInvalidRequest)
}

func TestFactory_DefaultCost(t *testing.T) {
	view := storage.NewView(inmem.New(), "auth/x/")
	eng, err := userpass.Factory(context.Background(), secrets.Config{Type: "userpass", Storage: view})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := bcrypt.Cost(userpass.DummyHash(eng)); err != nil || c != bcrypt.DefaultCost {
		t.Fatalf("dummy hash cost = %d, %v; want %d", c, err, bcrypt.DefaultCost)
	}
	if raceEnabled {
		t.Skip("bcrypt at the default cost is too slow under the race detector")
	}
	ctx := context.Background()
	if _, err := eng.HandleRequest(ctx, &secrets.Request{Operation: secrets.OpCreate, Path: "users/u", Storage: view,
		Data: map[string]any{"password": "pw"}}); err != nil {
		t.Fatal(err)
	}
	e, err := view.Get(ctx, "user/u")
	if err != nil {
		t.Fatal(err)
	}
	var stored struct {
		PasswordHash []byte `json:"password_hash"`
	}
	if err := json.Unmarshal(e.Value, &stored); err != nil {
		t.Fatal(err)
	}
	if c, err := bcrypt.Cost(stored.PasswordHash); err != nil || c != bcrypt.DefaultCost {
		t.Fatalf("stored hash cost = %d, %v; want %d", c, err, bcrypt.DefaultCost)
	}
	resp, err := eng.HandleRequest(ctx, &secrets.Request{Operation: secrets.OpUpdate, Path: "login/u", Storage: view,
		Data: map[string]any{"password": "pw"}})
	if err != nil || resp.Auth == nil {
		t.Fatalf("login: %v, %+v", err, resp)
	}
}
