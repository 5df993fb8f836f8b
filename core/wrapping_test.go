package core_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/secrets"
)

// cubbyKeys lists the physical keys below the cubbyhole mount.
func (n *node) cubbyKeys(t *testing.T) []string {
	t.Helper()
	var uuid string
	for _, me := range n.c.Mounts() {
		if me.Type == "cubbyhole" {
			uuid = me.UUID
		}
	}
	if uuid == "" {
		t.Fatal("no cubbyhole mount")
	}
	var out []string
	var walk func(p string)
	walk = func(p string) {
		keys, err := n.phys.List(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if strings.HasSuffix(k, "/") {
				walk(p + k)
			} else {
				out = append(out, p+k)
			}
		}
	}
	walk("logical/" + uuid + "/")
	return out
}

func TestCubbyhole_PerTokenAndDestroyed(t *testing.T) {
	n := newNode(t)
	a := n.token(map[string]any{"policies": []any{"default"}})
	b := n.token(map[string]any{"policies": []any{"default"}})
	n.must(a.ClientToken, secrets.OpUpdate, "cubbyhole/app/db", map[string]any{"pw": "a-secret"})
	n.must(b.ClientToken, secrets.OpUpdate, "cubbyhole/app/db", map[string]any{"pw": "b-secret"})
	if d := n.must(a.ClientToken, secrets.OpRead, "cubbyhole/app/db", nil).Data; d["pw"] != "a-secret" {
		t.Fatalf("a reads %v", d)
	}
	if d := n.must(b.ClientToken, secrets.OpRead, "cubbyhole/app/db", nil).Data; d["pw"] != "b-secret" {
		t.Fatalf("b reads %v", d)
	}
	// Even root sees only its own cubbyhole.
	n.wantErr(n.root, secrets.OpRead, "cubbyhole/app/db", nil, secrets.ErrNotFound)
	keys := n.must(a.ClientToken, secrets.OpList, "cubbyhole/app/", nil).Data["keys"].([]any)
	if len(keys) != 1 || keys[0] != "db" {
		t.Fatalf("list = %v", keys)
	}
	phys := n.cubbyKeys(t)
	if len(phys) != 2 {
		t.Fatalf("physical cubbyhole keys = %v", phys)
	}
	for _, k := range phys {
		for _, tok := range []string{a.ClientToken, b.ClientToken, strings.TrimPrefix(a.ClientToken, "hvs."), a.Accessor} {
			if strings.Contains(k, tok) {
				t.Fatalf("storage key %q contains a token or accessor", k)
			}
		}
	}
	n.must(n.root, secrets.OpUpdate, "auth/token/revoke", map[string]any{"token": a.ClientToken})
	if phys := n.cubbyKeys(t); len(phys) != 1 {
		t.Fatalf("after revoking a, cubbyhole keys = %v, want b's only", phys)
	}
	n.must(b.ClientToken, secrets.OpDelete, "cubbyhole/app/db", nil)
	n.wantErr(b.ClientToken, secrets.OpRead, "cubbyhole/app/db", nil, secrets.ErrNotFound)
	n.wantErr(n.root, secrets.OpDelete, "sys/mounts/cubbyhole", nil, errInvalid)
}

func wrapped(n *node, token, path string, op secrets.Operation, data map[string]any, ttl time.Duration) (*core.Response, error) {
	return n.c.HandleRequest(context.Background(), &core.Request{
		Operation: op, Path: path, Data: data, ClientToken: token, WrapTTL: ttl,
	})
}

func TestWrapping(t *testing.T) {
	n := newNode(t)
	n.must(n.root, secrets.OpUpdate, "sys/mounts/kv", map[string]any{"type": "kv"})
	n.must(n.root, secrets.OpUpdate, "kv/app", map[string]any{"password": "hunter2"})
	user := n.token(map[string]any{"policies": []any{"default"}}).ClientToken

	// Any response can be wrapped.
	resp, err := wrapped(n, n.root, "kv/app", secrets.OpRead, nil, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	wi := resp.WrapInfo
	if wi == nil || resp.Data != nil || wi.TTL != 300 || wi.CreationPath != "kv/app" || wi.Token == "" || wi.Accessor == "" {
		t.Fatalf("wrapped response = %+v / %+v", resp, wi)
	}
	// lookup needs no token and does not use the wrapping token.
	lk := n.must("", secrets.OpUpdate, "sys/wrapping/lookup", map[string]any{"token": wi.Token}).Data
	if lk["creation_path"] != "kv/app" || lk["creation_ttl"] != int64(300) {
		t.Fatalf("wrapping lookup = %v", lk)
	}
	// Unwrap with the token in the body, as another token (default policy).
	un := n.must(user, secrets.OpUpdate, "sys/wrapping/unwrap", map[string]any{"token": wi.Token})
	if un.Data["password"] != "hunter2" {
		t.Fatalf("unwrapped = %+v", un)
	}
	// Single use: again → 400; as the X-Vault-Token → 403.
	n.wantErr(user, secrets.OpUpdate, "sys/wrapping/unwrap", map[string]any{"token": wi.Token}, errInvalid)
	// A used-up wrapping token in X-Vault-Token is a 400, not a 403.
	n.wantErr(wi.Token, secrets.OpUpdate, "sys/wrapping/unwrap", nil, errInvalid)
	n.wantErr("", secrets.OpUpdate, "sys/wrapping/lookup", map[string]any{"token": wi.Token}, errInvalid)

	// sys/wrapping/wrap, unwrapped with the wrapping token itself.
	n.wantErr(user, secrets.OpUpdate, "sys/wrapping/wrap", map[string]any{"a": "b"}, errInvalid) // no wrap TTL
	// An empty body wraps an empty response (issue 15 item 4).
	for _, body := range []map[string]any{nil, {}} {
		resp, err := wrapped(n, user, "sys/wrapping/wrap", secrets.OpUpdate, body, time.Minute)
		if err != nil || resp.WrapInfo == nil || resp.WrapInfo.Token == "" {
			t.Fatalf("wrap of %v = %+v, %v", body, resp, err)
		}
		if un := n.must(resp.WrapInfo.Token, secrets.OpUpdate, "sys/wrapping/unwrap", nil); len(un.Data) != 0 {
			t.Fatalf("unwrap of an empty wrap = %+v", un.Data)
		}
	}
	resp, err = wrapped(n, user, "sys/wrapping/wrap", secrets.OpUpdate, map[string]any{"k": "v"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tok := resp.WrapInfo.Token
	// The wrapping token can do nothing but unwrap (and read its own response).
	n.wantErr(tok, secrets.OpRead, "auth/token/lookup-self", nil, errDenied)
	// ... and that one attempt used it up:
	n.wantErr(tok, secrets.OpUpdate, "sys/wrapping/unwrap", nil, errInvalid)

	resp, err = wrapped(n, user, "sys/wrapping/wrap", secrets.OpUpdate, map[string]any{"k": "v"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// rewrap: a new token for the same payload; the old one dies.
	rw := n.must(n.root, secrets.OpUpdate, "sys/wrapping/rewrap", map[string]any{"token": resp.WrapInfo.Token})
	if rw.WrapInfo == nil || rw.WrapInfo.Token == resp.WrapInfo.Token || rw.WrapInfo.CreationPath != "sys/wrapping/wrap" {
		t.Fatalf("rewrap = %+v", rw.WrapInfo)
	}
	n.wantErr(user, secrets.OpUpdate, "sys/wrapping/unwrap", map[string]any{"token": resp.WrapInfo.Token}, errInvalid)
	if un := n.must(rw.WrapInfo.Token, secrets.OpUpdate, "sys/wrapping/unwrap", nil); un.Data["k"] != "v" {
		t.Fatalf("unwrap after rewrap = %+v", un)
	}

	// A wrapped login/token-create response carries the auth block.
	resp, err = wrapped(n, n.root, "auth/token/create", secrets.OpUpdate, map[string]any{"policies": []any{"default"}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Auth != nil || resp.WrapInfo.WrappedAccessor == "" {
		t.Fatalf("wrapped token create = %+v / %+v", resp, resp.WrapInfo)
	}
	un = n.must(user, secrets.OpUpdate, "sys/wrapping/unwrap", map[string]any{"token": resp.WrapInfo.Token})
	if un.Auth == nil || un.Auth.Accessor != resp.WrapInfo.WrappedAccessor || !n.alive(un.Auth.ClientToken) {
		t.Fatalf("unwrapped auth = %+v", un.Auth)
	}

	// Wrapping tokens expire with their TTL.
	resp, err = wrapped(n, user, "sys/wrapping/wrap", secrets.OpUpdate, map[string]any{"k": "v"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	n.clock.Advance(2 * time.Minute)
	n.wantErr(user, secrets.OpUpdate, "sys/wrapping/unwrap", map[string]any{"token": resp.WrapInfo.Token}, errInvalid)
	// A policy's max_wrapping_ttl is enforced.
	n.policy("wrapcap", `path "kv/*" { capabilities = ["read"]
  max_wrapping_ttl = "1m" }`)
	wc := n.token(map[string]any{"policies": []any{"wrapcap"}}).ClientToken
	if _, err := wrapped(n, wc, "kv/app", secrets.OpRead, nil, time.Hour); err == nil {
		t.Fatal("a wrap TTL above max_wrapping_ttl was accepted")
	}
	if _, err := wrapped(n, wc, "kv/app", secrets.OpRead, nil, 30*time.Second); err != nil {
		t.Fatalf("a wrap TTL within max_wrapping_ttl: %v", err)
	}
}

func TestLeases(t *testing.T) {
	n := newNode(t)
	n.must(n.root, secrets.OpUpdate, "sys/auth/up", map[string]any{"type": "userpass"})
	alice := n.must("", secrets.OpUpdate, "auth/up/login/alice", map[string]any{"password": "pw-alice"}).Auth
	bob := n.must("", secrets.OpUpdate, "auth/up/login/bob", map[string]any{"password": "pw-bob"}).Auth
	tok := n.token(map[string]any{"ttl": "3h"})

	lvl1 := n.must(n.root, secrets.OpList, "sys/leases/lookup/auth/up/login/", nil).Data["keys"].([]string)
	if strings.Join(lvl1, ",") != "alice/,bob/" {
		t.Fatalf("lease list = %v", lvl1)
	}
	ids := n.must(n.root, secrets.OpList, "sys/leases/lookup/auth/up/login/alice/", nil).Data["keys"].([]string)
	if len(ids) != 1 {
		t.Fatalf("alice's leases = %v", ids)
	}
	leaseID := "auth/up/login/alice/" + ids[0]
	lk := n.must(alice.ClientToken, secrets.OpUpdate, "sys/leases/lookup", map[string]any{"lease_id": leaseID}).Data
	if lk["id"] != leaseID || lk["renewable"] != true || lk["ttl"] != int64(7200) {
		t.Fatalf("lease lookup = %v", lk)
	}
	n.wantErr(n.root, secrets.OpUpdate, "sys/leases/lookup", map[string]any{"lease_id": "auth/up/login/alice/" + strings.Repeat("0", 64)}, errInvalid)
	n.clock.Advance(time.Hour)
	rn := n.must(n.root, secrets.OpUpdate, "sys/leases/renew", map[string]any{"lease_id": leaseID, "increment": "30m"})
	if rn.LeaseID != leaseID || rn.LeaseDuration != 1800 || !rn.Renewable {
		t.Fatalf("lease renew = %+v", rn)
	}
	// Listing leases needs sudo; a plain token cannot.
	n.wantErr(alice.ClientToken, secrets.OpList, "sys/leases/lookup/auth/", nil, errDenied)
	n.wantErr(alice.ClientToken, secrets.OpUpdate, "sys/leases/revoke-prefix/auth/up", nil, errDenied)

	n.must(n.root, secrets.OpUpdate, "sys/leases/revoke", map[string]any{"lease_id": leaseID})
	if n.alive(alice.ClientToken) {
		t.Fatal("revoked lease's token still works")
	}
	n.must(n.root, secrets.OpUpdate, "sys/leases/revoke-prefix/auth/up", nil)
	if n.alive(bob.ClientToken) || !n.alive(tok.ClientToken) {
		t.Fatalf("revoke-prefix auth/up: bob alive %v, token-store token alive %v", n.alive(bob.ClientToken), n.alive(tok.ClientToken))
	}
	n.must(n.root, secrets.OpUpdate, "sys/revoke-prefix/auth/token/create", nil)
	if n.alive(tok.ClientToken) {
		t.Fatal("legacy sys/revoke-prefix did not revoke")
	}
	if !n.alive(n.root) {
		t.Fatal("revoke-prefix auth/token/create revoked the root token")
	}
}
