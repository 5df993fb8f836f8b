package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

func TestCheckDevCluster(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      Options
		wantErr bool
		wantDev bool
	}{
		{"zero keeps plain server", Options{}, false, false},
		{"zero with dev", Options{Dev: true}, false, true},
		{"one is plain dev", Options{DevCluster: 1}, false, true},
		{"three implies dev", Options{DevCluster: 3}, false, true},
		{"even allowed", Options{Dev: true, DevCluster: 2}, false, true},
		{"seven allowed", Options{DevCluster: 7}, false, true},
		{"eight refused", Options{Dev: true, DevCluster: 8}, true, true},
		{"negative refused", Options{DevCluster: -1}, true, false},
		{"config refused", Options{DevCluster: 3, ConfigPaths: []string{"x.hcl"}}, true, true},
		{"config with one node is plain dev", Options{DevCluster: 1, ConfigPaths: []string{"x.hcl"}}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.in
			err := checkDevCluster(&o)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrDevCluster) {
				t.Fatalf("err = %v, not ErrDevCluster", err)
			}
			if !tc.wantErr && o.Dev != tc.wantDev {
				t.Fatalf("Dev = %v, want %v", o.Dev, tc.wantDev)
			}
		})
	}
}

func TestDevClusterAddrs(t *testing.T) {
	got, err := devClusterAddrs("127.0.0.1:8200", 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []devAddrs{{"127.0.0.1:8200", "127.0.0.1:8201"}, {"127.0.0.1:8202", "127.0.0.1:8203"}, {"127.0.0.1:8204", "127.0.0.1:8205"}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("node %d: %+v, want %+v", i+1, got[i], want[i])
		}
	}
	free, err := devClusterAddrs("127.0.0.1:0", 3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range free {
		for _, hp := range []string{a.API, a.Cluster} {
			if seen[hp] || strings.HasSuffix(hp, ":0") {
				t.Fatalf("free ports %+v: %s duplicated or unresolved", free, hp)
			}
			seen[hp] = true
		}
	}
	for _, bad := range []struct {
		listen string
		n      int
	}{{"127.0.0.1", 3}, {"127.0.0.1:x", 3}, {"127.0.0.1:65534", 3}, {"127.0.0.1:-1", 3}, {"127.0.0.1:8200", 0}, {"127.0.0.1:8200", 8}} {
		if _, err := devClusterAddrs(bad.listen, bad.n); !errors.Is(err, ErrDevCluster) {
			t.Errorf("devClusterAddrs(%q, %d) = %v, want ErrDevCluster", bad.listen, bad.n, err)
		}
	}
	if got := advertised("0.0.0.0:8200"); got != "127.0.0.1:8200" {
		t.Errorf("advertised(0.0.0.0:8200) = %s", got)
	}
	if got := advertised(":8200"); got != "127.0.0.1:8200" {
		t.Errorf("advertised(:8200) = %s", got)
	}
}

func FuzzDevClusterAddrs(f *testing.F) {
	f.Add("127.0.0.1:8200", 3)
	f.Add("[::1]:65530", 3)
	f.Add(":", 2)
	f.Add("a:b:c", 7)
	f.Fuzz(func(t *testing.T, listen string, n int) {
		if _, p, err := net.SplitHostPort(listen); err == nil {
			if v, err := strconv.Atoi(p); err == nil && v == 0 {
				t.Skip("port 0 binds probe listeners (and may resolve names); covered by TestDevClusterAddrs")
			}
		}
		addrs, err := devClusterAddrs(listen, n)
		if err != nil {
			if !errors.Is(err, ErrDevCluster) && !strings.Contains(err.Error(), "free port") {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(addrs) != n {
			t.Fatalf("%d addresses for %d nodes", len(addrs), n)
		}
		seen := map[string]bool{}
		for _, a := range addrs {
			for _, hp := range []string{a.API, a.Cluster} {
				if _, _, err := net.SplitHostPort(hp); err != nil || seen[hp] {
					t.Fatalf("bad or duplicate address %q in %+v", hp, addrs)
				}
				seen[hp] = true
			}
		}
	})
}

func devClient(t *testing.T, n *Node, token string) *vaultapi.Client {
	t.Helper()
	cfg := vaultapi.DefaultConfig()
	cfg.Address = n.APIAddr
	cfg.MaxRetries = 0
	cfg.Timeout = 15 * time.Second
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

// TestDevCluster_FailoverOnClose starts a 3-node dev cluster in-process,
// writes through a standby, closes the active node and sees another node
// become active with the data intact and writable.
func TestDevCluster_FailoverOnClose(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	dc, err := StartDevCluster(ctx, DevClusterConfig{Nodes: 3, ListenAddress: "127.0.0.1:0", RootTokenID: "dev-root", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dc.Close)
	if dc.RootToken != "dev-root" {
		t.Fatalf("root token %q, want the -dev-root-token-id", dc.RootToken)
	}
	var banner bytes.Buffer
	dc.printBanner(&banner)
	for _, n := range dc.Nodes {
		if !strings.Contains(banner.String(), n.APIAddr) {
			t.Fatalf("banner lacks %s:\n%s", n.APIAddr, banner.String())
		}
	}
	if !strings.Contains(banner.String(), "Root Token: dev-root\n") || !strings.Contains(banner.String(), "Unseal Key: ") {
		t.Fatalf("banner lacks the token or key:\n%s", banner.String())
	}

	act := dc.Active()
	if act == nil || act != dc.Nodes[0] {
		t.Fatalf("active = %v, want node1", act)
	}
	var standby *Node
	for _, n := range dc.Nodes {
		if n != act {
			standby = n
			break
		}
	}
	cs := devClient(t, standby, dc.RootToken)
	if _, err := cs.KVv2("secret").Put(ctx, "before", map[string]any{"v": "1"}); err != nil {
		t.Fatalf("write through the standby: %v", err)
	}

	act.Close()
	deadline := time.Now().Add(30 * time.Second)
	var next *Node
	for next == nil {
		if time.Now().After(deadline) {
			t.Fatal("no new active node within 30s of closing the active one")
		}
		for _, n := range dc.Nodes {
			if n != act && n.Core.IsActive() {
				next = n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cn := devClient(t, next, dc.RootToken)
	s, err := cn.KVv2("secret").Get(ctx, "before")
	if err != nil || s.Data["v"] != "1" {
		t.Fatalf("read after failover: %+v, %v", s, err)
	}
	// The remaining standby forwards to the new active.
	for _, n := range dc.Nodes {
		if n != act && n != next {
			if _, err := devClient(t, n, dc.RootToken).KVv2("secret").Put(ctx, "after", map[string]any{"v": "2"}); err != nil {
				t.Fatalf("write through the remaining standby: %v", err)
			}
		}
	}
	if s, err := cn.KVv2("secret").Get(ctx, "after"); err != nil || s.Data["v"] != "2" {
		t.Fatalf("read of the post-failover write: %+v, %v", s, err)
	}

	dir := dc.dir
	dc.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("raft data %s not removed: %v", dir, err)
	}
}
