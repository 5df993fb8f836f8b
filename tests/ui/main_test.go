package ui

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// binPath is the vaultd binary built once for the package.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vaultd-ui-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "vaultd")
	build := exec.Command("go", "build", "-o", binPath, "../../cmd/vaultd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building vaultd:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// chromiumPath finds the browser, or skips (fails under CI=true).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("VAULTD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (install Debian's chromium package: apt-get install -y chromium, or set VAULTD_CHROMIUM)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI must run the browser tests")
	}
	t.Skip(msg)
	return ""
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// node is one vaultd process.
type node struct {
	id   string
	addr string
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

// startCluster starts three raft nodes with ui = true. Every node lists
// every node in retry_join, node1 first, so node1 is the seed and each
// node knows the others' addresses before anything is unsealed.
func startCluster(t *testing.T) []*node {
	t.Helper()
	var api, cl [3]int
	for i := range api {
		api[i], cl[i] = freePort(t), freePort(t)
	}
	var joins strings.Builder
	for i := range api {
		fmt.Fprintf(&joins, "  retry_join {\n    leader_api_addr = \"http://127.0.0.1:%d\"\n  }\n", api[i])
	}
	var nodes []*node
	for i := range api {
		id := fmt.Sprintf("node%d", i+1)
		dir := t.TempDir()
		cfg := fmt.Sprintf(`
ui = true
storage "raft" {
  path    = %q
  node_id = %q
%s}
listener "tcp" {
  address         = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_disable     = true
}
api_addr      = "http://127.0.0.1:%d"
cluster_addr  = "https://127.0.0.1:%d"
disable_mlock = true
log_level     = "info"
`, filepath.Join(dir, "raft"), id, joins.String(), api[i], cl[i], api[i], cl[i])
		p := filepath.Join(dir, "node.hcl")
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, startNode(t, id, fmt.Sprintf("http://127.0.0.1:%d", api[i]), "server", "-config", p))
	}
	return nodes
}

func startNode(t *testing.T, id, addr string, args ...string) *node {
	t.Helper()
	n := &node{id: id, addr: addr, log: &syncBuffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(binPath, args...)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	n.cmd.Env = append(os.Environ(), "VAULT_ADDR=", "VAULT_TOKEN=")
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		select {
		case <-n.done:
		default:
			_ = n.cmd.Process.Signal(syscall.SIGKILL)
			<-n.done
		}
		if t.Failed() {
			t.Logf("---- %s log (tail) ----\n%s", id, tail(n.log.String(), 40))
		}
	})
	waitFor(t, 20*time.Second, id+" to listen", func() bool {
		select {
		case <-n.done:
			t.Fatalf("%s exited early: %s", id, n.log.String())
		default:
		}
		resp, err := http.Get(addr + "/v1/sys/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	return n
}

func tail(s string, n int) string {
	var l []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.Contains(line, "msg=request ") {
			l = append(l, line)
		}
	}
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func newClient(t testing.TB, addr, token string) *vaultapi.Client {
	t.Helper()
	cfg := vaultapi.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	cfg.Timeout = 10 * time.Second
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}
