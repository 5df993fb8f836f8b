// Package replication_test runs cross-cluster DR replication between real
// vaultd processes on loopback (issue 16): a primary cluster and a DR
// secondary cluster, each on its own loopback address range, the
// secondary's stream through a delaying TCP proxy (WAN emulation).
package replication_test

import (
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/tests/internal/proccluster"
)

var (
	binPath  string
	replLong = flag.Bool("repl.long", false, "run the longer replication measurements (more writes under 50 ms emulated RTT)")
)

func TestMain(m *testing.M) {
	flag.Parse()
	if b := os.Getenv("VAULTD_TEST_BIN"); b != "" {
		// A prebuilt binary (e.g. go build -race) instead of building one.
		binPath = b
		os.Exit(m.Run())
	}
	bin, cleanup, err := proccluster.Build("vaultd-repl-bin", "", "../../cmd/vaultd")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// delayProxy forwards TCP connections to target, delaying every chunk by
// delay in each direction (one-way latency).
type delayProxy struct {
	ln     net.Listener
	target string
	delay  time.Duration
	wg     sync.WaitGroup
}

func newDelayProxy(t *testing.T, ip, target string, delay time.Duration) *delayProxy {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	p := &delayProxy{ln: ln, target: target, delay: delay}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { _ = ln.Close(); p.wg.Wait() })
	return p
}

func (p *delayProxy) Addr() string { return p.ln.Addr().String() }

func (p *delayProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.wg.Add(2)
		go p.pipe(c, u)
		go p.pipe(u, c)
	}
}

// pipe copies src to dst, each chunk delivered delay after it was read
// (order kept; bandwidth not limited).
func (p *delayProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	type chunk struct {
		b  []byte
		at time.Time
	}
	ch := make(chan chunk, 1024)
	go func() {
		defer close(ch)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				ch <- chunk{buf[:n], time.Now().Add(p.delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range ch {
		time.Sleep(time.Until(c.at))
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	_ = dst.Close()
	_ = src.Close()
	for range ch { //nolint:revive // drain
	}
}

// clusterPort is the cluster address of node nd (from its config).
func clusterPort(t *testing.T, nd *proccluster.Node) string {
	t.Helper()
	b, err := os.ReadFile(nd.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok && strings.TrimSpace(k) == "cluster_address" {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	t.Fatal("no cluster_address in " + nd.Config)
	return ""
}

func drStatus(c *vaultapi.Client) map[string]any {
	s, err := c.Logical().Read("sys/replication/dr/status")
	if err != nil || s == nil {
		return nil
	}
	return s.Data
}

func num(v any) uint64 {
	switch n := v.(type) {
	case float64:
		return uint64(n)
	case interface{ Int64() (int64, error) }:
		i, _ := n.Int64()
		return uint64(i)
	}
	return 0
}

func healthCode(addr string) int {
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(addr + "/v1/sys/health")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// rawPut PUTs body to path on addr (no token) and returns status and body.
func rawPut(t *testing.T, addr, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, addr+"/v1/"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// operationToken runs the DR operation-token ceremony on the secondary
// with the keyholders' shares (the primary's unseal keys).
func operationToken(t *testing.T, sec *vaultapi.Client, keys []string) string {
	t.Helper()
	var resp *vaultapi.Response
	var err error
	proccluster.WaitForMsg(t, 30*time.Second, "the operation token attempt to start", func() bool {
		// A node that just restarted may not know its leader yet (503).
		resp, err = sec.RawRequest(sec.NewRequest(http.MethodPut, "/v1/sys/replication/dr/secondary/generate-operation-token/attempt"))
		return proccluster.StatusCode(err) != http.StatusServiceUnavailable
	}, func() string { return fmt.Sprint(err) })
	if err != nil {
		t.Fatalf("operation token attempt: %v", err)
	}
	var st map[string]any
	if err := resp.DecodeJSON(&st); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	otp, _ := st["otp"].(string)
	nonce, _ := st["nonce"].(string)
	if otp == "" || nonce == "" {
		t.Fatalf("attempt answered %v", st)
	}
	var encoded string
	for _, k := range keys {
		r := sec.NewRequest(http.MethodPut, "/v1/sys/replication/dr/secondary/generate-operation-token/update")
		if err := r.SetJSONBody(map[string]any{"key": k, "nonce": nonce}); err != nil {
			t.Fatal(err)
		}
		resp, err := sec.RawRequest(r)
		if err != nil {
			t.Fatalf("operation token update: %v", err)
		}
		var up map[string]any
		if err := resp.DecodeJSON(&up); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if done, _ := up["complete"].(bool); done {
			encoded, _ = up["encoded_token"].(string)
			break
		}
	}
	raw, err := base64.RawStdEncoding.DecodeString(encoded)
	if err != nil || len(raw) != len(otp) {
		t.Fatalf("encoded token %q does not decode with the OTP: %v", encoded, err)
	}
	for i := range raw {
		raw[i] ^= otp[i]
	}
	return string(raw)
}

// TestDR_ProcessClusters (issue 16 items 3–5, through the HTTP API of real
// processes): enable a primary, activate a DR secondary through a 25 ms
// each-way proxy, writes arrive, the secondary refuses client requests
// (400, health 472), the primary cluster is killed whole, the keyholders
// make a DR operation token, the secondary is promoted and holds every
// write its status reported replicated; the old primary restarted is
// fenced by the promoted cluster (writes refused, nothing leaks); failback
// makes the old primary a secondary of the new one and promotes it back.
func TestDR_ProcessClusters(t *testing.T) {
	prim := proccluster.New(t, proccluster.Options{Bin: binPath, N: 1, AddrBase: 180})
	prim.InitAndUnseal()
	sec := proccluster.New(t, proccluster.Options{Bin: binPath, N: 1, AddrBase: 190})
	sec.InitAndUnseal()
	pn, sn := prim.Nodes[0], sec.Nodes[0]
	pc, sc := prim.Client(pn, 30*time.Second), sec.Client(sn, 30*time.Second)

	if _, err := pc.Logical().Write("sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	put := func(c *vaultapi.Client, k, v string) error {
		_, err := c.Logical().Write("secret/data/"+k, map[string]any{"data": map[string]any{"v": v}})
		return err
	}
	for i := range 5 {
		if err := put(pc, fmt.Sprintf("before-%d", i), "x"); err != nil {
			t.Fatal(err)
		}
	}

	// Enable the primary; a secondary token is response-wrapped.
	if _, err := pc.Logical().Write("sys/replication/dr/primary/enable", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Logical().Write("sys/replication/dr/primary/secondary-token", map[string]any{"id": "x"}); err == nil || proccluster.StatusCode(err) != 400 {
		t.Fatalf("secondary-token on a cluster that is not a primary: %v", err)
	}
	tokSecret, err := pc.Logical().Write("sys/replication/dr/primary/secondary-token", map[string]any{"id": "dr-east"})
	if err != nil {
		t.Fatal(err)
	}
	if tokSecret == nil || tokSecret.WrapInfo == nil || tokSecret.WrapInfo.Token == "" || len(tokSecret.Data) != 0 {
		t.Fatalf("secondary-token must answer only wrap_info: %+v", tokSecret)
	}
	activation := tokSecret.WrapInfo.Token

	// The secondary's stream goes through a proxy adding 25 ms each way.
	proxy := newDelayProxy(t, sn.IP, clusterPort(t, pn), 25*time.Millisecond)
	if _, err := sc.Logical().Write("sys/replication/dr/secondary/enable", map[string]any{
		"token": activation, "primary_api_addr": pn.Addr, "primary_cluster_addr": proxy.Addr(),
	}); err != nil {
		t.Fatal(err)
	}
	// The activation token is single-use.
	if _, err := pc.Logical().Unwrap(activation); err == nil {
		t.Fatal("the activation token could be unwrapped twice")
	}

	// After the first sync the secondary's node holds the primary's
	// keyring and seals; it is unsealed with the primary's keys.
	proccluster.WaitFor(t, 60*time.Second, "the secondary to seal after its first sync", func() bool {
		st, err := sc.Sys().SealStatus()
		return err == nil && st.Sealed
	})
	sec.Keys = prim.Keys
	sec.Unseal(sn)

	// Writes on the primary arrive; status on both sides.
	start := time.Now()
	const n = 40
	for i := range n {
		if err := put(pc, fmt.Sprintf("k%03d", i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	wrote := time.Since(start)
	var pst, sst map[string]any
	proccluster.WaitForMsg(t, 60*time.Second, "the secondary to catch up", func() bool {
		pst, sst = drStatus(pc), drStatus(sc)
		return pst != nil && sst != nil && sst["state"] == "stream-wals" && num(sst["lag_entries"]) == 0 &&
			num(sst["last_remote_wal"]) > 0 && num(sst["last_wal"]) >= num(pst["last_wal"])-1
	}, func() string { return fmt.Sprintf("primary %v secondary %v", pst, sst) })
	caughtUp := time.Since(start)
	t.Logf("%d writes: written in %s, replicated (status caught up) after %s through 50 ms RTT", n, wrote, caughtUp)
	if pst["mode"] != "primary" || sst["mode"] != "secondary" {
		t.Fatalf("modes: %v / %v", pst["mode"], sst["mode"])
	}
	if ks, _ := pst["known_secondaries"].([]any); len(ks) != 1 || ks[0] != "dr-east" {
		t.Fatalf("known_secondaries = %v", pst["known_secondaries"])
	}
	// sys/replication/status carries the dr part.
	if s, err := sc.Logical().Read("sys/replication/status"); err != nil || s.Data["dr"] == nil {
		t.Fatalf("sys/replication/status: %v %v", s, err)
	}

	// A restart of the secondary resumes the role by itself once it is
	// unsealed (with the primary's keys): the stream continues from its
	// durable index, without a resync, and new writes arrive.
	sn.Kill9()
	sec.Start(sn)
	if code := healthCode(sn.Addr); code != 503 {
		t.Fatalf("the restarted secondary: health %d, want 503 (sealed)", code)
	}
	sec.Unseal(sn)
	for i := range 5 {
		if err := put(pc, fmt.Sprintf("after-restart-%d", i), "x"); err != nil {
			t.Fatal(err)
		}
	}
	before := num(sst["last_remote_wal"])
	proccluster.WaitForMsg(t, 60*time.Second, "the restarted secondary to catch up", func() bool {
		pst, sst = drStatus(pc), drStatus(sc)
		return pst != nil && sst != nil && sst["state"] == "stream-wals" && num(sst["lag_entries"]) == 0 &&
			num(sst["last_remote_wal"]) > before && num(sst["last_wal"]) >= num(pst["last_wal"])-1
	}, func() string { return fmt.Sprintf("primary %v secondary %v", pst, sst) })
	if num(sst["resyncs"]) != 0 {
		t.Fatalf("the restarted secondary resynchronised: %v", sst)
	}

	// The DR secondary refuses client requests (400), health says 472.
	_, err = sc.Logical().Read("secret/data/k000")
	if proccluster.StatusCode(err) != 400 || !strings.Contains(err.Error(), "DR secondary") {
		t.Fatalf("a read on the DR secondary: %v", err)
	}
	if err := put(sc, "nope", "x"); proccluster.StatusCode(err) != 400 {
		t.Fatalf("a write on the DR secondary: %v", err)
	}
	if code := healthCode(sn.Addr); code != 472 {
		t.Fatalf("sys/health on the DR secondary = %d, want 472", code)
	}
	// Promote without an operation token is refused.
	if code, body := rawPut(t, sn.Addr, "sys/replication/dr/secondary/promote", `{"dr_operation_token":"hvs.nope"}`); code != 403 {
		t.Fatalf("promote with a bad token: %d %s", code, body)
	}

	// Writes acknowledged and reported replicated, then the primary
	// cluster is lost whole.
	reported := num(sst["last_remote_wal"])
	prim.KillAll()

	opTok := operationToken(t, sc, prim.Keys)
	// The raft operator endpoints on the DR secondary: with the DR
	// operation token (in a PUT body, as Vault's -dr-token), not without.
	if code, body := rawPut(t, sn.Addr, "sys/storage/raft/configuration", `{}`); code != 400 || !strings.Contains(body, "dr_operation_token") {
		t.Fatalf("raft configuration on the DR secondary without an operation token: %d %s", code, body)
	}
	if code, body := rawPut(t, sn.Addr, "sys/storage/raft/configuration", `{"dr_operation_token":"hvs.nope"}`); code != 403 {
		t.Fatalf("raft configuration with a bad operation token: %d %s", code, body)
	}
	rcode, rbody := rawPut(t, sn.Addr, "sys/storage/raft/configuration", fmt.Sprintf(`{"dr_operation_token":%q}`, opTok))
	if rcode != 200 || !strings.Contains(rbody, `"node_id":"`+sn.ID+`"`) {
		t.Fatalf("raft configuration on the DR secondary: %d %s", rcode, rbody)
	}
	proccluster.WaitForMsg(t, 30*time.Second, "autopilot's state on the DR secondary", func() bool {
		rcode, rbody = rawPut(t, sn.Addr, "sys/storage/raft/autopilot/state", fmt.Sprintf(`{"dr_operation_token":%q}`, opTok))
		return rcode == 200 && strings.Contains(rbody, `"healthy":true`)
	}, func() string { return fmt.Sprint(rcode, rbody) })
	if rcode, rbody := rawPut(t, sn.Addr, "sys/storage/raft/remove-peer", fmt.Sprintf(`{"dr_operation_token":%q,"server_id":"nope"}`, opTok)); rcode != 400 {
		t.Fatalf("remove-peer of an unknown server on the DR secondary: %d %s", rcode, rbody)
	}
	if rcode, rbody := rawPut(t, sn.Addr, "sys/storage/raft/snapshot-force", fmt.Sprintf(`{"dr_operation_token":%q}`, opTok)); rcode != 400 || !strings.Contains(rbody, "DR secondary") {
		t.Fatalf("a snapshot restore on the DR secondary: %d %s", rcode, rbody)
	}
	promoteStart := time.Now()
	if code, body := rawPut(t, sn.Addr, "sys/replication/dr/secondary/promote", fmt.Sprintf(`{"dr_operation_token":%q}`, opTok)); code != 200 {
		t.Fatalf("promote: %d %s", code, body)
	}
	proccluster.WaitFor(t, 60*time.Second, "the promoted cluster to be active", func() bool { return healthCode(sn.Addr) == 200 })
	t.Logf("promotion to active took %s; the secondary had reported primary index %d", time.Since(promoteStart), reported)
	sc.SetToken(prim.Root) // the promoted cluster holds the primary's tokens
	if _, err := sc.Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("the primary's root token on the promoted cluster: %v", err)
	}
	for i := range 5 {
		if s, err := sc.Logical().Read(fmt.Sprintf("secret/data/before-%d", i)); err != nil || s == nil {
			t.Fatalf("before-%d missing after promotion: %v", i, err)
		}
	}
	for i := range n {
		s, err := sc.Logical().Read(fmt.Sprintf("secret/data/k%03d", i))
		if err != nil || s == nil {
			t.Fatalf("k%03d (reported replicated) missing after promotion: %v", i, err)
		}
	}
	for i := range 5 {
		if s, err := sc.Logical().Read(fmt.Sprintf("secret/data/after-restart-%d", i)); err != nil || s == nil {
			t.Fatalf("after-restart-%d (reported replicated) missing after promotion: %v", i, err)
		}
	}
	nst := drStatus(sc)
	if nst["mode"] != "primary" || num(nst["epoch"]) != 2 {
		t.Fatalf("promoted status: %v", nst)
	}
	if err := put(sc, "after-promote", "new"); err != nil {
		t.Fatal(err)
	}

	// The old primary comes back while the promoted cluster is up: its
	// very first write is refused, never acknowledged (before it accepts
	// a write it asks its known secondary for the newest epoch; the
	// promoted cluster's own notice comes only every 2 s). Writes are
	// sent from the moment it is unsealed; a 503 (not active yet) is
	// retried, anything acknowledged fails the test.
	prim.Start(pn)
	prim.Unseal(pn)
	var first error
	proccluster.WaitForMsg(t, 60*time.Second, "the old primary to answer a write", func() bool {
		first = put(pc, "split-brain", "old")
		if first == nil {
			t.Fatal("the old primary acknowledged a write after the promotion (it must fence itself first)")
		}
		code := proccluster.StatusCode(first)
		return code != 0 && code != 503
	}, func() string { return fmt.Sprint(first) })
	if proccluster.StatusCode(first) != 400 || !strings.Contains(first.Error(), "demoted") {
		t.Fatalf("the first write on the returning old primary: %v", first)
	}
	proccluster.WaitFor(t, 60*time.Second, "the old primary to be fenced", func() bool {
		s := drStatus(pc)
		return s != nil && s["state"] == "demoted"
	})
	err = put(pc, "split-brain", "old")
	if proccluster.StatusCode(err) != 400 || !strings.Contains(err.Error(), "demoted") {
		t.Fatalf("a write on the fenced old primary: %v", err)
	}
	if s, err := sc.Logical().Read("secret/data/split-brain"); err != nil || s != nil {
		t.Fatalf("split-brain write leaked: %v %v", s, err)
	}

	// Failback: the old primary becomes a DR secondary of the new one,
	// catches up, the new primary is demoted and the old one promoted.
	back, err := sc.Logical().Write("sys/replication/dr/primary/secondary-token", map[string]any{"id": "dr-west"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Logical().Write("sys/replication/dr/secondary/enable", map[string]any{"token": back.WrapInfo.Token, "primary_api_addr": sn.Addr}); err != nil {
		t.Fatal(err)
	}
	proccluster.WaitForMsg(t, 60*time.Second, "the old primary to stream from the new one", func() bool {
		s := drStatus(pc)
		return s != nil && s["mode"] == "secondary" && s["state"] == "stream-wals" && num(s["last_remote_wal"]) > 0 && num(s["lag_entries"]) == 0
	}, func() string { return fmt.Sprint(drStatus(pc)) })
	if _, err := sc.Logical().Write("sys/replication/dr/primary/demote", nil); err != nil {
		t.Fatal(err)
	}
	if err := put(sc, "after-demote", "x"); proccluster.StatusCode(err) != 400 {
		t.Fatalf("a write on the demoted primary: %v", err)
	}
	opTok = operationToken(t, pc, prim.Keys)
	if code, body := rawPut(t, pn.Addr, "sys/replication/dr/secondary/promote", fmt.Sprintf(`{"dr_operation_token":%q}`, opTok)); code != 200 {
		t.Fatalf("failback promote: %d %s", code, body)
	}
	proccluster.WaitFor(t, 60*time.Second, "the old primary to be active again", func() bool { return healthCode(pn.Addr) == 200 })
	if s, err := pc.Logical().Read("secret/data/after-promote"); err != nil || s == nil {
		t.Fatalf("a write made on the promoted cluster is missing after failback: %v", err)
	}
	if s := drStatus(pc); num(s["epoch"]) != 3 {
		t.Fatalf("epoch after failback: %v", s)
	}
	if err := put(pc, "after-failback", "x"); err != nil {
		t.Fatal(err)
	}

	// The demoted cluster follows the old primary again, then is pointed
	// at it with a new activation token through update-primary (operation
	// token required); the stream goes on.
	tok2, err := pc.Logical().Write("sys/replication/dr/primary/secondary-token", map[string]any{"id": "dr-east-2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Logical().Write("sys/replication/dr/secondary/enable", map[string]any{"token": tok2.WrapInfo.Token, "primary_api_addr": pn.Addr}); err != nil {
		t.Fatal(err)
	}
	streaming := func(id string) func() bool {
		return func() bool {
			s := drStatus(sc)
			return s != nil && s["secondary_id"] == id && s["state"] == "stream-wals" && num(s["lag_entries"]) == 0
		}
	}
	proccluster.WaitForMsg(t, 60*time.Second, "the demoted cluster to stream from the old primary", streaming("dr-east-2"), func() string { return fmt.Sprint(drStatus(sc)) })
	tok3, err := pc.Logical().Write("sys/replication/dr/primary/secondary-token", map[string]any{"id": "dr-east-3"})
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"token":%q,"primary_api_addr":%q}`, tok3.WrapInfo.Token, pn.Addr)
	if code, b := rawPut(t, sn.Addr, "sys/replication/dr/secondary/update-primary", body); code != 400 {
		t.Fatalf("update-primary without an operation token: %d %s", code, b)
	}
	opTok = operationToken(t, sc, prim.Keys)
	body = fmt.Sprintf(`{"dr_operation_token":%q,"token":%q,"primary_api_addr":%q}`, opTok, tok3.WrapInfo.Token, pn.Addr)
	if code, b := rawPut(t, sn.Addr, "sys/replication/dr/secondary/update-primary", body); code != 200 {
		t.Fatalf("update-primary: %d %s", code, b)
	}
	if err := put(pc, "after-update-primary", "x"); err != nil {
		t.Fatal(err)
	}
	proccluster.WaitForMsg(t, 60*time.Second, "the secondary to stream with its new activation", streaming("dr-east-3"), func() string { return fmt.Sprint(drStatus(sc)) })
	// The old secondary ID's registration still exists on the primary;
	// revoking it ends nothing of the new one.
	if _, err := pc.Logical().Write("sys/replication/dr/primary/revoke-secondary", map[string]any{"id": "dr-east-2"}); err != nil {
		t.Fatal(err)
	}
	if s := drStatus(pc); fmt.Sprint(s["known_secondaries"]) != "[dr-east-3 dr-west]" && fmt.Sprint(s["known_secondaries"]) != "[dr-east-3]" {
		t.Fatalf("known_secondaries after revoke: %v", s["known_secondaries"])
	}
}

// TestDR_ThreeAndThree (-repl.long): a 3-node primary and a 3-node DR
// secondary, the secondary leader's stream through a proxy adding 25 ms
// each way (50 ms RTT). A writer writes sequence-numbered keys on the
// primary for a while, the secondary's lag is sampled, and a third of the
// way through the secondary's streaming leader is killed (another node
// takes the stream over, restarted later), two thirds of the way the
// primary's active node steps down (the stream follows its new leader);
// the primary
// cluster is killed whole mid-write; the keyholders make the operation
// token and promote through a standby of the secondary (forwarded to its
// leader); every write acknowledged before the secondary last reported
// itself caught up is there.
func TestDR_ThreeAndThree(t *testing.T) {
	if !*replLong {
		t.Skip("3+3 processes: run with -repl.long")
	}
	prim := proccluster.New(t, proccluster.Options{Bin: binPath, N: 3, AddrBase: 200})
	prim.InitAndUnseal()
	sec := proccluster.New(t, proccluster.Options{Bin: binPath, N: 3, AddrBase: 210})
	sec.InitAndUnseal()
	pAct, sAct := prim.WaitActive(30*time.Second), sec.WaitActive(30*time.Second)
	pc, sc := prim.Client(pAct, 30*time.Second), sec.Client(sAct, 30*time.Second)
	if _, err := pc.Logical().Write("sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Logical().Write("sys/replication/dr/primary/enable", nil); err != nil {
		t.Fatal(err)
	}
	tok, err := pc.Logical().Write("sys/replication/dr/primary/secondary-token", map[string]any{"id": "dr-3"})
	if err != nil {
		t.Fatal(err)
	}
	// One proxy per primary node; the secondary dials them in turn.
	var addrs []string
	for _, nd := range prim.Nodes {
		addrs = append(addrs, newDelayProxy(t, sAct.IP, clusterPort(t, nd), 25*time.Millisecond).Addr())
	}
	if _, err := sc.Logical().Write("sys/replication/dr/secondary/enable", map[string]any{
		"token": tok.WrapInfo.Token, "primary_api_addr": pAct.Addr, "primary_cluster_addr": strings.Join(addrs, ","),
	}); err != nil {
		t.Fatal(err)
	}
	sec.Keys = prim.Keys
	for _, nd := range sec.Nodes {
		c := sec.Client(nd, 10*time.Second)
		proccluster.WaitFor(t, 60*time.Second, nd.ID+" to seal after the first sync", func() bool {
			st, err := c.Sys().SealStatus()
			return err == nil && st.Sealed
		})
	}
	for _, nd := range sec.Nodes {
		sec.Unseal(nd)
	}
	streamer := func() (*proccluster.Node, map[string]any) {
		for _, nd := range sec.Nodes {
			nd.Mu.Lock()
			down := nd.Cmd == nil
			nd.Mu.Unlock()
			if down {
				continue
			}
			if s := drStatus(sec.Client(nd, 2*time.Second)); s != nil && s["state"] == "stream-wals" {
				return nd, s
			}
		}
		return nil, nil
	}
	leaderStatus := func() map[string]any { _, s := streamer(); return s }
	proccluster.WaitFor(t, 60*time.Second, "the secondary to stream", func() bool { return leaderStatus() != nil })

	// The writer.
	dur := 8 * time.Second
	var mu sync.Mutex
	var acked []time.Time // acked[i]: when write i was acknowledged
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := pc.Logical().Write(fmt.Sprintf("secret/data/seq/%06d", i), map[string]any{"data": map[string]any{"i": i}}); err != nil {
				// A step-down (retry the same key) or the primary is gone
				// (stop follows).
				i--
				time.Sleep(50 * time.Millisecond)
				continue
			}
			mu.Lock()
			acked = append(acked, time.Now())
			mu.Unlock()
		}
	}()
	var maxLagEntries uint64
	var maxLagMS uint64
	var steadyEntries, steadyMS uint64 // before the failover
	var lastCaughtUp time.Time         // when a sample last showed lag 0
	end := time.Now().Add(dur)
	failover := time.Now().Add(dur / 3)
	stepDown := time.Now().Add(dur * 2 / 3)
	var killed *proccluster.Node
	steppedDown := false
	for time.Now().Before(end) {
		if !steppedDown && time.Now().After(stepDown) {
			// The primary's leadership moves: the secondary's stream ends
			// and it dials the primary's nodes in turn until the new
			// leader serves it.
			steppedDown = true
			if err := pc.Sys().StepDown(); err != nil {
				t.Fatalf("step-down on the primary: %v", err)
			}
			t0 := time.Now()
			proccluster.WaitFor(t, 60*time.Second, "the stream to follow the primary's new leader", func() bool {
				// The new leader's Primary knows the secondary only once
				// it has streamed from it.
				act := prim.Active()
				if act == nil || act == pAct {
					return false
				}
				s := drStatus(prim.Client(act, 2*time.Second))
				secs, _ := s["secondaries"].([]any)
				return len(secs) == 1 && secs[0].(map[string]any)["last_heartbeat"] != nil
			})
			t.Logf("primary step-down: the secondary streamed from the new leader %s later", time.Since(t0))
		}
		if killed == nil && time.Now().After(failover) {
			// Failover inside the secondary cluster: its streaming leader
			// dies; another node (unsealed with the primary's keys) reads
			// the stream credentials from the replicated barrier and
			// continues from the durable index.
			if nd, _ := streamer(); nd != nil {
				killed = nd
				nd.Kill9()
				t0 := time.Now()
				proccluster.WaitFor(t, 60*time.Second, "another secondary node to stream", func() bool { return leaderStatus() != nil })
				t.Logf("secondary leader %s killed; another node streamed after %s", nd.ID, time.Since(t0))
				lastCaughtUp = time.Time{}
			}
		}
		if s := leaderStatus(); s != nil {
			le, lm := num(s["lag_entries"]), num(s["lag_ms"])
			maxLagEntries, maxLagMS = max(maxLagEntries, le), max(maxLagMS, lm)
			if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(s["caught_up_as_of"])); le == 0 && err == nil {
				lastCaughtUp = at // every write acknowledged before it is on the secondary
			}
			if killed == nil {
				steadyEntries, steadyMS = max(steadyEntries, le), max(steadyMS, lm)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	prim.KillAll()
	close(stop)
	<-done
	if killed != nil {
		sec.Start(killed)
		sec.Unseal(killed)
	}
	mu.Lock()
	total := len(acked)
	covered := 0
	for covered < total && acked[covered].Before(lastCaughtUp) {
		covered++
	}
	mu.Unlock()
	t.Logf("%d writes in %s (%.0f/s) on the primary; lag sampled every 50 ms: before the failover max %d entries / %d ms, overall max %d entries / %d ms; %d writes acknowledged before the last caught-up sample",
		total, dur, float64(total)/dur.Seconds(), steadyEntries, steadyMS, maxLagEntries, maxLagMS, covered)

	// Promote through a standby of the secondary (forwarded to the leader).
	var standby *proccluster.Node
	for _, nd := range sec.Nodes {
		if s := drStatus(sec.Client(nd, 5*time.Second)); s != nil && s["state"] != "stream-wals" && s["state"] != "connecting" {
			standby = nd
			break
		}
	}
	if standby == nil {
		standby = sec.Nodes[0]
	}
	stc := sec.Client(standby, 30*time.Second)
	opTok := operationToken(t, stc, prim.Keys)
	start := time.Now()
	if code, body := rawPut(t, standby.Addr, "sys/replication/dr/secondary/promote", fmt.Sprintf(`{"dr_operation_token":%q}`, opTok)); code != 200 {
		t.Fatalf("promote through %s: %d %s", standby.ID, code, body)
	}
	act := sec.WaitActive(60 * time.Second)
	t.Logf("promotion (through a standby) to an active node took %s", time.Since(start))
	ac := sec.Client(act, 30*time.Second)
	ac.SetToken(prim.Root)
	missing := 0
	for i := 0; i < covered; i++ {
		if s, err := ac.Logical().Read(fmt.Sprintf("secret/data/seq/%06d", i)); err != nil || s == nil {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of the %d writes acknowledged before the secondary reported itself caught up are missing", missing, covered)
	}
	// Gap-free prefix, and the RPO.
	present := 0
	for i := 0; i < total; i++ {
		if s, err := ac.Logical().Read(fmt.Sprintf("secret/data/seq/%06d", i)); err == nil && s != nil {
			present++
		} else {
			break
		}
	}
	t.Logf("RPO: %d of %d acknowledged writes not on the promoted cluster", total-present, total)
}

// TestDR_JoinDRSecondary (-repl.long): a node joins a DR secondary
// cluster after its activation: the join challenge is forwarded to the
// secondary's leader (it has no active node), the joiner is unsealed with
// the primary's keys, and the replicated data reaches it through raft.
func TestDR_JoinDRSecondary(t *testing.T) {
	if !*replLong {
		t.Skip("run with -repl.long")
	}
	prim := proccluster.New(t, proccluster.Options{Bin: binPath, N: 1, AddrBase: 220})
	prim.InitAndUnseal()
	pn := prim.Nodes[0]
	pc := prim.Client(pn, 30*time.Second)
	sec := proccluster.New(t, proccluster.Options{Bin: binPath, N: 3, AddrBase: 230})
	late := sec.Nodes[2]
	late.Signal(syscall.SIGSTOP) // joins only after the activation
	// Initialise the secondary with two nodes.
	s0 := sec.Client(sec.Nodes[0], 30*time.Second)
	res, err := s0.Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	sec.Keys, sec.Root = res.KeysB64, res.RootToken
	sec.Unseal(sec.Nodes[0])
	sec.Unseal(sec.Nodes[1])
	act := sec.WaitActive(30 * time.Second)
	proccluster.WaitFor(t, 30*time.Second, "two voters", func() bool {
		s, err := sec.Client(act, 5*time.Second).Logical().Read("sys/storage/raft/configuration")
		if err != nil || s == nil {
			return false
		}
		servers, _ := s.Data["config"].(map[string]any)["servers"].([]any)
		return len(servers) == 2
	})

	if _, err := pc.Logical().Write("sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Logical().Write("sys/replication/dr/primary/enable", nil); err != nil {
		t.Fatal(err)
	}
	tok, err := pc.Logical().Write("sys/replication/dr/primary/secondary-token", map[string]any{"id": "dr-join"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sec.Client(act, 30*time.Second).Logical().Write("sys/replication/dr/secondary/enable", map[string]any{"token": tok.WrapInfo.Token, "primary_api_addr": pn.Addr}); err != nil {
		t.Fatal(err)
	}
	sec.Keys = prim.Keys
	for _, nd := range sec.Nodes[:2] {
		c := sec.Client(nd, 10*time.Second)
		proccluster.WaitFor(t, 60*time.Second, nd.ID+" to seal after the first sync", func() bool {
			st, err := c.Sys().SealStatus()
			return err == nil && st.Sealed
		})
	}
	for _, nd := range sec.Nodes[:2] {
		sec.Unseal(nd)
	}
	if _, err := pc.Logical().Write("secret/data/joined", map[string]any{"data": map[string]any{"v": "1"}}); err != nil {
		t.Fatal(err)
	}

	late.Signal(syscall.SIGCONT)
	lc := sec.Client(late, 10*time.Second)
	proccluster.WaitFor(t, 60*time.Second, "the late node to hold the join challenge", func() bool {
		st, err := lc.Sys().SealStatus()
		return err == nil && st.Initialized
	})
	sec.Unseal(late)
	var st map[string]any
	proccluster.WaitForMsg(t, 60*time.Second, "the late node to hold the replicated data", func() bool {
		st = drStatus(lc)
		return st != nil && st["mode"] == "secondary" && num(st["last_remote_wal"]) > 0
	}, func() string { return fmt.Sprint(st) })
	if code := healthCode(late.Addr); code != 472 {
		t.Fatalf("the joined node's health = %d, want 472", code)
	}

	// An operator manages the DR secondary's own nodes with a DR
	// operation token, and the token outlives its leader: it is made, the
	// secondary's leader is killed, and on the new leader (one of the two
	// left) the same token removes the dead node from the configuration.
	var leader *proccluster.Node
	proccluster.WaitFor(t, 30*time.Second, "the DR secondary's leader", func() bool {
		for _, nd := range sec.Nodes {
			// Only the leader streams (a standby reports "idle").
			if st := drStatus(sec.Client(nd, 5*time.Second)); st != nil && st["state"] == "stream-wals" {
				leader = nd
				return true
			}
		}
		return false
	})
	opTok := operationToken(t, sec.Client(leader, 10*time.Second), prim.Keys)
	leader.Kill9()
	var rest []*proccluster.Node
	for _, nd := range sec.Nodes {
		if nd != leader {
			rest = append(rest, nd)
		}
	}
	var code int
	var body string
	proccluster.WaitForMsg(t, 60*time.Second, "remove-peer of the dead leader with the token made before it died", func() bool {
		code, body = rawPut(t, rest[0].Addr, "sys/storage/raft/remove-peer", fmt.Sprintf(`{"dr_operation_token":%q,"server_id":%q}`, opTok, leader.ID))
		if code == 403 {
			t.Fatalf("the DR operation token was lost with the leader: %d %s", code, body)
		}
		return code == 204 || code == 200
	}, func() string { return fmt.Sprint(code, body) })
	proccluster.WaitForMsg(t, 30*time.Second, "the removed node gone from the DR secondary's configuration", func() bool {
		code, body = rawPut(t, rest[1].Addr, "sys/storage/raft/configuration", fmt.Sprintf(`{"dr_operation_token":%q}`, opTok))
		return code == 200 && !strings.Contains(body, `"node_id":"`+leader.ID+`"`) && strings.Contains(body, `"node_id":"`+rest[0].ID+`"`)
	}, func() string { return fmt.Sprint(code, body) })
}
