package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrUsage is returned for invalid flags.
var ErrUsage = errors.New("usage")

type addrList []string

func (a *addrList) String() string     { return strings.Join(*a, ",") }
func (a *addrList) Set(s string) error { *a = append(*a, s); return nil }

type options struct {
	addrs      []string
	token      string
	workers    int
	duration   time.Duration
	warmup     time.Duration
	op         string
	valueSize  int
	keys       int
	mount      string
	prefix     string
	readRatio  float64
	client     string
	timeout    time.Duration
	jsonOut    bool
	insecure   bool
	cpuprofile string
	spawn      spawnOptions
	failover   bool
	targets    string
	canary     bool
	honorRA    bool
	canaryIvl  time.Duration
	mix        []mixEntry // the workloads of a vault-benchmark -op (workloads.go)
	keyType    string
	keepMounts bool
	// -op scale (scale.go)
	scaleSteps      []int
	scaleLatWorkers int

	// maxStaleness, when set, is sent as X-Vaultd-Max-Staleness with every
	// KV request (bounded-staleness standby reads).
	maxStaleness time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	var addrs addrList
	fs := flag.NewFlagSet("vaultd-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&addrs, "addr", "node address (repeatable; workers are spread round-robin over them); loopback only. Default $VAULT_ADDR or http://127.0.0.1:8200")
	fs.StringVar(&o.token, "token", "", "token (default $VAULT_TOKEN; not needed with -spawn)")
	fs.IntVar(&o.workers, "workers", 10, "concurrent workers (one request in flight each)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured duration")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before the measured window")
	fs.StringVar(&o.op, "op", modeWrite, "operation: write, read, mixed, cas, login (userpass logins: bcrypt, CPU-heavy), scale (fill a spawned cluster: -scale-steps), or a vault-benchmark workload: "+strings.Join(workloadNames(), ", "))
	mix := fs.String("mix", defaultMix, "with -op mix: workload=weight,... (each request picks a workload by weight)")
	fs.StringVar(&o.keyType, "transit-key-type", "rsa-2048", "with -op transit-*: type of the transit key (vault-benchmark's default is rsa-2048)")
	steps := fs.String("scale-steps", "10000,100000", "with -op scale: the numbers of secrets after which memory, disk and latency are measured")
	fs.IntVar(&o.scaleLatWorkers, "scale-latency-workers", 10, "with -op scale: workers of the read and write latency runs (-duration each) after every step")
	fs.BoolVar(&o.keepMounts, "keep-mounts", false, "with a vault-benchmark workload: keep the mounts it created (default: removed after the run)")
	fs.BoolVar(&o.canary, "canary", false, "write one KV value every -canary-interval through the active node and watch sys/leader on every target for leader changes")
	fs.BoolVar(&o.honorRA, "honor-retry-after", false, "with -op login: a worker refused with 429/503 waits Retry-After (±50%) before its next login, like a well-behaved client")
	fs.DurationVar(&o.canaryIvl, "canary-interval", 200*time.Millisecond, "interval of the -canary writes")
	fs.BoolVar(&o.spawn.noAdmission, "no-admission", false, "with -spawn: disable the CPU pool and the request limiter of the spawned nodes (for comparison)")
	fs.IntVar(&o.valueSize, "value-size", 256, "bytes of the stored value")
	fs.IntVar(&o.keys, "keys", 1000, "distinct keys (written once before the run)")
	fs.StringVar(&o.mount, "mount", "secret", "KV v2 mount path")
	fs.StringVar(&o.prefix, "prefix", "bench", "key prefix inside the mount")
	fs.Float64Var(&o.readRatio, "read-ratio", 0.9, "fraction of reads with -op mixed")
	fs.StringVar(&o.client, "client", "http", "client: http (net/http keep-alive, prebuilt bodies) or api (github.com/hashicorp/vault/api)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	fs.BoolVar(&o.insecure, "tls-skip-verify", false, "do not verify TLS certificates of https targets")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of this tool (client side) to the file")
	fs.IntVar(&o.spawn.n, "spawn", 0, "start N vaultd nodes of our own instead of using -addr (1: see -storage; >1: raft cluster with retry_join)")
	fs.StringVar(&o.spawn.storage, "storage", "raft", "with -spawn 1: raft (single raft node from a config file) or inmem (vaultd server -dev)")
	fs.StringVar(&o.spawn.bin, "vaultd", "", "vaultd binary for -spawn (default: go build github.com/vaultd/vaultd/cmd/vaultd)")
	fs.StringVar(&o.spawn.logLevel, "server-log-level", "info", "log_level of spawned nodes")
	fs.IntVar(&o.spawn.perfMulti, "performance-multiplier", 0, "raft performance_multiplier of spawned nodes (0: server default)")
	var raftOpts addrList
	fs.Var(&raftOpts, "raft-option", "with -spawn (raft): an extra line of the storage \"raft\" block, key=value (repeatable), e.g. snapshot_interval=120s")
	fs.BoolVar(&o.spawn.keep, "keep", false, "keep the spawned nodes' data directory and logs")
	fs.DurationVar(&o.maxStaleness, "max-staleness", 0, "send X-Vaultd-Max-Staleness with every KV request (bounded-staleness reads on standbys; -client http only)")
	fs.StringVar(&o.targets, "targets", "all", "with -spawn > 1: which nodes the workers talk to: all, active, standbys")
	fs.BoolVar(&o.failover, "failover", false, "with -spawn >= 3: kill -9 the active under write load and measure until writes succeed again")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected arguments %q", ErrUsage, fs.Args())
	}
	switch {
	case o.workers < 1:
		return nil, fmt.Errorf("%w: -workers must be >= 1", ErrUsage)
	case o.duration <= 0 || o.warmup < 0:
		return nil, fmt.Errorf("%w: -duration must be > 0 and -warmup >= 0", ErrUsage)
	case o.valueSize < 0 || o.valueSize > 512<<10:
		return nil, fmt.Errorf("%w: -value-size must be in [0, 524288]", ErrUsage)
	case o.keys < 1:
		return nil, fmt.Errorf("%w: -keys must be >= 1", ErrUsage)
	case o.readRatio < 0 || o.readRatio > 1:
		return nil, fmt.Errorf("%w: -read-ratio must be in [0, 1]", ErrUsage)
	case o.client != "http" && o.client != "api":
		return nil, fmt.Errorf("%w: -client must be http or api", ErrUsage)
	case o.spawn.storage != "raft" && o.spawn.storage != "inmem":
		return nil, fmt.Errorf("%w: -storage must be raft or inmem", ErrUsage)
	case o.spawn.n < 0:
		return nil, fmt.Errorf("%w: -spawn must be >= 0", ErrUsage)
	case o.spawn.n > 0 && len(addrs) > 0:
		return nil, fmt.Errorf("%w: -spawn and -addr exclude each other", ErrUsage)
	case o.targets != "all" && o.targets != "active" && o.targets != "standbys":
		return nil, fmt.Errorf("%w: -targets must be all, active or standbys", ErrUsage)
	case o.targets != "all" && o.spawn.n < 2:
		return nil, fmt.Errorf("%w: -targets needs -spawn 2 or more", ErrUsage)
	case o.failover && o.spawn.n < 3:
		return nil, fmt.Errorf("%w: -failover needs -spawn 3 (or more)", ErrUsage)
	}
	switch {
	case o.op == modeWrite, o.op == modeRead, o.op == modeMixed, o.op == modeCAS, o.op == modeLogin:
	case o.op == modeMix:
		m, err := parseMix(*mix)
		if err != nil {
			return nil, err
		}
		o.mix = m
	case o.op == modeScale:
		st, err := parseSteps(*steps)
		if err != nil {
			return nil, err
		}
		if o.spawn.n < 1 || o.spawn.storage != "raft" || o.client != "http" || o.failover || o.canary || o.scaleLatWorkers < 1 {
			return nil, fmt.Errorf("%w: -op scale needs -spawn N with raft storage, -client http, -scale-latency-workers >= 1", ErrUsage)
		}
		o.scaleSteps = st
	case isWorkload(o.op):
		o.mix = []mixEntry{{name: o.op, weight: 1}}
	default:
		return nil, fmt.Errorf("%w: -op must be write, read, mixed, cas, login or one of %s", ErrUsage, strings.Join(workloadNames(), ", "))
	}
	if o.mix != nil && (o.client != "http" || o.failover) {
		return nil, fmt.Errorf("%w: -op %s needs -client http and no -failover", ErrUsage, o.op)
	}
	if o.maxStaleness < 0 || o.maxStaleness > 0 && o.client != "http" {
		return nil, fmt.Errorf("%w: -max-staleness must be positive and needs -client http", ErrUsage)
	}
	if o.op == modeLogin && o.client != "http" {
		return nil, fmt.Errorf("%w: -op login needs -client http", ErrUsage)
	}
	if o.canary && o.canaryIvl <= 0 {
		return nil, fmt.Errorf("%w: -canary-interval must be > 0", ErrUsage)
	}
	if o.failover && o.canary {
		return nil, fmt.Errorf("%w: -canary and -failover exclude each other", ErrUsage)
	}
	o.mount = strings.Trim(o.mount, "/")
	o.prefix = strings.Trim(o.prefix, "/")
	if o.mount == "" || o.prefix == "" {
		return nil, fmt.Errorf("%w: -mount and -prefix must not be empty", ErrUsage)
	}
	if o.spawn.n == 0 {
		if len(addrs) == 0 {
			if env := os.Getenv("VAULT_ADDR"); env != "" {
				addrs = append(addrs, env)
			} else {
				addrs = append(addrs, "http://127.0.0.1:8200")
			}
		}
		for _, a := range addrs {
			t, err := parseTarget(a)
			if err != nil {
				return nil, err
			}
			o.addrs = append(o.addrs, t)
		}
		if o.token == "" {
			o.token = os.Getenv("VAULT_TOKEN")
		}
		if o.token == "" {
			return nil, fmt.Errorf("%w: -token or $VAULT_TOKEN is required without -spawn", ErrUsage)
		}
	}
	for _, kv := range raftOpts {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || strings.ContainsAny(k, " \"\n{}=") || strings.ContainsAny(v, "\n{}") {
			return nil, fmt.Errorf("%w: -raft-option %q is not key=value", ErrUsage, kv)
		}
		if _, err := strconv.ParseFloat(v, 64); err != nil && v != "true" && v != "false" {
			v = strconv.Quote(strings.Trim(v, `"`))
		}
		o.spawn.raftOpts = append(o.spawn.raftOpts, k+" = "+v)
	}
	if len(o.spawn.raftOpts) > 0 && (o.spawn.n == 0 || o.spawn.storage != "raft") {
		return nil, fmt.Errorf("%w: -raft-option needs -spawn with raft storage", ErrUsage)
	}
	o.spawn.mount = o.mount
	o.spawn.stderr = stderr
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vaultd-bench:", err)
		if errors.Is(err, ErrUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	var allAddrs []string // every node, for -canary's leader watch
	rep := &Report{Client: o.client, Op: o.op, Workers: o.workers, ValueSize: o.valueSize, Keys: o.keys, Duration: Millis(o.duration)}
	if o.spawn.n > 0 {
		c, err := spawn(ctx, o.spawn)
		if err != nil {
			return err
		}
		defer c.Close()
		o.addrs, o.token, rep.Spawned = c.addrs(), c.token, c.desc
		allAddrs = c.addrs()
		if o.failover {
			return runFailover(ctx, o, c, rep, stdout)
		}
		if o.op == modeScale {
			return runScale(ctx, o, c, stdout)
		}
		if o.targets != "all" {
			act, err := c.activeNode(ctx, nil)
			if err != nil {
				return err
			}
			o.addrs = o.addrs[:0]
			for _, n := range c.nodes {
				if (n == act) == (o.targets == "active") {
					o.addrs = append(o.addrs, n.addr)
				}
			}
		}
		if o.spawn.n > 1 {
			rep.Spawned += "; workers on " + o.targets + " nodes (standbys answer KV reads after a read index, forward the rest)"
		}
	}
	rep.Targets = o.addrs
	value := strings.Repeat("x", o.valueSize)
	tr := newHTTPTransport(o.workers, o.insecure)
	mk := func(addr string) (kvClient, error) {
		if o.client == "api" {
			return newAPIClient(addr, o.mount, o.token, value, tr, o.timeout)
		}
		rc := newRawClient(addr, o.mount, o.token, value, tr, o.timeout)
		rc.maxStaleness = o.maxStaleness
		return rc, nil
	}
	l := &load{mode: o.op, workers: o.workers, keys: keyNames(o.prefix, o.keys), readRatio: o.readRatio, warmup: o.warmup, duration: o.duration}
	for _, a := range o.addrs {
		kc, err := mk(a)
		if err != nil {
			return err
		}
		l.clients = append(l.clients, kc)
	}
	setupHC := &http.Client{Transport: tr, Timeout: o.timeout}
	if o.mix != nil {
		env := wlEnv{hc: setupHC, addr: o.addrs[0], token: o.token, keys: o.keys, valueSize: o.valueSize, keyType: o.keyType}
		ws, err := setupWorkloads(ctx, env, o.mix)
		if err != nil {
			return err
		}
		if !o.keepMounts {
			defer cleanupWorkloads(context.WithoutCancel(ctx), ws)
		}
		l.workloads = ws
		for _, w := range ws {
			l.totalWeight += w.weight
		}
	} else if o.op == modeLogin {
		if err := setupLogin(ctx, setupHC, o.addrs[0], o.token); err != nil {
			return err
		}
	} else if err := l.prepare(ctx); err != nil {
		return err
	}
	rep.NoAdmission = o.spawn.noAdmission
	l.honorRetryAfter = o.honorRA
	var cn *canary
	if o.canary {
		if allAddrs == nil {
			allAddrs = o.addrs
		}
		act, err := findActive(ctx, setupHC, allAddrs)
		if err != nil {
			return err
		}
		cn = &canary{target: act, nodes: allAddrs, mount: o.mount, token: o.token, interval: o.canaryIvl, timeout: o.timeout}
	}
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep.LoadBefore = loadavg()
	idx0, idxOK := appliedIndex(ctx, tr, o.addrs[0])
	sb0, sbOK := standbyCounters(ctx, tr, o.token, o.addrs) // standby.go
	cpu0 := selfCPU()
	var canaryRes chan *Canary
	cctx, stopCanary := context.WithCancel(ctx)
	if cn != nil {
		canaryRes = make(chan *Canary, 1)
		go func() { canaryRes <- cn.run(cctx) }()
	}
	recs, elapsed := l.run(ctx)
	stopCanary()
	if canaryRes != nil {
		rep.Canary = <-canaryRes
	}
	cpu1 := selfCPU()
	idx1, idxOK1 := appliedIndex(ctx, tr, o.addrs[0])
	if sb1, ok := standbyCounters(ctx, tr, o.token, o.addrs); ok && sbOK {
		d := sb1.minus(sb0)
		if d != (StandbyReads{}) {
			rep.Standby = &d
		}
	}
	rep.LoadAfter = loadavg()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	rep.Duration = Millis(elapsed)
	rep.Results = summarize(recs, elapsed)
	var total int
	for _, r := range rep.Results {
		rep.TotalOps += r.OpsPerSec
		total += r.OK + r.Errors
	}
	if total > 0 && cpu1 > cpu0 {
		// Warmup requests cost CPU too: scale the count to warmup+run.
		n := float64(total) * float64(o.warmup+o.duration) / float64(o.duration)
		rep.ClientCPUPerOp = Millis(float64(cpu1-cpu0) / n)
	}
	if idxOK && idxOK1 && total > 0 {
		// Covers warmup and the cut-off tail too, hence approximate.
		rep.RaftEntries = idx1 - idx0
		rep.RaftEntriesPerOp = float64(idx1-idx0) / (float64(total) * float64(o.warmup+o.duration) / float64(o.duration))
	}
	if o.jsonOut {
		return rep.writeJSON(stdout)
	}
	return rep.writeTable(stdout)
}

// selfCPU is this process's user+system CPU time (not its children's, so
// spawned nodes are excluded).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runFailover(ctx context.Context, o *options, c *cluster, rep *Report, stdout io.Writer) error {
	value := strings.Repeat("x", o.valueSize)
	tr := newHTTPTransport(o.workers, o.insecure)
	mk := func(addr string) (kvClient, error) {
		if o.client == "api" {
			return newAPIClient(addr, o.mount, o.token, value, tr, o.timeout)
		}
		return newRawClient(addr, o.mount, o.token, value, tr, o.timeout), nil
	}
	l := &load{mode: modeWrite, workers: o.workers, keys: keyNames(o.prefix, o.keys), warmup: o.warmup, duration: o.duration}
	rep.Op = "failover"
	rep.LoadBefore = loadavg()
	f, err := measureFailover(ctx, c, mk, l, max(o.duration, 30*time.Second))
	rep.LoadAfter = loadavg()
	if err != nil {
		return err
	}
	rep.Targets = c.addrs()
	rep.Failover = f
	if o.jsonOut {
		return rep.writeJSON(stdout)
	}
	return rep.writeTable(stdout)
}
