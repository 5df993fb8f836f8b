// Package proccluster runs a cluster of real vaultd processes for the
// fault suites (tests/faults, tests/linearizability): one binary built per
// test package, N nodes joined by retry_join, each on its own loopback
// address (netfault.Addr on Linux) so iptables rules on address pairs cut
// raft and forwarding between two nodes, with the helpers both suites use
// to start, kill, freeze, initialise, unseal and poll them.
//
// It only ever listens on and connects to loopback addresses, takes its
// ports free at run time, keeps its data in t.TempDir(), and kills every
// process it started when the test ends.
package proccluster

import (
	"fmt"
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
	"github.com/vaultd/vaultd/tests/internal/vaultproc"
)

// Build compiles cmd/vaultd (see vaultproc.Build).
func Build(prefix, tags, pkgDir string) (bin string, cleanup func(), err error) {
	return vaultproc.Build(prefix, tags, pkgDir)
}

// SyncBuffer is a goroutine-safe log sink.
type SyncBuffer = vaultproc.SyncBuffer

// Node is one vaultd process slot: it keeps its ports, config and data
// across restarts. Mu guards Cmd, Done and Stopped.
type Node struct {
	Idx     int
	ID      string
	IP      string // the node's own loopback address (NodeIP)
	Addr    string // http://<ip>:port
	Config  string
	Log     *SyncBuffer
	Mu      sync.Mutex
	Cmd     *exec.Cmd
	Done    chan struct{}
	Stopped bool // SIGSTOPped
}

// Cluster is N vaultd processes; nodes 1.. retry_join the others.
type Cluster struct {
	T     testing.TB
	Nodes []*Node
	Keys  []string
	Root  string
	// Net cuts links between the nodes' addresses (nil when iptables
	// partitions are unavailable here; callers then skip them).
	Net *netfault.Net

	bin string
}

// Options say how New builds a cluster.
type Options struct {
	// Bin is the vaultd binary (from Build).
	Bin string
	// N is the number of nodes.
	N int
	// AddrBase is the last octet of node 0's address (netfault.Addr):
	// suites that may run at the same time use different ranges.
	AddrBase int
	// Prep, when set, runs before node i first starts, with its raft
	// directory (already created).
	Prep func(i int, raftDir string)
	// RaftExtra is added to every storage "raft" stanza.
	RaftExtra string
}

// NodeIP is node i's own loopback address. On Linux every node gets one
// (127.77.<b>.<base+i>, b from the process id: netfault.Addr), so iptables
// rules on address pairs cut raft and forwarding between two nodes:
// vaultd dials its peers from its cluster listener's address.
func NodeIP(base, i int) string {
	if runtime.GOOS != "linux" {
		return "127.0.0.1"
	}
	return netfault.Addr(base + i)
}

// FreePort is a TCP port free on ip now (see vaultproc.FreePort).
func FreePort(t testing.TB, ip string) int {
	t.Helper()
	return vaultproc.FreePort(t, ip)
}

// New writes the nodes' configurations, sets up netfault (when
// available), and starts every node (uninitialised; see InitAndUnseal).
func New(t testing.TB, o Options) *Cluster {
	t.Helper()
	pc := &Cluster{T: t, bin: o.Bin}
	base := t.TempDir()
	ip := func(i int) string { return NodeIP(o.AddrBase, i) }
	type ports struct{ api, cl int }
	ps := make([]ports, o.N)
	for i := range ps {
		ps[i] = ports{FreePort(t, ip(i)), FreePort(t, ip(i))}
	}
	if nf, err := netfault.New(); err != nil {
		t.Logf("network partitions disabled: %v", err)
	} else {
		pc.Net = nf
		t.Cleanup(func() {
			if err := nf.Close(); err != nil {
				t.Errorf("removing the iptables rules: %v", err)
			}
		})
	}
	for i := 0; i < o.N; i++ {
		dir := filepath.Join(base, fmt.Sprintf("node%d", i+1))
		if err := os.MkdirAll(filepath.Join(dir, "raft"), 0o700); err != nil {
			t.Fatal(err)
		}
		if o.Prep != nil {
			o.Prep(i, filepath.Join(dir, "raft"))
		}
		var joins []string
		if i > 0 {
			for j := range ps {
				if j != i {
					joins = append(joins, fmt.Sprintf("http://%s:%d", ip(j), ps[j].api))
				}
			}
		}
		p := vaultproc.Node{Dir: dir, ID: fmt.Sprintf("node%d", i+1), IP: ip(i), APIPort: ps[i].api,
			ClusterPort: ps[i].cl, Joins: joins, RaftExtra: o.RaftExtra}.Write(t)
		pc.Nodes = append(pc.Nodes, &Node{Idx: i, ID: fmt.Sprintf("node%d", i+1), IP: ip(i),
			Addr: fmt.Sprintf("http://%s:%d", ip(i), ps[i].api), Config: p, Log: &SyncBuffer{}})
	}
	t.Cleanup(pc.KillAll)
	for _, nd := range pc.Nodes {
		pc.Start(nd)
	}
	return pc
}

// Start launches nd's process and waits until it answers sys/health.
func (pc *Cluster) Start(nd *Node) {
	t := pc.T
	t.Helper()
	nd.Mu.Lock()
	cmd := exec.Command(pc.bin, "server", "-config", nd.Config)
	cmd.Stdout, cmd.Stderr = nd.Log, nd.Log
	cmd.Env = append(os.Environ(), "VAULT_ADDR=", "VAULT_TOKEN=")
	if err := cmd.Start(); err != nil {
		nd.Mu.Unlock()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	nd.Cmd, nd.Done, nd.Stopped = cmd, done, false
	nd.Mu.Unlock()
	WaitFor(t, 20*time.Second, nd.ID+" to listen", func() bool {
		select {
		case <-done:
			t.Fatalf("%s exited early:\n%s", nd.ID, nd.Log.String())
		default:
		}
		resp, err := http.Get(nd.Addr + "/v1/sys/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
}

// Signal sends sig to nd's process (if running).
func (nd *Node) Signal(sig syscall.Signal) {
	nd.Mu.Lock()
	defer nd.Mu.Unlock()
	if nd.Cmd == nil || nd.Cmd.Process == nil {
		return
	}
	_ = nd.Cmd.Process.Signal(sig)
	switch sig {
	case syscall.SIGSTOP:
		nd.Stopped = true
	case syscall.SIGCONT:
		nd.Stopped = false
	}
}

// Kill9 kills nd and waits for it to exit.
func (nd *Node) Kill9() {
	nd.Mu.Lock()
	cmd, done := nd.Cmd, nd.Done
	nd.Mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	nd.Mu.Lock()
	nd.Cmd = nil
	nd.Mu.Unlock()
}

// KillAll resumes and kills every node.
func (pc *Cluster) KillAll() {
	for _, nd := range pc.Nodes {
		nd.Signal(syscall.SIGCONT)
		nd.Kill9()
	}
}

// Client is a Vault API client of nd with the root token, no retries.
func (pc *Cluster) Client(nd *Node, timeout time.Duration) *vaultapi.Client {
	cfg := vaultapi.DefaultConfig()
	cfg.Address = nd.Addr
	cfg.MaxRetries = 0
	cfg.Timeout = timeout
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		pc.T.Fatal(err)
	}
	c.SetToken(pc.Root)
	return c
}

// InitAndUnseal initialises through node 1, unseals every node and waits
// until all are voters (checked through sys/storage/raft/configuration).
func (pc *Cluster) InitAndUnseal() {
	t := pc.T
	t.Helper()
	c0 := pc.Client(pc.Nodes[0], 10*time.Second)
	res, err := c0.Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	pc.Keys, pc.Root = res.KeysB64, res.RootToken
	pc.Unseal(pc.Nodes[0])
	if len(pc.Nodes) > 1 {
		// Autopilot promotes a joined node once it has caught up and been
		// stable for server_stabilization_time (10 s by default): shorten it.
		pc.WaitActive(30 * time.Second)
		WaitFor(t, 30*time.Second, "the autopilot configuration", func() bool {
			_, err := pc.Client(pc.Nodes[0], 5*time.Second).Logical().Write("sys/storage/raft/autopilot/configuration",
				map[string]any{"server_stabilization_time": "1s"})
			return err == nil
		})
	}
	for _, nd := range pc.Nodes[1:] {
		pc.Unseal(nd)
	}
	pc.WaitActive(30 * time.Second)
	WaitFor(t, 30*time.Second, "every node to be a voter", func() bool {
		s, err := pc.Client(pc.Nodes[0], 5*time.Second).Logical().Read("sys/storage/raft/configuration")
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
		return voters == len(pc.Nodes)
	})
}

// Unseal submits the key to nd until it reports unsealed (bounded).
func (pc *Cluster) Unseal(nd *Node) {
	t := pc.T
	t.Helper()
	c := pc.Client(nd, 5*time.Second)
	var last error
	WaitForMsg(t, 30*time.Second, nd.ID+" to unseal", func() bool {
		st, err := c.Sys().Unseal(pc.Keys[0])
		last = err
		return err == nil && !st.Sealed
	}, func() string { return fmt.Sprint(last) })
}

// Active returns the node whose sys/health says active, or nil.
func (pc *Cluster) Active() *Node {
	for _, nd := range pc.Nodes {
		nd.Mu.Lock()
		down := nd.Cmd == nil || nd.Stopped
		nd.Mu.Unlock()
		if down {
			continue
		}
		cl := &http.Client{Timeout: time.Second}
		resp, err := cl.Get(nd.Addr + "/v1/sys/health")
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

// WaitActive waits (bounded) for an active node and returns it.
func (pc *Cluster) WaitActive(timeout time.Duration) *Node {
	var act *Node
	WaitFor(pc.T, timeout, "an active node", func() bool {
		act = pc.Active()
		return act != nil
	})
	return act
}

// WaitFor polls cond every 25ms until it holds, failing the test after
// timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	vaultproc.WaitForMsg(t, timeout, what, cond, nil)
}

// WaitForMsg is WaitFor whose failure adds detail() (the last error).
func WaitForMsg(t testing.TB, timeout time.Duration, what string, cond func() bool, detail func() string) {
	t.Helper()
	vaultproc.WaitForMsg(t, timeout, what, cond, detail)
}

// StatusCode is the HTTP status of a Vault API client error, or 0.
func StatusCode(err error) int { return vaultproc.StatusCode(err) }
