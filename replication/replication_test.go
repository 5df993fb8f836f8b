package replication_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultd/vaultd/clusterport"
	"github.com/vaultd/vaultd/raftstore"
	"github.com/vaultd/vaultd/replication"
	"github.com/vaultd/vaultd/storage"
)

// source and target adapt a raftstore.Store as the server will.
type source struct{ s *raftstore.Store }

func (a source) Changes(from uint64, limit int) ([]replication.Change, uint64, error) {
	cs, next, err := a.s.Changes(from, limit)
	if errors.Is(err, raftstore.ErrCompacted) {
		return nil, from, fmt.Errorf("%w: %v", replication.ErrCompacted, err)
	}
	out := make([]replication.Change, len(cs))
	for i, c := range cs {
		out[i] = replication.Change{Index: c.Index, Ops: c.Ops}
	}
	return out, next, err
}

func (a source) Applied() uint64 { applied, _ := a.s.Indexes(); return applied }

func (a source) Snapshot(ctx context.Context) (io.ReadCloser, uint64, error) {
	var buf bytes.Buffer
	if err := a.s.SaveSnapshot(ctx, &buf); err != nil {
		return nil, 0, err
	}
	info, err := raftstore.InspectSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, 0, err
	}
	return io.NopCloser(&buf), info.Index, nil
}

type target struct{ *raftstore.Store }

func (t target) Restore(ctx context.Context, r io.Reader) error { return t.RestoreSnapshot(ctx, r) }

func node(t *testing.T, id string) *raftstore.Store {
	t.Helper()
	cfg := raftstore.DefaultConfig()
	cfg.NodeID = id
	cfg.InMemory = true
	cfg.BindAddr = ""
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := raftstore.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "leader "+id, s.IsLeader)
	return s
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			if statusOf != nil {
				t.Logf("status: %+v", statusOf())
			}
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dialer dials a primary's replication stream.
type dialer = func(context.Context) (net.Conn, error)

// runOnce runs a secondary that must stop by itself (refused, fenced,
// promoted) and returns why; if it is still retrying after 20 s it is
// stopped and its last error returned, so a failure says what happened.
func runOnce(ctx context.Context, sec *replication.Secondary) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := sec.Run(ctx); err != nil {
		return err
	}
	return fmt.Errorf("still retrying after 20 s; last error: %s", sec.Status().LastError)
}

// statusOf is logged when a wait times out.
var statusOf func() any

// serve runs p on a real cluster port (mTLS under the primary's own
// cluster CA, loopback) and returns a function that, for a secondary id,
// gives the dialer a secondary cluster's port uses: the certificate the
// primary's CA issued to that secondary.
func serve(t *testing.T, ctx context.Context, p *replication.Primary) func(id string) dialer {
	t.Helper()
	ca, err := clusterport.NewCA("primary")
	if err != nil {
		t.Fatal(err)
	}
	port := newPort(t, ca, "p-node")
	port.SetReplicationHandler(func(c net.Conn, id string) { p.Serve(ctx, c, id) })
	secPort := newPort(t, nil, "s-node") // the secondary cluster's own port and CA
	return func(id string) dialer {
		m, err := clusterport.IssueReplicationPeer(ca, id)
		if err != nil {
			t.Fatal(err)
		}
		return func(ctx context.Context) (net.Conn, error) { return secPort.DialReplication(ctx, port.Addr(), m) }
	}
}

func newPort(t *testing.T, ca *clusterport.CA, id string) *clusterport.Port {
	t.Helper()
	if ca == nil {
		var err error
		if ca, err = clusterport.NewCA("other"); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := clusterport.New(clusterport.Config{Listener: ln})
	t.Cleanup(func() { _ = port.Close() })
	m, err := ca.Issue(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := port.SetMaterial(m); err != nil {
		t.Fatal(err)
	}
	return port
}

func put(t *testing.T, ctx context.Context, b storage.Backend, k, v string) {
	t.Helper()
	if err := b.Put(ctx, &storage.Entry{Key: k, Value: []byte(v)}); err != nil {
		t.Fatal(err)
	}
}

func get(ctx context.Context, b storage.Backend, k string) string {
	e, err := b.Get(ctx, k)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(e.Value)
}

// TestDR_StreamResyncPromoteFence: a 1-node primary and a 1-node DR
// secondary over the mTLS cluster port on loopback. Writes on the primary reach the secondary
// (lag measured to zero); a restore on the primary compacts its log and
// the secondary resyncs from a streamed snapshot; the durable index
// survives a restart of the secondary's replication; promotion bumps the
// epoch, every write reported replicated is there; the old primary is
// fenced by the promoted cluster's epoch and a secondary that knows the
// newer epoch refuses the old primary's stream.
func TestDR_StreamResyncPromoteFence(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pst, sst := node(t, "p1"), node(t, "s1")

	fenced := make(chan uint64, 1)
	prim, err := replication.NewPrimary(ctx, replication.PrimaryConfig{Source: source{pst}, Storage: pst,
		OnFenced: func(e uint64) { fenced <- e }})
	if err != nil {
		t.Fatal(err)
	}
	dialPrim := serve(t, ctx, prim)
	dial := dialPrim("dr-east")
	token, err := prim.AddSecondary(ctx, "dr-east")
	if err != nil {
		t.Fatal(err)
	}

	// A wrong token is refused for good.
	bad, err := replication.NewSecondary(ctx, replication.SecondaryConfig{ID: "dr-east", Token: token + "x", Dial: dial, Target: target{sst}})
	if err != nil {
		t.Fatal(err)
	}
	if err := runOnce(ctx, bad); !errors.Is(err, replication.ErrDenied) {
		t.Fatalf("wrong token: Run = %v, want ErrDenied", err)
	}

	// So is the right token presented with another secondary's certificate.
	if _, err := prim.AddSecondary(ctx, "dr-other"); err != nil {
		t.Fatal(err)
	}
	swapped, err := replication.NewSecondary(ctx, replication.SecondaryConfig{ID: "dr-east", Token: token, Dial: dialPrim("dr-other"), Target: target{sst}})
	if err != nil {
		t.Fatal(err)
	}
	if err := runOnce(ctx, swapped); !errors.Is(err, replication.ErrDenied) {
		t.Fatalf("token with another secondary's certificate: Run = %v, want ErrDenied", err)
	}

	put(t, ctx, sst, "logical/secondary-own", "x") // replaced by the first sync

	for i := range 50 {
		put(t, ctx, pst, fmt.Sprintf("logical/k%02d", i), fmt.Sprintf("ct-%d", i))
	}
	if err := pst.Delete(ctx, "logical/k07"); err != nil {
		t.Fatal(err)
	}

	run := func() (*replication.Secondary, context.CancelFunc, chan error) {
		sec, err := replication.NewSecondary(ctx, replication.SecondaryConfig{ID: "dr-east", Token: token, Dial: dial, Target: target{sst},
			BatchLimit: 16, Wait: 200 * time.Millisecond, Retry: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- sec.Run(rctx) }()
		return sec, stop, done
	}
	caughtUp := func(sec *replication.Secondary) func() bool {
		return func() bool {
			st := sec.Status()
			applied, _ := pst.Indexes()
			return st.State == "stream-wals" && st.LagEntries == 0 && st.PrimaryIndex >= applied
		}
	}
	sec, stop, done := run()
	statusOf = func() any { return sec.Status() }
	t.Cleanup(func() { statusOf = nil })
	start := time.Now()
	waitFor(t, 20*time.Second, "catch up", caughtUp(sec))
	t.Logf("caught up with 51 transactions in %s (batches of 16)", time.Since(start))
	if got := get(ctx, sst, "logical/k42"); got != "ct-42" {
		t.Fatalf("secondary k42 = %q", got)
	}
	if got := get(ctx, sst, "logical/k07"); !strings.Contains(got, "not found") {
		t.Fatalf("deleted key on the secondary: %q", got)
	}
	if got := get(ctx, sst, "logical/secondary-own"); !strings.Contains(got, "not found") {
		t.Fatalf("the secondary's own data survived its first sync: %q", got)
	}
	if st := sec.Status(); st.Resyncs != 1 {
		t.Fatalf("first sync: %d snapshots, want 1", st.Resyncs)
	}
	if get(ctx, sst, "replication-local/dr-primary") == get(ctx, pst, "replication-local/dr-primary") {
		t.Fatal("the primary's replication state replicated")
	}
	if st := sec.Status(); st.Epoch != 1 {
		t.Fatalf("epoch = %d, want 1", st.Epoch)
	}

	// A log whose tail is not storage writes (raft barriers) must not make
	// the stream spin: idle, it long-polls.
	for range 3 {
		if err := pst.Barrier(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "barriers read", caughtUp(sec))
	idle := sec.Status().Pulls
	time.Sleep(time.Second)
	if n := sec.Status().Pulls - idle; n > 20 {
		t.Fatalf("%d pulls in an idle second (long-poll 200 ms): the stream spins", n)
	}

	// Lag while writing: each write is seen within a bounded time.
	var worst time.Duration
	for i := range 20 {
		put(t, ctx, pst, fmt.Sprintf("logical/live%02d", i), "v")
		w := time.Now()
		waitFor(t, 10*time.Second, "live write", func() bool { return get(ctx, sst, fmt.Sprintf("logical/live%02d", i)) == "v" })
		worst = max(worst, time.Since(w))
	}
	t.Logf("replication lag of a single write: worst %s over 20 writes (in-memory raft, mTLS cluster port on loopback, shared machine)", worst)

	// Stop and restart replication: it continues from the durable index.
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	put(t, ctx, pst, "logical/after-restart", "ar")
	sec, stop, done = run()
	statusOf = func() any { return sec.Status() }
	if st := sec.Status(); st.LastIndex == 0 {
		t.Fatal("the secondary forgot its replicated index")
	}
	waitFor(t, 20*time.Second, "after restart", func() bool { return get(ctx, sst, "logical/after-restart") == "ar" })
	if sec.Status().Resyncs != 0 { // a new Secondary counts from 0
		t.Fatal("a restart resynced from a snapshot instead of continuing the log")
	}

	// A restore on the primary replaces its log: the secondary resyncs.
	var snap bytes.Buffer
	if err := pst.SaveSnapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	put(t, ctx, sst, "logical/stale-on-secondary", "x") // gone after the resync
	if err := pst.RestoreSnapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	put(t, ctx, pst, "logical/after-resync", "rs")
	waitFor(t, 20*time.Second, "resync", func() bool {
		return sec.Status().Resyncs >= 1 && get(ctx, sst, "logical/after-resync") == "rs"
	})
	if got := get(ctx, sst, "logical/stale-on-secondary"); !strings.Contains(got, "not found") {
		t.Fatalf("after resync the secondary still has a key the primary never had: %q", got)
	}
	waitFor(t, 20*time.Second, "caught up after resync", caughtUp(sec))

	// Record what the secondary reports replicated, then "lose" the
	// primary (stop streaming) and promote.
	reported := sec.Status().LastIndex
	stop()
	<-done
	want := map[string]string{}
	keys, err := pst.List(ctx, "logical/")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		want[k] = get(ctx, pst, "logical/"+k)
	}
	epoch, err := sec.Promote(ctx)
	if err != nil || epoch != 2 {
		t.Fatalf("Promote = %d, %v; want 2", epoch, err)
	}
	t.Logf("promoted at epoch %d with primary index %d replicated", epoch, reported)
	for k, v := range want {
		if got := get(ctx, sst, "logical/"+k); got != v {
			t.Fatalf("after promotion %s = %q, want %q", k, got, v)
		}
	}
	if err := runOnce(ctx, sec); err == nil {
		t.Fatal("a promoted secondary streams again")
	}
	newPrim, err := replication.NewPrimary(ctx, replication.PrimaryConfig{Source: source{sst}, Storage: sst, MinEpoch: epoch})
	if err != nil || newPrim.Epoch() != 2 {
		t.Fatalf("new primary epoch = %d, %v", newPrim.Epoch(), err)
	}

	// A third cluster follows the new primary (epoch 2) ...
	t3 := node(t, "t1")
	newDial := serve(t, ctx, newPrim)("dr-west")
	tok3, err := newPrim.AddSecondary(ctx, "dr-west")
	if err != nil {
		t.Fatal(err)
	}
	third, err := replication.NewSecondary(ctx, replication.SecondaryConfig{ID: "dr-west", Token: tok3, Dial: newDial, Target: target{t3}, Wait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tctx, tstop := context.WithCancel(ctx)
	tdone := make(chan error, 1)
	go func() { tdone <- third.Run(tctx) }()
	// The data is there once the restore is; the sync is done (its Txn
	// with the secondary's state after the restore) when it counts.
	waitFor(t, 20*time.Second, "third cluster", func() bool {
		return get(ctx, t3, "logical/after-resync") == "rs" && third.Status().Resyncs > 0
	})
	tstop()
	<-tdone
	if third.Status().Epoch != 2 {
		t.Fatalf("third epoch = %d", third.Status().Epoch)
	}

	// ... and is pointed back at the old primary (still epoch 1, token
	// registered there too): it refuses the old epoch, and the old primary
	// learns it was replaced and fences itself.
	tokOld, err := prim.AddSecondary(ctx, "dr-west")
	if err != nil {
		t.Fatal(err)
	}
	put(t, ctx, pst, "logical/split-brain", "old")
	back, err := replication.NewSecondary(ctx, replication.SecondaryConfig{ID: "dr-west", Token: tokOld, Dial: dialPrim("dr-west"), Target: target{t3}})
	if err != nil {
		t.Fatal(err)
	}
	if err := runOnce(ctx, back); !errors.Is(err, replication.ErrFenced) {
		t.Fatalf("old primary stream: Run = %v, want ErrFenced", err)
	}
	select {
	case e := <-fenced:
		if e != 2 {
			t.Fatalf("fenced by %d", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the old primary never learned of the new epoch")
	}
	if prim.Fenced() != 2 {
		t.Fatalf("old primary Fenced = %d", prim.Fenced())
	}
	if got := get(ctx, t3, "logical/split-brain"); !strings.Contains(got, "not found") {
		t.Fatalf("the old primary's write leaked: %q", got)
	}
	// Fencing is durable: reopened, the old primary still refuses to serve.
	again, err := replication.NewPrimary(ctx, replication.PrimaryConfig{Source: source{pst}, Storage: pst})
	if err != nil || again.Fenced() != 2 {
		t.Fatalf("reopened old primary: Fenced = %d, %v", again.Fenced(), err)
	}
}

// TestDR_RevokedOrReissuedTokenEndsStream: a running stream ends at its
// next pull once its token is re-issued, and a revoked secondary cannot
// reconnect.
func TestDR_RevokedOrReissuedTokenEndsStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pst, sst := node(t, "p1"), node(t, "s1")
	prim, err := replication.NewPrimary(ctx, replication.PrimaryConfig{Source: source{pst}, Storage: pst})
	if err != nil {
		t.Fatal(err)
	}
	dial := serve(t, ctx, prim)("dr")
	start := func(token string) (*replication.Secondary, chan error) {
		sec, err := replication.NewSecondary(ctx, replication.SecondaryConfig{ID: "dr", Token: token, Dial: dial, Target: target{sst}, Wait: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- sec.Run(ctx) }()
		return sec, done
	}
	expectDenied := func(what string, done chan error) {
		t.Helper()
		select {
		case err := <-done:
			if !errors.Is(err, replication.ErrDenied) {
				t.Fatalf("%s: Run = %v, want ErrDenied", what, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: the stream went on", what)
		}
	}

	old, err := prim.AddSecondary(ctx, "dr")
	if err != nil {
		t.Fatal(err)
	}
	put(t, ctx, pst, "logical/a", "1")
	_, done := start(old)
	waitFor(t, 20*time.Second, "sync", func() bool { return get(ctx, sst, "logical/a") == "1" })
	if _, err := prim.AddSecondary(ctx, "dr"); err != nil { // re-issued
		t.Fatal(err)
	}
	expectDenied("re-issued token", done)

	fresh, err := prim.AddSecondary(ctx, "dr")
	if err != nil {
		t.Fatal(err)
	}
	if err := prim.RevokeSecondary(ctx, "dr"); err != nil {
		t.Fatal(err)
	}
	_, done = start(fresh)
	expectDenied("revoked secondary", done)
}

// TestDR_NewPrimaryMeansResync: a secondary of the old primary, pointed
// at the promoted one (a new epoch), resyncs from its snapshot instead of
// continuing at an index of the old primary's log, which means nothing in
// the new one's.
func TestDR_NewPrimaryMeansResync(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pst, ast, ust := node(t, "p1"), node(t, "a1"), node(t, "u1")
	prim, err := replication.NewPrimary(ctx, replication.PrimaryConfig{Source: source{pst}, Storage: pst})
	if err != nil {
		t.Fatal(err)
	}
	dialP := serve(t, ctx, prim)
	follow := func(id string, dial dialer, target replication.Target, token string) (*replication.Secondary, context.CancelFunc, chan error) {
		sec, err := replication.NewSecondary(ctx, replication.SecondaryConfig{ID: id, Token: token, Dial: dial, Target: target, Wait: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- sec.Run(rctx) }()
		return sec, stop, done
	}
	tokA, err := prim.AddSecondary(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	tokU, err := prim.AddSecondary(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 { // the old primary's log runs far ahead of A's own
		put(t, ctx, pst, fmt.Sprintf("logical/old/%02d", i), "v")
	}
	a, stopA, doneA := follow("a", dialP("a"), target{ast}, tokA)
	u, stopU, doneU := follow("u", dialP("u"), target{ust}, tokU)
	for _, s := range []*replication.Secondary{a, u} {
		waitFor(t, 20*time.Second, "sync", func() bool { return s.Status().LastIndex > 0 && s.Status().LagEntries == 0 })
	}
	// A stops following; U follows the old primary 100 writes further, far
	// past the indexes A's own log will have.
	stopA()
	<-doneA
	for i := range 100 {
		put(t, ctx, pst, fmt.Sprintf("logical/later/%02d", i), "v")
	}
	waitFor(t, 20*time.Second, "u ahead", func() bool { return get(ctx, ust, "logical/later/99") == "v" && u.Status().LagEntries == 0 })
	stopU()
	<-doneU

	epoch, err := a.Promote(ctx)
	if err != nil {
		t.Fatal(err)
	}
	newPrim, err := replication.NewPrimary(ctx, replication.PrimaryConfig{Source: source{ast}, Storage: ast, MinEpoch: epoch})
	if err != nil {
		t.Fatal(err)
	}
	put(t, ctx, ast, "logical/new", "n") // at a low index of A's own log
	tokU2, err := newPrim.AddSecondary(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	u2, stopU2, doneU2 := follow("u", serve(t, ctx, newPrim)("u"), target{ust}, tokU2)
	var once sync.Once
	stopFollowing := func() { once.Do(func() { stopU2(); <-doneU2 }) }
	defer stopFollowing()
	// The resync counts once its Txn (after the restore) is done.
	waitFor(t, 20*time.Second, "u follows the new primary", func() bool {
		return get(ctx, ust, "logical/new") == "n" && u2.Status().Resyncs > 0
	})
	if st := u2.Status(); st.Epoch != epoch || st.Resyncs != 1 {
		t.Fatalf("u after the switch: epoch %d, %d resyncs; want %d, 1", st.Epoch, st.Resyncs, epoch)
	}
	// U now mirrors the new primary: the old primary's writes A never had
	// are gone from it too.
	if got := get(ctx, ust, "logical/later/00"); !strings.Contains(got, "not found") {
		t.Fatalf("u kept a write of the old primary the new one never had: %q", got)
	}
	// A's snapshot carried A's own replication state (a promoted secondary
	// "a", a primary): none of it is U's.
	if got := get(ctx, ust, "replication-local/dr-primary"); !strings.Contains(got, "not found") {
		t.Fatalf("u kept the new primary's replication state: %q", got)
	}
	if got := get(ctx, ust, "replication-local/dr-secondary"); !strings.Contains(got, `"id":"u"`) || strings.Contains(got, "promoted") {
		t.Fatalf("u's replication state: %q", got)
	}
	// A state that is not this secondary's (as a crash right after a
	// restore would leave) is not taken for its own.
	stopFollowing()
	if err := ust.Put(ctx, &storage.Entry{Key: "replication-local/dr-secondary", Value: []byte(`{"id":"a","last_index":9,"epoch":2,"synced":true,"promoted":true}`)}); err != nil {
		t.Fatal(err)
	}
	other, err := replication.NewSecondary(ctx, replication.SecondaryConfig{ID: "u", Token: tokU2, Dial: dialP("u"), Target: target{ust}})
	if err != nil {
		t.Fatal(err)
	}
	if st := other.Status(); st.State == "promoted" || st.LastIndex != 0 {
		t.Fatalf("a foreign state was taken: %+v", st)
	}
}

// TestDR_EpochProbe: a secondary's hello records its addresses in the
// primary's durable state (PrimaryPeers); a probe needs no token and
// answers the newest epoch the node knows, its fencing included; a
// revoked secondary's addresses are forgotten.
func TestDR_EpochProbe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pst, sst := node(t, "p1"), node(t, "s1")
	prim, err := replication.NewPrimary(ctx, replication.PrimaryConfig{Source: source{pst}, Storage: pst})
	if err != nil {
		t.Fatal(err)
	}
	dial := serve(t, ctx, prim)("dr")
	tok, err := prim.AddSecondary(ctx, "dr")
	if err != nil {
		t.Fatal(err)
	}
	sec, err := replication.NewSecondary(ctx, replication.SecondaryConfig{ID: "dr", Token: tok, Dial: dial, Target: target{sst},
		Wait: 100 * time.Millisecond, Addrs: []string{"127.0.0.9:8201"}})
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sec.Run(sctx) }()
	waitFor(t, 20*time.Second, "the secondary's addresses recorded", func() bool {
		_, _, addrs, found, err := replication.PrimaryPeers(ctx, pst)
		return err == nil && found && len(addrs["dr"]) == 1 && addrs["dr"][0] == "127.0.0.9:8201"
	})
	scancel()
	<-done

	if e, err := replication.ProbeEpoch(ctx, dial, "dr"); err != nil || e != 1 {
		t.Fatalf("probe of a primary at epoch 1: %d, %v", e, err)
	}
	if err := prim.Demote(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if e, err := replication.ProbeEpoch(ctx, dial, "dr"); err != nil || e != 4 {
		t.Fatalf("probe of a primary fenced by epoch 4: %d, %v", e, err)
	}
	epoch, fenced, _, _, err := replication.PrimaryPeers(ctx, pst)
	if err != nil || epoch != 1 || fenced != 4 {
		t.Fatalf("PrimaryPeers: epoch %d fenced %d, %v", epoch, fenced, err)
	}
	if err := prim.RevokeSecondary(ctx, "dr"); err != nil {
		t.Fatal(err)
	}
	if _, _, addrs, _, err := replication.PrimaryPeers(ctx, pst); err != nil || len(addrs) != 0 {
		t.Fatalf("a revoked secondary's addresses: %v, %v", addrs, err)
	}
}

// TestDR_ResyncSpoolLimit: a resync snapshot is spooled to a file in
// SpoolDir and restored from it (the file is gone afterwards); one above
// MaxSnapshotBytes is refused clearly and nothing is restored.
func TestDR_ResyncSpoolLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pst, sst := node(t, "p1"), node(t, "s1")
	prim, err := replication.NewPrimary(ctx, replication.PrimaryConfig{Source: source{pst}, Storage: pst})
	if err != nil {
		t.Fatal(err)
	}
	dial := serve(t, ctx, prim)("dr")
	tok, err := prim.AddSecondary(ctx, "dr")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		put(t, ctx, pst, fmt.Sprintf("logical/k%02d", i), strings.Repeat("v", 200))
	}
	spool := t.TempDir()
	// A spool file left by a crash is removed when the secondary starts.
	stale := filepath.Join(spool, "vaultd-resync-123.snap")
	if err := os.WriteFile(stale, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(limit int64) (*replication.Secondary, context.CancelFunc, chan error) {
		sec, err := replication.NewSecondary(ctx, replication.SecondaryConfig{ID: "dr", Token: tok, Dial: dial, Target: target{sst},
			Wait: 100 * time.Millisecond, Retry: 50 * time.Millisecond, SpoolDir: spool, MaxSnapshotBytes: limit})
		if err != nil {
			t.Fatal(err)
		}
		sctx, scancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- sec.Run(sctx) }()
		return sec, scancel, done
	}
	sec, stop, done := run(1000) // the snapshot is several KiB
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale spool file: %v", err)
	}
	waitFor(t, 20*time.Second, "the too-large snapshot refused", func() bool {
		return strings.Contains(sec.Status().LastError, "size limit")
	})
	stop()
	<-done
	if got := get(ctx, sst, "logical/k00"); !strings.Contains(got, "not found") {
		t.Fatalf("a refused snapshot was restored: %q", got)
	}
	sec, stop, done = run(0) // the default limit
	// The data is there once the restore is applied; the resync counts
	// after the Txn that follows it: wait for both.
	waitFor(t, 20*time.Second, "resync", func() bool {
		return get(ctx, sst, "logical/k19") == strings.Repeat("v", 200) && sec.Status().Resyncs > 0
	})
	stop()
	<-done
	if st := sec.Status(); st.Resyncs != 1 {
		t.Fatalf("resyncs = %d", st.Resyncs)
	}
	if left, _ := filepath.Glob(filepath.Join(spool, "*")); len(left) != 0 {
		t.Fatalf("spool files left: %v", left)
	}
}
