package kv_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

// BenchmarkV2_WriteRead measures one KV v2 write (new version, trimming
// once past max_versions) plus one read of it, through the engine over an
// in-memory store behind a view.
func BenchmarkV2_WriteRead(b *testing.B) {
	f := newKV(b, "2")
	ctx := b.Context()
	data := map[string]any{"username": "app", "password": "s3cr3t-value", "ttl": "1h"}
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprintf("data/apps/app-%d/db", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		i++
		if _, err := f.eng.HandleRequest(ctx, &secrets.Request{
			Operation: secrets.OpUpdate, Path: k, Storage: f.view,
			Data: map[string]any{"data": data},
		}); err != nil {
			b.Fatal(err)
		}
		resp, err := f.eng.HandleRequest(ctx, &secrets.Request{
			Operation: secrets.OpRead, Path: k, Storage: f.view, Data: map[string]any{},
		})
		if err != nil || resp.Data["data"] == nil {
			b.Fatalf("read: %v", err)
		}
	}
}

// BenchmarkV2_WriteReadParallel is the same with concurrent clients on
// distinct keys (the per-key locks must not serialize them).
func BenchmarkV2_WriteReadParallel(b *testing.B) {
	f := newKV(b, "2")
	ctx := b.Context()
	data := map[string]any{"username": "app", "password": "s3cr3t-value"}
	b.ReportAllocs()
	var ids atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		k := fmt.Sprintf("data/p/%d", ids.Add(1)) // one key per goroutine
		for pb.Next() {
			if _, err := f.eng.HandleRequest(ctx, &secrets.Request{
				Operation: secrets.OpUpdate, Path: k, Storage: f.view, Data: map[string]any{"data": data},
			}); err != nil {
				b.Error(err)
				return
			}
			if _, err := f.eng.HandleRequest(ctx, &secrets.Request{
				Operation: secrets.OpRead, Path: k, Storage: f.view, Data: map[string]any{},
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
