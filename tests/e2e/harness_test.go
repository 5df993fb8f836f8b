package e2e

import (
	"bufio"
	"bytes"
	"context"
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

// binPath is the vaultd binary built once for the whole package.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vaultd-e2e-bin")
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

// freePort returns a loopback port that is free right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a goroutine-safe log sink.
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

// proc is one vaultd process.
type proc struct {
	t       testing.TB
	cmd     *exec.Cmd
	Addr    string // http://127.0.0.1:port
	DataDir string
	Config  string
	Log     *syncBuffer
	Stdout  *syncBuffer
	done    chan struct{}
}

// nodeConfig writes a single-node raft config and returns its path.
func nodeConfig(t testing.TB, dir, nodeID string, apiPort, clusterPort int, extra string) string {
	t.Helper()
	data := filepath.Join(dir, "raft")
	cfg := fmt.Sprintf(`
storage "raft" {
  path    = %q
  node_id = %q
}
listener "tcp" {
  address         = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_disable     = true
  max_request_size = 1048576
}
api_addr      = "http://127.0.0.1:%d"
cluster_addr  = "https://127.0.0.1:%d"
disable_mlock = true
log_level     = "debug"
%s
`, data, nodeID, apiPort, clusterPort, apiPort, clusterPort, extra)
	p := filepath.Join(dir, "node.hcl")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startProc starts `vaultd args...` and waits until addr answers sys/health.
func startProc(t testing.TB, addr string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, Addr: addr, Log: &syncBuffer{}, Stdout: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binPath, args...)
	p.cmd.Stdout = p.Stdout
	p.cmd.Stderr = p.Log
	p.cmd.Env = append(os.Environ(), "VAULT_ADDR=", "VAULT_TOKEN=")
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	waitFor(t, 20*time.Second, "vaultd to listen on "+addr, func() bool {
		select {
		case <-p.done:
			t.Fatalf("vaultd exited early: %s", p.Log.String())
		default:
		}
		resp, err := http.Get(addr + "/v1/sys/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	return p
}

func (p *proc) kill() {
	if p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits (bounded) for a graceful exit.
func (p *proc) stop(t testing.TB) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.kill()
		t.Fatalf("vaultd did not stop on SIGTERM")
	}
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(25 * time.Millisecond)
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

// unsealWith submits shares until the node is unsealed and active.
func unsealWith(t testing.TB, c *vaultapi.Client, keys []string) {
	t.Helper()
	for _, k := range keys {
		st, err := c.Sys().Unseal(k)
		if err != nil {
			t.Fatalf("unseal: %v", err)
		}
		if !st.Sealed {
			break
		}
	}
	waitFor(t, 15*time.Second, "node to become active", func() bool {
		h, err := c.Sys().Health()
		return err == nil && !h.Sealed && !h.Standby
	})
}

// devOutput parses "Root Token:" and "Unseal Key:" from dev server output.
func devOutput(out string) (root, key string) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		l := sc.Text()
		if v, ok := strings.CutPrefix(l, "Root Token: "); ok {
			root = v
		}
		if v, ok := strings.CutPrefix(l, "Unseal Key: "); ok {
			key = v
		}
	}
	return
}

var _ = context.Background
