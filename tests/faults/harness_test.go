package faults

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/tests/internal/netfault"
)

var faultNodes = flag.Int("faults.nodes", 3, "cluster size of TestPartition_MinorityWithActive (3 or 5)")

// binPath is the vaultd binary built once for the package.
var binPath string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "vaultd-faults-bin")
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

// node is one vaultd process slot: it keeps its ports, config and data
// across restarts.
type node struct {
	idx     int
	id      string
	ip      string // the node's own loopback address (netfault.Addr(21+i) on Linux)
	addr    string // http://<ip>:port
	config  string
	log     *syncBuffer
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	stopped bool // SIGSTOPped
}

// procCluster is N vaultd processes; nodes 1.. retry_join the others.
type procCluster struct {
	t     testing.TB
	nodes []*node
	keys  []string
	root  string
	// net cuts links between the nodes' addresses (nil when iptables
	// partitions are unavailable here; the nemesis then skips them).
	net *netfault.Net
}

// nodeIP is node i's own loopback address. On Linux every node gets one
// (127.77.<b>.21, .22, … with b from the process id: netfault.Addr), so iptables rules on
// address pairs cut raft and forwarding between two nodes: vaultd dials
// its peers from its cluster listener's address.
func nodeIP(i int) string {
	if runtime.GOOS != "linux" {
		return "127.0.0.1"
	}
	return netfault.Addr(21 + i)
}

func freePort(t testing.TB, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func newProcCluster(t testing.TB, n int) *procCluster {
	return newProcClusterWith(t, n, nil, "")
}

// newProcClusterWith is newProcCluster with prep(i, raftDir) run before
// node i first starts (disk_test.go mounts a small file system there) and
// raftExtra added to every storage "raft" stanza.
func newProcClusterWith(t testing.TB, n int, prep func(i int, raftDir string), raftExtra string) *procCluster {
	t.Helper()
	pc := &procCluster{t: t}
	base := t.TempDir()
	type ports struct{ api, cl int }
	ps := make([]ports, n)
	for i := range ps {
		ps[i] = ports{freePort(t, nodeIP(i)), freePort(t, nodeIP(i))}
	}
	if nf, err := netfault.New(); err != nil {
		t.Logf("network partitions disabled: %v", err)
	} else {
		pc.net = nf
		t.Cleanup(func() {
			if err := nf.Close(); err != nil {
				t.Errorf("removing the iptables rules: %v", err)
			}
		})
	}
	for i := 0; i < n; i++ {
		dir := filepath.Join(base, fmt.Sprintf("node%d", i+1))
		if err := os.MkdirAll(filepath.Join(dir, "raft"), 0o700); err != nil {
			t.Fatal(err)
		}
		if prep != nil {
			prep(i, filepath.Join(dir, "raft"))
		}
		join := ""
		if i > 0 {
			for j := range ps {
				if j != i {
					join += fmt.Sprintf("  retry_join {\n    leader_api_addr = \"http://%s:%d\"\n  }\n", nodeIP(j), ps[j].api)
				}
			}
		}
		cfg := fmt.Sprintf(`
storage "raft" {
  path    = %q
  node_id = "node%d"
%s%s}
listener "tcp" {
  address         = "%[5]s:%[6]d"
  cluster_address = "%[5]s:%[7]d"
  tls_disable     = true
}
api_addr      = "http://%[5]s:%[6]d"
cluster_addr  = "https://%[5]s:%[7]d"
disable_mlock = true
log_level     = "info"
`, filepath.Join(dir, "raft"), i+1, raftExtra, join, nodeIP(i), ps[i].api, ps[i].cl)
		p := filepath.Join(dir, "node.hcl")
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		pc.nodes = append(pc.nodes, &node{idx: i, id: fmt.Sprintf("node%d", i+1), ip: nodeIP(i),
			addr: fmt.Sprintf("http://%s:%d", nodeIP(i), ps[i].api), config: p, log: &syncBuffer{}})
	}
	t.Cleanup(pc.killAll)
	for _, nd := range pc.nodes {
		pc.start(nd)
	}
	return pc
}

// start launches nd's process and waits until it answers sys/health.
func (pc *procCluster) start(nd *node) {
	t := pc.t
	t.Helper()
	nd.mu.Lock()
	cmd := exec.Command(binPath, "server", "-config", nd.config)
	cmd.Stdout, cmd.Stderr = nd.log, nd.log
	cmd.Env = append(os.Environ(), "VAULT_ADDR=", "VAULT_TOKEN=")
	if err := cmd.Start(); err != nil {
		nd.mu.Unlock()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	nd.cmd, nd.done, nd.stopped = cmd, done, false
	nd.mu.Unlock()
	waitFor(t, 20*time.Second, nd.id+" to listen", func() bool {
		select {
		case <-done:
			t.Fatalf("%s exited early:\n%s", nd.id, nd.log.String())
		default:
		}
		resp, err := http.Get(nd.addr + "/v1/sys/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
}

// signal sends sig to nd's process (if running).
func (nd *node) signal(sig syscall.Signal) {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.cmd == nil || nd.cmd.Process == nil {
		return
	}
	_ = nd.cmd.Process.Signal(sig)
	switch sig {
	case syscall.SIGSTOP:
		nd.stopped = true
	case syscall.SIGCONT:
		nd.stopped = false
	}
}

// kill9 kills nd and waits for it to exit.
func (nd *node) kill9() {
	nd.mu.Lock()
	cmd, done := nd.cmd, nd.done
	nd.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	nd.mu.Lock()
	nd.cmd = nil
	nd.mu.Unlock()
}

func (pc *procCluster) killAll() {
	for _, nd := range pc.nodes {
		nd.signal(syscall.SIGCONT)
		nd.kill9()
	}
}

func (pc *procCluster) client(nd *node, timeout time.Duration) *vaultapi.Client {
	cfg := vaultapi.DefaultConfig()
	cfg.Address = nd.addr
	cfg.MaxRetries = 0
	cfg.Timeout = timeout
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		pc.t.Fatal(err)
	}
	c.SetToken(pc.root)
	return c
}

// initAndUnseal initialises through node 1, unseals every node and waits
// until all are voters (checked through sys/storage/raft/configuration).
func (pc *procCluster) initAndUnseal() {
	t := pc.t
	t.Helper()
	c0 := pc.client(pc.nodes[0], 10*time.Second)
	res, err := c0.Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	pc.keys, pc.root = res.KeysB64, res.RootToken
	for _, nd := range pc.nodes {
		pc.unseal(nd)
	}
	pc.waitActive(30 * time.Second)
	waitFor(t, 30*time.Second, "every node to be a voter", func() bool {
		s, err := pc.client(pc.nodes[0], 5*time.Second).Logical().Read("sys/storage/raft/configuration")
		if err != nil || s == nil {
			return false
		}
		servers, _ := s.Data["config"].(map[string]any)["servers"].([]any)
		voters := 0
		for _, sv := range servers {
			if v, _ := sv.(map[string]any)["voter"].(bool); v {
				voters++
			}
		}
		return voters == len(pc.nodes)
	})
}

// unseal submits the key to nd until it reports unsealed (bounded).
func (pc *procCluster) unseal(nd *node) {
	t := pc.t
	t.Helper()
	c := pc.client(nd, 5*time.Second)
	var last error
	waitForMsg(t, 30*time.Second, nd.id+" to unseal", func() bool {
		st, err := c.Sys().Unseal(pc.keys[0])
		last = err
		return err == nil && !st.Sealed
	}, func() string { return fmt.Sprint(last) })
}

// active returns the node whose sys/health says active, or nil.
func (pc *procCluster) active() *node {
	for _, nd := range pc.nodes {
		nd.mu.Lock()
		down := nd.cmd == nil || nd.stopped
		nd.mu.Unlock()
		if down {
			continue
		}
		cl := &http.Client{Timeout: time.Second}
		resp, err := cl.Get(nd.addr + "/v1/sys/health")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nd
		}
	}
	return nil
}

func (pc *procCluster) waitActive(timeout time.Duration) *node {
	var act *node
	waitFor(pc.t, timeout, "an active node", func() bool {
		act = pc.active()
		return act != nil
	})
	return act
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	waitForMsg(t, timeout, what, cond, nil)
}

func waitForMsg(t testing.TB, timeout time.Duration, what string, cond func() bool, detail func() string) {
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

func statusCode(err error) int {
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

var _ = context.Background
