package core_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

func TestBatchTokens(t *testing.T) {
	n := newNode(t)
	n.must(n.root, secrets.OpUpdate, "sys/mounts/kv", map[string]any{"type": "kv"})
	n.must(n.root, secrets.OpUpdate, "kv/app", map[string]any{"v": "1"})
	n.policy("reader", `path "kv/*" { capabilities = ["read"] }
path "auth/token/create" { capabilities = ["update"] }`)
	parent := n.token(map[string]any{"policies": []any{"reader"}})
	b := n.tokenAs(parent.ClientToken, map[string]any{"type": "batch", "policies": []any{"reader"}, "ttl": "1h"})
	if !strings.HasPrefix(b.ClientToken, "hvb.") || b.Accessor != "" || b.Renewable || b.TokenType != "batch" {
		t.Fatalf("batch token = %+v", b)
	}
	if d := n.must(b.ClientToken, secrets.OpRead, "kv/app", nil).Data; d["v"] != "1" {
		t.Fatalf("read with a batch token = %v", d)
	}
	lk := n.must(b.ClientToken, secrets.OpRead, "auth/token/lookup-self", nil).Data
	if lk["type"] != "batch" || lk["accessor"] != "" || lk["renewable"] != false {
		t.Fatalf("lookup-self = %v", lk)
	}
	// Not renewable, not revocable, no children, no cubbyhole.
	n.wantErr(b.ClientToken, secrets.OpUpdate, "auth/token/renew-self", nil, errInvalid)
	n.wantErr(b.ClientToken, secrets.OpUpdate, "auth/token/revoke-self", nil, errInvalid)
	n.wantErr(n.root, secrets.OpUpdate, "auth/token/revoke", map[string]any{"token": b.ClientToken}, errInvalid)
	n.wantErr(b.ClientToken, secrets.OpUpdate, "auth/token/create", map[string]any{"policies": []any{"reader"}}, errInvalid)
	n.wantErr(b.ClientToken, secrets.OpUpdate, "cubbyhole/x", map[string]any{"a": "b"}, errInvalid)
	// Refused combinations.
	for _, body := range []map[string]any{
		{"type": "batch", "period": "1h"},
		{"type": "batch", "num_uses": 3},
		{"type": "batch", "id": "custom"},
		{"type": "batch"}, // root's policies: a root batch token
		{"id": "hvb.custom"},
	} {
		n.wantErr(n.root, secrets.OpUpdate, "auth/token/create", body, errInvalid)
	}
	// Nothing is stored: no accessor appears for a new batch token.
	accessors := func() int {
		return len(n.must(n.root, secrets.OpList, "auth/token/accessors", nil).Data["keys"].([]string))
	}
	before := accessors()
	n.token(map[string]any{"type": "batch", "policies": []any{"reader"}})
	if after := accessors(); after != before {
		t.Fatalf("accessors %d -> %d after a batch token", before, after)
	}
	// A tampered token is unknown.
	tampered := b.ClientToken[:len(b.ClientToken)-2] + "AA"
	if tampered == b.ClientToken {
		tampered = b.ClientToken[:len(b.ClientToken)-2] + "BB"
	}
	n.wantErr(tampered, secrets.OpRead, "kv/app", nil, errDenied)
	// It dies with its parent...
	n.must(n.root, secrets.OpUpdate, "auth/token/revoke", map[string]any{"token": parent.ClientToken})
	n.wantErr(b.ClientToken, secrets.OpRead, "kv/app", nil, errDenied)
	// ... and at its TTL (an orphan one, from root).
	o := n.token(map[string]any{"type": "batch", "policies": []any{"reader"}, "ttl": "10m"})
	n.must(o.ClientToken, secrets.OpRead, "kv/app", nil)
	n.clock.Advance(11 * time.Minute)
	n.wantErr(o.ClientToken, secrets.OpRead, "kv/app", nil, errDenied)

	// Logins through a role with token_type=batch (fakeAuth honours
	// token_type in the body) get one.
	n.must(n.root, secrets.OpUpdate, "sys/auth/up", map[string]any{"type": "userpass"})
	la := n.must("", secrets.OpUpdate, "auth/up/login/carol", map[string]any{"password": "pw-carol", "token_type": "batch"}).Auth
	if !strings.HasPrefix(la.ClientToken, "hvb.") || la.EntityID == "" {
		t.Fatalf("batch login = %+v", la)
	}
	n.must(la.ClientToken, secrets.OpRead, "auth/token/lookup-self", nil)
	// The mount's token_type: default-batch applies when the role does not
	// choose; service and batch force the type.
	login := func(tt string) string {
		return n.must("", secrets.OpUpdate, "auth/up/login/dave", map[string]any{"password": "pw-dave", "token_type": tt}).Auth.TokenType
	}
	n.must(n.root, secrets.OpUpdate, "sys/auth/up/tune", map[string]any{"token_type": "default-batch"})
	if got := n.must(n.root, secrets.OpRead, "sys/auth/up/tune", nil).Data["token_type"]; got != "default-batch" {
		t.Fatalf("tune read token_type = %v", got)
	}
	if a, b := login(""), login("service"); a != "batch" || b != "service" {
		t.Fatalf("default-batch mount: role default → %s, role service → %s", a, b)
	}
	n.must(n.root, secrets.OpUpdate, "sys/auth/up/tune", map[string]any{"token_type": "service"})
	if got := login("batch"); got != "service" {
		t.Fatalf("service mount: role batch → %s", got)
	}
	n.wantErr(n.root, secrets.OpUpdate, "sys/auth/up/tune", map[string]any{"token_type": "bogus"}, errInvalid)
	n.wantErr(n.root, secrets.OpUpdate, "sys/auth/token/tune", map[string]any{"token_type": "batch"}, errInvalid)
	n.wantErr(n.root, secrets.OpUpdate, "sys/mounts/kv/tune", map[string]any{"token_type": "batch"}, errInvalid)
	n.wantErr(n.root, secrets.OpUpdate, "sys/mounts/kv2", map[string]any{"type": "kv", "config": map[string]any{"token_type": "batch"}}, errInvalid)
	// A batch token survives a seal/unseal: its key comes from the
	// (stored) token salt.
	o2 := n.token(map[string]any{"type": "batch", "policies": []any{"reader"}, "ttl": "1h"})
	n.must(n.root, secrets.OpUpdate, "sys/seal", nil)
	n.unseal()
	n.must(o2.ClientToken, secrets.OpRead, "kv/app", nil)
}
