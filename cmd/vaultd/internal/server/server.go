// Package server is vaultd's composition root: it turns a configuration
// into a running node (raft storage, core, HTTP API, listeners) and shuts
// it down gracefully on SIGTERM/SIGINT.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/api/monitor"
	"github.com/vaultd/vaultd/auth/approle"
	jwtauth "github.com/vaultd/vaultd/auth/jwt"
	k8sauth "github.com/vaultd/vaultd/auth/kubernetes"
	"github.com/vaultd/vaultd/auth/userpass"
	"github.com/vaultd/vaultd/clusterport"
	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
	"github.com/vaultd/vaultd/cmd/vaultd/internal/pgp"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/raftstore"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/cubbyhole"
	"github.com/vaultd/vaultd/secrets/kv"
	"github.com/vaultd/vaultd/secrets/pki"
	"github.com/vaultd/vaultd/secrets/transit"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
	"github.com/vaultd/vaultd/telemetry"
	"github.com/vaultd/vaultd/ui"
	"github.com/vaultd/vaultd/version"
)

// Options are the `vaultd server` flags.
type Options struct {
	ConfigPaths      []string
	Dev              bool
	DevRootTokenID   string
	DevListenAddress string
	LogLevel         string
	// DevCluster > 1 runs an in-process dev cluster of that many nodes
	// (devcluster.go); 1 is plain -dev. Implies Dev.
	DevCluster int
}

// Engines are the secrets engines and auth methods this build ships.
func Engines() map[string]secrets.Factory {
	return map[string]secrets.Factory{
		"kv": kv.Factory,
		// generic is Vault's old name for KV v1; the mount keeps its type,
		// as in Vault (sys/mounts shows "generic").
		"generic":    kv.Factory,
		"cubbyhole":  cubbyhole.Factory,
		"userpass":   userpass.Factory,
		"approle":    approle.Factory,
		"jwt":        jwtauth.Factory,
		"kubernetes": k8sauth.Factory,
		"transit":    transit.Factory,
		"pki":        pki.Factory,
	}
}

// Run starts a server and blocks until ctx is done, then shuts down.
func Run(ctx context.Context, o Options, stdout, stderr io.Writer) error {
	if err := checkDevCluster(&o); err != nil { // devcluster.go
		return err
	}
	if o.DevCluster > 1 {
		return runDevCluster(ctx, o, stdout, stderr)
	}
	cfg, err := loadConfig(o)
	if err != nil {
		return oneLine(err) // configsrc.go
	}
	level := cfg.LogLevel
	if o.LogLevel != "" {
		level = o.LogLevel
	}
	log := newLogger(stderr, level, cfg.LogFormat)
	for _, w := range cfg.Warnings {
		log.Warn("configuration", "warning", w)
	}
	stopProfile, err := startProfile(log) // profile.go
	if err != nil {
		return err
	}
	defer stopProfile()
	startGCTuner(ctx, log) // gctune.go
	n, err := Start(ctx, cfg, log)
	if err != nil {
		return oneLine(err) // configsrc.go
	}
	if o.Dev {
		if err := n.devSetup(ctx, o.DevRootTokenID, stdout); err != nil {
			n.Close()
			return err
		}
	}
	log.Info("vaultd server started", "api_addr", n.APIAddr, "cluster_addr", n.ClusterAddr, "version", version.Get().Version)
	// SIGHUP reopens audit files (log rotation), as Vault does, instead of
	// killing the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-hup:
			if err := n.Core.ReopenAuditDevices(); err != nil {
				log.Warn("reopening audit devices on SIGHUP", "error", err)
			} else {
				log.Info("audit devices reopened on SIGHUP")
			}
		}
	}
	log.Info("shutting down")
	n.Close()
	return nil
}

func loadConfig(o Options) (*config.Config, error) {
	if o.Dev {
		cfg := DevConfig(o.DevListenAddress)
		for _, p := range o.ConfigPaths {
			extra, err := config.Load(p)
			if err != nil {
				return nil, err
			}
			cfg = cfg.Merge(extra)
		}
		return cfg, nil
	}
	return loadServerConfig(o.ConfigPaths, os.Getenv) // configsrc.go
}

// DevConfig is the configuration of `server -dev`: in-memory storage, one
// plain-HTTP listener.
func DevConfig(listen string) *config.Config {
	return &config.Config{
		Storage:   &config.Storage{Type: "inmem"},
		Listeners: []config.Listener{{Type: "tcp", Address: listen, TLSDisable: true, MaxRequestSize: api.DefaultMaxRequestSize}},
		LogLevel:  "info",
		UI:        true, // as Vault: the UI is always on in -dev
	}
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "trace", "debug":
		lv = slog.LevelDebug
	case "warn", "warning":
		lv = slog.LevelWarn
	case "error", "err":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Node is one running vaultd node.
type Node struct {
	Core        *core.Core
	Store       *raftstore.Store // nil with inmem storage
	APIAddr     string           // as advertised (api_addr)
	ClusterAddr string
	// ListenAddr is the address the API listener actually bound.
	ListenAddr string
	// Port is the cluster port (nil with inmem storage); cluster.go.
	Port *clusterport.Port
	// Telemetry is the node's metrics registry (metrics.go).
	Telemetry *telemetry.Registry
	cfg       *config.Config
	runCtx    context.Context
	dataDir   string
	// dialSrc is the source address of outgoing cluster connections and
	// join requests (cluster.go sourceIP); nil: any.
	dialSrc net.IP
	log     *slog.Logger

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	servers []*http.Server
	routes  []api.Route // of the first listener's API (Routes)
	once    sync.Once
	monitor *monitor.Broker
	joining atomic.Bool // a join loop runs (join.go)
}

// Routes lists the routes the node's first API listener registers.
func (n *Node) Routes() []api.Route { return n.routes }

// Start builds and starts a node from cfg; it returns once listeners are up.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Node, error) {
	if len(cfg.Listeners) == 0 {
		return nil, errors.New("at least one listener \"tcp\" is required")
	}
	ln0 := cfg.Listeners[0]
	// Every record of this node also reaches GET sys/monitor subscribers.
	mon := monitor.New()
	log = slog.New(mon.Handler(log.Handler()))
	n := &Node{log: log, monitor: mon, Telemetry: newTelemetry(cfg), cfg: cfg}
	rctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.runCtx = rctx
	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()

	// API listeners first: their real addresses feed api_addr defaults.
	var lns []net.Listener
	for _, l := range cfg.Listeners {
		ln, err := listen(l)
		if err != nil {
			for _, o := range lns {
				o.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
	}
	n.ListenAddr = lns[0].Addr().String()
	scheme := "https"
	if ln0.TLSDisable {
		scheme = "http"
	}
	n.APIAddr = cfg.APIAddr
	if n.APIAddr == "" {
		n.APIAddr = scheme + "://" + n.ListenAddr
	}

	var phys storage.Backend
	var cluster core.Cluster
	nodeID := ""
	storageType := "raft"
	if cfg.Storage == nil || cfg.Storage.Type == "inmem" {
		storageType = "inmem"
		nodeID = "dev-node"
		if cfg.Storage != nil && cfg.Storage.NodeID != "" {
			nodeID = cfg.Storage.NodeID
		}
		phys = inmem.New()
		cluster = core.NewStandaloneCluster(nodeID)
	} else {
		var err error
		nodeID, err = resolveNodeID(cfg.Storage)
		if err != nil {
			return nil, err
		}
		bind := ln0.ClusterAddress
		if bind == "" {
			bind = clusterAddrFromAPI(n.ListenAddr)
		}
		advertise := hostPort(cfg.ClusterAddr)
		if advertise == "" {
			advertise = bind
		}
		rc := raftstore.DefaultConfig()
		rc.NodeID, rc.DataDir, rc.BindAddr, rc.AdvertiseAddr = nodeID, cfg.Storage.Path, bind, advertise
		rc.Logger = log
		rc.Metrics = newRaftMetrics(n.Telemetry) // metrics.go
		if cfg.Storage.PerformanceMultiplier > 0 {
			rc.PerformanceMultiplier = cfg.Storage.PerformanceMultiplier
		}
		if cfg.Storage.TrailingLogs > 0 {
			rc.TrailingLogs = cfg.Storage.TrailingLogs
		}
		if cfg.Storage.SnapshotThreshold > 0 {
			rc.SnapshotThreshold = cfg.Storage.SnapshotThreshold
		}
		if cfg.Storage.SnapshotInterval > 0 {
			rc.SnapshotInterval = cfg.Storage.SnapshotInterval
		}
		port, err := n.openClusterPort(bind, advertise) // cluster.go
		if err != nil {
			return nil, fmt.Errorf("cluster listener: %w", err)
		}
		rc.Stream, rc.BindAddr, rc.AdvertiseAddr = port.Raft(), "", ""
		n.dataDir = cfg.Storage.Path
		st, err := raftstore.Open(rc)
		if err != nil {
			return nil, err
		}
		n.Store = st
		registerRaftMetrics(n.Telemetry, st)
		phys, cluster = st, raftCluster{Store: st, progress: newPeerProgress(port, st)} // cluster.go, progress.go
		n.ClusterAddr = "https://" + advertise
		if cfg.ClusterAddr != "" {
			n.ClusterAddr = cfg.ClusterAddr
		}
	}
	reg, err := n.serviceRegistration(cfg.ServiceRegistration) // svcreg.go
	if err != nil {
		return nil, err
	}
	autoSeal, fromSeal, err := seals(rctx, cfg, log) // seal.go
	if err != nil {
		return nil, err
	}
	var reads *standbyReads // readindex.go
	var readIndexer core.ReadIndexer
	if n.Store != nil && n.Port != nil {
		reads = newStandbyReads(n.Store, n.Port)
		readIndexer = reads
	}
	c, err := core.New(core.Config{
		Reads: readIndexer,
		Seal:  autoSeal, MigrateFrom: fromSeal,
		StateChanged: reg.notify, Version: version.Get().Version,
		NodeID: nodeID, APIAddr: n.APIAddr, ClusterAddr: n.ClusterAddr, ClusterName: cfg.ClusterName,
		Storage: phys, Cluster: cluster, Engines: Engines(), Logger: log,
		ShareEncrypter: pgp.Encrypt, PGPFingerprint: pgp.Fingerprint,
		DefaultLeaseTTL: cfg.DefaultLeaseTTL, MaxLeaseTTL: cfg.MaxLeaseTTL,
		NoBootstrap: cfg.Storage != nil && len(cfg.Storage.RetryJoin) > 0 && !isSeed(cfg, n.APIAddr),
		ClusterTLS:  n.clusterTLS(), Members: n.members(), // cluster.go
		Replication: n.replicationConfig(), // replication.go
	})
	if err != nil {
		return nil, err
	}
	n.Core = c
	if reads != nil {
		reads.core = c
		n.Store.SetChangeHook(c.Invalidate) // caches follow the replicated writes
	}
	registerCoreMetrics(n.Telemetry, c)
	requests := telemetry.NewRequests(n.Telemetry)
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	c.WaitForStorage(wctx)
	wcancel()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		_ = c.Run(rctx)
	}()
	reg.start(rctx, n) // svcreg.go

	fwd := n.forwarder(c, requests)        // cluster.go
	lfwd := n.leaderForwarder(c, requests) // replication.go
	var pprox *primaryProxy                // perfsecondary.go; replication needs raft and the cluster port
	if n.Store != nil && n.Port != nil {
		pprox = newPrimaryProxy(c, log)
	}
	origins := newClusterOrigins(cfg, n.APIAddr, c) // ui.go
	cpu, limiter := admissionFromConfig(cfg, log)   // admission.go
	registerAdmissionMetrics(n.Telemetry, cpu, limiter)
	var uiHandler http.Handler
	if cfg.UI {
		uiHandler = ui.Handler(ui.Config{Self: n.APIAddr, Nodes: origins.Origins})
	}
	for i, l := range cfg.Listeners {
		xff, err := xffConfig(l)
		if err != nil {
			return nil, err
		}
		acfg := api.Config{MaxRequestSize: l.MaxRequestSize, Logger: log, StorageType: storageType, ShareEncrypter: pgp.Encrypt,
			Forward: n.gatedForward(c, fwd, lfwd, pprox), ForwardPrimary: pprox.handler(), Extra: slices.Concat(n.clusterRoutes(c, lfwd), n.healthRoutes(c), n.supportRoutes(), n.replicationRoutes(c, lfwd)), // health.go, support.go, replication.go
			UI: uiHandler, CORSOrigins: origins.Origins, CPU: cpu, Limiter: limiter,
			MaxRequestDuration: l.MaxRequestDuration, XFF: xff, Monitor: mon,
			Telemetry: n.Telemetry, Requests: requests, UnauthenticatedMetrics: l.UnauthenticatedMetricsAccess} // metrics.go
		if l.DisableRequestLimiter {
			acfg.Limiter = nil
		}
		as := api.New(acfg, c)
		if i == 0 {
			n.routes = as.Routes()
		}
		h := as.Handler()
		if i == 0 && n.Port != nil {
			// Forwarded requests run the same handler chain, without the
			// request limiter: the cluster port is never limited. Only they
			// may carry the client address a standby saw (api.HeaderClientAddr).
			fh := as.ClusterHandler()
			if n.Store != nil {
				fh = clusterMux(fh, c, n.Store) // readindex.go
			}
			n.Port.SetForwardHandler(fh)
		}
		srv := httpServer(l, h, log)
		ln := lns[i]
		if !l.TLSDisable {
			tc, err := listenerTLS(l)
			if err != nil {
				return nil, err
			}
			ln = tls.NewListener(ln, tc)
		}
		n.servers = append(n.servers, srv)
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("listener stopped", "address", l.Address, "error", err)
			}
		}()
	}
	if n.Store != nil {
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.peersLoop(rctx) }()
		n.startJoinLoop(retryJoinLeaders(cfg.Storage.RetryJoin, n.dialSrc, log))
	}
	ok = true
	return n, nil
}

func listen(l config.Listener) (net.Listener, error) {
	if !l.TLSDisable && (l.TLSCertFile == "" || l.TLSKeyFile == "") {
		return nil, fmt.Errorf("listener %s: tls_cert_file and tls_key_file are required unless tls_disable = true", l.Address)
	}
	ln, err := net.Listen("tcp", l.Address)
	if err != nil {
		return nil, fmt.Errorf("listener: %w", err)
	}
	return ln, nil
}

// clusterAddrFromAPI is Vault's default cluster address: the API port + 1.
func clusterAddrFromAPI(apiListen string) string {
	host, port, err := net.SplitHostPort(apiListen)
	if err != nil {
		return apiListen
	}
	var p int
	fmt.Sscan(port, &p)
	return net.JoinHostPort(host, fmt.Sprint(p+1))
}

func hostPort(u string) string {
	if u == "" {
		return ""
	}
	if pu, err := url.Parse(u); err == nil && pu.Host != "" {
		return pu.Host
	}
	return u
}

// resolveNodeID uses node_id from the config, else a node-id file kept in
// the raft directory (generated once), as Vault does.
func resolveNodeID(s *config.Storage) (string, error) {
	if s.NodeID != "" {
		return s.NodeID, nil
	}
	if err := os.MkdirAll(s.Path, 0o700); err != nil {
		return "", err
	}
	p := filepath.Join(s.Path, "node-id")
	if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	r := make([]byte, 8)
	if _, err := rand.Read(r); err != nil {
		return "", err
	}
	id := "node-" + hex.EncodeToString(r)
	if err := os.WriteFile(p, []byte(id), 0o600); err != nil {
		return "", err
	}
	return id, nil
}

// Close stops serving, stops the core loop and closes raft. Idempotent.
func (n *Node) Close() {
	n.once.Do(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if n.monitor != nil {
			n.monitor.Close() // end sys/monitor streams so Shutdown need not wait for them
		}
		for _, s := range n.servers {
			_ = s.Shutdown(sctx)
		}
		if n.cancel != nil {
			n.cancel()
		}
		n.wg.Wait()
		if n.Store != nil {
			if err := n.Store.Close(); err != nil {
				n.log.Warn("closing raft", "error", err)
			}
		}
		if n.Port != nil {
			_ = n.Port.Close()
		}
	})
}

// devSetup initialises and unseals a dev server with one share, mounts KV
// v2 at secret/, and prints the unseal key and root token for the developer.
func (n *Node) devSetup(ctx context.Context, rootID string, out io.Writer) error {
	res, err := n.Core.Init(ctx, core.InitRequest{SecretShares: 1, SecretThreshold: 1, RootTokenID: rootID}, nil)
	if err != nil {
		return fmt.Errorf("dev init: %w", err)
	}
	if _, err := n.Core.Unseal(ctx, res.Shares[0]); err != nil {
		return fmt.Errorf("dev unseal: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for !n.Core.IsActive() {
		select {
		case <-wctx.Done():
			return errors.New("dev server did not become active")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := n.Core.EnableMount(ctx, "secret", "kv", "key/value secret storage", map[string]string{"version": "2"}, core.MountConfig{}); err != nil {
		return fmt.Errorf("dev mount secret/: %w", err)
	}
	key := res.Shares[0]
	fmt.Fprintf(out, `WARNING! dev mode is enabled! In this mode, vaultd runs entirely in memory
and starts unsealed with a single unseal key. Never use it in production.

You may need to set the following environment variables:

    $ export VAULT_ADDR='%s'

The unseal key and root token are displayed below in case you want to
seal/unseal the vault or re-authenticate.

Unseal Key: %s
Root Token: %s

Development mode should NOT be used in production installations!
`, n.APIAddr, base64Std(key), res.RootToken)
	key.Zero()
	return nil
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
