package approle_test

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultd/vaultd/auth/approle"
	"github.com/vaultd/vaultd/secrets"
)

func TestLogin_Success(t *testing.T) {
	f := newFixture(t)
	id := f.role("web", map[string]any{
		"token_policies": "dev,ops", "token_ttl": "20m", "token_max_ttl": "30m", "token_period": "0",
		"token_num_uses": 3, "token_explicit_max_ttl": "1h", "token_no_default_policy": true,
	})
	sid, _ := f.secretID("web", map[string]any{"metadata": `{"tag1":"production","role_name":"spoofed"}`})
	resp, err := f.login("127.0.0.1", id, sid)
	if err != nil {
		t.Fatal(err)
	}
	want := &secrets.Auth{
		Policies:     []string{"dev", "ops"},
		Metadata:     map[string]string{"role_name": "web", "tag1": "production"},
		TTL:          20 * time.Minute,
		MaxTTL:       30 * time.Minute,
		NumUses:      3,
		Renewable:    true,
		ExplicitMax:  time.Hour,
		NoDefaultPol: true,
		Alias:        id,
	}
	if !reflect.DeepEqual(resp.Auth, want) || resp.Data != nil {
		t.Fatalf("login = %+v (data %v), want %+v", resp.Auth, resp.Data, want)
	}
	// Whitespace around the credentials is ignored, as in Vault.
	f.mustLogin(" "+id+"\n", "\t"+sid)
	f.AssertContained()
}

func TestLogin_MissingRoleID(t *testing.T) {
	f := newFixture(t)
	for _, data := range []map[string]any{nil, {}, {"role_id": " "}, {"secret_id": "x"}} {
		se := f.Fails(secrets.OpUpdate, "login", data, secrets.ErrInvalidRequest)
		if se.Msg != "missing role_id" {
			t.Fatalf("error = %q", se.Msg)
		}
	}
	se := f.Fails(secrets.OpUpdate, "login", map[string]any{"role_id": map[string]any{}}, secrets.ErrInvalidRequest)
	if se.Msg != `error converting input for field "role_id": expected a string` {
		t.Fatalf("error = %q", se.Msg)
	}
}

// TestLogin_NoEnumeration: every way of failing before a secret ID is
// accepted gets the same error and does the same storage work.
func TestLogin_NoEnumeration(t *testing.T) {
	f := newFixture(t)
	id := f.role("web", nil)
	sid, _ := f.secretID("web", nil)
	f.role("other", nil)
	otherSID, _ := f.secretID("other", nil)
	destroyed, _ := f.secretID("web", nil)
	f.Must(secrets.OpUpdate, "role/web/secret-id/destroy", map[string]any{"secret_id": destroyed})
	used, _ := f.secretID("web", map[string]any{"num_uses": 1})
	f.mustLogin(id, used)

	cases := []struct{ name, roleID, secretID string }{
		{"unknown role_id", "no-such-role-id", sid},
		{"unknown role_id, no secret", "no-such-role-id", ""},
		{"wrong secret_id", id, "wrong-secret"},
		{"missing secret_id", id, ""},
		{"secret_id of another role", id, otherSID},
		{"destroyed secret_id", id, destroyed},
		{"used-up secret_id", id, used},
		{"role_id as secret_id", id, id},
	}
	var work [4]int64
	for i, c := range cases {
		f.view.calls()
		f.failsLogin(c.roleID, c.secretID)
		got := f.view.calls()
		if i == 0 {
			work = got
		} else if got != work {
			t.Errorf("%s: storage calls [gets puts lists txns] = %v, want %v as for %s", c.name, got, work, cases[0].name)
		}
	}
	if work[1]+work[3] != 0 {
		t.Fatalf("a failed login wrote to storage: %v", work)
	}
	f.mustLogin(id, sid) // the real one still works
}

func TestLogin_NumUses(t *testing.T) {
	f := newFixture(t)
	id := f.role("web", map[string]any{"secret_id_num_uses": 3})
	sid, acc := f.secretID("web", nil)
	for i := range 3 {
		f.mustLogin(id, sid)
		if i < 2 {
			look := f.MustJSON(secrets.OpUpdate, "role/web/secret-id/lookup", map[string]any{"secret_id": sid})
			if look["secret_id_num_uses"] != float64(2-i) {
				t.Fatalf("after %d logins: secret_id_num_uses = %v", i+1, look["secret_id_num_uses"])
			}
		}
	}
	f.failsLogin(id, sid)
	f.Fails(secrets.OpUpdate, "role/web/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": acc}, secrets.ErrNotFound)
	for _, k := range f.StoredKeys() {
		if strings.HasPrefix(k, "secret-id/") || strings.HasPrefix(k, "accessor/") {
			t.Fatalf("used-up secret ID left %q", k)
		}
	}
}

// TestLogin_NumUsesConcurrent: with n uses, exactly n of many concurrent
// logins succeed.
func TestLogin_NumUsesConcurrent(t *testing.T) {
	f := newFixture(t)
	id := f.role("web", nil)
	const uses, clients = 5, 24
	sid, _ := f.secretID("web", map[string]any{"num_uses": uses})
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range clients {
		wg.Go(func() {
			<-start
			resp, err := f.Eng.HandleRequest(context.Background(), f.Req(secrets.OpUpdate, "login",
				map[string]any{"role_id": id, "secret_id": sid}, "127.0.0.1"))
			switch {
			case err == nil && resp.Auth != nil:
				ok.Add(1)
			case err != nil && err.Error() == "invalid role or secret ID":
				failed.Add(1)
			default:
				t.Errorf("login: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok.Load() != uses || failed.Load() != clients-uses {
		t.Fatalf("%d logins succeeded and %d failed, want %d and %d", ok.Load(), failed.Load(), uses, clients-uses)
	}
}

func TestLogin_CIDRs(t *testing.T) {
	f := newFixture(t)
	id := f.role("web", map[string]any{"secret_id_bound_cidrs": "10.0.0.0/8", "token_bound_cidrs": "10.0.0.0/9"})
	narrow, _ := f.secretID("web", map[string]any{"cidr_list": "10.1.0.0/16", "num_uses": 2})
	tokenNarrow, _ := f.secretID("web", map[string]any{"token_bound_cidrs": "10.2.0.0/16"})
	wide, _ := f.secretID("web", nil)

	tests := []struct {
		name, remote, secret string
		kind                 error
		msg                  string
	}{
		{"outside secret cidr_list", "10.2.0.1", narrow, secrets.ErrInvalidRequest,
			`source address "10.2.0.1" unauthorized through CIDR restrictions on the secret ID`},
		{"outside role secret_id_bound_cidrs", "11.0.0.1", wide, secrets.ErrInvalidRequest,
			`source address "11.0.0.1" unauthorized by CIDR restrictions on the role`},
		{"outside role token_bound_cidrs", "10.200.0.1", wide, secrets.ErrPermissionDenied, "permission denied"},
		{"outside secret token_bound_cidrs", "10.1.0.1", tokenNarrow, secrets.ErrPermissionDenied, "permission denied"},
		{"no address", "", wide, secrets.ErrInvalidRequest,
			`source address "" unauthorized by CIDR restrictions on the role`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.with(t).login(tt.remote, id, tt.secret)
			se := checkFails(t, secrets.OpUpdate, "login", resp, err, tt.kind)
			if se.Msg != tt.msg {
				t.Fatalf("error = %q, want %q", se.Msg, tt.msg)
			}
		})
	}
	// Refusals consumed no use: narrow still has both.
	for range 2 {
		if _, err := f.login("10.1.2.3:4444", id, narrow); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.login("10.1.2.3", id, narrow); err == nil {
		t.Fatal("third login with a 2-use secret ID succeeded")
	}
	if _, err := f.login("10.2.9.9", id, tokenNarrow); err != nil {
		t.Fatal(err)
	}
	if _, err := f.login("::ffff:10.3.0.1", id, wide); err != nil {
		t.Fatal(err)
	}
}

func TestLogin_WithoutSecretID(t *testing.T) {
	f := newFixture(t)
	id := f.role("svc", map[string]any{"bind_secret_id": false, "secret_id_bound_cidrs": "192.168.0.0/24", "token_policies": "p"})
	resp, err := f.login("192.168.0.7", id, "")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Auth.Alias != id || !reflect.DeepEqual(resp.Auth.Metadata, map[string]string{"role_name": "svc"}) {
		t.Fatalf("auth = %+v", resp.Auth)
	}
	resp, err = f.login("192.168.1.7", id, "")
	checkFails(t, secrets.OpUpdate, "login", resp, err, secrets.ErrInvalidRequest)

	id2 := f.role("svc2", map[string]any{"bind_secret_id": false, "token_bound_cidrs": "192.168.0.0/24"})
	if _, err := f.login("192.168.0.8", id2, ""); err != nil {
		t.Fatal(err)
	}
	resp, err = f.login("192.168.1.8", id2, "")
	checkFails(t, secrets.OpUpdate, "login", resp, err, secrets.ErrPermissionDenied)
}

func TestSecretIDs_NoPlaintextInStorage(t *testing.T) {
	f := newFixture(t)
	id := f.role("web", map[string]any{"secret_id_num_uses": 5})
	var ids []string
	for range 3 {
		sid, _ := f.secretID("web", nil)
		ids = append(ids, sid)
	}
	custom := "custom-Secret-ID-value-0123456789"
	f.Must(secrets.OpUpdate, "role/web/custom-secret-id", map[string]any{"secret_id": custom})
	ids = append(ids, custom)
	for _, sid := range ids {
		f.mustLogin(id, sid) // consumes a use: the entry is rewritten
	}
	for _, sid := range ids {
		f.AssertNoPlaintext(sid)
	}
	f.AssertContained()
}

// TestRestart: a new engine on the same storage (a restart, or another
// node after failover) keeps the salt and accepts the same secret IDs.
func TestRestart(t *testing.T) {
	f := newFixture(t)
	id := f.role("web", nil)
	sid, _ := f.secretID("web", map[string]any{"num_uses": 2})
	f.mustLogin(id, sid)
	salt, err := f.view.Get(context.Background(), "salt")
	if err != nil || len(salt.Value) != 32 {
		t.Fatalf("salt: %v, %d bytes", err, len(salt.Value))
	}

	eng2, err := approle.Factory(context.Background(), secrets.Config{Type: "approle", Storage: f.view, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f2 := f.with(t) // its own Mount: the engine swap below leaves f alone
	f2.Eng = eng2
	f2.mustLogin(id, sid)
	f2.failsLogin(id, sid) // the second use was the last
	again, err := f.view.Get(context.Background(), "salt")
	if err != nil || string(again.Value) != string(salt.Value) {
		t.Fatal("the salt changed across engines")
	}
}

// TestLogin_BeforeAnyRole: a login on a fresh mount fails cleanly and
// creates no salt.
func TestLogin_BeforeAnyRole(t *testing.T) {
	f := newFixture(t)
	f.failsLogin("some-role", "some-secret")
	if keys := f.StoredKeys(); len(keys) != 0 {
		t.Fatalf("a failed login stored %q", keys)
	}
}
