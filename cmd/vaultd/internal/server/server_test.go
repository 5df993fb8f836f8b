package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startRaftNode starts an in-process single raft node, initialises and
// unseals it, mounts KV v2 at secret/ and returns a root client.
func startRaftNode(tb testing.TB) (*Node, *vaultapi.Client) {
	tb.Helper()
	cfg := &config.Config{
		Storage: &config.Storage{Type: "raft", Path: tb.TempDir(), NodeID: "bench1"},
		Listeners: []config.Listener{{
			Type: "tcp", Address: "127.0.0.1:0", ClusterAddress: freeAddr(tb),
			TLSDisable: true, MaxRequestSize: 1 << 20,
		}},
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := Start(context.Background(), cfg, log)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(n.Close)
	vc := vaultapi.DefaultConfig()
	vc.Address = "http://" + n.ListenAddr
	c, err := vaultapi.NewClient(vc)
	if err != nil {
		tb.Fatal(err)
	}
	init, err := c.Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := c.Sys().Unseal(init.Keys[0]); err != nil {
		tb.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !n.Core.IsActive() {
		if time.Now().After(deadline) {
			tb.Fatal("node did not become active")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.SetToken(init.RootToken)
	if err := c.Sys().Mount("secret", &vaultapi.MountInput{Type: "kv-v2"}); err != nil {
		tb.Fatal(err)
	}
	return n, c
}

func TestStart_RaftNodeServesKV(t *testing.T) {
	n, c := startRaftNode(t)
	if _, err := c.KVv2("secret").Put(t.Context(), "a", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	s, err := c.KVv2("secret").Get(t.Context(), "a")
	if err != nil || s.Data["k"] != "v" {
		t.Fatalf("Get = %+v, %v", s, err)
	}
	ks, err := c.Logical().Read("sys/key-status")
	if err != nil || ks.Data["term"] == nil {
		t.Fatalf("key-status = %+v, %v", ks, err)
	}
	li, err := c.Sys().Leader()
	if err != nil || !li.IsSelf || !li.HAEnabled || li.RaftAppliedIndex == 0 {
		t.Fatalf("sys/leader = %+v, %v", li, err)
	}
	n.Close()
	n.Close() // idempotent
}

func TestDevConfig(t *testing.T) {
	cfg := DevConfig("127.0.0.1:0")
	n, err := Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var out fmtBuffer
	if err := n.devSetup(context.Background(), "", &out); err != nil {
		t.Fatal(err)
	}
	if n.Store != nil || !n.Core.IsActive() {
		t.Fatalf("dev node: store=%v active=%v", n.Store, n.Core.IsActive())
	}
}

type fmtBuffer struct{ b []byte }

func (f *fmtBuffer) Write(p []byte) (int, error) { f.b = append(f.b, p...); return len(p), nil }

// BenchmarkKVv2_Write measures single-node KV v2 writes through HTTP with
// the official client, parallel writers on distinct keys.
func BenchmarkKVv2_Write(b *testing.B) {
	_, c := startRaftNode(b)
	val := map[string]any{"v": string(make([]byte, 256))}
	b.ReportAllocs()
	b.ResetTimer()
	var n int64
	b.RunParallel(func(pb *testing.PB) {
		kv := c.KVv2("secret")
		i := 0
		id := fmt.Sprintf("%p", pb)
		for pb.Next() {
			i++
			if _, err := kv.Put(context.Background(), fmt.Sprintf("w/%s/%d", id, i%64), val); err != nil {
				b.Error(err)
				return
			}
		}
	})
	_ = n
}

// BenchmarkKVv2_Read measures linearizable single-node KV v2 reads through HTTP.
func BenchmarkKVv2_Read(b *testing.B) {
	_, c := startRaftNode(b)
	kv := c.KVv2("secret")
	for i := 0; i < 64; i++ {
		if _, err := kv.Put(context.Background(), fmt.Sprintf("r/%d", i), map[string]any{"v": "x"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, err := kv.Get(context.Background(), fmt.Sprintf("r/%d", i%64)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestGenericMountIsKVv1: "generic" (Vault's old name for KV v1) mounts
// through the real engine map and serves KV v1 paths.
func TestGenericMountIsKVv1(t *testing.T) {
	_, c := startRaftNode(t)
	if err := c.Sys().Mount("old", &vaultapi.MountInput{Type: "generic"}); err != nil {
		t.Fatalf("mount generic: %v", err)
	}
	mounts, err := c.Sys().ListMounts()
	if err != nil || mounts["old/"] == nil || mounts["old/"].Type != "generic" {
		t.Fatalf("mounts = %v, %v", mounts, err)
	}
	if _, err := c.Logical().Write("old/app", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	s, err := c.Logical().Read("old/app")
	if err != nil || s == nil || s.Data["k"] != "v" {
		t.Fatalf("read = %+v, %v", s, err)
	}
	// v1: the data is at the path itself, not under data/.
	if s, err := c.Logical().Read("old/data/app"); err != nil || s != nil {
		t.Fatalf("read data/app = %+v, %v (want absent: generic is v1)", s, err)
	}
	l, err := c.Logical().List("old/")
	if err != nil || l == nil || fmt.Sprint(l.Data["keys"]) != "[app]" {
		t.Fatalf("list = %+v, %v", l, err)
	}
	// An in-place upgrade to v2 is refused as for kv.
	if err := c.Sys().TuneMount("old", vaultapi.MountConfigInput{Options: map[string]string{"version": "2"}}); err == nil {
		t.Fatal("tuning a generic mount to version 2 succeeded")
	}
}
