package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"
)

// debugTargets are what `vaultd debug` can collect, as `vault debug`.
var debugTargets = []string{"config", "log", "metrics", "pprof", "raft", "server-status"}

type debugOpts struct {
	duration, interval, metricsInterval time.Duration
	output                              string
	targets                             []string
}

func (a *app) newDebugCmd() *cobra.Command {
	var o debugOpts
	cmd := &cobra.Command{
		Use:   "debug",
		Short: "Collect a support bundle from every node of the cluster",
		Long: `Collects information from every node of the cluster for -duration and
writes it to one tar.gz archive, like "vault debug". The nodes are found
with sys/ha-status on VAULT_ADDR (or -address); each node is then asked
directly, standbys included, for its own:

  config         sys/config/state/sanitized: the configuration, secrets removed
  log            sys/monitor: the node's log (debug level) during -duration
  metrics        sys/metrics?format=prometheus every -metrics-interval
  pprof          goroutine dump (text) and heap profile every -interval
  raft           sys/storage/raft/configuration and autopilot state (once)
  server-status  sys/health, sys/seal-status, sys/leader, sys/ha-status every -interval

The token needs sudo on sys/monitor, sys/pprof/* and
sys/config/state/sanitized, and read on sys/metrics. The archive holds no
token, and the endpoints never return secrets. A target that fails on a
node is recorded in index.json and the others go on.`,
		Example: `  vaultd debug
  vaultd debug -duration=30s -interval=10s -output=/tmp/bundle.tar.gz
  vaultd debug -target=metrics -target=log`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.duration <= 0 || o.interval <= 0 || o.metricsInterval <= 0 {
				return usageError(cmd, "-duration, -interval and -metrics-interval must be positive")
			}
			if o.interval > o.duration {
				o.interval = o.duration
			}
			if o.metricsInterval > o.duration {
				o.metricsInterval = o.duration
			}
			if len(o.targets) == 0 {
				o.targets = debugTargets
			}
			for _, t := range o.targets {
				if !contains(debugTargets, t) {
					return usageError(cmd, "unknown -target %q: use %s", t, strings.Join(debugTargets, ", "))
				}
			}
			c, err := a.client()
			if err != nil {
				return exitCodeKeep(err, ExitError)
			}
			return a.runDebug(cmd.Context(), c, o)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.duration, "duration", 2*time.Minute, "how long to collect")
	f.DurationVar(&o.interval, "interval", 30*time.Second, "how often to collect pprof and server status")
	f.DurationVar(&o.metricsInterval, "metrics-interval", 10*time.Second, "how often to collect metrics")
	f.StringVar(&o.output, "output", "", "archive to write (default vaultd-debug-<time>.tar.gz)")
	f.StringSliceVar(&o.targets, "target", nil, "what to collect, repeatable: "+strings.Join(debugTargets, ", ")+" (default all)")
	return cmd
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// bundle collects files in memory, then writes the archive.
type bundle struct {
	mu     sync.Mutex
	files  map[string][]byte
	errors []string
}

func (b *bundle) add(name string, data []byte) {
	b.mu.Lock()
	b.files[name] = data
	b.mu.Unlock()
}

func (b *bundle) fail(format string, args ...any) {
	b.mu.Lock()
	b.errors = append(b.errors, fmt.Sprintf(format, args...))
	b.mu.Unlock()
}

type debugNode struct {
	name, addr string
	c          *vaultapi.Client
}

func (a *app) runDebug(ctx context.Context, c *vaultapi.Client, o debugOpts) error {
	start := time.Now().UTC()
	stamp := start.Format("2006-01-02T15-04-05Z")
	if o.output == "" {
		o.output = "vaultd-debug-" + stamp + ".tar.gz"
	}
	if _, err := os.Stat(o.output); err == nil {
		return apiError("Error: output file %s already exists", o.output)
	}
	nodes, err := debugNodes(c)
	if err != nil {
		return apiError("Error finding the cluster's nodes: %v", err)
	}
	fmt.Fprintf(a.stderr, "==> Collecting %s from %d node(s) for %s (interval %s, metrics every %s)\n",
		strings.Join(o.targets, ", "), len(nodes), o.duration, o.interval, o.metricsInterval)
	b := &bundle{files: map[string][]byte{}}
	has := func(t string) bool { return contains(o.targets, t) }
	if has("raft") {
		for _, p := range []string{"sys/storage/raft/configuration", "sys/storage/raft/autopilot/state"} {
			if data, err := debugGet(ctx, c, p, nil); err == nil {
				b.add("raft/"+path.Base(p)+".json", data)
			} else {
				b.fail("raft: %s: %v", p, err)
			}
		}
	}
	rctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var wg sync.WaitGroup
	for _, n := range nodes {
		dir := n.name + "/"
		if has("config") {
			if data, err := debugGet(ctx, n.c, "sys/config/state/sanitized", nil); err == nil {
				b.add(dir+"config.json", data)
			} else {
				b.fail("%s: config: %v", n.name, err)
			}
		}
		if has("log") {
			wg.Add(1)
			go func() {
				defer wg.Done()
				data, err := debugMonitor(rctx, n)
				b.add(dir+"vaultd.log", data)
				if err != nil {
					b.fail("%s: log: %v", n.name, err)
				}
			}()
		}
		periodic := func(every time.Duration, f func(i int)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := time.NewTicker(every)
				defer t.Stop()
				for i := 0; ; i++ {
					f(i)
					select {
					case <-rctx.Done():
						return
					case <-t.C:
					}
				}
			}()
		}
		if has("metrics") {
			periodic(o.metricsInterval, func(i int) {
				if data, err := debugGet(ctx, n.c, "sys/metrics", url.Values{"format": {"prometheus"}}); err == nil {
					b.add(fmt.Sprintf("%smetrics/%03d.prom", dir, i), data)
				} else {
					b.fail("%s: metrics #%d: %v", n.name, i, err)
				}
			})
		}
		if has("pprof") || has("server-status") {
			periodic(o.interval, func(i int) {
				if has("pprof") {
					if data, err := debugGet(ctx, n.c, "sys/pprof/goroutine", url.Values{"debug": {"2"}}); err == nil {
						b.add(fmt.Sprintf("%spprof/%03d-goroutines.txt", dir, i), data)
					} else {
						b.fail("%s: goroutines #%d: %v", n.name, i, err)
					}
					if data, err := debugGet(ctx, n.c, "sys/pprof/heap", nil); err == nil {
						b.add(fmt.Sprintf("%spprof/%03d-heap.prof", dir, i), data)
					} else {
						b.fail("%s: heap #%d: %v", n.name, i, err)
					}
				}
				if has("server-status") {
					st := map[string]json.RawMessage{}
					for _, p := range []string{"sys/health", "sys/seal-status", "sys/leader", "sys/ha-status"} {
						data, err := debugGet(ctx, n.c, p, nil)
						if err != nil && p != "sys/health" { // health answers 429/503 by design
							b.fail("%s: %s #%d: %v", n.name, p, i, err)
							continue
						}
						if json.Valid(data) {
							st[p] = data
						}
					}
					out, _ := json.MarshalIndent(st, "", "  ")
					b.add(fmt.Sprintf("%sserver-status/%03d.json", dir, i), out)
				}
			})
		}
	}
	wg.Wait()
	index := map[string]any{
		"version": 1, "tool": "vaultd debug", "started": start.Format(time.RFC3339), "finished": time.Now().UTC().Format(time.RFC3339),
		"duration": o.duration.String(), "interval": o.interval.String(), "metrics_interval": o.metricsInterval.String(),
		"targets": o.targets, "errors": b.errors,
	}
	var ns []map[string]string
	for _, n := range nodes {
		ns = append(ns, map[string]string{"name": n.name, "api_address": n.addr})
	}
	index["nodes"] = ns
	idx, _ := json.MarshalIndent(index, "", "  ")
	b.add("index.json", idx)
	if err := writeBundle(o.output, "vaultd-debug-"+stamp, b.files); err != nil {
		return apiError("Error writing %s: %v", o.output, err)
	}
	fmt.Fprintf(a.stdout, "Success! Bundle written to: %s\n", o.output)
	if len(b.errors) > 0 {
		fmt.Fprintf(a.stderr, "%d collection(s) failed; see index.json:\n", len(b.errors))
		for _, e := range b.errors {
			fmt.Fprintf(a.stderr, "  %s\n", e)
		}
	}
	return nil
}

// debugNodes lists the cluster's nodes from sys/ha-status, each with a
// client of its own; with no HA information, only the addressed node.
func debugNodes(c *vaultapi.Client) ([]debugNode, error) {
	mk := func(name, addr string) (debugNode, error) {
		nc, err := c.Clone()
		if err != nil {
			return debugNode{}, err
		}
		if err := nc.SetAddress(addr); err != nil {
			return debugNode{}, err
		}
		nc.SetToken(c.Token())
		return debugNode{name: safeName(name), addr: addr, c: nc}, nil
	}
	ha, err := c.Sys().HAStatus()
	if err != nil || len(ha.Nodes) == 0 {
		n, err := mk(c.Address(), c.Address())
		if err != nil {
			return nil, err
		}
		return []debugNode{n}, nil
	}
	var out []debugNode
	for _, hn := range ha.Nodes {
		if hn.APIAddress == "" {
			continue
		}
		name := hn.Hostname
		if name == "" {
			name = hn.APIAddress
		}
		n, err := mk(name, hn.APIAddress)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// safeName turns a node name or address into one path segment.
func safeName(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// debugGet reads one endpoint's raw body; a non-2xx answer is an error
// that carries the body.
func debugGet(ctx context.Context, c *vaultapi.Client, p string, q url.Values) ([]byte, error) {
	r := c.NewRequest(http.MethodGet, "/v1/"+p)
	r.Params = q
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := c.RawRequestWithContext(ctx, r)
	var body []byte
	if resp != nil && resp.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
	}
	if err != nil {
		if len(body) > 0 {
			return body, fmt.Errorf("%v", strings.TrimSpace(string(body)))
		}
		return body, err
	}
	return body, nil
}

// debugMonitor streams the node's log at debug level until ctx
// ends, and returns what it read.
func debugMonitor(ctx context.Context, n debugNode) ([]byte, error) {
	mc, err := n.c.Clone()
	if err != nil {
		return nil, err
	}
	mc.SetToken(n.c.Token())
	mc.SetClientTimeout(0) // a stream: ctx bounds it
	r := mc.NewRequest(http.MethodGet, "/v1/sys/monitor")
	r.Params = url.Values{"log_level": {"debug"}}
	resp, err := mc.RawRequestWithContext(ctx, r)
	if err != nil {
		if resp != nil && resp.Body != nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			return nil, fmt.Errorf("%v: %s", err, bytes.TrimSpace(b))
		}
		return nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = io.Copy(&buf, io.LimitReader(resp.Body, 256<<20))
	if err != nil && ctx.Err() != nil {
		err = nil // the collection window ended
	}
	return buf.Bytes(), err
}

// writeBundle writes files under root/ into a gzipped tar at out, 0600.
func writeBundle(out, root string, files map[string][]byte) error {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	now := time.Now()
	for _, n := range names {
		data := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: root + "/" + n, Mode: 0o600, Size: int64(len(data)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			f.Close()
			return err
		}
		if _, err := tw.Write(data); err != nil {
			f.Close()
			return err
		}
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	if err := gz.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
