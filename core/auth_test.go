package core_test

import (
	"slices"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

func TestAuth_EnableLoginDisable(t *testing.T) {
	n := newNode(t)
	list := n.must(n.root, secrets.OpRead, "sys/auth", nil).Data
	tok, ok := list["token/"].(map[string]any)
	if !ok || tok["type"] != "token" || len(list) != 1 {
		t.Fatalf("sys/auth on a new cluster = %v", list)
	}
	n.wantErr(n.root, secrets.OpUpdate, "sys/auth/up", map[string]any{"type": "kv"}, errInvalid)
	n.wantErr(n.root, secrets.OpUpdate, "sys/auth/token", map[string]any{"type": "userpass"}, errInvalid)
	n.wantErr(n.root, secrets.OpDelete, "sys/auth/token", nil, errInvalid)
	n.must(n.root, secrets.OpUpdate, "sys/auth/up", map[string]any{"type": "userpass", "description": "people", "config": map[string]any{"max_lease_ttl": "1h"}})
	n.wantErr(n.root, secrets.OpUpdate, "sys/auth/up", map[string]any{"type": "userpass"}, errInvalid)
	me := n.must(n.root, secrets.OpRead, "sys/auth", nil).Data["up/"].(map[string]any)
	if me["type"] != "userpass" || me["description"] != "people" {
		t.Fatalf("sys/auth up/ = %v", me)
	}
	if r := n.must(n.root, secrets.OpRead, "sys/mounts/auth/up", nil).Data; r["type"] != "userpass" {
		t.Fatalf("sys/mounts/auth/up = %v", r)
	}
	// Login needs no token; a token sent anyway is ignored.
	for _, tokIn := range []string{"", "hvs.garbage"} {
		resp := n.must(tokIn, secrets.OpUpdate, "auth/up/login/alice", map[string]any{"password": "pw-alice"})
		a := resp.Auth
		if a == nil || !slices.Equal(a.Policies, []string{"default", "kv-read"}) || !a.Orphan || !a.Renewable ||
			a.Metadata["username"] != "alice" || a.LeaseDuration != 3600 || a.TokenType != "service" {
			t.Fatalf("login auth = %+v (mount max TTL 1h must bound the engine's 2h)", a)
		}
		d := n.must(a.ClientToken, secrets.OpRead, "auth/token/lookup-self", nil).Data
		if d["display_name"] != "up-alice" || d["path"] != "auth/up/login/alice" {
			t.Fatalf("login token lookup = %v", d)
		}
	}
	// A wrong password: the engine's error, unchanged, and no token.
	err := n.wantErr("", secrets.OpUpdate, "auth/up/login/alice", map[string]any{"password": "nope"}, errInvalid)
	if err.Error() != "invalid username or password" {
		t.Fatalf("login failure message = %q", err)
	}
	// Other paths of the method need a token and the ACL.
	n.wantErr("", secrets.OpRead, "auth/up/whoami", nil, errDenied)
	user := n.must("", secrets.OpUpdate, "auth/up/login/bob", map[string]any{"password": "pw-bob"}).Auth
	n.wantErr(user.ClientToken, secrets.OpRead, "auth/up/whoami", nil, errDenied)
	w := n.must(n.root, secrets.OpRead, "auth/up/whoami", nil).Data
	if w["client_token"] != "" || w["accessor"] == "" {
		t.Fatalf("auth engines must get the accessor, never the token: %v", w)
	}
	// Tune; then disable revokes every token the method issued.
	n.must(n.root, secrets.OpUpdate, "sys/auth/up/tune", map[string]any{"max_lease_ttl": "30m", "default_lease_ttl": "10m"})
	if a := n.must("", secrets.OpUpdate, "auth/up/login/carol", map[string]any{"password": "pw-carol"}).Auth; a.LeaseDuration != 1800 {
		t.Fatalf("tuned login TTL = %d, want 1800", a.LeaseDuration)
	}
	n.must(n.root, secrets.OpDelete, "sys/auth/up", nil)
	if n.alive(user.ClientToken) {
		t.Fatal("a token issued by a disabled auth method still works")
	}
	n.wantErr("", secrets.OpUpdate, "auth/up/login/alice", map[string]any{"password": "pw-alice"}, errDenied)
}
