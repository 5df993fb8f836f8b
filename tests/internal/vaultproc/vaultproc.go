// Package vaultproc is the harness every real-process test suite shares
// (tests/e2e, tests/security, tests/ui, and through tests/internal/proccluster
// tests/faults and tests/linearizability): it builds cmd/vaultd once per
// test package, writes raft node configurations, starts vaultd processes
// and waits until they answer, and has the small helpers those suites all
// need (a goroutine-safe log sink, bounded polling, a Vault API client).
//
// It only ever listens on and connects to loopback addresses, takes its
// ports at run time from outside the kernel's ephemeral range (see
// internal/freeport), keeps data in t.TempDir(), and kills every process it started
// when the test ends.
package vaultproc

import (
	"bytes"
	"errors"
	"fmt"
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

	"github.com/vaultd/vaultd/internal/freeport"
)

// Build compiles cmd/vaultd (with the build tags, when not empty) into a
// new temporary directory named after prefix. pkgDir is the path of
// cmd/vaultd from the calling test's directory ("../../cmd/vaultd");
// cleanup removes the directory.
func Build(prefix, tags, pkgDir string) (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, "vaultd")
	args := []string{"build", "-o", bin}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	build := exec.Command("go", append(args, pkgDir)...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("building vaultd: %w", err)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// Main is a TestMain body: it builds ../../cmd/vaultd into *bin, runs the
// tests and exits with their code.
func Main(m *testing.M, prefix string, bin *string) {
	b, cleanup, err := Build(prefix, "", "../../cmd/vaultd")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*bin = b
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// SyncBuffer is a goroutine-safe log sink.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FreePort returns a TCP port free on ip (a loopback address) now, below
// the kernel's ephemeral range (see internal/freeport for why).
func FreePort(t testing.TB, ip string) int {
	t.Helper()
	p, err := freeport.On(ip)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// WaitFor polls cond every 25ms until it holds, failing the test after
// timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	WaitForMsg(t, timeout, what, cond, nil)
}

// WaitForMsg is WaitFor whose failure adds detail() (the last error).
func WaitForMsg(t testing.TB, timeout time.Duration, what string, cond func() bool, detail func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			if detail != nil {
				msg = " (last error: " + detail() + ")"
			}
			t.Fatalf("timed out after %s waiting for %s%s", timeout, what, msg)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Tail returns the last n lines of a log, leaving out the per-request
// lines.
func Tail(s string, n int) string {
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

// NewClient is a Vault API client of addr with token, no retries.
func NewClient(t testing.TB, addr, token string, timeout time.Duration) *vaultapi.Client {
	t.Helper()
	cfg := vaultapi.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	cfg.Timeout = timeout
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

// StatusCode is the HTTP status of a Vault API client error, or 0.
func StatusCode(err error) int {
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// Node describes one raft node's configuration file.
type Node struct {
	Dir         string   // the node's directory: raft/ and node.hcl go here
	ID          string   // node_id
	IP          string   // listener address (default 127.0.0.1)
	APIPort     int      // listener port
	ClusterPort int      // cluster listener port
	Joins       []string // retry_join leader_api_addr values
	RaftExtra   string   // added to the storage "raft" stanza
	Listener    string   // added to the listener "tcp" stanza
	Extra       string   // added at the top level (seal stanzas, ui = true, …)
	LogLevel    string   // default "info"
}

// Addr is the node's API address, http://ip:port.
func (n Node) Addr() string { return fmt.Sprintf("http://%s:%d", n.ip(), n.APIPort) }

func (n Node) ip() string {
	if n.IP == "" {
		return "127.0.0.1"
	}
	return n.IP
}

// Config renders the node's HCL configuration.
func (n Node) Config() string {
	var rj strings.Builder
	for _, j := range n.Joins {
		fmt.Fprintf(&rj, "  retry_join {\n    leader_api_addr = %q\n  }\n", j)
	}
	level := n.LogLevel
	if level == "" {
		level = "info"
	}
	return fmt.Sprintf(`
storage "raft" {
  path    = %q
  node_id = %q
%s%s}
listener "tcp" {
  address         = "%[5]s:%[6]d"
  cluster_address = "%[5]s:%[7]d"
  tls_disable     = true
%[8]s}
api_addr      = "http://%[5]s:%[6]d"
cluster_addr  = "https://%[5]s:%[7]d"
disable_mlock = true
log_level     = %[9]q
%[10]s
`, filepath.Join(n.Dir, "raft"), n.ID, n.RaftExtra, rj.String(), n.ip(), n.APIPort, n.ClusterPort,
		n.Listener, level, n.Extra)
}

// Write writes the configuration to Dir/node.hcl and returns its path.
func (n Node) Write(t testing.TB) string {
	t.Helper()
	p := filepath.Join(n.Dir, "node.hcl")
	if err := os.WriteFile(p, []byte(n.Config()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Proc is one running vaultd process.
type Proc struct {
	Cmd     *exec.Cmd
	Addr    string // http://ip:port
	DataDir string
	Config  string
	Log     *SyncBuffer // stderr (and stdout unless Opts.SplitStdout)
	Stdout  *SyncBuffer // stdout (the same buffer as Log unless split)
	Done    chan struct{}
}

// Opts say how Start runs a process.
type Opts struct {
	// SplitStdout keeps stdout apart from the log (dev-mode output).
	SplitStdout bool
	// Timeout bounds the wait for sys/health (default 30s).
	Timeout time.Duration
}

// ErrExited is returned by TryStart when the process ended before it
// listened (a port taken since FreePort chose it, a bad config).
var ErrExited = errors.New("vaultd exited before it listened")

// Start runs `bin args...` and waits until addr answers sys/health; the
// test fails if the process exits first. The process is killed when the
// test ends.
func Start(t testing.TB, bin, addr string, o Opts, args ...string) *Proc {
	t.Helper()
	p, err := TryStart(t, bin, addr, o, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TryStart is Start that returns ErrExited (with the process's output)
// instead of failing when the process exits before it listens.
func TryStart(t testing.TB, bin, addr string, o Opts, args ...string) (*Proc, error) {
	t.Helper()
	p := &Proc{Addr: addr, Log: &SyncBuffer{}, Done: make(chan struct{})}
	p.Stdout = p.Log
	if o.SplitStdout {
		p.Stdout = &SyncBuffer{}
	}
	p.Cmd = exec.Command(bin, args...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Stdout, p.Log
	p.Cmd.Env = append(os.Environ(), "VAULT_ADDR=", "VAULT_TOKEN=")
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.Cmd.Wait(); close(p.Done) }()
	t.Cleanup(p.Kill)
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	var exited error
	WaitFor(t, timeout, "vaultd to listen on "+addr, func() bool {
		if p.Exited() {
			exited = fmt.Errorf("%w (%s): %s", ErrExited, addr, p.Log.String())
			return true
		}
		resp, err := http.Get(addr + "/v1/sys/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	if exited != nil {
		return nil, exited
	}
	return p, nil
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.Done:
		return true
	default:
		return false
	}
}

// Kill sends SIGKILL (if still running) and waits for the exit.
func (p *Proc) Kill() {
	if p.Cmd.Process == nil || p.Exited() {
		return
	}
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.Done
}

// Stop sends SIGTERM and waits (bounded) for a graceful exit.
func (p *Proc) Stop(t testing.TB) {
	t.Helper()
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.Done:
	case <-time.After(15 * time.Second):
		p.Kill()
		t.Fatalf("vaultd did not stop on SIGTERM")
	}
}

// LogOnFailure logs the tail of p's log under name when the test failed.
func LogOnFailure(t testing.TB, name string, p *Proc, lines int) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- %s log (tail) ----\n%s", name, Tail(p.Log.String(), lines))
		}
	})
}
