package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
)

// -op scale (issue 12 item 5): fill a spawned raft cluster with KV v2
// secrets of -value-size bytes in steps (-scale-steps 10000,100000,1000000)
// and after each step report per node the resident memory and the data
// directory, and the latency of reads and writes at that size; after the
// last step, the time and size of an operator snapshot, the restart of a
// standby to its first read, and a new node joining and catching up from a
// snapshot.

const modeScale = "scale"

// ErrScale is returned when a scale measurement fails.
var ErrScale = errors.New("scale")

// NodeFigures is one node's memory and disk.
type NodeFigures struct {
	ID        string  `json:"id"`
	RSSMiB    float64 `json:"rss_mib"`
	DiskMiB   float64 `json:"data_dir_mib"`       // allocated blocks (du)
	RaftDBMiB float64 `json:"raft_db_mib"`        // raft.db, allocated
	SnapsMiB  float64 `json:"snapshots_mib"`      // raft's snapshots/ directory
	Applied   uint64  `json:"raft_applied_index"` // at the time of the figures
}

// ScaleStep is the state after the cluster holds Secrets secrets.
type ScaleStep struct {
	Secrets      int           `json:"secrets"`
	PopulateSecs float64       `json:"populate_seconds"` // for the secrets added in this step
	PopulateRate float64       `json:"populate_writes_per_sec"`
	Nodes        []NodeFigures `json:"nodes"`
	Read         *OpResult     `json:"read,omitempty"`
	Write        *OpResult     `json:"write,omitempty"`
}

// ScaleReport is -op scale's answer.
type ScaleReport struct {
	ValueSize      int         `json:"value_size"`
	LatencyWorkers int         `json:"latency_workers"`
	LatencyRun     Millis      `json:"latency_run_ms"`
	Steps          []ScaleStep `json:"steps"`
	// Operator snapshot (GET sys/storage/raft/snapshot) of the final state.
	SnapshotBytes int64  `json:"snapshot_bytes"`
	SnapshotTime  Millis `json:"snapshot_ms"`
	// A standby stopped (SIGTERM) and started again: until it is unsealed,
	// until its applied index reaches the leader's, and until a read
	// through it succeeds.
	RestartNode      string       `json:"restart_node"`
	RestartUnsealed  Millis       `json:"restart_to_unsealed_ms"`
	RestartCaughtUp  Millis       `json:"restart_to_caught_up_ms"`
	RestartFirstRead Millis       `json:"restart_to_first_read_ms"`
	RestartRSSMiB    float64      `json:"restart_rss_mib"`
	JoinNode         string       `json:"join_node"`
	JoinReplaced     string       `json:"join_replaced"`        // the standby stopped and removed first
	JoinCaughtUp     Millis       `json:"join_to_caught_up_ms"` // start → applied index ≥ the leader's at start
	JoinFigures      *NodeFigures `json:"join_figures,omitempty"`
	LoadBefore       string       `json:"loadavg_before"`
	After            string       `json:"loadavg_after"`
	Error            string       `json:"error,omitempty"` // why the measurement stopped early, if it did
}

func parseSteps(s string) ([]int, error) {
	var out []int
	prev := 0
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n <= prev {
			return nil, fmt.Errorf("%w: -scale-steps must be increasing positive integers", ErrUsage)
		}
		out, prev = append(out, n), n
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: -scale-steps is empty", ErrUsage)
	}
	return out, nil
}

// runScale runs the whole measurement on the spawned cluster c. On an
// error it still prints what it measured before.
func runScale(ctx context.Context, o *options, c *cluster, stdout io.Writer) error {
	rep := &ScaleReport{ValueSize: o.valueSize}
	err := measureScale(ctx, o, c, rep)
	rep.After = loadavg()
	if err != nil {
		rep.Error = err.Error()
	}
	var werr error
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		werr = enc.Encode(rep)
	} else {
		werr = rep.writeTable(stdout)
	}
	if err != nil {
		return err
	}
	return werr
}

func measureScale(ctx context.Context, o *options, c *cluster, rep *ScaleReport) error {
	c.startTimeout = 20 * time.Minute
	*rep = ScaleReport{ValueSize: o.valueSize, LatencyWorkers: o.scaleLatWorkers, LatencyRun: Millis(o.duration), LoadBefore: loadavg()}
	act, err := c.activeNode(ctx, nil)
	if err != nil {
		return err
	}
	value := strings.Repeat("x", o.valueSize)
	tr := newHTTPTransport(max(o.workers, o.scaleLatWorkers), false)
	actClient := newRawClient(act.addr, o.mount, o.token, value, tr, o.timeout)
	have := 0
	for _, n := range o.scaleSteps {
		st := ScaleStep{Secrets: n}
		t0 := time.Now()
		keys := keyNames("scale", n)
		var done atomic.Int64
		err := parallel(ctx, o.workers, n-have, func(i int) error {
			if d := done.Add(1); d%100000 == 0 {
				fmt.Fprintf(os.Stderr, "scale: %d of %d written (%.0f/s)\n", have+int(d), n, float64(d)/time.Since(t0).Seconds())
			}
			k := keys[have+i]
			var st int
			var err error
			for try := 0; try < 5; try++ { // ride out a 429/503 under load
				if _, st, err = actClient.Write(ctx, k, -1, false); err == nil || (st != http.StatusTooManyRequests && st != http.StatusServiceUnavailable) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				return fmt.Errorf("%w: populating %s: status %s: %v", ErrScale, k, statusName(st), err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		st.PopulateSecs = time.Since(t0).Seconds()
		st.PopulateRate = float64(n-have) / st.PopulateSecs
		have = n
		fmt.Fprintf(os.Stderr, "scale: %d secrets (%.0f writes/s); measuring\n", n, st.PopulateRate)
		// Let the followers apply everything, then take the figures.
		_ = c.waitApplied(ctx, c.nodes, 2*time.Minute)
		st.Nodes = c.figures(ctx)
		for _, mode := range []string{modeRead, modeWrite} {
			l := &load{mode: mode, workers: o.scaleLatWorkers, keys: keys, warmup: o.warmup, duration: o.duration,
				clients: []kvClient{actClient}}
			recs, elapsed := l.run(ctx)
			for _, r := range summarize(recs, elapsed) {
				if r.Op == mode {
					st.Read, st.Write = pickResult(mode, r, st.Read, st.Write)
				}
			}
		}
		rep.Steps = append(rep.Steps, st)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	// Operator snapshot of the final state, through the active node.
	t0 := time.Now()
	nb, err := c.download(ctx, act.addr, "sys/storage/raft/snapshot")
	if err != nil {
		return fmt.Errorf("%w: snapshot: %v", ErrScale, err)
	}
	rep.SnapshotTime, rep.SnapshotBytes = Millis(time.Since(t0)), nb

	// Restart a standby.
	var sb *node
	for _, n := range c.nodes {
		if n != act {
			sb = n
			break
		}
	}
	if sb != nil {
		rep.RestartNode = sb.id
		idx := slicesIndex(c.nodes, sb)
		sb.stop()
		c.nodes = append(c.nodes[:idx], c.nodes[idx+1:]...)
		t0 := time.Now()
		nn, err := c.startRaftNode(ctx, idx)
		if err != nil {
			return err
		}
		// startRaftNode appended it; put it back in its place.
		c.nodes = append(c.nodes[:len(c.nodes)-1], nil)
		copy(c.nodes[idx+1:], c.nodes[idx:])
		c.nodes[idx] = nn
		if err := c.unsealNode(ctx, nn); err != nil {
			return err
		}
		rep.RestartUnsealed = Millis(time.Since(t0))
		target, _ := appliedIndex(ctx, tr, act.addr)
		if err := c.waitIndex(ctx, nn, target, 10*time.Minute); err != nil {
			return err
		}
		rep.RestartCaughtUp = Millis(time.Since(t0))
		rc := newRawClient(nn.addr, o.mount, o.token, value, tr, o.timeout)
		if err := waitUntil(ctx, 5*time.Minute, func() bool {
			_, _, err := rc.Read(ctx, lastKey(o.scaleSteps), false)
			return err == nil
		}); err != nil {
			return fmt.Errorf("%w: no read through the restarted %s", ErrScale, nn.id)
		}
		rep.RestartFirstRead = Millis(time.Since(t0))
		rep.RestartRSSMiB = rssMiB(nn)
	}

	// A new node replaces a standby and catches up (from a snapshot: the
	// log has been truncated long before). The standby is stopped and
	// removed from the configuration first, so no more than the cluster's
	// size of processes hold the state at once (1 M secrets are GBs each).
	for _, n := range c.nodes {
		if n == act || n.id == rep.RestartNode || !n.alive() {
			continue
		}
		n.stop()
		if err := c.call(ctx, http.MethodPost, act.addr, "sys/storage/raft/remove-peer", c.token, map[string]any{"server_id": n.id}, nil); err != nil {
			return fmt.Errorf("%w: removing %s before the join: %v", ErrScale, n.id, err)
		}
		rep.JoinReplaced = n.id
		break
	}
	a, err := freePort()
	if err != nil {
		return err
	}
	cl, err := freePort()
	if err != nil {
		return err
	}
	c.ports = append(c.ports, ports{a, cl})
	target, _ := appliedIndex(ctx, tr, act.addr)
	t0 = time.Now()
	nn, err := c.startRaftNode(ctx, len(c.ports)-1)
	if err != nil {
		return err
	}
	rep.JoinNode = nn.id
	if err := c.unsealNode(ctx, nn); err != nil {
		return err
	}
	if err := c.waitIndex(ctx, nn, target, 15*time.Minute); err != nil {
		return err
	}
	rep.JoinCaughtUp = Millis(time.Since(t0))
	f := c.nodeFigures(ctx, nn)
	rep.JoinFigures = &f
	return nil
}

func lastKey(steps []int) string { return "scale/" + strconv.Itoa(steps[len(steps)-1]-1) }

func slicesIndex(ns []*node, n *node) int {
	for i, x := range ns {
		if x == n {
			return i
		}
	}
	return -1
}

func pickResult(mode string, r OpResult, read, write *OpResult) (*OpResult, *OpResult) {
	if mode == modeRead {
		return &r, write
	}
	return read, &r
}

// waitApplied waits until every node's applied index reaches the highest
// one seen at the start.
func (c *cluster) waitApplied(ctx context.Context, ns []*node, d time.Duration) error {
	var target uint64
	for _, n := range ns {
		if i, ok := appliedIndex(ctx, c.httpc.Transport.(*http.Transport), n.addr); ok && i > target {
			target = i
		}
	}
	for _, n := range ns {
		if err := c.waitIndex(ctx, n, target, d); err != nil {
			return err
		}
	}
	return nil
}

func (c *cluster) waitIndex(ctx context.Context, n *node, target uint64, d time.Duration) error {
	err := waitUntil(ctx, d, func() bool {
		i, ok := appliedIndex(ctx, c.httpc.Transport.(*http.Transport), n.addr)
		return ok && i >= target
	})
	if err != nil {
		return fmt.Errorf("%w: %s did not reach applied index %d within %s", ErrScale, n.id, target, d)
	}
	return nil
}

// download GETs path and counts the bytes of the answer.
func (c *cluster) download(ctx context.Context, addr, path string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr+"/v1/"+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Vault-Token", c.token)
	resp, err := (&http.Client{Transport: c.httpc.Transport}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, err
	}
	if resp.StatusCode != http.StatusOK {
		return n, &errStatus{resp.StatusCode}
	}
	return n, nil
}

func (c *cluster) figures(ctx context.Context) []NodeFigures {
	out := make([]NodeFigures, 0, len(c.nodes))
	for _, n := range c.nodes {
		out = append(out, c.nodeFigures(ctx, n))
	}
	return out
}

func (c *cluster) nodeFigures(ctx context.Context, n *node) NodeFigures {
	dir := filepath.Join(c.dir, n.id, "raft")
	f := NodeFigures{ID: n.id, RSSMiB: rssMiB(n), DiskMiB: duMiB(dir), RaftDBMiB: duMiB(filepath.Join(dir, "raft.db")), SnapsMiB: duMiB(filepath.Join(dir, "snapshots"))}
	f.Applied, _ = appliedIndex(ctx, c.httpc.Transport.(*http.Transport), n.addr)
	return f
}

// rssMiB is the resident set of n's process (VmRSS), 0 if unknown.
func rssMiB(n *node) float64 {
	if n.cmd.Process == nil || !n.alive() {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// duMiB is the disk space allocated to path (a file or a tree), like du.
func duMiB(path string) float64 {
	var blocks int64
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			blocks += st.Blocks
		}
		return nil
	})
	return float64(blocks*512) / (1 << 20)
}

func (r *ScaleReport) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "secrets\tpopulate/s\tnode\tRSS MiB\tdata dir MiB\traft.db MiB\tsnapshots MiB\tread p50\tread p99\tread/s\twrite p50\twrite p99\twrite/s\t\n")
	for _, s := range r.Steps {
		for i, n := range s.Nodes {
			cols := []string{"", "", n.ID, f1(n.RSSMiB), f1(n.DiskMiB), f1(n.RaftDBMiB), f1(n.SnapsMiB), "", "", "", "", "", ""}
			if i == 0 {
				cols[0], cols[1] = strconv.Itoa(s.Secrets), fmt.Sprintf("%.0f", s.PopulateRate)
				if s.Read != nil {
					cols[7], cols[8], cols[9] = s.Read.P50.String(), s.Read.P99.String(), fmt.Sprintf("%.0f", s.Read.OpsPerSec)
				}
				if s.Write != nil {
					cols[10], cols[11], cols[12] = s.Write.P50.String(), s.Write.P99.String(), fmt.Sprintf("%.0f", s.Write.OpsPerSec)
				}
			}
			fmt.Fprintln(tw, strings.Join(cols, "\t")+"\t")
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "operator snapshot: %.1f MiB in %s\n", float64(r.SnapshotBytes)/(1<<20), r.SnapshotTime)
	fmt.Fprintf(w, "restart of %s: unsealed after %s, caught up after %s, first read after %s (RSS %.1f MiB)\n",
		r.RestartNode, r.RestartUnsealed, r.RestartCaughtUp, r.RestartFirstRead, r.RestartRSSMiB)
	if r.JoinFigures != nil {
		fmt.Fprintf(w, "new node %s (replacing %s, stopped and removed first): caught up after %s (RSS %.1f MiB, data dir %.1f MiB)\n", r.JoinNode, r.JoinReplaced, r.JoinCaughtUp, r.JoinFigures.RSSMiB, r.JoinFigures.DiskMiB)
	}
	fmt.Fprintf(w, "loadavg before: %s  after: %s\n", r.LoadBefore, r.After)
	if r.Error != "" {
		fmt.Fprintf(w, "stopped by an error: %s\n", r.Error)
	}
	return nil
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
