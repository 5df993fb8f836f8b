package core_test

import (
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

func TestRemount(t *testing.T) {
	n := newNode(t)
	n.must(n.root, secrets.OpUpdate, "sys/mounts/kv", map[string]any{"type": "kv"})
	n.must(n.root, secrets.OpUpdate, "kv/app", map[string]any{"password": "hunter2"})
	n.must(n.root, secrets.OpUpdate, "sys/mounts/other", map[string]any{"type": "kv"})
	before := n.must(n.root, secrets.OpRead, "sys/mounts/kv", nil).Data

	resp := n.must(n.root, secrets.OpUpdate, "sys/remount", map[string]any{"from": "kv", "to": "moved/kv"})
	id, _ := resp.Data["migration_id"].(string)
	if id == "" {
		t.Fatalf("remount = %+v", resp.Data)
	}
	st := n.must(n.root, secrets.OpRead, "sys/remount/status/"+id, nil).Data
	info, _ := st["migration_info"].(map[string]any)
	if st["migration_id"] != id || info["status"] != "success" || info["source_mount"] != "kv/" || info["target_mount"] != "moved/kv/" {
		t.Fatalf("status = %v", st)
	}
	// The data moved with the mount; the accessor and UUID are the same.
	if d := n.must(n.root, secrets.OpRead, "moved/kv/app", nil).Data; d["password"] != "hunter2" {
		t.Fatalf("read after remount = %v", d)
	}
	after := n.must(n.root, secrets.OpRead, "sys/mounts/moved/kv", nil).Data
	if after["uuid"] != before["uuid"] || after["accessor"] != before["accessor"] {
		t.Fatalf("mount changed identity: %v -> %v", before, after)
	}
	n.wantErr(n.root, secrets.OpRead, "kv/app", nil, secrets.ErrUnsupportedPath)

	// Refusals: onto an existing mount, protected paths, unknown source,
	// auth <-> secrets, unknown migration.
	for _, body := range []map[string]any{
		{"from": "moved/kv", "to": "other"},
		{"from": "moved/kv", "to": "other/sub"},
		{"from": "moved/kv", "to": "sys"},
		{"from": "moved/kv", "to": "cubbyhole"},
		{"from": "moved/kv", "to": "auth/token"},
		{"from": "moved/kv", "to": "auth/kv"},
		{"from": "cubbyhole", "to": "cubby2"},
		{"from": "sys", "to": "sys2"},
		{"from": "auth/token", "to": "auth/tok2"},
		{"from": "nothing", "to": "x"},
		{"from": "moved/kv"},
	} {
		n.wantErr(n.root, secrets.OpUpdate, "sys/remount", body, errInvalid)
	}
	n.wantErr(n.root, secrets.OpRead, "sys/remount/status/nope", nil, errInvalid)

	// sudo on sys/remount is not enough: the caller must manage both mounts.
	n.policy("remounter", `
path "sys/remount" { capabilities = ["update", "sudo"] }
path "sys/mounts/moved/*" { capabilities = ["update"] }
`)
	tok := n.token(map[string]any{"policies": []any{"remounter"}}).ClientToken
	n.wantErr(tok, secrets.OpUpdate, "sys/remount", map[string]any{"from": "moved/kv", "to": "elsewhere"}, errDenied)
	n.must(tok, secrets.OpUpdate, "sys/remount", map[string]any{"from": "moved/kv", "to": "moved/kv2"})
	plain := n.token(map[string]any{"policies": []any{"default"}}).ClientToken
	n.wantErr(plain, secrets.OpUpdate, "sys/remount", map[string]any{"from": "moved/kv2", "to": "moved/kv3"}, errDenied)

	// Auth methods move too; the tokens issued under the old path go.
	n.must(n.root, secrets.OpUpdate, "sys/auth/up", map[string]any{"type": "userpass"})
	login := n.must("", secrets.OpUpdate, "auth/up/login/alice", map[string]any{"password": "pw-alice"}).Auth
	n.must(n.root, secrets.OpUpdate, "sys/remount", map[string]any{"from": "auth/up", "to": "auth/people"})
	if n.alive(login.ClientToken) {
		t.Fatal("a token issued under the old auth path survived the remount")
	}
	n.must("", secrets.OpUpdate, "auth/people/login/alice", map[string]any{"password": "pw-alice"})
	n.wantErr("", secrets.OpUpdate, "auth/up/login/alice", map[string]any{"password": "pw-alice"}, errDenied)
}
