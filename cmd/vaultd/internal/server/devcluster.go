package server

// `vaultd server -dev -dev-cluster=N`: a one-command local HA cluster of N
// in-process nodes, each a full node built by Start (real raft over its own
// mTLS cluster port on loopback, its own HTTP API), with raft data in a
// temporary directory removed on exit.
//
// Ports. With -dev-listen-address HOST:PORT (default 127.0.0.1:8200), node
// i (1-based) serves its API on PORT+2*(i-1) and its cluster port on
// PORT+2*(i-1)+1 — Vault's "cluster port = API port + 1" convention, node
// after node: 8200/8201, 8202/8203, 8204/8205 for three nodes. With PORT 0
// every port is chosen free at run time.
//
// Node 1 is initialised (one key share; -dev-root-token-id honoured),
// unsealed and mounts KV v2 at secret/; nodes 2..N are configured with
// retry_join to node 1 (and each other), join through the regular
// unseal-proven join and are unsealed with the same key. The banner lists
// every node's API address, the unseal key and the root token.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/secrets"
)

// MaxDevClusterNodes is the largest -dev-cluster accepted.
const MaxDevClusterNodes = 7

// ErrDevCluster marks an invalid -dev-cluster request.
var ErrDevCluster = errors.New("invalid -dev-cluster")

// devClusterWait bounds each startup wait (init, join, unseal, membership).
const devClusterWait = 60 * time.Second

// DevClusterConfig configures StartDevCluster.
type DevClusterConfig struct {
	Nodes         int    // 2..MaxDevClusterNodes
	ListenAddress string // HOST:PORT of node 1's API; PORT 0 picks free ports
	RootTokenID   string // optional fixed root token
	Logger        *slog.Logger
}

// DevCluster is a running dev cluster.
type DevCluster struct {
	// Nodes are the running nodes, node 1 first.
	Nodes []*Node
	// RootToken is the cluster's root token.
	RootToken string

	unsealKey seal.Secret
	dir       string
	log       *slog.Logger
	once      sync.Once
}

// checkDevCluster validates the -dev-cluster flag. As in Vault, a dev
// cluster flag implies -dev.
func checkDevCluster(o *Options) error {
	switch {
	case o.DevCluster < 0:
		return fmt.Errorf("%w: %d nodes; use 0 or 1 for a single dev node, 2..%d for a cluster", ErrDevCluster, o.DevCluster, MaxDevClusterNodes)
	case o.DevCluster > MaxDevClusterNodes:
		return fmt.Errorf("%w: %d nodes is more than the %d a local dev cluster supports", ErrDevCluster, o.DevCluster, MaxDevClusterNodes)
	case o.DevCluster > 0:
		o.Dev = true
		if o.DevCluster > 1 && len(o.ConfigPaths) > 0 {
			return fmt.Errorf("%w: -dev-cluster builds every node's configuration itself and does not take -config", ErrDevCluster)
		}
	}
	return nil
}

// runDevCluster is Run for -dev-cluster > 1: start, print, serve until ctx
// is done (SIGINT/SIGTERM), then stop every node and remove the raft data.
func runDevCluster(ctx context.Context, o Options, stdout, stderr io.Writer) error {
	level := o.LogLevel
	if level == "" {
		level = config.LogLevelInfo
	}
	log := newLogger(stderr, level, "")
	if o.DevCluster%2 == 0 {
		log.Warn("an even number of nodes tolerates no more failures than one node fewer; prefer an odd -dev-cluster", "nodes", o.DevCluster)
	}
	dc, err := StartDevCluster(ctx, DevClusterConfig{Nodes: o.DevCluster, ListenAddress: o.DevListenAddress, RootTokenID: o.DevRootTokenID, Logger: log})
	if err != nil {
		return oneLine(err)
	}
	defer dc.Close()
	dc.printBanner(stdout)
	addrs := make([]string, len(dc.Nodes))
	for i, n := range dc.Nodes {
		addrs[i] = n.APIAddr
	}
	log.Info("vaultd dev cluster started", "nodes", len(dc.Nodes), "api_addrs", addrs, "data_dir", dc.dir)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			log.Info("shutting down the dev cluster")
			return nil // deferred Close
		case <-hup:
			for _, n := range dc.Nodes {
				if err := n.Core.ReopenAuditDevices(); err != nil {
					log.Warn("reopening audit devices on SIGHUP", "node", n.Core.NodeID(), "error", err)
				}
			}
		}
	}
}

// devAddrs are one node's listen addresses (host:port).
type devAddrs struct{ API, Cluster string }

// devClusterAddrs plans every node's API and cluster listen addresses
// from -dev-listen-address (see the file comment).
func devClusterAddrs(listen string, n int) ([]devAddrs, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("%w: -dev-listen-address %q: %v", ErrDevCluster, listen, err)
	}
	base, err := strconv.Atoi(port)
	if err != nil || base < 0 || base > 65535 {
		return nil, fmt.Errorf("%w: -dev-listen-address %q: bad port", ErrDevCluster, listen)
	}
	if n < 1 || n > MaxDevClusterNodes {
		return nil, fmt.Errorf("%w: %d nodes", ErrDevCluster, n)
	}
	out := make([]devAddrs, n)
	if base != 0 {
		if last := base + 2*n - 1; last > 65535 {
			return nil, fmt.Errorf("%w: -dev-listen-address %q: %d nodes need ports %d..%d", ErrDevCluster, listen, n, base, last)
		}
		for i := range out {
			out[i] = devAddrs{API: net.JoinHostPort(host, strconv.Itoa(base+2*i)), Cluster: net.JoinHostPort(host, strconv.Itoa(base+2*i+1))}
		}
		return out, nil
	}
	// Port 0: hold every probe listener until all are chosen, so no port
	// is handed out twice.
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	pick := func() (string, error) {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return "", fmt.Errorf("choosing a free port on %q: %w", host, err)
		}
		lns = append(lns, l)
		_, p, _ := net.SplitHostPort(l.Addr().String())
		return net.JoinHostPort(host, p), nil
	}
	for i := range out {
		if out[i].API, err = pick(); err != nil {
			return nil, err
		}
		if out[i].Cluster, err = pick(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// advertised is the address other nodes and clients dial for a listen
// address: an unspecified host (all interfaces) is reached on loopback.
func advertised(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// devNodeConfig is node i's (0-based) configuration.
func devNodeConfig(i int, addrs []devAddrs, dir string) *config.Config {
	a := addrs[i]
	st := &config.Storage{Type: config.StorageRaft, Path: filepath.Join(dir, devNodeID(i)), NodeID: devNodeID(i), PerformanceMultiplier: 1}
	if i > 0 { // node 1 first: it is the cluster's designated seed
		for j, o := range addrs {
			if j != i {
				st.RetryJoin = append(st.RetryJoin, config.RetryJoin{LeaderAPIAddr: "http://" + advertised(o.API)})
			}
		}
	}
	return &config.Config{
		Storage: st,
		Listeners: []config.Listener{{
			Type: config.ListenerTCP, Address: a.API, ClusterAddress: a.Cluster,
			TLSDisable: true, MaxRequestSize: config.DefaultMaxRequestSize,
		}},
		APIAddr: "http://" + advertised(a.API), ClusterAddr: "https://" + advertised(a.Cluster),
		DisableMlock: true, ClusterName: "vaultd-dev-cluster", LogLevel: config.LogLevelInfo,
		UI: true, // as with -dev
	}
}

func devNodeID(i int) string { return "node" + strconv.Itoa(i+1) }

// StartDevCluster starts cfg.Nodes in-process nodes, initialises node 1,
// unseals every node, mounts KV v2 at secret/ and waits until every node
// is an unsealed raft voter. On error everything started is stopped and
// the temporary raft directory removed.
func StartDevCluster(ctx context.Context, cfg DevClusterConfig) (_ *DevCluster, err error) {
	if cfg.Nodes < 2 || cfg.Nodes > MaxDevClusterNodes {
		return nil, fmt.Errorf("%w: %d nodes; a cluster needs 2..%d", ErrDevCluster, cfg.Nodes, MaxDevClusterNodes)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addrs, err := devClusterAddrs(cfg.ListenAddress, cfg.Nodes)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vaultd-dev-cluster-")
	if err != nil {
		return nil, fmt.Errorf("dev cluster: temporary raft directory: %w", err)
	}
	dc := &DevCluster{dir: dir, log: log}
	defer func() {
		if err != nil {
			dc.Close()
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, devClusterWait)
	defer cancel()

	// Node 1: start, initialise, unseal, wait until active, mount secret/.
	n1, err := Start(wctx, devNodeConfig(0, addrs, dir), log.With("node", devNodeID(0)))
	if err != nil {
		return nil, fmt.Errorf("dev cluster: starting %s: %w", devNodeID(0), err)
	}
	dc.Nodes = append(dc.Nodes, n1)
	res, err := n1.Core.Init(wctx, core.InitRequest{SecretShares: 1, SecretThreshold: 1, RootTokenID: cfg.RootTokenID}, nil)
	if err != nil {
		return nil, fmt.Errorf("dev cluster: init: %w", err)
	}
	dc.unsealKey, dc.RootToken = res.Shares[0], res.RootToken
	if err := dc.unseal(wctx, n1); err != nil {
		return nil, err
	}
	if err := waitUntil(wctx, func() bool { return n1.Core.IsActive() }); err != nil {
		return nil, fmt.Errorf("dev cluster: %s did not become active: %w", devNodeID(0), err)
	}
	if err := n1.Core.EnableMount(wctx, "secret", "kv", "key/value secret storage", map[string]string{"version": "2"}, core.MountConfig{}); err != nil {
		return nil, fmt.Errorf("dev cluster: mount secret/: %w", err)
	}
	// Autopilot promotes a joined node once it has been healthy for
	// server_stabilization_time (10 s by default); a dev cluster's nodes
	// share one host, so 1 s is plenty and startup stays quick.
	if _, err := n1.Core.HandleRequest(wctx, &core.Request{Operation: secrets.OpUpdate, Path: "sys/storage/raft/autopilot/configuration",
		Data: map[string]any{"server_stabilization_time": "1s"}, ClientToken: res.RootToken}); err != nil {
		return nil, fmt.Errorf("dev cluster: autopilot configuration: %w", err)
	}

	// Nodes 2..N: start together (they join node 1 through retry_join)
	// and unseal each with the key.
	rest := make([]*Node, len(addrs)-1)
	errs := make([]error, len(addrs)-1)
	var wg sync.WaitGroup
	for i := 1; i < len(addrs); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := Start(wctx, devNodeConfig(i, addrs, dir), log.With("node", devNodeID(i)))
			if err != nil {
				errs[i-1] = fmt.Errorf("dev cluster: starting %s: %w", devNodeID(i), err)
				return
			}
			rest[i-1] = n
			errs[i-1] = dc.unseal(wctx, n)
		}()
	}
	wg.Wait()
	for _, n := range rest {
		if n != nil {
			dc.Nodes = append(dc.Nodes, n)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := waitUntil(wctx, dc.allVoters); err != nil {
		return nil, fmt.Errorf("dev cluster: every node did not become an unsealed raft voter: %w", err)
	}
	return dc, nil
}

// unseal submits the key to n until it is unsealed; a node still joining
// refuses it for a moment.
func (dc *DevCluster) unseal(ctx context.Context, n *Node) error {
	var last error
	err := waitUntil(ctx, func() bool {
		k := bytes.Clone(dc.unsealKey)
		_, err := n.Core.Unseal(ctx, k)
		clear(k)
		if err != nil {
			last = err
		}
		return !n.Core.Sealed()
	})
	if err != nil {
		return fmt.Errorf("dev cluster: unsealing %s: %w (last: %v)", n.Core.NodeID(), err, last)
	}
	return nil
}

// allVoters reports whether every node is unsealed and a voter in the
// leader's raft configuration.
func (dc *DevCluster) allVoters() bool {
	var leader *Node
	for _, n := range dc.Nodes {
		if n.Core.Sealed() {
			return false
		}
		if n.Store.IsLeader() {
			leader = n
		}
	}
	if leader == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srvs, err := leader.Store.Configuration(ctx)
	if err != nil {
		return false
	}
	voter := map[string]bool{}
	for _, s := range srvs {
		voter[s.ID] = s.Voter
	}
	for _, n := range dc.Nodes {
		if !voter[n.Core.NodeID()] {
			return false
		}
	}
	return true
}

// Active returns the active node, or nil while there is none.
func (dc *DevCluster) Active() *Node {
	for _, n := range dc.Nodes {
		if n.Core.IsActive() {
			return n
		}
	}
	return nil
}

// Close stops every node (standbys first, then the active, so closing
// causes no needless elections), removes the raft data and zeroes the
// unseal key. Idempotent.
func (dc *DevCluster) Close() {
	dc.once.Do(func() {
		act := dc.Active()
		var wg sync.WaitGroup
		for _, n := range dc.Nodes {
			if n != act {
				wg.Add(1)
				go func() { defer wg.Done(); n.Close() }()
			}
		}
		wg.Wait()
		if act != nil {
			act.Close()
		}
		if err := os.RemoveAll(dc.dir); err != nil {
			dc.log.Warn("removing the dev cluster's raft data", "dir", dc.dir, "error", err)
		}
		dc.unsealKey.Zero()
	})
}

// printBanner prints the developer's banner: every node's address, the
// unseal key and the root token (dev mode only, as `server -dev` does).
func (dc *DevCluster) printBanner(out io.Writer) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `WARNING! dev mode is enabled! In this mode, vaultd runs a %d-node raft
cluster in one process, on loopback, with temporary storage removed on exit;
it starts unsealed with a single unseal key. Never use it in production.

Cluster nodes (every node serves the API; standbys forward to the active):

`, len(dc.Nodes))
	for _, n := range dc.Nodes {
		fmt.Fprintf(&b, "    %s: %s (cluster %s)\n", n.Core.NodeID(), n.APIAddr, n.ClusterAddr)
	}
	fmt.Fprintf(&b, `
You may need to set the following environment variables:

    $ export VAULT_ADDR='%s'

The unseal key and root token are displayed below in case you want to
seal/unseal the vault or re-authenticate.

Unseal Key: %s
Root Token: %s

Development mode should NOT be used in production installations!
`, dc.Nodes[0].APIAddr, base64Std(dc.unsealKey), dc.RootToken)
	_, _ = out.Write(b.Bytes())
	clear(b.Bytes())
}

// waitUntil polls cond until it holds or ctx is done.
func waitUntil(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
