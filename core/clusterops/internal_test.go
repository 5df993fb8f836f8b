package clusterops

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// gcmSealer is a test sealer: AES-GCM under one random key, AAD = path.
type gcmSealer struct{ aead cipher.AEAD }

func newGCMSealer(t testing.TB) *gcmSealer {
	key := make([]byte, 32)
	rand.Read(key)
	blk, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := cipher.NewGCM(blk)
	if err != nil {
		t.Fatal(err)
	}
	return &gcmSealer{aead: a}
}

func (g *gcmSealer) Encrypt(path string, pt []byte) ([]byte, error) {
	n := make([]byte, g.aead.NonceSize())
	rand.Read(n)
	return g.aead.Seal(n, n, pt, []byte(path)), nil
}

func (g *gcmSealer) Decrypt(path string, ct []byte) ([]byte, error) {
	if len(ct) < g.aead.NonceSize() {
		return nil, errors.New("short")
	}
	return g.aead.Open(nil, ct[:g.aead.NonceSize()], ct[g.aead.NonceSize():], []byte(path))
}

// fakeOps is a RaftOps whose snapshot is a fixed byte string.
type fakeOps struct {
	state    []byte
	restored []byte
	removed  []string
	status   Status
}

func (f *fakeOps) RaftStatus(context.Context) (Status, error) { return f.status, nil }
func (f *fakeOps) RemoveServer(_ context.Context, id string) error {
	f.removed = append(f.removed, id)
	return nil
}
func (f *fakeOps) SaveSnapshot(_ context.Context, w io.Writer) error {
	_, err := w.Write(f.state)
	return err
}
func (f *fakeOps) RestoreSnapshot(_ context.Context, r io.Reader) error {
	b, err := io.ReadAll(r)
	f.restored = b
	return err
}

func archive(t testing.TB, ops RaftOps, s Sealer) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := writeSnapshotArchive(context.Background(), &buf, ops, s); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSnapshotArchive(t *testing.T) {
	ops := &fakeOps{state: []byte("VDSNAP-state-ciphertexts"), status: Status{Term: 3, AppliedIndex: 42}}
	mine, other := newGCMSealer(t), newGCMSealer(t)
	arc := archive(t, ops, mine)

	got, err := readSnapshotArchive(bytes.NewReader(arc), mine, false)
	if err != nil || !bytes.Equal(got, ops.state) {
		t.Fatalf("same keys: %q, %v", got, err)
	}
	// Other keys: refused without force, accepted with force.
	if _, err := readSnapshotArchive(bytes.NewReader(arc), other, false); !errors.Is(err, ErrSnapshotKeys) || !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("other keys: err = %v, want ErrSnapshotKeys (400)", err)
	}
	if got, err := readSnapshotArchive(bytes.NewReader(arc), other, true); err != nil || !bytes.Equal(got, ops.state) {
		t.Fatalf("other keys, force: %q, %v", got, err)
	}
	// Any flipped byte is a 400, with or without force; never a panic.
	for i := 0; i < len(arc); i += max(1, len(arc)/97) {
		bad := slices.Clone(arc)
		bad[i] ^= 0x40
		if _, err := readSnapshotArchive(bytes.NewReader(bad), mine, true); err != nil && !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Fatalf("flipped byte %d: err = %v, want a 400", i, err)
		}
	}
	// Truncated and empty.
	for _, n := range []int{0, 10, len(arc) / 2, len(arc) - 1} {
		if _, err := readSnapshotArchive(bytes.NewReader(arc[:n]), mine, true); !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Fatalf("truncated to %d: err = %v, want 400", n, err)
		}
	}
}

func FuzzReadSnapshotArchive(f *testing.F) {
	s := newGCMSealer(f)
	f.Add(archive(f, &fakeOps{state: []byte("x")}, s))
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b, 0x08})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := readSnapshotArchive(bytes.NewReader(b), s, false)
		if err != nil && !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Fatalf("non-400 error: %v", err)
		}
	})
}

func peer(id string, voter, leader, self bool, last time.Time, known bool) Peer {
	return Peer{ID: id, Address: id + ":8201", Voter: voter, Leader: leader, Self: self,
		Contact: Contact{Known: known, LastContact: last}}
}

func TestComputeAutopilot(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := defaultAutopilotConfig()
	cfg.ServerStabilizationTime = 5 * time.Second
	stable := map[string]time.Time{}
	st := Status{Term: 2, LastIndex: 10, Peers: []Peer{
		peer("a", true, true, true, t0, true),
		peer("b", true, false, false, t0, true),
		peer("c", true, false, false, t0.Add(-time.Minute), true), // 60s > 10s threshold
	}}
	s := computeAutopilot(t0, st, cfg, stable)
	if s.Healthy || s.Leader != "a" || !slices.Equal(s.Voters, []string{"a", "b", "c"}) {
		t.Fatalf("state %+v", s)
	}
	if s.FailureTolerance != 0 { // nobody stable yet
		t.Fatalf("failure tolerance %d before stabilization, want 0", s.FailureTolerance)
	}
	// 6 s later a and b are stable; c is still dead: 2 healthy voters, quorum 2.
	st.Peers[0].Contact.LastContact, st.Peers[1].Contact.LastContact = t0.Add(6*time.Second), t0.Add(6*time.Second)
	s = computeAutopilot(t0.Add(6*time.Second), st, cfg, stable)
	if s.FailureTolerance != 0 || s.Servers[2].Healthy || !s.Servers[0].Stable || !s.Servers[0].StableSince.Equal(t0) {
		t.Fatalf("state %+v", s)
	}
	// c comes back: healthy at once, stable only after 5 s.
	st.Peers[2].Contact.LastContact = t0.Add(6 * time.Second)
	s = computeAutopilot(t0.Add(6*time.Second), st, cfg, stable)
	if !s.Healthy || s.FailureTolerance != 0 || s.Servers[2].Stable {
		t.Fatalf("c back: %+v", s)
	}
	for i := range st.Peers {
		st.Peers[i].Contact.LastContact = t0.Add(12 * time.Second)
	}
	s = computeAutopilot(t0.Add(12*time.Second), st, cfg, stable)
	if !s.Healthy || s.FailureTolerance != 1 {
		t.Fatalf("all stable: %+v", s)
	}
	// Unknown contact (a follower's view) is unhealthy.
	st.Peers[1].Contact.Known = false
	if s = computeAutopilot(t0.Add(12*time.Second), st, cfg, stable); s.Healthy || s.Servers[1].LastContact != -1 {
		t.Fatalf("unknown contact: %+v", s)
	}
}

func TestDeadServers(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := defaultAutopilotConfig()
	cfg.CleanupDeadServers, cfg.DeadServerLastContactThreshold = true, time.Minute
	old, older := now.Add(-2*time.Minute), now.Add(-3*time.Minute)
	five := func() Status {
		return Status{Peers: []Peer{
			peer("a", true, true, true, now, true),
			peer("b", true, false, false, now, true),
			peer("c", true, false, false, old, true),
			peer("d", true, false, false, older, true),
			peer("e", true, false, false, older, true),
		}}
	}
	tests := []struct {
		name      string
		minQuorum uint
		mutate    func(*Status)
		want      []string
	}{
		{"budget (voters-1)/2 = 2, longest dead first", 1, nil, []string{"d", "e"}},
		{"min quorum 4 allows one", 4, nil, []string{"d"}},
		{"min quorum 5 allows none", 5, nil, nil},
		{"never self, never unknown contact", 1, func(s *Status) {
			s.Peers[0].Contact.LastContact = older
			s.Peers[3].Contact.Known = false
		}, []string{"e", "c"}},
		{"non-voters do not use the budget", 1, func(s *Status) {
			s.Peers[2].Voter = false
		}, []string{"d", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := five()
			if tt.mutate != nil {
				tt.mutate(&st)
			}
			c := cfg
			c.MinQuorum = tt.minQuorum
			got := deadServers(now, st, c)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAutopilotConfigValidate(t *testing.T) {
	ok := defaultAutopilotConfig()
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(*autopilotConfig){
		func(c *autopilotConfig) { c.LastContactThreshold = time.Millisecond },
		func(c *autopilotConfig) { c.DeadServerLastContactThreshold = 500 * time.Millisecond },
		func(c *autopilotConfig) { c.DeadServerLastContactThreshold = 2 * time.Second },
		func(c *autopilotConfig) { c.CleanupDeadServers = true },
		func(c *autopilotConfig) { c.ServerStabilizationTime = -1 },
	}
	for i, m := range bad {
		c := defaultAutopilotConfig()
		m(&c)
		if err := c.validate(); !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Errorf("case %d: err = %v, want 400", i, err)
		}
	}
	for in, want := range map[any]time.Duration{"500ms": 500 * time.Millisecond, "24h": 24 * time.Hour, "30": 30 * time.Second, float64(7): 7 * time.Second} {
		got, set, err := apDuration(map[string]any{"k": in}, "k")
		if err != nil || !set || got != want {
			t.Errorf("apDuration(%v) = %v, %v, %v", in, got, set, err)
		}
	}
	if _, _, err := apDuration(map[string]any{"k": "soon"}, "k"); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Errorf("bad duration: %v", err)
	}
}

// sizedOps also implements SizedSnapshotSaver (as raftstore does); lie
// announces a wrong size.
type sizedOps struct {
	fakeOps
	lie int64
}

func (f *sizedOps) SaveSnapshotSized(_ context.Context, start func(int64) (io.Writer, error)) error {
	w, err := start(int64(len(f.state)) + f.lie)
	if err != nil {
		return err
	}
	_, err = w.Write(f.state)
	return err
}

// TestSnapshotArchiveStreamed: the streamed archive (state.bin not
// buffered) verifies like the buffered one, through the pipe of
// snapshotSave too; a stream that does not match its announced size fails.
func TestSnapshotArchiveStreamed(t *testing.T) {
	state := bytes.Repeat([]byte("VDSNAP-ciphertext"), 10000)
	ops := &sizedOps{fakeOps: fakeOps{state: state, status: Status{Term: 3, AppliedIndex: 42}}}
	mine := newGCMSealer(t)
	got, err := readSnapshotArchive(bytes.NewReader(archive(t, ops, mine)), mine, false)
	if err != nil || !bytes.Equal(got, state) {
		t.Fatalf("streamed archive: %d bytes, %v", len(got), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &Service{}
	s.cfg.Barrier = sealerBarrier{gcmSealer: mine}
	resp, err := s.snapshotSave(ctx, ops)
	if err != nil {
		t.Fatal(err)
	}
	arc, err := io.ReadAll(resp.RawBody)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := readSnapshotArchive(bytes.NewReader(arc), mine, false); err != nil || !bytes.Equal(got, state) {
		t.Fatalf("through snapshotSave: %d bytes, %v", len(got), err)
	}
	ops.lie = 1
	var buf bytes.Buffer
	if _, err := writeSnapshotArchive(context.Background(), &buf, ops, mine); err == nil {
		t.Fatal("a stream shorter than announced was accepted")
	}
}

// sealerBarrier is a Barrier whose storage is never used here.
type sealerBarrier struct {
	storage.Backend // nil: calling it panics
	*gcmSealer
}
