package seal_test

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/vaultd/vaultd/storage"
)

func benchValue(b *testing.B) []byte {
	b.Helper()
	v := make([]byte, 1024)
	if _, err := rand.Read(v); err != nil {
		b.Fatal(err)
	}
	return v
}

func BenchmarkBarrier_Encrypt(b *testing.B) {
	br, _, _ := unsealed(b)
	v := benchValue(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(v)))
	for b.Loop() {
		if _, err := br.Encrypt("logical/0123/data/app", v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBarrier_Decrypt(b *testing.B) {
	br, _, _ := unsealed(b)
	v := benchValue(b)
	ct, err := br.Encrypt("logical/0123/data/app", v)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(v)))
	for b.Loop() {
		if _, err := br.Decrypt("logical/0123/data/app", ct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBarrier_Put(b *testing.B) {
	br, _, _ := unsealed(b)
	ctx := context.Background()
	e := &storage.Entry{Key: "logical/0123/data/app", Value: benchValue(b)}
	b.ReportAllocs()
	b.SetBytes(int64(len(e.Value)))
	for b.Loop() {
		if err := br.Put(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBarrier_Get(b *testing.B) {
	br, _, _ := unsealed(b)
	ctx := context.Background()
	e := &storage.Entry{Key: "logical/0123/data/app", Value: benchValue(b)}
	if err := br.Put(ctx, e); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(e.Value)))
	for b.Loop() {
		if _, err := br.Get(ctx, e.Key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBarrier_GetParallel(b *testing.B) {
	br, _, _ := unsealed(b)
	ctx := context.Background()
	e := &storage.Entry{Key: "logical/0123/data/app", Value: benchValue(b)}
	if err := br.Put(ctx, e); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(e.Value)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := br.Get(ctx, e.Key); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
