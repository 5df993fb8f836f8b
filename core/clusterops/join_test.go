package clusterops

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

type fakeMembers struct {
	mu               sync.Mutex
	nonvoters, voter []string
}

func (f *fakeMembers) AddNonvoter(_ context.Context, id, addr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nonvoters = append(f.nonvoters, id+"@"+addr)
	return nil
}

func (f *fakeMembers) AddVoter(_ context.Context, id, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.voter = append(f.voter, id)
	return nil
}

var errBusy = errors.New("busy")

func newJoins(t *testing.T, active func() error) (*Joins, *gcmSealer, *fakeMembers) {
	t.Helper()
	ctx := context.Background()
	phys := inmem.New()
	for _, k := range []string{"core/seal-config", "core/sealed-root-key", "core/keyring"} {
		if err := phys.Put(ctx, &storage.Entry{Key: k, Value: []byte("v:" + k)}); err != nil {
			t.Fatal(err)
		}
	}
	s, m := newGCMSealer(t), &fakeMembers{}
	j := NewJoins(JoinConfig{
		Barrier: s, Physical: phys, Members: m, Active: active, Busy: errBusy,
		NodeTLS:    func(_ context.Context, id string) ([]byte, error) { return []byte("tls-for-" + id), nil },
		RecordNode: func(context.Context, string, string, string) error { return nil },
	})
	return j, s, m
}

func TestJoins_ChallengeAnswer(t *testing.T) {
	ctx := context.Background()
	j, s, m := newJoins(t, func() error { return nil })
	ch, err := j.Challenge(ctx, "node2")
	if err != nil {
		t.Fatal(err)
	}
	if string(ch.Keyring) != "v:core/keyring" || string(ch.SealConfig) != "v:core/seal-config" {
		t.Fatalf("challenge entries: %+v", ch)
	}
	nonce, err := s.Decrypt("core/raft-challenge/node2", ch.Challenge)
	if err != nil {
		t.Fatal(err)
	}
	res, err := j.Answer(ctx, JoinAnswer{ServerID: "node2", Answer: nonce, ClusterAddr: "https://127.0.0.1:8201", NonVoter: true})
	if err != nil {
		t.Fatal(err)
	}
	tls, err := s.Decrypt("core/raft-tls/node2", res.TLS)
	if err != nil || string(tls) != "tls-for-node2" {
		t.Fatalf("TLS material %q, %v", tls, err)
	}
	if len(m.nonvoters) != 1 || m.nonvoters[0] != "node2@127.0.0.1:8201" {
		t.Fatalf("members: %v", m.nonvoters)
	}
	// The nonce is burnt by its first answer.
	if _, err := j.Answer(ctx, JoinAnswer{ServerID: "node2", Answer: nonce, ClusterAddr: "127.0.0.1:8201"}); !errors.Is(err, ErrJoinChallenge) {
		t.Fatalf("a second answer: %v", err)
	}
}

func TestJoins_Refusals(t *testing.T) {
	ctx := context.Background()
	j, _, m := newJoins(t, func() error { return nil })
	if _, err := j.Challenge(ctx, "../x"); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("a bad server ID: %v", err)
	}
	if _, err := j.Challenge(ctx, "node3"); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Answer(ctx, JoinAnswer{ServerID: "node3", Answer: make([]byte, 32), ClusterAddr: "127.0.0.1:1"}); !errors.Is(err, ErrJoinChallenge) {
		t.Fatalf("a wrong answer: %v", err)
	}
	if len(m.nonvoters) != 0 {
		t.Fatal("a wrong answer added a member")
	}
	if _, err := j.Answer(ctx, JoinAnswer{ServerID: "node3", ClusterAddr: "nope"}); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("a bad cluster_addr: %v", err)
	}
	// node3's challenge was burned above; fill the table from many sources
	// (at most MaxChallengesPerSource each).
	for i := range MaxChallenges {
		if _, err := j.ChallengeFrom(ctx, fmt.Sprintf("n%d", i), fmt.Sprintf("10.0.0.%d", i/MaxChallengesPerSource)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := j.ChallengeFrom(ctx, "one-too-many", "10.9.9.9"); !errors.Is(err, errBusy) {
		t.Fatalf("challenge %d: %v, want Busy", MaxChallenges+1, err)
	}
	standby := errors.New("standby")
	j2, _, _ := newJoins(t, func() error { return standby })
	if _, err := j2.Challenge(ctx, "node2"); !errors.Is(err, standby) {
		t.Fatalf("a standby handed out a challenge: %v", err)
	}
}

func TestHostPort(t *testing.T) {
	for in, want := range map[string]string{"https://h:8201": "h:8201", "h:1": "h:1", "h": "", "https://h": "", "::": ""} {
		if got := HostPort(in); got != want {
			t.Errorf("HostPort(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestJoins_VoterRecordedNotPromoted: a joiner that wants a vote is added
// as a non-voter and recorded for autopilot, never promoted by the join
// itself; one that asked to be a non-voter is not recorded; a failed
// record refuses the join before the node is added.
func TestJoins_VoterRecordedNotPromoted(t *testing.T) {
	ctx := context.Background()
	j, s, m := newJoins(t, func() error { return nil })
	var recorded []string
	var fail error
	j.cfg.WantVoter = func(_ context.Context, id, addr string) error {
		if fail != nil {
			return fail
		}
		recorded = append(recorded, id+"@"+addr)
		return nil
	}
	join := func(id string, nonVoter bool) error {
		ch, err := j.Challenge(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		nonce, err := s.Decrypt("core/raft-challenge/"+id, ch.Challenge)
		if err != nil {
			t.Fatal(err)
		}
		_, err = j.Answer(ctx, JoinAnswer{ServerID: id, Answer: nonce, ClusterAddr: "127.0.0.1:8201", NonVoter: nonVoter})
		return err
	}
	if err := join("node2", false); err != nil {
		t.Fatal(err)
	}
	if err := join("node3", true); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(recorded) != "[node2@127.0.0.1:8201]" || len(m.voter) != 0 || len(m.nonvoters) != 2 {
		t.Fatalf("recorded %v, voters %v, non-voters %v", recorded, m.voter, m.nonvoters)
	}
	fail = errors.New("storage down")
	if err := join("node4", false); err == nil || len(m.nonvoters) != 2 {
		t.Fatalf("join with a failed record = %v, non-voters %v", err, m.nonvoters)
	}
}
