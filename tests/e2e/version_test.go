package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A release build stamps its version with -ldflags; the CLI's version line
// and every server endpoint that reports a version (sys/seal-status with
// build_date, sys/health, sys/ha-status) then agree, and the version is a
// Vault-compatible semver that clients compare as the Vault API level
// (issue 15 item 9, issue 17).
func TestVersion_StampedBuildAgreesEverywhere(t *testing.T) {
	const (
		release = "9.8.7-test"
		commit  = "0123456789abcdef0123456789abcdef01234567"
		date    = "2026-01-02T03:04:05Z"
	)
	bin := filepath.Join(t.TempDir(), "vaultd")
	pkg := "github.com/vaultd/vaultd/version"
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", fmt.Sprintf("-X %s.release=%s -X %s.commit=%s -X %s.buildDate=%s", pkg, release, pkg, commit, pkg, date),
		"../../cmd/vaultd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(out))
	m := regexp.MustCompile(`^vaultd v(\S+) \(` + commit + `\), built ` + date + `$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("vaultd version = %q", line)
	}
	ver := m[1]
	if want := "+vaultd." + release; !strings.HasSuffix(ver, want) {
		t.Fatalf("version %q does not carry the release as build metadata %q", ver, want)
	}
	// Clients compare the part before "+" as Vault's version.
	sv := regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)\+[0-9A-Za-z.-]+$`).FindStringSubmatch(ver)
	if sv == nil {
		t.Fatalf("version %q is not a semver with build metadata", ver)
	}
	if major, _ := strconv.Atoi(sv[1]); major != 1 {
		t.Fatalf("version %q: a Vault-compatible version is 1.x", ver)
	}
	if out, err := exec.Command(bin, "-version").Output(); err != nil || strings.TrimSpace(string(out)) != line {
		t.Fatalf("vaultd -version = %q (%v), want %q", out, err, line)
	}

	port := freePort(t)
	addr := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(bin, "server", "-dev", "-dev-root-token-id=vroot", fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port))
	cmd.Env = append(os.Environ(), "VAULT_ADDR=", "VAULT_TOKEN=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	c := newClient(t, addr, "vroot")
	waitFor(t, 20*time.Second, "the stamped dev server to be active", func() bool {
		resp, err := http.Get(addr + "/v1/sys/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	ss, err := c.Sys().SealStatus()
	if err != nil {
		t.Fatal(err)
	}
	if ss.Version != ver || ss.BuildDate != date {
		t.Fatalf("seal-status version %q build_date %q, want %q %q", ss.Version, ss.BuildDate, ver, date)
	}
	h, err := c.Sys().Health()
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != ver {
		t.Fatalf("health version %q, want %q", h.Version, ver)
	}
	ha, err := c.Sys().HAStatus()
	if err != nil {
		t.Fatal(err)
	}
	active := 0
	for _, n := range ha.Nodes {
		if n.ActiveNode {
			active++
			if n.Version != ver {
				t.Fatalf("ha-status: active node version %q, want %q", n.Version, ver)
			}
		}
	}
	if active != 1 {
		t.Fatalf("ha-status lists %d active nodes: %+v", active, ha.Nodes)
	}
}
