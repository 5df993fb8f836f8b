package core_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/secrets"
)

func TestTokens_LookupShape(t *testing.T) {
	n := newNode(t)
	a := n.token(map[string]any{
		"policies": []any{"app"}, "ttl": "1h", "display_name": "ci", "meta": map[string]any{"team": "db"},
		"num_uses": float64(5), "explicit_max_ttl": "2h",
	})
	if !slices.Equal(a.Policies, []string{"app", "default"}) || a.LeaseDuration != 3600 || !a.Renewable || a.Orphan {
		t.Fatalf("auth block = %+v", a)
	}
	if !strings.HasPrefix(a.ClientToken, "hvs.") || len(a.Accessor) != 24 {
		t.Fatalf("token %q accessor %q: want hvs. prefix and a 24-char accessor", a.ClientToken, a.Accessor)
	}
	d := n.must(a.ClientToken, secrets.OpRead, "auth/token/lookup-self", nil).Data
	want := map[string]any{
		"accessor": a.Accessor, "creation_ttl": int64(3600), "display_name": "token-ci", "entity_id": "",
		"explicit_max_ttl": int64(7200), "id": a.ClientToken, "num_uses": 4, "orphan": false,
		"path": "auth/token/create", "renewable": true, "ttl": int64(3600), "type": "service",
	}
	for k, v := range want {
		if fmt.Sprint(d[k]) != fmt.Sprint(v) {
			t.Errorf("lookup-self %s = %v, want %v", k, d[k], v)
		}
	}
	for _, k := range []string{"creation_time", "expire_time", "issue_time", "meta", "policies"} {
		if d[k] == nil {
			t.Errorf("lookup-self lacks %s", k)
		}
	}
	// lookup (by token, as root) and lookup-accessor (no id).
	d2 := n.must(n.root, secrets.OpUpdate, "auth/token/lookup", map[string]any{"token": a.ClientToken}).Data
	if d2["accessor"] != a.Accessor || d2["id"] != a.ClientToken {
		t.Fatalf("lookup = %v", d2)
	}
	d3 := n.must(n.root, secrets.OpUpdate, "auth/token/lookup-accessor", map[string]any{"accessor": a.Accessor}).Data
	if d3["id"] != "" || d3["display_name"] != "token-ci" {
		t.Fatalf("lookup-accessor = %v, want no id", d3)
	}
	n.wantErr(n.root, secrets.OpUpdate, "auth/token/lookup", map[string]any{"token": "hvs.nope"}, errDenied)
	n.wantErr(n.root, secrets.OpUpdate, "auth/token/lookup-accessor", map[string]any{"accessor": "nope"}, errInvalid)
	// The root token never expires.
	rd := n.must(n.root, secrets.OpRead, "auth/token/lookup-self", nil).Data
	if rd["expire_time"] != nil || rd["ttl"] != int64(0) || rd["path"] != "auth/token/root" || !slices.Equal(rd["policies"].([]string), []string{"root"}) {
		t.Fatalf("root lookup = %v", rd)
	}
}

func TestTokens_RevokeTree(t *testing.T) {
	n := newNode(t)
	n.policy("app", `path "secret/*" { capabilities = ["read"] }`)
	n.policy("creator", `
path "auth/token/create" { capabilities = ["update"] }
path "auth/token/create-orphan" { capabilities = ["update"] }
`)
	parent := n.token(map[string]any{"policies": []any{"app", "creator"}})
	child := n.tokenAs(parent.ClientToken, map[string]any{"policies": []any{"app", "creator"}})
	grandchild := n.tokenAs(child.ClientToken, map[string]any{"policies": []any{"app"}})
	orphan := n.must(child.ClientToken, secrets.OpUpdate, "auth/token/create-orphan", map[string]any{"policies": []any{"app"}}).Auth
	if !orphan.Orphan || child.Orphan {
		t.Fatalf("orphan flags: orphan %v, child %v", orphan.Orphan, child.Orphan)
	}
	n.must(n.root, secrets.OpUpdate, "auth/token/revoke", map[string]any{"token": child.ClientToken})
	for name, tok := range map[string]string{"child": child.ClientToken, "grandchild": grandchild.ClientToken} {
		if n.alive(tok) {
			t.Errorf("%s survived its parent's revocation", name)
		}
	}
	for name, tok := range map[string]string{"parent": parent.ClientToken, "orphan": orphan.ClientToken} {
		if !n.alive(tok) {
			t.Errorf("%s was revoked with the child", name)
		}
	}
	// revoke-self, revoke-accessor.
	n.must(parent.ClientToken, secrets.OpUpdate, "auth/token/revoke-self", nil)
	if n.alive(parent.ClientToken) {
		t.Fatal("revoke-self left the token alive")
	}
	n.must(n.root, secrets.OpUpdate, "auth/token/revoke-accessor", map[string]any{"accessor": orphan.Accessor})
	if n.alive(orphan.ClientToken) {
		t.Fatal("revoke-accessor left the token alive")
	}
	// revoke-orphan: the children survive as orphans.
	p2 := n.token(map[string]any{"policies": []any{"app", "creator"}})
	c2 := n.tokenAs(p2.ClientToken, map[string]any{"policies": []any{"app"}})
	n.must(n.root, secrets.OpUpdate, "auth/token/revoke-orphan", map[string]any{"token": p2.ClientToken})
	if n.alive(p2.ClientToken) || !n.alive(c2.ClientToken) {
		t.Fatalf("revoke-orphan: parent alive %v, child alive %v; want false, true", n.alive(p2.ClientToken), n.alive(c2.ClientToken))
	}
	if d := n.must(c2.ClientToken, secrets.OpRead, "auth/token/lookup-self", nil).Data; d["orphan"] != true {
		t.Fatalf("orphaned child reports orphan = %v", d["orphan"])
	}
	// accessors LIST needs sudo: root has it, the creator policy does not.
	keys := n.must(n.root, secrets.OpList, "auth/token/accessors/", nil).Data["keys"].([]string)
	if !slices.Contains(keys, c2.Accessor) || slices.Contains(keys, p2.Accessor) {
		t.Fatalf("accessors = %v", keys)
	}
}

func TestTokens_PrivilegeEscalation(t *testing.T) {
	n := newNode(t)
	n.policy("app", `path "secret/*" { capabilities = ["read"] }`)
	n.policy("creator", `
path "auth/token/create" { capabilities = ["update"] }
path "auth/token/create-orphan" { capabilities = ["update"] }
path "auth/token/revoke-orphan" { capabilities = ["update"] }
path "auth/token/accessors" { capabilities = ["list"] }
`)
	parent := n.token(map[string]any{"policies": []any{"app", "creator"}}).ClientToken
	cases := []struct {
		name string
		path string
		data map[string]any
		kind error
	}{
		{"policy the parent lacks", "auth/token/create", map[string]any{"policies": []any{"app", "admin"}}, errDenied},
		{"root policy", "auth/token/create", map[string]any{"policies": []any{"root"}}, errDenied},
		{"orphan without sudo", "auth/token/create", map[string]any{"no_parent": true}, errDenied},
		{"chosen id without sudo", "auth/token/create", map[string]any{"id": "my-token"}, errDenied},
		{"periodic without sudo", "auth/token/create", map[string]any{"period": "1h"}, errDenied},
		{"response-wrapping policy", "auth/token/create", map[string]any{"policies": []any{"response-wrapping"}}, errDenied},
		{"batch token with a use limit", "auth/token/create", map[string]any{"type": "batch", "num_uses": 2}, errInvalid},
		{"negative uses", "auth/token/create", map[string]any{"num_uses": float64(-1)}, errInvalid},
		{"revoke-orphan without sudo", "auth/token/revoke-orphan", map[string]any{"token": parent}, errDenied},
		{"no create capability on a role", "auth/token/create/none", nil, errDenied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n.wantErr(parent, secrets.OpUpdate, tc.path, tc.data, tc.kind)
		})
	}
	n.wantErr(parent, secrets.OpList, "auth/token/accessors/", nil, errDenied)
	// Allowed: a subset, default included, and create-orphan (Vault: no sudo needed there).
	sub := n.tokenAs(parent, map[string]any{"policies": []any{"app", "default"}})
	if !slices.Equal(sub.Policies, []string{"app", "default"}) {
		t.Fatalf("subset child policies = %v", sub.Policies)
	}
	if o := n.must(parent, secrets.OpUpdate, "auth/token/create-orphan", map[string]any{"policies": []any{"app"}}).Auth; !o.Orphan {
		t.Fatal("create-orphan did not make an orphan")
	}
	// A child without explicit policies inherits the parent's.
	inh := n.tokenAs(parent, nil)
	if !slices.Equal(inh.Policies, []string{"app", "creator", "default"}) {
		t.Fatalf("inherited policies = %v", inh.Policies)
	}
	// Root may do all of it, including a root child and a chosen ID.
	r := n.token(map[string]any{"id": "chosen-root-child", "policies": []any{"root"}})
	if r.ClientToken != "chosen-root-child" || !slices.Equal(r.Policies, []string{"root"}) {
		t.Fatalf("root child = %+v", r)
	}
	n.wantErr(n.root, secrets.OpUpdate, "auth/token/create", map[string]any{"id": "chosen-root-child"}, errInvalid)
}

func TestTokens_NumUses(t *testing.T) {
	n := newNode(t)
	a := n.token(map[string]any{"num_uses": float64(2), "policies": []any{"default"}})
	n.must(a.ClientToken, secrets.OpRead, "auth/token/lookup-self", nil)
	d := n.must(a.ClientToken, secrets.OpRead, "auth/token/lookup-self", nil).Data
	if d["num_uses"] != 0 {
		t.Fatalf("num_uses on the last use = %v, want 0", d["num_uses"])
	}
	n.wantErr(a.ClientToken, secrets.OpRead, "auth/token/lookup-self", nil, errDenied)
	// Used up means revoked: the accessor is gone too.
	n.wantErr(n.root, secrets.OpUpdate, "auth/token/lookup-accessor", map[string]any{"accessor": a.Accessor}, errInvalid)
}

func TestTokens_ExpiryAndExpirationManager(t *testing.T) {
	n := newNode(t)
	n.policy("creator", `path "auth/token/create" { capabilities = ["update"] }`)
	a := n.token(map[string]any{"ttl": "60s", "policies": []any{"creator"}})
	child := n.tokenAs(a.ClientToken, map[string]any{"ttl": "1h"})
	n.must(a.ClientToken, secrets.OpRead, "auth/token/lookup-self", nil)
	n.clock.Advance(61 * time.Second)
	// Refused at once, before any cleanup ran.
	n.wantErr(a.ClientToken, secrets.OpRead, "auth/token/lookup-self", nil, errDenied)
	// The manager revokes it, with its child (whose own TTL is not over).
	waitFor(t, 10*time.Second, "the expired token's child to be revoked", func() bool { return !n.alive(child.ClientToken) })
	n.wantErr(n.root, secrets.OpUpdate, "auth/token/lookup-accessor", map[string]any{"accessor": a.Accessor}, errInvalid)

	// The manager survives a seal/unseal cycle (teardown → setup).
	b := n.token(map[string]any{"ttl": "30s"})
	n.c.SealNode()
	n.unseal()
	if !n.alive(b.ClientToken) {
		t.Fatal("token lost over seal/unseal")
	}
	n.clock.Advance(31 * time.Second)
	waitFor(t, 10*time.Second, "the rebuilt expiration manager to revoke a token", func() bool {
		_, err := n.do(n.root, secrets.OpUpdate, "auth/token/lookup-accessor", map[string]any{"accessor": b.Accessor})
		return err != nil
	})
}

func TestTokens_Renew(t *testing.T) {
	n := newNode(t)
	a := n.token(map[string]any{"ttl": "1h", "explicit_max_ttl": "3h"})
	n.clock.Advance(30 * time.Minute)
	r := n.must(a.ClientToken, secrets.OpUpdate, "auth/token/renew-self", map[string]any{"increment": "2h"})
	if r.Auth == nil || r.Auth.LeaseDuration != 7200 || r.Auth.ClientToken != a.ClientToken {
		t.Fatalf("renew-self = %+v", r.Auth)
	}
	// Past the explicit max TTL (3h after creation, 2h30 from now): capped, with a warning.
	r = n.must(n.root, secrets.OpUpdate, "auth/token/renew", map[string]any{"token": a.ClientToken, "increment": float64(5 * 3600)})
	if r.Auth.LeaseDuration != 9000 || len(r.Warnings) == 0 {
		t.Fatalf("capped renew = %d s, warnings %v; want 9000 s and a warning", r.Auth.LeaseDuration, r.Warnings)
	}
	d := n.must(n.root, secrets.OpUpdate, "auth/token/lookup", map[string]any{"token": a.ClientToken}).Data
	if d["ttl"] != int64(9000) || d["last_renewal"] == nil {
		t.Fatalf("after renew lookup ttl=%v last_renewal=%v", d["ttl"], d["last_renewal"])
	}
	// Not renewable, and the root token (no TTL) cannot be renewed.
	nr := n.token(map[string]any{"ttl": "1h", "renewable": false})
	n.wantErr(nr.ClientToken, secrets.OpUpdate, "auth/token/renew-self", nil, errInvalid)
	n.wantErr(n.root, secrets.OpUpdate, "auth/token/renew-self", nil, errInvalid)
	// Periodic tokens renew to their period and escape the max TTL.
	p := n.token(map[string]any{"period": "2h", "policies": []any{"default"}})
	for range 40 { // 60 h in all, past the 48 h max TTL
		n.clock.Advance(90 * time.Minute)
		if r := n.must(p.ClientToken, secrets.OpUpdate, "auth/token/renew-self", nil); r.Auth.LeaseDuration != 7200 {
			t.Fatalf("periodic renew = %d, want 7200", r.Auth.LeaseDuration)
		}
	}
	// renew-accessor.
	b := n.token(map[string]any{"ttl": "1h"})
	if r := n.must(n.root, secrets.OpUpdate, "auth/token/renew-accessor", map[string]any{"accessor": b.Accessor}); r.Auth.ClientToken != "" || r.Auth.LeaseDuration != 3600 {
		t.Fatalf("renew-accessor = %+v", r.Auth)
	}
}

func TestTokens_TTLBounds(t *testing.T) {
	n := newNode(t) // default 24h, max 48h
	if a := n.token(map[string]any{"policies": []any{"default"}}); a.LeaseDuration != 24*3600 {
		t.Fatalf("default TTL = %d", a.LeaseDuration)
	}
	r := n.must(n.root, secrets.OpUpdate, "auth/token/create", map[string]any{"ttl": "100h"})
	if r.Auth.LeaseDuration != 48*3600 || len(r.Warnings) == 0 {
		t.Fatalf("over-max TTL = %d, warnings %v", r.Auth.LeaseDuration, r.Warnings)
	}
	// Tuning auth/token/ lowers the bounds for new tokens.
	n.must(n.root, secrets.OpUpdate, "sys/auth/token/tune", map[string]any{"default_lease_ttl": "1h", "max_lease_ttl": "2h"})
	if a := n.token(map[string]any{"policies": []any{"default"}}); a.LeaseDuration != 3600 {
		t.Fatalf("tuned default TTL = %d", a.LeaseDuration)
	}
	if a := n.token(map[string]any{"ttl": "5h"}); a.LeaseDuration != 7200 {
		t.Fatalf("tuned max TTL = %d", a.LeaseDuration)
	}
	tune := n.must(n.root, secrets.OpRead, "sys/auth/token/tune", nil).Data
	if tune["default_lease_ttl"] != int64(3600) || tune["max_lease_ttl"] != int64(7200) {
		t.Fatalf("tune = %v", tune)
	}
}

func TestTokens_Roles(t *testing.T) {
	n := newNode(t)
	n.policy("app", `path "secret/*" { capabilities = ["read"] }`)
	n.must(n.root, secrets.OpUpdate, "auth/token/roles/ci", map[string]any{
		"allowed_policies": []any{"app"}, "orphan": true, "path_suffix": "v1", "token_explicit_max_ttl": "1h",
	})
	role := n.must(n.root, secrets.OpRead, "auth/token/roles/ci", nil).Data
	if role["orphan"] != true || role["path_suffix"] != "v1" || role["token_explicit_max_ttl"] != int64(3600) {
		t.Fatalf("role = %v", role)
	}
	if keys := n.must(n.root, secrets.OpList, "auth/token/roles/", nil).Data["keys"].([]string); !slices.Equal(keys, []string{"ci"}) {
		t.Fatalf("roles = %v", keys)
	}
	a := n.must(n.root, secrets.OpUpdate, "auth/token/create/ci", nil).Auth
	if !slices.Equal(a.Policies, []string{"app", "default"}) || !a.Orphan || a.LeaseDuration != 3600 {
		t.Fatalf("role token = %+v", a)
	}
	d := n.must(a.ClientToken, secrets.OpRead, "auth/token/lookup-self", nil).Data
	if d["path"] != "auth/token/create/ci/v1" || d["role"] != "ci" {
		t.Fatalf("role token path=%v role=%v", d["path"], d["role"])
	}
	n.wantErr(n.root, secrets.OpUpdate, "auth/token/create/ci", map[string]any{"policies": []any{"other"}}, errInvalid)
	n.wantErr(n.root, secrets.OpUpdate, "auth/token/create/missing", nil, errInvalid)
	n.must(n.root, secrets.OpDelete, "auth/token/roles/ci", nil)
	n.wantErr(n.root, secrets.OpRead, "auth/token/roles/ci", nil, secrets.ErrNotFound)
}

func TestTokens_ConcurrentLastUse(t *testing.T) {
	n := newNode(t)
	a := n.token(map[string]any{"num_uses": float64(1), "policies": []any{"default"}})
	const workers = 8
	errs := make(chan error, workers)
	for range workers {
		go func() {
			_, err := n.c.HandleRequest(context.Background(), &core.Request{
				Operation: secrets.OpRead, Path: "auth/token/lookup-self", ClientToken: a.ClientToken,
			})
			errs <- err
		}()
	}
	ok := 0
	for range workers {
		if <-errs == nil {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d requests succeeded with a single-use token, want exactly 1", ok)
	}
}
