package replication

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vaultd/vaultd/storage"
)

// Target is the secondary cluster's raw storage (below the barrier; in
// vaultd its raftstore.Store, on the active node).
type Target interface {
	storage.Backend
	// Restore replaces the whole state with a snapshot stream from the
	// primary's Source.Snapshot.
	Restore(ctx context.Context, r io.Reader) error
}

// SecondaryConfig configures a Secondary.
type SecondaryConfig struct {
	// ID and Token are what the primary issued (AddSecondary).
	ID, Token string
	// Dial opens an authenticated stream to the primary's active node.
	Dial   func(ctx context.Context) (net.Conn, error)
	Target Target
	Logger *slog.Logger
	// BatchLimit is the number of transactions per pull (default 256).
	BatchLimit int
	// Wait is how long a pull may wait on the primary for new entries
	// (default 1 s).
	Wait time.Duration
	// Retry is the pause after a failed stream (default 500 ms).
	Retry time.Duration
	// Preserve lists keys under LocalPrefix that belong to the secondary
	// cluster itself (the server's replication mode): a snapshot restore
	// replaces the whole storage and the primary's LocalPrefix keys are
	// cleared, so these are read before the restore and written back in
	// the same Txn as the secondary's new state.
	Preserve []string
	// SpoolDir is where a resync snapshot is written while it arrives
	// (the node's data directory; "" is os.TempDir()): it is restored
	// from that file, never held in memory whole. Spool files a crash
	// left in SpoolDir are removed by NewSecondary (not in the default).
	SpoolDir string
	// MaxSnapshotBytes refuses a resync snapshot larger than this
	// (default DefaultMaxSnapshotBytes).
	MaxSnapshotBytes int64
	// Addrs are the cluster addresses of this node, announced to the
	// primary in the hello (the primary probes them for a newer epoch
	// when it restarts: ProbeEpoch).
	Addrs []string
	// OnApply, when set, is called after each applied Txn with the keys
	// it wrote or deleted (nil after a snapshot restore: everything may
	// have changed). A performance secondary drops its caches there.
	OnApply func(keys []string)
}

// Secondary pulls a primary's change stream into its own storage.
type Secondary struct {
	cfg SecondaryConfig
	log *slog.Logger

	mu           sync.Mutex
	st           secondaryState
	state        string
	primaryIndex uint64
	covered      uint64 // primary index up to which the log has been read (LastIndex plus skipped non-storage entries)
	caughtUp     time.Time
	started      time.Time // NewSecondary: a lag before the first catch-up counts from here
	lastPull     time.Time
	lastContact  time.Time
	lastErr      string
	resyncs      int
	pulls        uint64
}

// SecondaryStatus is the secondary's side of sys/replication/status.
type SecondaryStatus struct {
	// State: "idle", "stream-wals", "resync", "connecting", "fenced",
	// "promoted".
	State string
	Epoch uint64
	// LastIndex is the last primary index applied here (durable).
	LastIndex uint64
	// PrimaryIndex is the primary's applied index at the last contact.
	PrimaryIndex uint64
	// LagEntries = PrimaryIndex - LastIndex (raft entries, at the last
	// contact); LagTime is how long ago this secondary last held
	// everything the primary had (0 when caught up; counted from the
	// Secondary's start if it has not caught up since).
	LagEntries  uint64
	LagTime     time.Duration
	LastContact time.Time
	// LastPull is when the pull that brought the last batch was sent: the
	// primary's answer holds everything it had applied at that moment.
	LastPull  time.Time
	LastError string
	Resyncs   int
	// Pulls counts the requests sent to the primary.
	Pulls uint64
}

// NewSecondary loads the secondary's durable state from its target.
func NewSecondary(ctx context.Context, cfg SecondaryConfig) (*Secondary, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BatchLimit <= 0 {
		cfg.BatchLimit = 256
	}
	if cfg.Wait <= 0 {
		cfg.Wait = time.Second
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 500 * time.Millisecond
	}
	if cfg.MaxSnapshotBytes <= 0 {
		cfg.MaxSnapshotBytes = DefaultMaxSnapshotBytes
	}
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = os.TempDir() // shared: never swept
	} else if old, err := filepath.Glob(filepath.Join(cfg.SpoolDir, spoolPattern)); err == nil {
		// A crash mid-resync leaves its spool file (ciphertexts only) in
		// the node's own directory: drop it.
		for _, f := range old {
			_ = os.Remove(f)
		}
	}
	s := &Secondary{cfg: cfg, log: cfg.Logger.With("component", "replication", "role", "dr-secondary"), state: "idle", started: time.Now()}
	if _, err := loadJSON(ctx, cfg.Target, secondaryKey, &s.st); err != nil {
		return nil, err
	}
	if s.st.ID != cfg.ID {
		// Not ours (absent, or restored from a primary's snapshot).
		s.st = secondaryState{ID: cfg.ID}
	}
	if s.st.Promoted {
		s.state = "promoted"
	}
	return s, nil
}

// Status reports the secondary's state.
func (s *Secondary) Status() SecondaryStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SecondaryStatus{State: s.state, Epoch: s.st.Epoch, LastIndex: s.st.LastIndex, PrimaryIndex: s.primaryIndex,
		LastContact: s.lastContact, LastPull: s.lastPull, LastError: s.lastErr, Resyncs: s.resyncs, Pulls: s.pulls}
	if have := max(s.st.LastIndex, s.covered); s.primaryIndex > have {
		st.LagEntries = s.primaryIndex - have
	}
	if st.LagEntries > 0 {
		// Not caught up since this Secondary started (a new leader of the
		// secondary cluster): at least that long.
		st.LagTime = time.Since(cmp.Or(s.caughtUp, s.started))
	}
	return st
}

func (s *Secondary) setState(state string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = state
	if err != nil {
		s.lastErr = err.Error()
	}
}

// Run streams from the primary until ctx is done (nil) or the primary is
// fenced (ErrFenced) or refuses the token (ErrDenied); other failures are
// retried.
func (s *Secondary) Run(ctx context.Context) error {
	s.mu.Lock()
	promoted := s.st.Promoted
	s.mu.Unlock()
	if promoted {
		return errors.New("replication: this secondary has been promoted")
	}
	for {
		s.setState("connecting", nil)
		err := s.stream(ctx)
		if ctx.Err() != nil {
			s.setState("idle", nil)
			return nil
		}
		if errors.Is(err, ErrFenced) || errors.Is(err, ErrDenied) {
			s.setState("fenced", err)
			s.log.Error("replication stopped", "error", err)
			return err
		}
		s.setState("connecting", err)
		s.log.Warn("replication stream failed; retrying", "error", err)
		select {
		case <-ctx.Done():
			s.setState("idle", nil)
			return nil
		case <-time.After(s.cfg.Retry):
		}
	}
}

func (s *Secondary) stream(ctx context.Context) error {
	conn, err := s.cfg.Dial(ctx)
	if err != nil {
		return fmt.Errorf("replication: dial primary: %w", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { <-ctx.Done(); _ = conn.Close() }()

	s.mu.Lock()
	known := s.st.Epoch
	s.mu.Unlock()
	if err := writeFrame(conn, hello{Version: ProtocolVersion, ID: s.cfg.ID, Token: s.cfg.Token, Epoch: known, Addrs: s.cfg.Addrs}); err != nil {
		return err
	}
	b, err := s.read(conn)
	if err != nil {
		return err
	}
	if b.Primary == "" {
		return errors.New("replication: the primary did not say which log it serves")
	}
	if err := s.adopt(ctx, b.Epoch, b.Primary); err != nil {
		return err
	}
	s.setState("stream-wals", nil)
	for {
		s.mu.Lock()
		// Non-storage entries already read (covered) are not read again:
		// a log whose tail is raft barriers or configuration changes must
		// not make the stream spin.
		from, synced := max(s.st.LastIndex, s.covered)+1, s.st.Synced
		s.pulls++
		s.mu.Unlock()
		if !synced {
			if err := s.resync(ctx, conn); err != nil {
				return err
			}
			continue
		}
		sent := time.Now()
		if err := writeFrame(conn, pull{From: from, Limit: s.cfg.BatchLimit, WaitMillis: int(s.cfg.Wait / time.Millisecond)}); err != nil {
			return err
		}
		b, err := s.read(conn)
		if err != nil {
			return err
		}
		if err := s.adopt(ctx, b.Epoch, ""); err != nil {
			return err
		}
		if b.Compacted {
			if err := s.resync(ctx, conn); err != nil {
				return err
			}
			continue
		}
		if err := s.apply(ctx, b); err != nil {
			return err
		}
		s.mu.Lock()
		s.primaryIndex = b.Applied
		s.covered = max(s.covered, b.Next-1)
		s.lastContact = time.Now()
		s.lastPull = sent
		if b.Next > b.Applied {
			s.caughtUp = sent
		}
		s.mu.Unlock()
	}
}

// read reads one answer; a primary-side refusal becomes an error.
func (s *Secondary) read(conn net.Conn) (batch, error) {
	_ = conn.SetReadDeadline(time.Now().Add(s.cfg.Wait + 30*time.Second))
	var b batch
	if err := readFrame(conn, &b); err != nil {
		return b, err
	}
	switch {
	case b.Fenced:
		return b, fmt.Errorf("%w: %s", ErrFenced, b.Error)
	case b.Error == ErrDenied.Error():
		return b, ErrDenied
	case b.Error != "":
		return b, fmt.Errorf("replication: the primary says: %s", b.Error)
	}
	return b, nil
}

// adopt refuses an older epoch and records a newer one, and the primary's
// log ID when primary is set (the answer to a hello).
func (s *Secondary) adopt(ctx context.Context, epoch uint64, primary string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if epoch < s.st.Epoch {
		return fmt.Errorf("%w: the primary is at epoch %d, this secondary knows epoch %d", ErrFenced, epoch, s.st.Epoch)
	}
	newLog := primary != "" && primary != s.st.Primary
	if epoch == s.st.Epoch && !newLog {
		return nil
	}
	st := s.st
	if st.Epoch != 0 || newLog {
		// A new epoch is a new primary (a promoted secondary), and another
		// primary ID another log: either has its own indexes, and
		// continuing from LastIndex would skip or misapply. Start over
		// from its snapshot.
		st.Synced = false
		s.covered = 0
	}
	st.Epoch = epoch
	if primary != "" {
		st.Primary = primary
	}
	op, err := putOp(secondaryKey, st)
	if err != nil {
		return err
	}
	if err := s.cfg.Target.Txn(ctx, []storage.Op{op}); err != nil {
		return fmt.Errorf("replication: save secondary state: %w", err)
	}
	s.st = st
	return nil
}

// txnBytes caps the size of one applied Txn.
const txnBytes = 512 << 10

// apply writes a batch through the target, a chunk of transactions per
// Txn, each with the secondary's new state in the same Txn.
func (s *Secondary) apply(ctx context.Context, b batch) error {
	var ops []storage.Op
	size := 0
	var last uint64
	flush := func() error {
		if last == 0 {
			return nil
		}
		s.mu.Lock()
		st := s.st
		s.mu.Unlock()
		if last <= st.LastIndex {
			return nil
		}
		st.LastIndex = last
		op, err := putOp(secondaryKey, st)
		if err != nil {
			return err
		}
		if err := s.cfg.Target.Txn(ctx, append(ops, op)); err != nil {
			return fmt.Errorf("replication: apply up to primary index %d: %w", last, err)
		}
		s.mu.Lock()
		s.st = st
		s.mu.Unlock()
		if s.cfg.OnApply != nil {
			keys := make([]string, len(ops))
			for i, o := range ops {
				keys[i] = o.Key
			}
			s.cfg.OnApply(keys)
		}
		ops, size, last = nil, 0, 0
		return nil
	}
	s.mu.Lock()
	have := s.st.LastIndex
	s.mu.Unlock()
	for _, c := range b.Changes {
		if c.Index <= have {
			continue // already applied (a retried pull)
		}
		for _, op := range c.Ops {
			if strings.HasPrefix(op.Key, LocalPrefix) {
				continue // the primary's own replication state
			}
			if err := storage.ValidateKey(op.Key); err != nil {
				return fmt.Errorf("replication: primary index %d: key rejected: %w", c.Index, err)
			}
			if op.Kind != storage.OpPut && op.Kind != storage.OpDelete {
				return fmt.Errorf("replication: primary index %d: unknown op kind %d", c.Index, op.Kind)
			}
			ops = append(ops, op)
			size += len(op.Key) + len(op.Value)
		}
		last = c.Index
		if size >= txnBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// resync streams a snapshot from the primary and restores it.
func (s *Secondary) resync(ctx context.Context, conn net.Conn) error {
	s.setState("resync", nil)
	s.log.Info("resynchronising from a primary snapshot")
	if err := writeFrame(conn, pull{Snapshot: true}); err != nil {
		return err
	}
	head, err := s.read(conn)
	if err != nil {
		return err
	}
	if err := s.adopt(ctx, head.Epoch, ""); err != nil {
		return err
	}
	index := head.SnapIndex
	keep := make([]storage.Op, 0, len(s.cfg.Preserve))
	for _, k := range s.cfg.Preserve {
		if !strings.HasPrefix(k, LocalPrefix) || k == secondaryKey {
			return fmt.Errorf("replication: preserved key %q is not a local key", k)
		}
		e, err := s.cfg.Target.Get(ctx, k)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("replication: before restore: %w", err)
		}
		keep = append(keep, storage.Op{Kind: storage.OpPut, Key: k, Value: e.Value})
	}
	if err := s.restoreSpooled(ctx, conn, head.Epoch, index); err != nil {
		return err
	}
	// The snapshot holds the primary's replication state: drop it and
	// record where this secondary continues, in one Txn. A crash before
	// it leaves the primary's state, which NewSecondary does not take for
	// its own (another ID): the next run resyncs.
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	st.LastIndex, st.Synced = index, true
	ops, err := clearOps(ctx, s.cfg.Target, LocalPrefix)
	if err != nil {
		return fmt.Errorf("replication: after restore: %w", err)
	}
	op, err := putOp(secondaryKey, st)
	if err != nil {
		return err
	}
	ops = slices.DeleteFunc(ops, func(o storage.Op) bool { return slices.Contains(s.cfg.Preserve, o.Key) })
	ops = append(ops, keep...)
	if err := s.cfg.Target.Txn(ctx, append(ops, op)); err != nil {
		return fmt.Errorf("replication: after restore: %w", err)
	}
	if s.cfg.OnApply != nil {
		s.cfg.OnApply(nil)
	}
	s.mu.Lock()
	s.st = st
	s.resyncs++
	s.primaryIndex = head.Applied
	s.covered = index
	s.mu.Unlock()
	s.setState("stream-wals", nil)
	return nil
}

// DefaultMaxSnapshotBytes is the default bound on a resync snapshot.
const DefaultMaxSnapshotBytes int64 = 16 << 30

// ErrSnapshotTooLarge: the primary's snapshot exceeds the secondary's
// MaxSnapshotBytes; the secondary does not resync (raise the limit).
var ErrSnapshotTooLarge = errors.New("replication: the primary's snapshot exceeds this secondary's size limit")

// spoolPattern names resync spool files in SpoolDir.
const spoolPattern = "vaultd-resync-*.snap"

// restoreSpooled receives the snapshot's chunks into a file in SpoolDir
// (bounded by MaxSnapshotBytes), checks its length and SHA-256 against
// the primary's, fsyncs it and restores the target from it; the file is
// removed in every case.
func (s *Secondary) restoreSpooled(ctx context.Context, conn net.Conn, epoch, index uint64) error {
	f, err := os.CreateTemp(s.cfg.SpoolDir, spoolPattern) // mode 0600
	if err != nil {
		return fmt.Errorf("replication: resync spool file: %w", err)
	}
	defer func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}()
	sum := sha256.New()
	w := io.MultiWriter(f, sum)
	var size int64
	var last batch
	for {
		b, err := s.read(conn)
		if err != nil {
			return err
		}
		if b.Epoch != epoch || b.SnapIndex != index {
			return errors.New("replication: snapshot stream changed mid-way")
		}
		size += int64(len(b.Chunk))
		if size > s.cfg.MaxSnapshotBytes {
			return fmt.Errorf("%w: more than %d bytes (received so far)", ErrSnapshotTooLarge, s.cfg.MaxSnapshotBytes)
		}
		if _, err := w.Write(b.Chunk); err != nil {
			return fmt.Errorf("replication: resync spool file: %w", err)
		}
		if b.SnapDone {
			last = b
			break
		}
	}
	got := hex.EncodeToString(sum.Sum(nil))
	if last.SnapSHA256 == "" || last.SnapSize != size || got != last.SnapSHA256 {
		return fmt.Errorf("replication: the resync snapshot does not match the primary's checksum (%d bytes received, %d sent)", size, last.SnapSize)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("replication: resync spool file: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("replication: resync spool file: %w", err)
	}
	s.log.Info("resync snapshot received", "bytes", size, "index", index)
	if err := s.cfg.Target.Restore(ctx, f); err != nil {
		return fmt.Errorf("replication: restore primary snapshot: %w", err)
	}
	return nil
}

// Promote makes this secondary a primary at the next epoch; call it after
// Run has returned. It returns the new epoch (NewPrimary's MinEpoch).
// Everything LastIndex reported is in the target: it was applied in the
// same Txn as the index.
func (s *Secondary) Promote(ctx context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.Promoted {
		return s.st.Epoch, nil
	}
	st := s.st
	st.Epoch++
	st.Promoted = true
	op, err := putOp(secondaryKey, st)
	if err != nil {
		return 0, err
	}
	if err := s.cfg.Target.Txn(ctx, []storage.Op{op}); err != nil {
		return 0, fmt.Errorf("replication: promote: %w", err)
	}
	s.st = st
	s.state = "promoted"
	return st.Epoch, nil
}

// Notify tells an old primary that a newer epoch exists: a promoted
// secondary presents the credentials it streamed with (dial, id, token)
// and the epoch it was promoted to, and the old primary, which still
// knows them, fences itself durably (it refuses every stream, and the
// server refuses client writes). It returns nil once the primary has
// answered that it is fenced; ErrDenied when it does not know the
// credentials (revoked, or it is not that primary).
func Notify(ctx context.Context, dial func(ctx context.Context) (net.Conn, error), id, token string, epoch uint64) error {
	conn, err := dial(ctx)
	if err != nil {
		return fmt.Errorf("replication: dial the old primary: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := writeFrame(conn, hello{Version: ProtocolVersion, ID: id, Token: token, Epoch: epoch}); err != nil {
		return err
	}
	var b batch
	if err := readFrame(conn, &b); err != nil {
		return err
	}
	switch {
	case b.Fenced:
		return nil
	case b.Error == ErrDenied.Error():
		return ErrDenied
	case b.Error != "":
		return fmt.Errorf("replication: the old primary answered: %s", b.Error)
	}
	return fmt.Errorf("replication: the old primary at epoch %d did not fence itself for epoch %d", b.Epoch, epoch)
}
