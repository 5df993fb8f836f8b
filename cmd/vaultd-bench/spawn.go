package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vaultd/vaultd/internal/freeport"
)

// Errors of the -spawn machinery.
var (
	ErrSpawn     = errors.New("spawning vaultd")
	ErrNotActive = errors.New("no active node")
)

// node is one vaultd process started by the tool.
type node struct {
	id   string
	addr string // http://127.0.0.1:port
	cmd  *exec.Cmd
	logf *os.File
	done chan struct{}
}

// alive reports whether the process is still running.
func (n *node) alive() bool {
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL to this node's process (only ours, by pid) and waits.
func (n *node) kill() {
	if n.cmd.Process != nil && n.alive() {
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.done
	}
}

// stop asks for a graceful exit and kills after a bound.
func (n *node) stop() {
	if n.cmd.Process == nil || !n.alive() {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		n.kill()
	}
}

// cluster is what -spawn brought up.
type cluster struct {
	dir     string
	keep    bool
	nodes   []*node
	token   string
	unseal  string
	desc    string
	httpc   *http.Client
	stopped sync.Once
	// raft clusters: what startRaftNode needs to (re)start a node.
	bin   string
	opts  spawnOptions
	ports []ports
	// startTimeout bounds how long start waits for a node's HTTP listener
	// (default 30 s; a restart with a large state takes longer).
	startTimeout time.Duration
}

// Close stops every spawned process and removes the data directory.
func (c *cluster) Close() {
	c.stopped.Do(func() {
		for _, n := range c.nodes {
			n.stop()
			if n.logf != nil {
				n.logf.Close()
			}
		}
		if !c.keep {
			os.RemoveAll(c.dir)
		}
	})
}

func (c *cluster) addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.addr
	}
	return out
}

// spawnOptions are the -spawn flags.
type spawnOptions struct {
	n         int
	storage   string // raft or inmem (dev server)
	bin       string // prebuilt vaultd, or "" to go build it
	mount     string
	logLevel  string
	keep      bool
	perfMulti int
	// raftOpts are extra key = value lines of the storage "raft" block
	// (-raft-option), e.g. snapshot_interval = "120s" for an A/B.
	raftOpts []string
	// noAdmission disables the CPU pool and the request limiter.
	noAdmission bool
	stderr      io.Writer
}

// freePort is a loopback port below the ephemeral range, which a port
// chosen now and bound later by a child needs (see internal/freeport).
func freePort() (int, error) { return freeport.On("127.0.0.1") }

// buildVaultd compiles ./cmd/vaultd of the module the tool runs in.
func buildVaultd(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	bin := filepath.Join(dir, "vaultd")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/vaultd/vaultd/cmd/vaultd")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: go build github.com/vaultd/vaultd/cmd/vaultd (run from inside the vaultd module, or pass -vaultd): %v", ErrSpawn, err)
	}
	return bin, nil
}

// spawn starts o.n vaultd processes and returns them initialised, unsealed,
// with a KV v2 mount at o.mount and a root token.
func spawn(ctx context.Context, o spawnOptions) (_ *cluster, err error) {
	if o.n < 1 {
		return nil, fmt.Errorf("%w: -spawn must be >= 1", ErrSpawn)
	}
	if o.storage == "inmem" && o.n != 1 {
		return nil, fmt.Errorf("%w: the dev server (-storage inmem) is a single node", ErrSpawn)
	}
	dir, err := os.MkdirTemp("", "vaultd-bench-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpawn, err)
	}
	c := &cluster{dir: dir, keep: o.keep, httpc: &http.Client{Timeout: 5 * time.Second, Transport: newHTTPTransport(4, false)}}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	bin := o.bin
	if bin == "" {
		if bin, err = buildVaultd(ctx, dir, o.stderr); err != nil {
			return nil, err
		}
	}
	if o.storage == "inmem" {
		return c, c.startDev(ctx, bin, o)
	}
	return c, c.startRaft(ctx, bin, o)
}

func (c *cluster) start(ctx context.Context, bin, id, addr string, stdout io.Writer, args ...string) (*node, error) {
	logf, err := os.OpenFile(filepath.Join(c.dir, id+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpawn, err)
	}
	n := &node{id: id, addr: addr, logf: logf, done: make(chan struct{})}
	n.cmd = exec.Command(bin, args...)
	n.cmd.Stderr = logf
	n.cmd.Stdout = stdout
	if stdout == nil {
		n.cmd.Stdout = logf
	}
	n.cmd.Env = append(os.Environ(), "VAULT_ADDR=", "VAULT_TOKEN=")
	if err := n.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("%w: starting %s: %v", ErrSpawn, id, err)
	}
	go func() {
		_ = n.cmd.Wait()
		close(n.done)
	}()
	c.nodes = append(c.nodes, n)
	wait := c.startTimeout
	if wait == 0 {
		wait = 30 * time.Second
	}
	err = waitUntil(ctx, wait, func() bool {
		if !n.alive() {
			return true
		}
		resp, err := c.httpc.Get(addr + "/v1/sys/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	if err != nil || !n.alive() {
		return nil, fmt.Errorf("%w: %s did not come up (log: %s)", ErrSpawn, id, logf.Name())
	}
	return n, nil
}

// rootTokenWriter captures the "Root Token: ..." line of the dev server's
// banner without keeping or echoing anything else.
type rootTokenWriter struct {
	mu    sync.Mutex
	buf   []byte
	token string
	got   chan struct{}
}

func (w *rootTokenWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.token != "" {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	sc := bufio.NewScanner(bytes.NewReader(w.buf))
	for sc.Scan() {
		if t, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Root Token: "); ok && t != "" {
			w.token = t
			clear(w.buf)
			w.buf = nil
			close(w.got)
			break
		}
	}
	return len(p), nil
}

func (c *cluster) startDev(ctx context.Context, bin string, o spawnOptions) error {
	port, err := freePort()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSpawn, err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	tw := &rootTokenWriter{got: make(chan struct{})}
	args := []string{"server", "-dev", "-dev-listen-address=" + listen}
	if o.logLevel != "" {
		args = append(args, "-log-level="+o.logLevel)
	}
	if _, err := c.start(ctx, bin, "dev", "http://"+listen, tw, args...); err != nil {
		return err
	}
	select {
	case <-tw.got:
	case <-time.After(20 * time.Second):
		return fmt.Errorf("%w: dev server printed no root token", ErrSpawn)
	}
	tw.mu.Lock()
	c.token = tw.token
	tw.mu.Unlock()
	c.desc = "vaultd server -dev (inmem storage)"
	if o.mount != "secret" {
		return c.mountKV(ctx, c.nodes[0].addr, o.mount)
	}
	return nil
}

func (c *cluster) startRaft(ctx context.Context, bin string, o spawnOptions) error {
	c.bin, c.opts = bin, o
	for range o.n {
		a, err := freePort()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrSpawn, err)
		}
		cl, err := freePort()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrSpawn, err)
		}
		c.ports = append(c.ports, ports{a, cl})
	}
	for i := range c.ports {
		if _, err := c.startRaftNode(ctx, i); err != nil {
			return err
		}
	}
	first := c.nodes[0].addr
	var initResp struct {
		Keys      []string `json:"keys_base64"`
		RootToken string   `json:"root_token"`
	}
	if err := c.call(ctx, http.MethodPut, first, "sys/init", "", map[string]any{"secret_shares": 1, "secret_threshold": 1}, &initResp); err != nil {
		return fmt.Errorf("%w: init: %v", ErrSpawn, err)
	}
	if len(initResp.Keys) != 1 || initResp.RootToken == "" {
		return fmt.Errorf("%w: init returned no key or token", ErrSpawn)
	}
	c.unseal, c.token = initResp.Keys[0], initResp.RootToken
	for _, n := range c.nodes {
		if err := c.unsealNode(ctx, n); err != nil {
			return err
		}
	}
	if _, err := c.waitActive(ctx, 30*time.Second, nil); err != nil {
		return err
	}
	if o.n > 1 {
		if err := c.waitPeers(ctx, o.n, 60*time.Second); err != nil {
			return err
		}
	}
	act, err := c.waitActive(ctx, 30*time.Second, nil)
	if err != nil {
		return err
	}
	if err := c.mountKV(ctx, act.addr, o.mount); err != nil {
		return err
	}
	c.desc = fmt.Sprintf("%d vaultd raft node(s), data and logs in %s (removed on exit unless -keep)", o.n, c.dir)
	return nil
}

// ports are one raft node's API and cluster ports.
type ports struct{ api, cluster int }

// startRaftNode writes node i's config (c.ports[i]; node1 bootstraps at
// init, the others retry_join every other node) and starts it.
func (c *cluster) startRaftNode(ctx context.Context, i int) (*node, error) {
	o, p := c.opts, c.ports[i]
	id := fmt.Sprintf("node%d", i+1)
	ndir := filepath.Join(c.dir, id)
	if err := os.MkdirAll(filepath.Join(ndir, "raft"), 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpawn, err)
	}
	var join strings.Builder
	if i > 0 {
		for j, q := range c.ports {
			if j != i {
				fmt.Fprintf(&join, "  retry_join {\n    leader_api_addr = \"http://127.0.0.1:%d\"\n  }\n", q.api)
			}
		}
	}
	perf := ""
	if o.perfMulti > 0 {
		perf = fmt.Sprintf("  performance_multiplier = %d\n", o.perfMulti)
	}
	for _, kv := range o.raftOpts {
		perf += "  " + kv + "\n"
	}
	cfg := fmt.Sprintf(`storage "raft" {
  path    = %q
  node_id = %q
%s%s}
listener "tcp" {
  address          = "127.0.0.1:%d"
  cluster_address  = "127.0.0.1:%d"
  tls_disable      = true
}
api_addr      = "http://127.0.0.1:%d"
cluster_addr  = "https://127.0.0.1:%d"
disable_mlock = true
log_level     = %q
`, filepath.Join(ndir, "raft"), id, perf, join.String(), p.api, p.cluster, p.api, p.cluster, o.logLevel)
	if o.noAdmission {
		cfg += "request_limiter {\n  disable = true\n}\ncpu_pool {\n  disable = true\n}\n"
	}
	path := filepath.Join(ndir, "vaultd.hcl")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpawn, err)
	}
	return c.start(ctx, c.bin, id, fmt.Sprintf("http://127.0.0.1:%d", p.api), nil, "server", "-config="+path)
}

// unsealNode submits the key until the node reports unsealed (a joining
// node may refuse until it has joined the cluster).
func (c *cluster) unsealNode(ctx context.Context, n *node) error {
	var last error
	err := waitUntil(ctx, 60*time.Second, func() bool {
		var st struct {
			Sealed bool `json:"sealed"`
		}
		if last = c.call(ctx, http.MethodPut, n.addr, "sys/unseal", "", map[string]any{"key": c.unseal}, &st); last != nil {
			return false
		}
		return !st.Sealed
	})
	if err != nil {
		return fmt.Errorf("%w: unsealing %s: %v (last: %v; log: %s)", ErrSpawn, n.id, err, last, n.logf.Name())
	}
	return nil
}

// waitPeers waits until every node is unsealed and exactly one is active
// with the others standing by (sys/health), i.e. the followers have joined.
func (c *cluster) waitPeers(ctx context.Context, want int, d time.Duration) error {
	var active, standby int
	err := waitUntil(ctx, d, func() bool {
		active, standby = 0, 0
		for _, n := range c.nodes {
			var h struct {
				Sealed  bool `json:"sealed"`
				Standby bool `json:"standby"`
			}
			if c.call(ctx, http.MethodGet, n.addr, "sys/health?standbyok=true", "", nil, &h) != nil || h.Sealed {
				continue
			}
			if h.Standby {
				standby++
			} else {
				active++
			}
		}
		return active == 1 && active+standby == want
	})
	if err != nil {
		return fmt.Errorf("%w: %d active and %d standby of %d nodes after %s (is retry_join implemented in this build?)", ErrSpawn, active, standby, want, d)
	}
	return nil
}

// activeNode returns the live node that says it is the active one.
func (c *cluster) activeNode(ctx context.Context, skip *node) (*node, error) {
	for _, n := range c.nodes {
		if n == skip || !n.alive() {
			continue
		}
		var li struct {
			IsSelf bool `json:"is_self"`
		}
		if c.call(ctx, http.MethodGet, n.addr, "sys/leader", "", nil, &li) == nil && li.IsSelf {
			return n, nil
		}
	}
	return nil, ErrNotActive
}

func (c *cluster) waitActive(ctx context.Context, d time.Duration, skip *node) (*node, error) {
	var act *node
	err := waitUntil(ctx, d, func() bool {
		var err error
		act, err = c.activeNode(ctx, skip)
		return err == nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w after %s", ErrNotActive, d)
	}
	return act, nil
}

func (c *cluster) mountKV(ctx context.Context, addr, mount string) error {
	err := c.call(ctx, http.MethodPost, addr, "sys/mounts/"+mount, c.token, map[string]any{"type": "kv", "options": map[string]string{"version": "2"}}, nil)
	if err != nil {
		return fmt.Errorf("%w: mounting kv-v2 at %s: %v", ErrSpawn, mount, err)
	}
	return nil
}

// call is a small JSON request helper for the setup calls.
func (c *cluster) call(ctx context.Context, method, addr, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, addr+"/v1/"+path, body)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := c.httpc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		_, _ = io.Copy(io.Discard, resp.Body)
		return &errStatus{resp.StatusCode}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// waitUntil polls cond every 25 ms until it holds, d passes or ctx ends.
func waitUntil(ctx context.Context, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return context.DeadlineExceeded
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
	return nil
}
