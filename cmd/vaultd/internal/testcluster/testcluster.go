// Package testcluster runs an in-process vaultd cluster for tests: N full
// nodes (raft storage, core, HTTP API) built by server.Start from
// config.Config values, on real loopback TCP with ports picked at run time
// and data in t.TempDir. Every node's logs go to t.Log with a node prefix.
// t.Cleanup stops every node.
//
//	c := testcluster.New(t, 3)
//	root := c.InitAndUnseal(t)
//	active := c.Active(t)
//	cl := c.Client(t, 1) // official github.com/hashicorp/vault/api client, root token set
//
// Nodes 1..N-1 are configured with retry_join to node 0 (and each other),
// so multi-node clusters need the join flow of the server; N=1 needs
// nothing else.
package testcluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
	"github.com/vaultd/vaultd/cmd/vaultd/internal/server"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/internal/freeport"
	"github.com/vaultd/vaultd/raftstore"
)

// Option configures a Cluster.
type Option func(*options)

type options struct {
	perfMultiplier int
	logger         func(nodeID string) *slog.Logger
	shares         int
	threshold      int
	mutate         func(i int, cfg *config.Config)
	waitTimeout    time.Duration
}

// WithPerformanceMultiplier sets raft's performance_multiplier (default 1).
func WithPerformanceMultiplier(m int) Option { return func(o *options) { o.perfMultiplier = m } }

// WithLogger replaces the default logger (t.Log with a node prefix, Info
// level).
func WithLogger(f func(nodeID string) *slog.Logger) Option {
	return func(o *options) { o.logger = f }
}

// WithShares sets the unseal key shares and threshold InitAndUnseal uses
// (default 1 of 1).
func WithShares(shares, threshold int) Option {
	return func(o *options) { o.shares, o.threshold = shares, threshold }
}

// WithConfig lets a test adjust node i's configuration before it starts
// (and before every restart).
func WithConfig(f func(i int, cfg *config.Config)) Option {
	return func(o *options) { o.mutate = f }
}

// WithWaitTimeout bounds Active, InitAndUnseal and Start's waits (default 30 s).
func WithWaitTimeout(d time.Duration) Option { return func(o *options) { o.waitTimeout = d } }

// Node is one member of the cluster. Core and Store are nil while the node
// is stopped.
type Node struct {
	Index       int
	ID          string
	APIAddr     string // http://127.0.0.1:port
	ClusterAddr string // https://127.0.0.1:port
	DataDir     string
	Core        *core.Core
	Store       *raftstore.Store

	apiPort, clusterPort int
	srv                  *server.Node
	log                  *slog.Logger
}

// Routes lists the routes the node's HTTP layer registers (nil while it
// is stopped).
func (n *Node) Routes() []api.Route {
	if n.srv == nil {
		return nil
	}
	return n.srv.Routes()
}

// Running reports whether the node is started.
func (n *Node) Running() bool { return n.srv != nil }

// Cluster is a set of in-process nodes.
type Cluster struct {
	opts  options
	nodes []*Node

	mu         sync.Mutex
	rootToken  string
	unsealKeys []string
}

// New starts n nodes (sealed, not initialised). Ports are reserved on
// 127.0.0.1; every node keeps its ports and data dir across Stop/Start.
func New(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("testcluster: need at least one node, got %d", n)
	}
	o := options{perfMultiplier: 1, shares: 1, threshold: 1, waitTimeout: 30 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	if o.logger == nil {
		o.logger = testLogger(t)
	}
	c := &Cluster{opts: o}
	base := t.TempDir()
	for i := 0; i < n; i++ {
		nd := &Node{
			Index: i, ID: fmt.Sprintf("node%d", i+1),
			apiPort: freePort(t), clusterPort: freePort(t),
		}
		nd.APIAddr = fmt.Sprintf("http://127.0.0.1:%d", nd.apiPort)
		nd.ClusterAddr = fmt.Sprintf("https://127.0.0.1:%d", nd.clusterPort)
		nd.DataDir = filepath.Join(base, nd.ID)
		nd.log = o.logger(nd.ID)
		c.nodes = append(c.nodes, nd)
	}
	t.Cleanup(c.Close)
	for i := range c.nodes {
		c.Start(t, i)
	}
	return c
}

// config builds node i's server configuration.
func (c *Cluster) config(i int) *config.Config {
	nd := c.nodes[i]
	st := &config.Storage{
		Type: config.StorageRaft, Path: nd.DataDir, NodeID: nd.ID,
		PerformanceMultiplier: c.opts.perfMultiplier,
	}
	if i > 0 {
		for _, o := range c.nodes {
			if o != nd {
				st.RetryJoin = append(st.RetryJoin, config.RetryJoin{LeaderAPIAddr: o.APIAddr})
			}
		}
	}
	cfg := &config.Config{
		Storage: st,
		Listeners: []config.Listener{{
			Type: config.ListenerTCP, Address: fmt.Sprintf("127.0.0.1:%d", nd.apiPort),
			ClusterAddress: fmt.Sprintf("127.0.0.1:%d", nd.clusterPort),
			TLSDisable:     true, MaxRequestSize: config.DefaultMaxRequestSize,
		}},
		APIAddr: nd.APIAddr, ClusterAddr: nd.ClusterAddr, DisableMlock: true,
		ClusterName: "testcluster", LogLevel: config.LogLevelInfo,
	}
	if c.opts.mutate != nil {
		c.opts.mutate(i, cfg)
	}
	return cfg
}

// Node returns node i (running or not).
func (c *Cluster) Node(i int) *Node { return c.nodes[i] }

// Nodes returns every node.
func (c *Cluster) Nodes() []*Node { return append([]*Node(nil), c.nodes...) }

// Start starts node i from its data dir (it comes back sealed). If the
// cluster was initialised, use Unseal to unseal it.
func (c *Cluster) Start(t testing.TB, i int) {
	t.Helper()
	nd := c.nodes[i]
	if nd.srv != nil {
		t.Fatalf("testcluster: node %d is running", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.waitTimeout)
	defer cancel()
	var srv *server.Node
	var err error
	// The port may still be in TIME_WAIT or briefly taken; retry a little.
	for attempt := 0; ; attempt++ {
		srv, err = server.Start(ctx, c.config(i), nd.log)
		if err == nil || attempt == 20 || !strings.Contains(err.Error(), "address already in use") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("testcluster: starting %s: %v", nd.ID, err)
	}
	nd.srv, nd.Core, nd.Store = srv, srv.Core, srv.Store
}

// Stop stops node i (graceful: raft shuts down, the listener closes).
func (c *Cluster) Stop(i int) {
	nd := c.nodes[i]
	if nd.srv == nil {
		return
	}
	nd.srv.Close()
	nd.srv, nd.Core, nd.Store = nil, nil, nil
}

// Close stops every node; t.Cleanup calls it.
func (c *Cluster) Close() {
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Stop(i)
		}()
	}
	wg.Wait()
}

// RootToken and UnsealKeys are what InitAndUnseal got from sys/init.
func (c *Cluster) RootToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rootToken
}

// UnsealKeys returns the base64 unseal key shares.
func (c *Cluster) UnsealKeys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.unsealKeys...)
}

// InitAndUnseal initialises the cluster through node 0, unseals every
// running node, and waits until node 0 is active and every running node
// is an unsealed member of the raft configuration. It returns the root
// token.
func (c *Cluster) InitAndUnseal(t testing.TB) string {
	t.Helper()
	cl := c.client(t, 0, "")
	res, err := cl.Sys().Init(&vaultapi.InitRequest{SecretShares: c.opts.shares, SecretThreshold: c.opts.threshold})
	if err != nil {
		t.Fatalf("testcluster: init: %v", err)
	}
	c.mu.Lock()
	c.rootToken, c.unsealKeys = res.RootToken, res.KeysB64
	c.mu.Unlock()
	c.Unseal(t, 0)
	act := c.Active(t)
	if len(c.nodes) > 1 {
		// Autopilot promotes joiners after server_stabilization_time (10 s
		// by default): shorten it so that WaitMembers does not wait for
		// nothing. (A one-node cluster keeps the defaults.)
		rc := c.client(t, act.Index, res.RootToken)
		c.waitFor(t, "the autopilot configuration", func() bool {
			_, err := rc.Logical().Write("sys/storage/raft/autopilot/configuration", map[string]any{"server_stabilization_time": "1s"})
			return err == nil
		}, nil)
	}
	for i := 1; i < len(c.nodes); i++ {
		if c.nodes[i].Running() {
			c.Unseal(t, i)
		}
	}
	c.WaitMembers(t)
	return res.RootToken
}

// Unseal submits the unseal keys to node i until it is unsealed (bounded;
// a node that is still joining may refuse keys for a moment).
func (c *Cluster) Unseal(t testing.TB, i int) {
	t.Helper()
	cl := c.client(t, i, "")
	keys := c.UnsealKeys()
	var last error
	c.waitFor(t, "node "+c.nodes[i].ID+" to unseal", func() bool {
		for _, k := range keys {
			st, err := cl.Sys().Unseal(k)
			if err != nil {
				last = err
				return false
			}
			if !st.Sealed {
				return true
			}
		}
		st, err := cl.Sys().SealStatus()
		return err == nil && !st.Sealed
	}, func() string { return fmt.Sprint(last) })
}

// WaitMembers waits until every running node is a voter in the leader's
// raft configuration and unsealed.
func (c *Cluster) WaitMembers(t testing.TB) {
	t.Helper()
	c.waitFor(t, "every running node to be an unsealed raft voter", func() bool {
		var leader *Node
		for _, nd := range c.nodes {
			if nd.Running() && nd.Store != nil && nd.Store.IsLeader() {
				leader = nd
			}
		}
		if leader == nil {
			return false
		}
		cfg, err := leader.Store.Configuration(context.Background())
		if err != nil {
			return false
		}
		ids := map[string]bool{}
		for _, s := range cfg {
			ids[s.ID] = s.Voter
		}
		for _, nd := range c.nodes {
			if nd.Running() && (!ids[nd.ID] || nd.Core.Sealed()) {
				return false
			}
		}
		return true
	}, nil)
}

// Active waits (bounded) for exactly one active node and returns it.
func (c *Cluster) Active(t testing.TB) *Node {
	t.Helper()
	var act *Node
	c.waitFor(t, "an active node", func() bool {
		act = nil
		n := 0
		for _, nd := range c.nodes {
			if nd.Running() && nd.Core.IsActive() {
				act = nd
				n++
			}
		}
		return n == 1
	}, nil)
	return act
}

// Standbys returns the running, unsealed nodes that are not active, once
// there is an active node.
func (c *Cluster) Standbys(t testing.TB) []*Node {
	t.Helper()
	act := c.Active(t)
	var out []*Node
	for _, nd := range c.nodes {
		if nd != act && nd.Running() && !nd.Core.Sealed() {
			out = append(out, nd)
		}
	}
	return out
}

// Client returns an official Vault API client for node i with the root
// token (empty before InitAndUnseal). It does not retry.
func (c *Cluster) Client(t testing.TB, i int) *vaultapi.Client {
	t.Helper()
	return c.client(t, i, c.RootToken())
}

func (c *Cluster) client(t testing.TB, i int, token string) *vaultapi.Client {
	t.Helper()
	cfg := vaultapi.DefaultConfig()
	cfg.Address = c.nodes[i].APIAddr
	cfg.MaxRetries = 0
	cfg.Timeout = 15 * time.Second
	cl, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatalf("testcluster: client: %v", err)
	}
	cl.SetToken(token)
	return cl
}

func (c *Cluster) waitFor(t testing.TB, what string, cond func() bool, detail func() string) {
	t.Helper()
	deadline := time.Now().Add(c.opts.waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			if detail != nil {
				msg = ": last error: " + detail()
			}
			t.Fatalf("testcluster: timed out after %s waiting for %s%s", c.opts.waitTimeout, what, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort is a loopback port below the ephemeral range (nodes restart
// on their ports: see internal/freeport).
func freePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.On("127.0.0.1")
	if err != nil {
		t.Fatalf("testcluster: free port: %v", err)
	}
	return p
}

// testLogger logs to t.Log with a node prefix until the test's cleanup,
// then drops lines (raft may still log while it stops).
func testLogger(t testing.TB) func(string) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return func(id string) *slog.Logger {
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", id)
	}
}

type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

var _ io.Writer = (*testWriter)(nil)
