package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// opKind names what one recorded request did.
type opKind int

const (
	opWrite opKind = iota
	opRead
	opCAS
	opLogin
	opKVv1Write
	opKVv1Read
	opEncrypt
	opDecrypt
	opApprole
	numOps
)

func (k opKind) String() string {
	switch k {
	case opWrite:
		return "write"
	case opRead:
		return "read"
	case opCAS:
		return "cas"
	case opLogin:
		return "login"
	case opKVv1Write:
		return "kvv1-write"
	case opKVv1Read:
		return "kvv1-read"
	case opEncrypt:
		return "encrypt"
	case opDecrypt:
		return "decrypt"
	case opApprole:
		return "approle-login"
	}
	return "op" + strconv.Itoa(int(k))
}

// recorder is one worker's private record: no locking on the hot path.
type recorder struct {
	lat  [numOps][]int64 // nanoseconds, successful requests only
	errs [numOps]map[int]int
}

func newRecorder() *recorder {
	r := &recorder{}
	for i := range r.errs {
		r.errs[i] = map[int]int{}
	}
	return r
}

func (r *recorder) add(k opKind, d time.Duration, status int, err error) {
	if err != nil {
		r.errs[k][status]++
		return
	}
	r.lat[k] = append(r.lat[k], int64(d))
}

// OpResult is the summary of one operation kind.
type OpResult struct {
	Op        string         `json:"op"`
	OK        int            `json:"ok"`
	Errors    int            `json:"errors"`
	OpsPerSec float64        `json:"ops_per_sec"`
	P50       Millis         `json:"p50_ms"`
	P90       Millis         `json:"p90_ms"`
	P99       Millis         `json:"p99_ms"`
	Max       Millis         `json:"max_ms"`
	Mean      Millis         `json:"mean_ms"`
	ByStatus  map[string]int `json:"errors_by_status,omitempty"`
}

// Millis is a duration written as fractional milliseconds.
type Millis time.Duration

func (m Millis) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(m)/1e6, 'f', 3, 64), nil
}

func (m *Millis) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("milliseconds: %w", err)
	}
	*m = Millis(f * 1e6)
	return nil
}

func (m Millis) String() string {
	d := time.Duration(m)
	switch {
	case d >= time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	case d >= 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + "ms"
	default:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms"
	}
}

func statusName(code int) string {
	if code == statusTransport {
		return "transport"
	}
	if code >= statusNoRetryAfter {
		return strconv.Itoa(code-statusNoRetryAfter) + "-no-retry-after"
	}
	return strconv.Itoa(code)
}

// percentile returns the nearest-rank p-th percentile of sorted samples.
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

// summarize merges the workers' records into one result per op kind that
// saw any traffic.
func summarize(recs []*recorder, elapsed time.Duration) []OpResult {
	var out []OpResult
	for k := opKind(0); k < numOps; k++ {
		var all []int64
		errs := map[string]int{}
		nerr := 0
		for _, r := range recs {
			all = append(all, r.lat[k]...)
			for st, n := range r.errs[k] {
				errs[statusName(st)] += n
				nerr += n
			}
		}
		if len(all) == 0 && nerr == 0 {
			continue
		}
		slices.Sort(all)
		res := OpResult{Op: k.String(), OK: len(all), Errors: nerr}
		if nerr > 0 {
			res.ByStatus = errs
		}
		if elapsed > 0 {
			res.OpsPerSec = float64(len(all)) / elapsed.Seconds()
		}
		if len(all) > 0 {
			var sum int64
			for _, v := range all {
				sum += v
			}
			res.Mean = Millis(sum / int64(len(all)))
			res.P50 = Millis(percentile(all, 50))
			res.P90 = Millis(percentile(all, 90))
			res.P99 = Millis(percentile(all, 99))
			res.Max = Millis(all[len(all)-1])
		}
		out = append(out, res)
	}
	return out
}

// Report is what one run prints.
type Report struct {
	Targets    []string   `json:"targets"`
	Spawned    string     `json:"spawned,omitempty"`
	Client     string     `json:"client"`
	Op         string     `json:"op"`
	Workers    int        `json:"workers"`
	ValueSize  int        `json:"value_size"`
	Keys       int        `json:"keys"`
	Duration   Millis     `json:"duration_ms"`
	LoadBefore string     `json:"loadavg_before"`
	LoadAfter  string     `json:"loadavg_after"`
	Results    []OpResult `json:"results"`
	TotalOps   float64    `json:"total_ops_per_sec"`
	Failover   *Failover  `json:"failover,omitempty"`
	Canary     *Canary    `json:"canary,omitempty"`
	// NoAdmission: the spawned nodes ran without the CPU pool and the
	// request limiter (-no-admission), for comparison.
	NoAdmission bool `json:"no_admission,omitempty"`
	// RaftEntries is the growth of the first target's raft applied index
	// over warmup and run; RaftEntriesPerOp divides it by the requests
	// extrapolated to warmup+run. It is approximate: about 1 for a KV
	// write, 0 for a read; more means requests write bookkeeping of their
	// own (tokens, leases). Batching does not show here: raft batches many
	// entries into one disk write, each entry keeps its own index.
	RaftEntries uint64 `json:"raft_entries,omitempty"`
	// ClientCPUPerOp is this tool's own CPU time per request (warmup
	// included): the client overhead that competes with the server for
	// cores on the same machine.
	ClientCPUPerOp   Millis  `json:"client_cpu_ms_per_op,omitempty"`
	RaftEntriesPerOp float64 `json:"raft_entries_per_op,omitempty"`
	// Standby is what the targets' standby read counters moved by over
	// warmup and run (standby.go); nil when they did not move.
	Standby *StandbyReads `json:"standby_reads,omitempty"`
}

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *Report) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "targets=%s client=%s op=%s workers=%d value=%dB keys=%d duration=%s\n",
		strings.Join(r.Targets, ","), r.Client, r.Op, r.Workers, r.ValueSize, r.Keys, time.Duration(r.Duration))
	if r.Spawned != "" {
		fmt.Fprintf(w, "spawned: %s\n", r.Spawned)
	}
	fmt.Fprintf(w, "loadavg before: %s  after: %s\n", r.LoadBefore, r.LoadAfter)
	if len(r.Results) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "op\tok\terrors\tops/s\tmean\tp50\tp90\tp99\tmax\t")
		for _, o := range r.Results {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t\n", o.Op, o.OK, o.Errors, o.OpsPerSec, o.Mean, o.P50, o.P90, o.P99, o.Max)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, o := range r.Results {
		if len(o.ByStatus) > 0 {
			fmt.Fprintf(w, "%s errors by status: %s\n", o.Op, formatCounts(o.ByStatus))
		}
	}
	if len(r.Results) > 1 {
		fmt.Fprintf(w, "total: %.0f ops/s\n", r.TotalOps)
	}
	if r.ClientCPUPerOp > 0 {
		fmt.Fprintf(w, "client CPU: %.0f µs per request\n", float64(r.ClientCPUPerOp)/1e3)
	}
	if r.RaftEntries > 0 {
		fmt.Fprintf(w, "raft entries applied: %d (~%.2f per request)\n", r.RaftEntries, r.RaftEntriesPerOp)
	}
	if r.Standby != nil {
		fmt.Fprintf(w, "standby reads on the targets: %s\n", r.Standby)
	}
	if c := r.Canary; c != nil {
		fmt.Fprintf(w, "canary: %d writes to %s, %d failed; p50 %s p99 %s max %s; leader changes %d (sys/leader poll errors %d)\n",
			c.Writes, c.Target, c.Failures, c.P50, c.P99, c.Max, c.LeaderChanges, c.LeaderPollErrors)
		if len(c.ByStatus) > 0 {
			fmt.Fprintf(w, "  canary failures by status: %s\n", formatCounts(c.ByStatus))
		}
		if len(c.HALeaderChanges) == 2 {
			fmt.Fprintf(w, "  sys/ha-status leader_changes: %d before, %d after\n", c.HALeaderChanges[0], c.HALeaderChanges[1])
		}
	}
	if r.NoAdmission {
		fmt.Fprintln(w, "admission control: OFF (cpu_pool and request_limiter disabled)")
	}
	if f := r.Failover; f != nil {
		fmt.Fprintf(w, "failover: SIGKILL to active %s (pid %d), new active %s\n", f.Killed, f.KilledPID, f.NewActive)
		fmt.Fprintf(w, "  kill -> first successful write sent after it: %s\n", f.Unavailable)
		fmt.Fprintf(w, "  last write ok before kill -> first ok after:  %s\n", f.Gap)
		if len(f.ErrorsByCode) > 0 {
			fmt.Fprintf(w, "  failed writes after the kill by status: %s\n", formatCounts(f.ErrorsByCode))
		}
	}
	return nil
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// loadavg returns the first three fields of /proc/loadavg, or "n/a".
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}
