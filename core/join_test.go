package core_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultd/vaultd/clusterport/clustertls"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// fakeMembers records membership changes; the first AddNonvoter "starts
// replication" to the joiner (see lateBackend).
type fakeMembers struct {
	mu        sync.Mutex
	nonvoters []string
	voters    []string
	onAdd     func()
	failAdds  int // the next failAdds AddNonvoter calls fail (leadership lost mid-join)
}

func (m *fakeMembers) Peers(context.Context) ([]core.Peer, error) { return nil, nil }
func (m *fakeMembers) AddNonvoter(_ context.Context, id, addr string) error {
	m.mu.Lock()
	if m.failAdds > 0 {
		m.failAdds--
		m.mu.Unlock()
		return errors.New("leadership lost while committing log")
	}
	m.nonvoters = append(m.nonvoters, id+"@"+addr)
	f := m.onAdd
	m.mu.Unlock()
	if f != nil {
		f()
	}
	return nil
}
func (m *fakeMembers) AddVoter(_ context.Context, id, _ string) error {
	m.mu.Lock()
	m.voters = append(m.voters, id)
	m.mu.Unlock()
	return nil
}
func (m *fakeMembers) TransferLeadership(context.Context) error { return nil }
func (m *fakeMembers) added() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.nonvoters...)
}

// lateBackend is a joiner's storage: empty until "replication" starts,
// then the leader's data (what raft would deliver).
type lateBackend struct {
	empty  storage.Backend
	leader storage.Backend
	on     atomic.Bool
}

func (l *lateBackend) b() storage.Backend {
	if l.on.Load() {
		return l.leader
	}
	return l.empty
}
func (l *lateBackend) Get(ctx context.Context, k string) (*storage.Entry, error) {
	return l.b().Get(ctx, k)
}
func (l *lateBackend) Put(ctx context.Context, e *storage.Entry) error { return l.b().Put(ctx, e) }
func (l *lateBackend) Delete(ctx context.Context, k string) error      { return l.b().Delete(ctx, k) }
func (l *lateBackend) List(ctx context.Context, p string) ([]string, error) {
	return l.b().List(ctx, p)
}
func (l *lateBackend) Txn(ctx context.Context, ops []storage.Op) error { return l.b().Txn(ctx, ops) }

// followerCluster is a raft follower that never leads.
type followerCluster struct{ id string }

func (f followerCluster) LocalID() string                  { return f.id }
func (followerCluster) IsLeader() bool                     { return false }
func (followerCluster) Leader() (string, string)           { return "n1", "127.0.0.1:1" }
func (followerCluster) LeadershipChanges() <-chan bool     { return nil }
func (followerCluster) Barrier(context.Context) error      { return nil }
func (followerCluster) VerifyLeader(context.Context) error { return errors.New("not leader") }

// directTransport calls the leader core in-process.
type directTransport struct{ leader *core.Core }

func (d directTransport) Leader() string { return "in-process" }
func (d directTransport) Challenge(ctx context.Context, id string) (*core.JoinChallenge, error) {
	return d.leader.RaftChallenge(ctx, id)
}
func (d directTransport) Answer(ctx context.Context, a core.JoinAnswer) (*core.JoinAnswerResult, error) {
	return d.leader.RaftAnswer(ctx, a)
}

type tlsSink struct {
	mu sync.Mutex
	m  *clustertls.Material
}

func (s *tlsSink) set(m *clustertls.Material) error {
	s.mu.Lock()
	s.m = m
	s.mu.Unlock()
	return nil
}
func (s *tlsSink) get() *clustertls.Material {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m
}

type joinEnv struct {
	leader, joiner     *core.Core
	members            *fakeMembers
	leaderTLS, joinTLS *tlsSink
	shares             [][]byte
}

func newJoinEnv(t *testing.T) *joinEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	run := func(c *core.Core) {
		wg.Add(1)
		go func() { defer wg.Done(); _ = c.Run(ctx) }()
	}
	e := &joinEnv{members: &fakeMembers{}, leaderTLS: &tlsSink{}, joinTLS: &tlsSink{}}
	phys := inmem.New()
	leader, err := core.New(core.Config{
		NodeID: "n1", APIAddr: "http://n1:8200", ClusterAddr: "https://127.0.0.1:8201",
		Storage: phys, Cluster: core.NewStandaloneCluster("n1"), Engines: testEngines(), Logger: slog.New(slog.DiscardHandler),
		ClusterTLS: e.leaderTLS.set, Members: e.members,
	})
	if err != nil {
		t.Fatal(err)
	}
	run(leader)
	res, err := leader.Init(ctx, core.InitRequest{SecretShares: 3, SecretThreshold: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Shares {
		e.shares = append(e.shares, append([]byte(nil), s...))
	}
	for _, s := range e.shares[:2] {
		if _, err := leader.Unseal(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "leader active", leader.IsActive)
	if e.leaderTLS.get() == nil {
		t.Fatal("the leader got no cluster TLS material at unseal")
	}
	late := &lateBackend{empty: inmem.New(), leader: phys}
	e.members.onAdd = func() { late.on.Store(true) }
	joiner, err := core.New(core.Config{
		NodeID: "n2", APIAddr: "http://n2:8200", ClusterAddr: "https://127.0.0.2:8201",
		Storage: late, Cluster: followerCluster{"n2"}, Engines: testEngines(), Logger: slog.New(slog.DiscardHandler),
		ClusterTLS: e.joinTLS.set, NoBootstrap: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	run(joiner)
	e.leader, e.joiner = leader, joiner
	return e
}

func TestJoin_UnsealProvenChallenge(t *testing.T) {
	e := newJoinEnv(t)
	ctx := context.Background()
	if st := e.joiner.Status(ctx); st.Initialized {
		t.Fatal("fresh joiner reports initialized")
	}
	if err := e.joiner.Join(ctx, directTransport{e.leader}); err != nil {
		t.Fatalf("Join: %v", err)
	}
	st := e.joiner.Status(ctx)
	if !st.Initialized || !st.Sealed || st.Threshold != 2 || st.Shares != 3 {
		t.Fatalf("pending joiner status = %+v", st)
	}

	t.Run("wrong key never joins", func(t *testing.T) {
		var err error
		for i := range 2 {
			bad := make([]byte, len(e.shares[0]))
			_, _ = rand.Read(bad)
			bad[len(bad)-1] = byte(i + 7) // distinct x coordinates
			_, err = e.joiner.Unseal(ctx, bad)
		}
		if !errors.Is(err, core.ErrInvalidKey) {
			t.Fatalf("unseal with wrong shares = %v, want ErrInvalidKey", err)
		}
		if n := len(e.members.added()); n != 0 {
			t.Fatalf("a node with a wrong key was added to raft: %v", e.members.added())
		}
		if e.joinTLS.get() != nil {
			t.Fatal("a node with a wrong key got TLS material")
		}
		if !e.joiner.Status(ctx).Sealed {
			t.Fatal("joiner unsealed with a wrong key")
		}
	})

	t.Run("the right shares join", func(t *testing.T) {
		e.joiner.ResetUnseal(ctx)
		for _, s := range e.shares[1:] {
			if _, err := e.joiner.Unseal(ctx, s); err != nil {
				t.Fatalf("unseal: %v", err)
			}
		}
		if got := e.members.added(); len(got) != 1 || got[0] != "n2@127.0.0.2:8201" {
			t.Fatalf("AddNonvoter calls = %v", got)
		}
		m := e.joinTLS.get()
		if m == nil || string(m.CACertPEM) != string(e.leaderTLS.get().CACertPEM) {
			t.Fatal("joiner did not get the cluster CA")
		}
		waitFor(t, 5*time.Second, "joiner unsealed", func() bool { return !e.joiner.Status(ctx).Sealed })
		if e.joiner.JoinPending() {
			t.Fatal("join still pending after unseal")
		}
		if err := e.joiner.Join(ctx, directTransport{e.leader}); !errors.Is(err, core.ErrAlreadyJoined) {
			t.Fatalf("second join = %v, want ErrAlreadyJoined", err)
		}
	})
}

// TestJoin_FailedAnswerAsksAgain: the leader burns a challenge at the
// first answer, so when that answer fails (here: raft lost leadership
// while adding the node) the joiner must forget the spent challenge and
// let its join loop ask for a new one; keeping it left a dev-cluster node
// sealed until the 4-minute re-ask (TestScripts/cli-cluster).
func TestJoin_FailedAnswerAsksAgain(t *testing.T) {
	e := newJoinEnv(t)
	ctx := context.Background()
	e.members.mu.Lock()
	e.members.failAdds = 1
	e.members.mu.Unlock()
	if err := e.joiner.Join(ctx, directTransport{e.leader}); err != nil {
		t.Fatalf("Join: %v", err)
	}
	var err error
	for _, s := range e.shares[:2] {
		_, err = e.joiner.Unseal(ctx, s)
	}
	if err == nil {
		t.Fatal("unseal succeeded although the leader failed to add the node")
	}
	if e.joiner.JoinPending() {
		t.Fatal("the spent challenge is still pending: the join loop would not ask again")
	}
	if st := e.joiner.Status(ctx); st.Initialized || !st.Sealed {
		t.Fatalf("joiner status after a failed answer = %+v, want uninitialised and sealed", st)
	}
	if err := e.joiner.Join(ctx, directTransport{e.leader}); err != nil {
		t.Fatalf("second Join: %v", err)
	}
	for _, s := range e.shares[:2] {
		if _, err := e.joiner.Unseal(ctx, s); err != nil {
			t.Fatalf("unseal after a new challenge: %v", err)
		}
	}
	waitFor(t, 5*time.Second, "joiner unsealed", func() bool { return !e.joiner.Status(ctx).Sealed })
}

func TestJoin_LeaderSide(t *testing.T) {
	e := newJoinEnv(t)
	ctx := context.Background()
	for _, id := range []string{"", "../x", "a b", string(make([]byte, 200))} {
		if _, err := e.leader.RaftChallenge(ctx, id); err == nil {
			t.Errorf("challenge for server_id %q accepted", id)
		}
	}
	if _, err := e.leader.RaftChallenge(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	// A wrong answer burns the challenge: no second try with the same one.
	if _, err := e.leader.RaftAnswer(ctx, core.JoinAnswer{ServerID: "n3", Answer: []byte("guess"), ClusterAddr: "127.0.0.3:8201"}); !errors.Is(err, core.ErrJoinChallenge) {
		t.Fatalf("wrong answer = %v", err)
	}
	if _, err := e.leader.RaftAnswer(ctx, core.JoinAnswer{ServerID: "n3", Answer: []byte("guess"), ClusterAddr: "127.0.0.3:8201"}); !errors.Is(err, core.ErrJoinChallenge) {
		t.Fatalf("answer without a challenge = %v", err)
	}
	if _, err := e.leader.RaftAnswer(ctx, core.JoinAnswer{ServerID: "n3", Answer: []byte("x"), ClusterAddr: "not an address"}); err == nil {
		t.Fatal("bad cluster_addr accepted")
	}
	if len(e.members.added()) != 0 {
		t.Fatalf("refused answers added members: %v", e.members.added())
	}
	// A standby never hands out challenges.
	if _, err := e.joiner.RaftChallenge(ctx, "n4"); !errors.Is(err, core.ErrSealed) && !errors.Is(err, core.ErrStandby) {
		t.Fatalf("challenge on a non-active node = %v", err)
	}
	// An initialised node cannot join anything.
	if err := e.leader.Join(ctx, directTransport{e.leader}); !errors.Is(err, core.ErrAlreadyJoined) {
		t.Fatalf("join on the leader = %v", err)
	}
}

// Issue 10 item 7: anonymous challenge calls are bounded per source and in
// total, never replace or burn a live challenge asked for from another
// address, and leave room for real joiners elsewhere.
func TestJoin_ChallengeBounds(t *testing.T) {
	e := newJoinEnv(t)
	ctx := context.Background()
	// One source floods: only maxChallengesPerSource (4) get through.
	ok := 0
	for i := 0; i < 100; i++ {
		_, err := e.leader.RaftChallengeFrom(ctx, fmt.Sprintf("flood-%d", i), "10.0.0.66")
		if err == nil {
			ok++
		} else if !errors.Is(err, core.ErrJoinBusy) {
			t.Fatalf("flood challenge %d: %v", i, err)
		}
	}
	if ok != 4 {
		t.Fatalf("one source got %d challenges, want 4", ok)
	}
	// A real joiner elsewhere still gets one.
	if _, err := e.leader.RaftChallengeFrom(ctx, "n3", "10.0.0.3"); err != nil {
		t.Fatalf("real joiner locked out: %v", err)
	}
	// Another address can neither replace nor burn n3's challenge...
	if _, err := e.leader.RaftChallengeFrom(ctx, "n3", "10.0.0.66"); !errors.Is(err, core.ErrJoinBusy) {
		t.Fatalf("replacing another address's challenge = %v, want ErrJoinBusy", err)
	}
	if _, err := e.leader.RaftAnswerFrom(ctx, core.JoinAnswer{ServerID: "n3", Answer: []byte("guess"), ClusterAddr: "127.0.0.3:8201"}, "10.0.0.66"); !errors.Is(err, core.ErrJoinChallenge) {
		t.Fatalf("foreign answer = %v", err)
	}
	// ...so the joiner's own wrong answer still finds (and burns) it.
	if _, err := e.leader.RaftAnswerFrom(ctx, core.JoinAnswer{ServerID: "n3", Answer: []byte("guess"), ClusterAddr: "127.0.0.3:8201"}, "10.0.0.3"); !errors.Is(err, core.ErrJoinChallenge) || !strings.Contains(err.Error(), "wrong or expired") {
		t.Fatalf("own answer = %v, want a wrong-answer refusal", err)
	}
	// The same joiner asking again gets a fresh challenge.
	for i := 0; i < 3; i++ {
		if _, err := e.leader.RaftChallengeFrom(ctx, "n3", "10.0.0.3"); err != nil {
			t.Fatalf("re-ask %d: %v", i, err)
		}
	}
	// In total: many sources fill the table to maxChallenges (64) at most.
	total := 0
	for s := 0; s < 40; s++ {
		for i := 0; i < 4; i++ {
			if _, err := e.leader.RaftChallengeFrom(ctx, fmt.Sprintf("s%d-%d", s, i), fmt.Sprintf("10.1.0.%d", s)); err == nil {
				total++
			}
		}
	}
	if total+4+1 != 64 {
		t.Fatalf("table holds %d challenges, want 64", total+5)
	}
}
