package approle_test

import (
	"sync/atomic"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

// BenchmarkLogin measures one AppRole login (role_id index, role, secret
// ID lookup, HMACs, Auth) with an unlimited secret ID, through the engine
// over an in-memory store behind a view.
func BenchmarkLogin(b *testing.B) {
	f := newFixture(b)
	id := f.role("web", map[string]any{"token_policies": "app", "token_ttl": "1h"})
	sid, _ := f.secretID("web", map[string]any{"metadata": `{"app":"web"}`})
	req := f.Req(secrets.OpUpdate, "login", map[string]any{"role_id": id, "secret_id": sid}, "10.0.0.1")
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := f.Eng.HandleRequest(ctx, req)
		if err != nil || resp.Auth == nil {
			b.Fatalf("login: %v", err)
		}
	}
}

// BenchmarkLogin_NumUses adds the use count's read-modify-write (a
// secret ID with more uses than iterations).
func BenchmarkLogin_NumUses(b *testing.B) {
	f := newFixture(b)
	id := f.role("web", nil)
	sid, _ := f.secretID("web", map[string]any{"num_uses": 1 << 30})
	req := f.Req(secrets.OpUpdate, "login", map[string]any{"role_id": id, "secret_id": sid}, "10.0.0.1")
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Eng.HandleRequest(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogin_Parallel runs logins of distinct secret IDs of one role
// concurrently (they share the role's read lock only).
func BenchmarkLogin_Parallel(b *testing.B) {
	f := newFixture(b)
	id := f.role("web", nil)
	sids := make([]string, 64)
	for i := range sids {
		sids[i], _ = f.secretID("web", nil)
	}
	ctx := b.Context()
	b.ReportAllocs()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		sid := sids[int(n.Add(1))%len(sids)]
		req := f.Req(secrets.OpUpdate, "login", map[string]any{"role_id": id, "secret_id": sid}, "10.0.0.1")
		for pb.Next() {
			if _, err := f.Eng.HandleRequest(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
