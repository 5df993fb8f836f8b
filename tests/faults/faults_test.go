package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/tests/internal/netfault"
)

// requirePartitions skips when iptables partitions cannot be made here.
func requirePartitions(t *testing.T) {
	t.Helper()
	n, err := netfault.New()
	if errors.Is(err, netfault.ErrUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	_ = n.Close()
}

// setup starts an n-node cluster with a kv-v2 mount at secret/.
func setup(t *testing.T, n int) *procCluster {
	t.Helper()
	requirePartitions(t)
	pc := newProcCluster(t, n)
	if pc.Net == nil {
		t.Skip("network partitions unavailable")
	}
	pc.InitAndUnseal()
	admin := pc.Client(pc.WaitActive(30*time.Second), 10*time.Second)
	var err error
	waitForMsg(t, 20*time.Second, "the kv-v2 mount", func() bool {
		_, err = admin.Logical().Write("sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
		if statusCode(err) == 400 {
			err = nil
		}
		if err == nil { // keep every version: acks.verify reads them all
			_, err = admin.Logical().Write("secret/config", map[string]any{"max_versions": 1000000})
		}
		return err == nil
	}, func() string { return fmt.Sprint(err) })
	return pc
}

func ips(pc *procCluster) []string {
	out := make([]string, len(pc.Nodes))
	for i, nd := range pc.Nodes {
		out[i] = nd.IP
	}
	return out
}

// activeAmong is the node of nds whose sys/health says active, or nil.
func activeAmong(pc *procCluster, nds []*node) *node {
	for _, nd := range active2(pc, nds) {
		return nd
	}
	return nil
}

func active2(pc *procCluster, nds []*node) []*node {
	var out []*node
	for _, nd := range nds {
		c := pc.Client(nd, time.Second)
		h, err := c.Sys().Health()
		if err == nil && h != nil && !h.Standby && !h.Sealed && h.Initialized {
			out = append(out, nd)
		}
	}
	return out
}

func others(all []*node, not ...*node) []*node {
	var out []*node
next:
	for _, nd := range all {
		for _, x := range not {
			if nd == x {
				continue next
			}
		}
		out = append(out, nd)
	}
	return out
}

func read(c *vaultapi.Client, key string) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.Logical().ReadWithContext(ctx, "secret/data/"+key)
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

func write(c *vaultapi.Client, key, value string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := c.Logical().WriteWithContext(ctx, "secret/data/"+key, map[string]any{"data": map[string]any{"v": value}})
	return err
}

// acks records acknowledged writes (key → values) for the final check.
type acks struct {
	mu sync.Mutex
	m  map[string][]string
}

func (a *acks) add(k, v string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[string][]string{}
	}
	a.m[k] = append(a.m[k], v)
}

// verify reads every version of every key through c: each acknowledged
// value must be among them (setup raises max_versions so none is pruned).
func (a *acks) verify(t *testing.T, c *vaultapi.Client) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, vals := range a.m {
		_, cur, err := read(c, k)
		if err != nil {
			t.Fatalf("final read of %s: %v", k, err)
		}
		have := map[string]bool{}
		for ver := 1; ver <= cur; ver++ {
			s, err := c.Logical().ReadWithData("secret/data/"+k, map[string][]string{"version": {fmt.Sprint(ver)}})
			if err != nil || s == nil {
				t.Fatalf("read %s v%d: %v", k, ver, err)
			}
			d, _ := s.Data["data"].(map[string]any)
			v, _ := d["v"].(string)
			have[v] = true
		}
		for _, v := range vals {
			if !have[v] {
				t.Errorf("acknowledged write %s = %q is lost after healing", k, v)
			}
		}
	}
}

// heal restores the network and waits until every node serves through
// the (possibly new) active node.
func heal(t *testing.T, pc *procCluster) *node {
	t.Helper()
	if err := pc.Net.Heal(); err != nil {
		t.Fatal(err)
	}
	act := pc.WaitActive(30 * time.Second)
	for _, nd := range pc.Nodes {
		c := pc.Client(nd, 3*time.Second)
		var err error
		waitForMsg(t, 30*time.Second, nd.ID+" to serve after healing", func() bool {
			err = write(c, "heal/"+nd.ID, "ok")
			return err == nil
		}, func() string { return fmt.Sprint(err) })
	}
	return act
}

// The active node cut off from every peer stops serving (it never answers
// a read with data older than a write the new majority acknowledged, and
// never acknowledges a write that is then lost); the majority elects a new
// active node; after healing the old one rejoins as a standby.
func TestPartition_IsolateActive(t *testing.T) {
	pc := setup(t, 3)
	old := pc.WaitActive(30 * time.Second)
	cOld := pc.Client(old, 2*time.Second)
	var ack acks
	if err := write(cOld, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	ack.add("k", "v1")

	// Probe the old active continuously: every successful read, and
	// every write it acknowledges.
	type probe struct {
		start time.Time
		val   string
	}
	var mu sync.Mutex
	var okReads []probe
	var lastOK time.Time
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			if v, _, err := read(cOld, "k"); err == nil {
				mu.Lock()
				okReads = append(okReads, probe{start, v})
				lastOK = time.Now()
				mu.Unlock()
			}
			if write(cOld, "lost", fmt.Sprint("w", i)) == nil {
				ack.add("lost", fmt.Sprint("w", i))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	cutAt := time.Now()
	if err := pc.Net.Isolate(old.IP, ips(pc)...); err != nil {
		t.Fatal(err)
	}
	t.Logf("isolated the active %s", old.ID)
	rest := others(pc.Nodes, old)
	var nw *node
	waitFor(t, 30*time.Second, "a new active node in the majority", func() bool {
		nw = activeAmong(pc, rest)
		return nw != nil
	})
	cNew := pc.Client(nw, 2*time.Second)
	var err error
	waitForMsg(t, 20*time.Second, "a write through the new active "+nw.ID, func() bool {
		err = write(cNew, "k", "v2")
		return err == nil
	}, func() string { return fmt.Sprint(err) })
	acked := time.Now()
	ack.add("k", "v2")
	t.Logf("new active %s elected and acknowledged v2 %.2fs after the cut", nw.ID, acked.Sub(cutAt).Seconds())
	waitFor(t, 15*time.Second, "the isolated node to stop serving reads", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return time.Since(lastOK) > 2*time.Second
	})
	close(stop)
	wg.Wait()
	mu.Lock()
	for _, p := range okReads {
		if p.start.After(acked) && p.val != "v2" {
			t.Errorf("stale read: the isolated old active answered %q for a read sent %.2fs after v2 was acknowledged", p.val, p.start.Sub(acked).Seconds())
		}
	}
	if !lastOK.IsZero() && lastOK.After(cutAt) {
		t.Logf("the isolated node's last successful read ended %.2fs after the cut", lastOK.Sub(cutAt).Seconds())
	}
	mu.Unlock()

	act := heal(t, pc)
	c := pc.Client(old, 3*time.Second)
	if v, _, err := read(c, "k"); err != nil || v != "v2" {
		t.Fatalf("read through the healed old active: %q, %v; want v2", v, err)
	}
	ack.verify(t, pc.Client(act, 5*time.Second))
}

// A standby cut off from every peer never serves stale data (it forwards
// everything and cannot reach the active node), the rest keeps serving,
// and after healing it catches up.
func TestPartition_IsolateStandby(t *testing.T) {
	pc := setup(t, 3)
	act := pc.WaitActive(30 * time.Second)
	sb := others(pc.Nodes, act)[0]
	cAct, cSb := pc.Client(act, 2*time.Second), pc.Client(sb, 2*time.Second)
	var ack acks
	if err := pc.Net.Isolate(sb.IP, ips(pc)...); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		v := fmt.Sprint("v", i)
		var err error
		waitForMsg(t, 20*time.Second, "a write through the active while a standby is cut off", func() bool {
			err = write(cAct, "k", v)
			return err == nil
		}, func() string { return fmt.Sprint(err) })
		ack.add("k", v)
		if got, _, err := read(cSb, "k"); err == nil && got != v {
			t.Errorf("isolated standby answered %q after %q was acknowledged", got, v)
		}
	}
	if activeAmong(pc, []*node{act}) == nil {
		t.Fatal("the active node lost leadership although it kept a majority")
	}
	heal(t, pc)
	// Once healed, the standby answers the read itself, after a read index:
	// the reads above went through the same path and were refused, not
	// stale. Its connections to the active may take a moment to recover
	// from the dropped packets, so a refused or forwarded read is retried
	// (bounded); a stale answer fails at once.
	var last string
	waitForMsg(t, 20*time.Second, "the healed standby answering v19 itself", func() bool {
		before := localReads(t, cSb)
		got, _, err := read(cSb, "k")
		if err != nil {
			last = fmt.Sprint(err)
			return false
		}
		if got != "v19" {
			t.Fatalf("healed standby reads %q; want v19", got)
		}
		after := localReads(t, cSb)
		last = fmt.Sprintf("answered v19, local reads %v → %v", before, after)
		return after > before
	}, func() string { return last })
	ack.verify(t, cAct)
}

// localReads is the node's vaultd_standby_reads_local counter.
func localReads(t *testing.T, c *vaultapi.Client) float64 {
	t.Helper()
	r := c.NewRequest("GET", "/v1/sys/metrics")
	r.Params.Set("format", "prometheus")
	resp, err := c.RawRequestWithContext(context.Background(), r)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "vaultd_standby_reads_local "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metrics: %q", line)
			}
			return n
		}
	}
	t.Fatal("metrics: no vaultd_standby_reads_local")
	return 0
}

// A minority that holds the active node loses it; the majority elects a
// new one and serves; no acknowledged write is lost. With -faults.nodes=5
// the split is 2 | 3.
func TestPartition_MinorityWithActive(t *testing.T) {
	n := *faultNodes
	pc := setup(t, n)
	old := pc.WaitActive(30 * time.Second)
	minority := []*node{old}
	for _, nd := range others(pc.Nodes, old) {
		if len(minority) < (n-1)/2 {
			minority = append(minority, nd)
		}
	}
	majority := others(pc.Nodes, minority...)
	var minIPs, majIPs []string
	for _, nd := range minority {
		minIPs = append(minIPs, nd.IP)
	}
	for _, nd := range majority {
		majIPs = append(majIPs, nd.IP)
	}
	if err := pc.Net.Partition(minIPs, majIPs); err != nil {
		t.Fatal(err)
	}
	t.Logf("split %v | %v", minIPs, majIPs)
	var ack acks
	var nw *node
	waitFor(t, 30*time.Second, "an active node in the majority", func() bool {
		nw = activeAmong(pc, majority)
		return nw != nil
	})
	c := pc.Client(majority[len(majority)-1], 2*time.Second) // maybe a standby: forwards within the majority
	for i := range 10 {
		v := fmt.Sprint("m", i)
		var err error
		waitForMsg(t, 20*time.Second, "a write in the majority", func() bool {
			err = write(c, "k", v)
			return err == nil
		}, func() string { return fmt.Sprint(err) })
		ack.add("k", v)
	}
	waitFor(t, 15*time.Second, "the minority to have no active node", func() bool {
		return len(active2(pc, minority)) == 0
	})
	act := heal(t, pc)
	ack.verify(t, pc.Client(act, 5*time.Second))
}

// A bridge: two nodes cannot reach each other, a third reaches both. The
// cluster keeps (or regains) an active node and serves writes through the
// bridge; nothing acknowledged is lost.
func TestPartition_Bridge(t *testing.T) {
	pc := setup(t, 3)
	act := pc.WaitActive(30 * time.Second)
	rest := others(pc.Nodes, act)
	bridge, far := rest[0], rest[1]
	if err := pc.Net.Cut(act.IP, far.IP); err != nil {
		t.Fatal(err)
	}
	t.Logf("cut %s–%s; %s bridges", act.ID, far.ID, bridge.ID)
	c := pc.Client(bridge, 2*time.Second)
	var ack acks
	deadline := time.Now().Add(4 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		v := fmt.Sprint("b", i)
		if write(c, "k", v) == nil {
			ack.add("k", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(ack.m["k"]) == 0 {
		t.Fatal("no write succeeded through the bridge node while the cluster had a quorum")
	}
	act = heal(t, pc)
	ack.verify(t, pc.Client(act, 5*time.Second))
}

// A link between the active node and a standby that flaps every few
// hundred milliseconds: writes keep being acknowledged, none is lost.
func TestPartition_FlappingLink(t *testing.T) {
	pc := setup(t, 3)
	act := pc.WaitActive(30 * time.Second)
	peer := others(pc.Nodes, act)[0]
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := pc.Net.Cut(act.IP, peer.IP); err != nil {
				done <- err
				return
			}
			time.Sleep(300 * time.Millisecond)
			if err := pc.Net.Restore(act.IP, peer.IP); err != nil {
				done <- err
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	var ack acks
	cs := []*vaultapi.Client{pc.Client(pc.Nodes[0], 2*time.Second), pc.Client(pc.Nodes[1], 2*time.Second), pc.Client(pc.Nodes[2], 2*time.Second)}
	deadline := time.Now().Add(4 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		v := fmt.Sprint("f", i)
		if write(cs[i%3], fmt.Sprint("k", i%3), v) == nil {
			ack.add(fmt.Sprint("k", i%3), v)
		}
		time.Sleep(30 * time.Millisecond)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, v := range ack.m {
		total += len(v)
	}
	if total == 0 {
		t.Fatal("no write succeeded while one link flapped")
	}
	t.Logf("%d writes acknowledged while the %s–%s link flapped", total, act.ID, peer.ID)
	a := heal(t, pc)
	ack.verify(t, pc.Client(a, 5*time.Second))
}
