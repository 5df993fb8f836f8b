package linearizability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	vaultapi "github.com/hashicorp/vault/api"
)

// recorder builds the porcupine history with one monotonic clock.
//
//   - Call is taken before the request is sent, Return after the answer;
//   - failed reads are dropped (a read that did not answer constrains
//     nothing);
//   - a write that timed out, was reset or got a 5xx (or anything but a
//     success or a CAS mismatch) is Unknown with Return = MaxInt64, and the
//     client continues under a new ClientId (porcupine requires a client's
//     operations not to overlap);
//   - a CAS mismatch (400) is a definite OK=false.
type recorder struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
	// acked is every acknowledged write: key → version → value.
	acked map[string]map[int]string

	nextClient atomic.Int64
	// errs counts failed calls by a short description, for the log.
	errs map[string]int
}

func newRecorder() *recorder {
	return &recorder{start: time.Now(), acked: map[string]map[int]string{}, errs: map[string]int{}}
}

func (r *recorder) now() int64 { return int64(time.Since(r.start)) }

func (r *recorder) add(op porcupine.Operation) {
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
}

func (r *recorder) ack(key string, version int, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.acked[key] == nil {
		r.acked[key] = map[int]string{}
	}
	r.acked[key][version] = value
}

func (r *recorder) fail(op string, err error) {
	msg := err.Error()
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		msg = fmt.Sprintf("HTTP %d: %v", re.StatusCode, re.Errors)
	}
	if len(msg) > 160 {
		msg = msg[:160]
	}
	r.mu.Lock()
	r.errs[op+": "+msg]++
	r.mu.Unlock()
}

func (r *recorder) history() []porcupine.Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]porcupine.Operation(nil), r.ops...)
}

// The workload uses four keys at a time and moves to four new ones every
// -chaos.keyepoch: KV v2 keeps every version here (max_versions is raised
// so the final check can read them all back) and a key's metadata grows
// with each, so a key written for half an hour would make every log entry
// hundreds of KiB and the final read-back quadratic.
func epochKeys(e int) []string {
	return []string{fmt.Sprintf("e%d-k0", e), fmt.Sprintf("e%d-k1", e), fmt.Sprintf("e%d-k2", e), fmt.Sprintf("e%d-k3", e)}
}

func (r *recorder) epoch() int { return int(time.Since(r.start) / *chaosKeyEpoch) }

// kvRead reads a KV v2 key: value "" and version 0 when it does not exist.
func kvRead(ctx context.Context, c *vaultapi.Client, key string, version int) (string, int, error) {
	var q map[string][]string
	if version > 0 {
		q = map[string][]string{"version": {fmt.Sprint(version)}}
	}
	s, err := c.Logical().ReadWithDataWithContext(ctx, "secret/data/"+key, q)
	if err != nil {
		return "", 0, err
	}
	if s == nil || s.Data == nil {
		return "", 0, nil
	}
	d, _ := s.Data["data"].(map[string]any)
	v, _ := d["v"].(string)
	md, _ := s.Data["metadata"].(map[string]any)
	ver, _ := md["version"].(json.Number).Int64()
	return v, int(ver), nil
}

// kvWrite writes a KV v2 key (with cas when cas >= 0) and returns the new
// version.
func kvWrite(ctx context.Context, c *vaultapi.Client, key, value string, cas int) (int, error) {
	body := map[string]any{"data": map[string]any{"v": value}}
	if cas >= 0 {
		body["options"] = map[string]any{"cas": cas}
	}
	s, err := c.Logical().WriteWithContext(ctx, "secret/data/"+key, body)
	if err != nil {
		return 0, err
	}
	if s == nil {
		return 0, fmt.Errorf("empty write response")
	}
	ver, err := s.Data["version"].(json.Number).Int64()
	return int(ver), err
}

// worker runs random operations against one node until ctx is done.
func worker(ctx context.Context, rec *recorder, c *vaultapi.Client, id int, rng *rand.Rand) {
	client := int(rec.nextClient.Add(1) - 1)
	lastVersion := map[string]int{}
	for seq := 0; ctx.Err() == nil; seq++ {
		keys := epochKeys(rec.epoch())
		key := keys[rng.IntN(len(keys))]
		p := rng.IntN(100)
		opCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		failed := false
		switch {
		case p < 40: // get
			call := rec.now()
			v, ver, err := kvRead(opCtx, c, key, 0)
			ret := rec.now()
			if err != nil {
				rec.fail("get", err)
				failed = true
			}
			if err == nil {
				lastVersion[key] = ver
				rec.add(porcupine.Operation{ClientId: client, Call: call, Return: ret,
					Input: kvInput{Op: "get", Key: key}, Output: kvOutput{Value: v, Version: ver}})
			}
		default: // put or cas
			value := fmt.Sprintf("c%d-%d", id, seq)
			in := kvInput{Op: "put", Key: key, Value: value}
			cas := -1
			if p >= 75 {
				cas = lastVersion[key]
				in = kvInput{Op: "cas", Key: key, Value: value, CAS: cas}
			}
			call := rec.now()
			ver, err := kvWrite(opCtx, c, key, value, cas)
			ret := rec.now()
			failed = err != nil
			switch {
			case err == nil:
				lastVersion[key] = ver
				rec.ack(key, ver, value)
				rec.add(porcupine.Operation{ClientId: client, Call: call, Return: ret, Input: in, Output: kvOutput{OK: true, Version: ver}})
			case errors.Is(err, syscall.ECONNREFUSED):
				// Never sent: no effect, constrains nothing.
				rec.fail(in.Op, err)
			case cas >= 0 && statusCode(err) == 400:
				rec.add(porcupine.Operation{ClientId: client, Call: call, Return: ret, Input: in, Output: kvOutput{}})
			default:
				rec.fail(in.Op, err)
				rec.add(porcupine.Operation{ClientId: client, Call: call, Return: math.MaxInt64, Input: in, Output: kvOutput{Unknown: true}})
				client = int(rec.nextClient.Add(1) - 1)
			}
		}
		cancel()
		if failed {
			// Do not spin against a dead or frozen node.
			time.Sleep(time.Duration(20+rng.IntN(60)) * time.Millisecond)
		}
	}
}

// nemesis injects seeded faults on the active node until ctx is done. Each
// injection is followed by a bounded wait for a healthy cluster.
func nemesis(ctx context.Context, pc *procCluster, rng *rand.Rand, onlyStop bool, logf func(string, ...any)) {
	sleep := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	for sleep(time.Duration(800+rng.IntN(1200)) * time.Millisecond) {
		act := pc.WaitActive(30 * time.Second)
		kinds := 2
		if pc.Net != nil {
			kinds = 4 // partitions weigh double: they are the newest fault
		}
		kind := rng.IntN(kinds)
		if onlyStop {
			kind = 1
		}
		switch kind {
		case 0:
			logf("nemesis: kill -9 %s", act.ID)
			act.Kill9()
			sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
			pc.Start(act)
			pc.Unseal(act)
			logf("nemesis: %s restarted and unsealed", act.ID)
		case 1:
			d := time.Duration(1200+rng.IntN(1000)) * time.Millisecond
			if onlyStop { // short freezes: requests queued on the frozen node are still awaited when it resumes
				d = time.Duration(700+rng.IntN(500)) * time.Millisecond
			}
			logf("nemesis: SIGSTOP %s for %s", act.ID, d)
			act.Signal(syscall.SIGSTOP)
			time.Sleep(d) // not cut short: a frozen node must be resumed
			act.Signal(syscall.SIGCONT)
		default:
			partition(pc, act, rng, logf)
		}
		pc.WaitActive(30 * time.Second)
	}
}

// partition cuts the cluster in one of several seeded ways, holds it past
// the election timeout and heals it: the active alone, a standby alone, a
// minority/majority split, a bridge (one node sees both halves, which
// cannot reach each other), a flapping link to the active, or a partition
// combined with SIGSTOP or kill -9.
func partition(pc *procCluster, act *node, rng *rand.Rand, logf func(string, ...any)) {
	ips := make([]string, len(pc.Nodes))
	for i, nd := range pc.Nodes {
		ips[i] = nd.IP
	}
	perm := rng.Perm(len(ips))
	hold := time.Duration(1500+rng.IntN(1500)) * time.Millisecond
	var err error
	switch rng.IntN(7) {
	case 0:
		logf("nemesis: isolate the active %s for %s", act.ID, hold)
		err = pc.Net.Isolate(act.IP, ips...)
	case 1:
		var sb *node
		for _, i := range perm {
			if pc.Nodes[i] != act {
				sb = pc.Nodes[i]
				break
			}
		}
		logf("nemesis: isolate standby %s for %s", sb.ID, hold)
		err = pc.Net.Isolate(sb.IP, ips...)
	case 2:
		k := (len(ips) - 1) / 2 // the minority
		var minority, majority []string
		for j, i := range perm {
			if j < k || (k == 0 && j == 0) {
				minority = append(minority, ips[i])
			} else {
				majority = append(majority, ips[i])
			}
		}
		logf("nemesis: split %v | %v for %s", minority, majority, hold)
		err = pc.Net.Partition(minority, majority)
	case 3:
		br := ips[perm[0]]
		var a, b []string
		for j, i := range perm[1:] {
			if j%2 == 0 {
				a = append(a, ips[i])
			} else {
				b = append(b, ips[i])
			}
		}
		logf("nemesis: bridge %s between %v and %v for %s", br, a, b, hold)
		err = pc.Net.Partition(append(a, br), append(b, br))
	case 5: // combined: a standby cut off while the active is frozen
		var sb *node
		for _, i := range perm {
			if pc.Nodes[i] != act {
				sb = pc.Nodes[i]
				break
			}
		}
		logf("nemesis: isolate standby %s and SIGSTOP the active %s for %s", sb.ID, act.ID, hold)
		err = pc.Net.Isolate(sb.IP, ips...)
		act.Signal(syscall.SIGSTOP)
		time.Sleep(hold)
		act.Signal(syscall.SIGCONT)
		hold = 0
	case 6: // combined: the active cut off, then killed and restarted
		logf("nemesis: isolate the active %s, then kill -9 it, for %s", act.ID, hold)
		err = pc.Net.Isolate(act.IP, ips...)
		time.Sleep(hold / 2)
		act.Kill9()
		time.Sleep(hold / 2)
		hold = 0
		defer func() {
			pc.Start(act)
			pc.Unseal(act)
			logf("nemesis: %s restarted and unsealed", act.ID)
		}()
	default:
		peer := pc.Nodes[perm[0]]
		if peer == act {
			peer = pc.Nodes[perm[1]]
		}
		logf("nemesis: flap the link %s–%s for %s", act.ID, peer.ID, hold)
		deadline := time.Now().Add(hold)
		for time.Now().Before(deadline) && err == nil {
			if err = pc.Net.Cut(act.IP, peer.IP); err == nil {
				time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
				err = pc.Net.Restore(act.IP, peer.IP)
				time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
			}
		}
		hold = 0
	}
	if err != nil {
		pc.T.Errorf("nemesis: partition: %v", err)
	}
	time.Sleep(hold) // not cut short: a partition must be healed
	if err := pc.Net.Heal(); err != nil {
		pc.T.Fatalf("nemesis: heal: %v", err)
	}
	logf("nemesis: healed")
}

// runChaos runs one seeded chaos round and returns the checker's verdict
// and the history. Infrastructure failures are fatal; a non-linearizable
// history is returned, not fatal, so the chaosbug test can expect it.
func runChaos(t *testing.T, seed uint64, nodes int, dur time.Duration, onlyStop bool) (porcupine.CheckResult, porcupine.LinearizationInfo, []porcupine.Operation, []string) {
	t.Helper()
	pc := newProcCluster(t, nodes)
	pc.InitAndUnseal()
	admin := pc.Client(pc.WaitActive(30*time.Second), 10*time.Second)
	var setupErr error
	waitForMsg(t, 20*time.Second, "the kv-v2 mount", func() bool {
		_, setupErr = admin.Logical().Write("sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
		if statusCode(setupErr) == 400 { // already mounted by an attempt that failed late
			setupErr = nil
		}
		// Keep every version, so every acknowledged write can be read back.
		if setupErr == nil {
			_, setupErr = admin.Logical().Write("secret/config", map[string]any{"max_versions": 1000000})
		}
		return setupErr == nil
	}, func() string { return fmt.Sprint(setupErr) })

	rec := newRecorder()
	var problems []string
	logf := func(format string, args ...any) {
		t.Logf("%6.2fs "+format, append([]any{time.Since(rec.start).Seconds()}, args...)...)
	}

	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var wg sync.WaitGroup
	// Two clients per node, each bound to that node: standbys answer
	// reads themselves after a read index and forward writes.
	for i := 0; i < 2*nodes; i++ {
		nd := pc.Nodes[i%nodes]
		c := pc.Client(nd, 3*time.Second)
		rng := rand.New(rand.NewPCG(seed, uint64(i)+1))
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker(ctx, rec, c, i, rng)
		}()
	}
	nemesis(ctx, pc, rand.New(rand.NewPCG(seed, 0)), onlyStop, logf)
	wg.Wait()

	// Heal: everything resumed, running and unsealed; then read every key
	// (recorded like any read) through the active node.
	for _, nd := range pc.Nodes {
		nd.Signal(syscall.SIGCONT)
		nd.Mu.Lock()
		down := nd.Cmd == nil
		nd.Mu.Unlock()
		if down {
			pc.Start(nd)
		}
		pc.Unseal(nd)
	}
	act := pc.WaitActive(30 * time.Second)
	final := pc.Client(act, 5*time.Second)
	client := int(rec.nextClient.Add(1))
	var keys []string // every key any epoch used
	for e := 0; e <= rec.epoch(); e++ {
		keys = append(keys, epochKeys(e)...)
	}
	for _, k := range keys {
		waitFor(t, 30*time.Second, "the final read of "+k, func() bool {
			call := rec.now()
			v, ver, err := kvRead(context.Background(), final, k, 0)
			if err != nil {
				return false
			}
			rec.add(porcupine.Operation{ClientId: client, Call: call, Return: rec.now(),
				Input: kvInput{Op: "get", Key: k}, Output: kvOutput{Value: v, Version: ver}})
			return true
		})
	}
	// The server's own write history: KV v2 keeps every version (max_versions
	// is raised above), so reading versions 1..current of each key tells
	// which writes were applied, and in which order.
	applied := map[string]map[int]string{} // key → version → value
	appliedVal := map[string]bool{}        // key + "\x00" + value
	for _, k := range keys {
		applied[k] = map[int]string{}
		var cur int
		waitFor(t, 30*time.Second, "the current version of "+k, func() bool {
			_, v, err := kvRead(context.Background(), final, k, 0)
			cur = v
			return err == nil
		})
		for ver := 1; ver <= cur; ver++ {
			waitFor(t, 30*time.Second, fmt.Sprintf("version %d of %s", ver, k), func() bool {
				v, gotVer, err := kvRead(context.Background(), final, k, ver)
				if err != nil {
					return false
				}
				if gotVer == ver {
					applied[k][ver] = v
					appliedVal[k+"\x00"+v] = true
				}
				return true
			})
		}
	}
	// Every acknowledged write is there, at the version it was acknowledged
	// with.
	acked := 0
	for k, vers := range rec.acked {
		for ver, want := range vers {
			acked++
			if got, ok := applied[k][ver]; !ok || got != want {
				problems = append(problems, fmt.Sprintf("acknowledged write %s v%d = %q lost: the server has %q", k, ver, want, got))
			}
		}
	}
	// Every value a read saw is in that history at the version it was read
	// with: a read of a version the server later holds differently saw a
	// write that was overwritten (two writes took one version: the seed-7
	// lost update) or an uncommitted one. porcupine reports this only as
	// Illegal somewhere in the key; this names the read.
	seen := 0
	for _, op := range rec.history() {
		in, out := op.Input.(kvInput), op.Output.(kvOutput)
		if in.Op != "get" || out.Version == 0 {
			continue
		}
		if got, ok := applied[in.Key][out.Version]; !ok || got != out.Value {
			if seen++; seen <= 10 {
				problems = append(problems, fmt.Sprintf("read at %.3fs saw %s v%d = %q, but the server's history has %q there",
					float64(op.Call)/1e9, in.Key, out.Version, out.Value, got))
			}
		}
	}
	if seen > 10 {
		problems = append(problems, fmt.Sprintf("… and %d more reads of versions the server's history does not have", seen-10))
	}
	// Resolve the unknown writes with that history: a write whose (unique)
	// value was never applied had no effect and is dropped; one that was
	// applied keeps Return = ∞ but is known to have succeeded. This is
	// what etcd's robustness tests do with the WAL; without it porcupine's
	// search explodes on dozens of open-ended writes.
	raw := rec.history()
	hist := raw[:0:0]
	unknown, droppedUnknown := 0, 0
	for _, op := range raw {
		out := op.Output.(kvOutput)
		if out.Unknown {
			unknown++
			in := op.Input.(kvInput)
			if !appliedVal[in.Key+"\x00"+in.Value] {
				droppedUnknown++
				continue
			}
			out.OK = true
			op.Output = out
		}
		hist = append(hist, op)
	}
	logf("unknown writes: %d, of which %d never applied", unknown, droppedUnknown)
	type ec struct {
		msg string
		n   int
	}
	var top []ec
	for m, n := range rec.errs {
		top = append(top, ec{m, n})
	}
	sort.Slice(top, func(i, j int) bool { return top[i].n > top[j].n })
	for _, e := range top[:min(len(top), 8)] {
		logf("errors: %5d × %s", e.n, e.msg)
	}
	logf("history: %d operations, %d acknowledged writes", len(hist), acked)
	if acked == 0 {
		t.Fatalf("no write was acknowledged during the run: the workload never made progress")
	}
	local, per := standbyLocalReads(pc)
	logf("reads standbys answered themselves (nodes' counters since their last start): %d (%s)", local, per)
	if nodes > 1 && local == 0 {
		problems = append(problems, "no standby answered a read itself: the run did not exercise standby reads")
	}
	res, info := porcupine.CheckOperationsVerbose(kvModel, hist, time.Minute)
	return res, info, hist, problems
}

// saveArtifacts writes the history (JSON) and porcupine's visualisation.
func saveArtifacts(t *testing.T, seed uint64, info porcupine.LinearizationInfo, hist []porcupine.Operation) {
	dir := *chaosArtifacts
	if dir == "" {
		dir = t.ArtifactDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("artifacts: %v", err)
		return
	}
	sort.Slice(hist, func(i, j int) bool { return hist[i].Call < hist[j].Call })
	b, _ := json.MarshalIndent(hist, "", " ")
	hp := filepath.Join(dir, fmt.Sprintf("history-seed%d.json", seed))
	vp := filepath.Join(dir, fmt.Sprintf("linearizability-seed%d.html", seed))
	if err := os.WriteFile(hp, b, 0o644); err != nil {
		t.Errorf("artifacts: %v", err)
	}
	if err := porcupine.VisualizePath(kvModel, info, vp); err != nil {
		t.Errorf("visualize: %v", err)
	}
	t.Logf("artifacts: %s and %s", hp, vp)
}

func seed() uint64 {
	if *chaosSeed != 0 {
		return *chaosSeed
	}
	return uint64(time.Now().UnixNano())
}

// TestLinearizability_Nemesis is the seeded chaos run: -chaos.duration of
// load (15 s by default) under kill -9 and SIGSTOP of the active node and,
// where iptables works, network partitions (isolated active or standby,
// minority/majority, bridge, flapping link).
func TestLinearizability_Nemesis(t *testing.T) {
	if buildTags != "" {
		t.Skip("the chaosbug build is for TestCheckerCatchesBug")
	}
	s := seed()
	t.Logf("seed %d, %d nodes, %s", s, *chaosNodes, *chaosDuration)
	res, info, hist, problems := runChaos(t, s, *chaosNodes, *chaosDuration, false)
	for _, p := range problems {
		t.Error(p)
	}
	if res != porcupine.Ok {
		saveArtifacts(t, s, info, hist)
		t.Fatalf("porcupine: %s (seed %d)", res, s)
	}
	if len(problems) > 0 {
		saveArtifacts(t, s, info, hist)
	}
}

// standbyLocalReads sums the nodes' vaultd_standby_reads_local counters.
func standbyLocalReads(pc *procCluster) (int, string) {
	total, per := 0, []string{}
	for _, nd := range pc.Nodes {
		c := pc.Client(nd, 5*time.Second)
		r := c.NewRequest("GET", "/v1/sys/metrics")
		r.Params.Set("format", "prometheus")
		resp, err := c.RawRequestWithContext(context.Background(), r)
		if err != nil {
			per = append(per, nd.ID+": "+err.Error())
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "vaultd_standby_reads_local "); ok {
				n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				total += int(n)
				per = append(per, fmt.Sprintf("%s: %d", nd.ID, int(n)))
			}
		}
	}
	return total, strings.Join(per, ", ")
}
