package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// devClusterBase returns a loopback port P such that P..P+span-1 are all
// free right now (a -dev-cluster=N process uses 2N consecutive ports).
func devClusterBase(t *testing.T, span int) int {
	t.Helper()
	for range 50 {
		base := freePort(t)
		if base+span-1 > 65535 {
			continue
		}
		var held []net.Listener
		ok := true
		for p := base; p < base+span; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatalf("no %d consecutive free loopback ports", span)
	return 0
}

// devClusterNodes parses the "    nodeN: http://... (cluster https://...)"
// lines of the -dev-cluster banner.
func devClusterNodes(out string) []string {
	var addrs []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && strings.HasPrefix(f[0], "node") && strings.HasSuffix(f[0], ":") && strings.HasPrefix(f[1], "http://") {
			addrs = append(addrs, f[1])
		}
	}
	return addrs
}

// TestDevCluster_StepDownFailover: `server -dev -dev-cluster=3` starts three
// initialised, unsealed raft nodes on consecutive ports, prints their
// addresses, the root token and the unseal key; a write through a standby
// lands; after a step-down of the active node (one node of the process
// cannot be killed from outside, so its leadership is taken away) another
// node becomes active and writes still work; SIGTERM stops every node and
// removes the temporary raft data.
func TestDevCluster_StepDownFailover(t *testing.T) {
	t0 := time.Now()
	base := devClusterBase(t, 6)
	addr0 := fmt.Sprintf("http://127.0.0.1:%d", base)
	p := startProc(t, addr0, "server", "-dev", "-dev-cluster=3", fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", base), "-dev-root-token-id=e2e-root")
	waitFor(t, 60*time.Second, "the dev cluster banner", func() bool {
		select {
		case <-p.Done:
			t.Fatalf("vaultd exited early: %s", p.Log.String())
		default:
		}
		return strings.Contains(p.Stdout.String(), "Root Token: ")
	})
	root, key := devOutput(p.Stdout.String())
	if root != "e2e-root" || key == "" {
		t.Fatalf("banner root token %q, unseal key present %v", root, key != "")
	}
	addrs := devClusterNodes(p.Stdout.String())
	want := []string{addr0, fmt.Sprintf("http://127.0.0.1:%d", base+2), fmt.Sprintf("http://127.0.0.1:%d", base+4)}
	if strings.Join(addrs, " ") != strings.Join(want, " ") {
		t.Fatalf("banner addresses %v, want %v\n%s", addrs, want, p.Stdout.String())
	}
	if strings.Contains(p.Log.String(), key) || strings.Contains(p.Log.String(), root) {
		t.Fatal("the log holds the unseal key or the root token")
	}
	// The "dev cluster started" line (with data_dir) goes to the log just
	// after the banner goes to stdout: wait for it rather than race it.
	var m []string
	waitFor(t, 15*time.Second, "data_dir in the log", func() bool {
		m = regexp.MustCompile(`data_dir=(\S+)`).FindStringSubmatch(p.Log.String())
		return m != nil
	})
	dataDir := m[1]
	if _, err := os.Stat(dataDir); err != nil {
		t.Fatalf("raft data dir: %v", err)
	}

	clients := make(map[string]*vaultapi.Client, len(addrs))
	for _, a := range addrs {
		clients[a] = newClient(t, a, root)
	}
	// Exactly one active node, the others unsealed standbys.
	active := ""
	for _, a := range addrs {
		h, err := clients[a].Sys().Health()
		if err != nil || h.Sealed || !h.Initialized {
			t.Fatalf("health of %s: %+v, %v", a, h, err)
		}
		if !h.Standby {
			if active != "" {
				t.Fatalf("two active nodes: %s and %s", active, a)
			}
			active = a
		}
	}
	li, err := clients[addrs[1]].Sys().Leader()
	if err != nil || li.LeaderAddress != active {
		t.Fatalf("sys/leader = %+v, %v; active by health %s", li, err, active)
	}
	standby := addrs[0]
	if standby == active {
		standby = addrs[1]
	}
	ctx := context.Background()
	if _, err := clients[standby].KVv2("secret").Put(ctx, "e2e", map[string]any{"v": "before"}); err != nil {
		t.Fatalf("write through standby %s: %v", standby, err)
	}

	if err := clients[standby].Sys().StepDown(); err != nil { // forwarded to the active
		t.Fatalf("step-down: %v", err)
	}
	var next string
	waitFor(t, 30*time.Second, "a new active node", func() bool {
		li, err := clients[standby].Sys().Leader()
		if err != nil || li.LeaderAddress == "" || li.LeaderAddress == active || clients[li.LeaderAddress] == nil {
			return false
		}
		h, err := clients[li.LeaderAddress].Sys().Health()
		if err != nil || h.Standby || h.Sealed {
			return false
		}
		next = li.LeaderAddress
		return true
	})
	t.Logf("active moved from %s to %s", active, next)
	if _, err := clients[active].KVv2("secret").Put(ctx, "e2e", map[string]any{"v": "after"}); err != nil {
		t.Fatalf("write through the deposed node %s: %v", active, err)
	}
	s, err := clients[next].KVv2("secret").Get(ctx, "e2e")
	if err != nil || s.Data["v"] != "after" || s.VersionMetadata == nil || s.VersionMetadata.Version != 2 {
		t.Fatalf("read on the new active: %+v, %v", s, err)
	}

	p.Stop(t)
	if code := p.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, p.Log.String())
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Fatalf("raft data %s left behind after SIGTERM: %v", dataDir, err)
	}
	t.Logf("dev cluster e2e took %s", time.Since(t0))
}

// TestDevCluster_BadInput: an out-of-range -dev-cluster exits non-zero
// with one clear line, before listening anywhere.
func TestDevCluster_BadInput(t *testing.T) {
	for _, tc := range []struct{ arg, want string }{
		{"-dev-cluster=8", "more than the 7"},
		{"-dev-cluster=-2", "invalid -dev-cluster"},
	} {
		cmd := exec.Command(binPath, "server", "-dev", tc.arg, "-dev-listen-address=127.0.0.1:0")
		cmd.Env = append(os.Environ(), "VAULT_ADDR=", "VAULT_TOKEN=")
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("%s: exited 0:\n%s", tc.arg, out)
		}
		if !strings.Contains(string(out), tc.want) || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
			t.Fatalf("%s: output %q, want one line with %q", tc.arg, out, tc.want)
		}
	}
}
