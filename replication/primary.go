package replication

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/vaultd/vaultd/storage"
)

// Change is one committed storage transaction of the source's log.
type Change struct {
	Index uint64
	Ops   []storage.Op
}

// Source is the primary's committed log (raftstore.Store, adapted by the
// server).
type Source interface {
	// Changes returns at most limit transactions from index from on and
	// the index to ask for next; ErrCompacted (wrapped) when the log no
	// longer holds from.
	Changes(from uint64, limit int) ([]Change, uint64, error)
	// Applied is the source's applied index.
	Applied() uint64
	// Snapshot returns a snapshot stream of the whole state (as the
	// target's Restore reads it) and the index of the last transaction it
	// holds.
	Snapshot(ctx context.Context) (io.ReadCloser, uint64, error)
}

// PrimaryConfig configures a Primary.
type PrimaryConfig struct {
	Source Source
	// Storage holds the primary's state under LocalPrefix (the cluster's
	// raw storage, below the barrier).
	Storage storage.Backend
	// MinEpoch: the epoch is at least this (a promoted secondary passes
	// its new epoch).
	MinEpoch uint64
	// OnFenced runs once when the primary learns of a newer epoch.
	OnFenced func(epoch uint64)
	Logger   *slog.Logger
	// MaxWait caps how long a pull waits for new entries (default 2 s).
	MaxWait time.Duration
}

// Primary serves the change stream to DR secondaries.
type Primary struct {
	cfg PrimaryConfig
	log *slog.Logger

	mu       sync.Mutex
	st       primaryState
	progress map[string]SecondaryProgress
}

// SecondaryProgress is what the primary knows of one secondary.
type SecondaryProgress struct {
	// Acked is the last index the secondary has asked past (it pulled
	// from Acked+1, so it has applied up to Acked).
	Acked       uint64
	LastContact time.Time
}

// PrimaryStatus is the primary's side of sys/replication/status.
type PrimaryStatus struct {
	Epoch       uint64
	FencedBy    uint64
	Applied     uint64
	Secondaries map[string]SecondaryProgress
}

// NewPrimary loads (or creates, at epoch max(1, MinEpoch)) the primary's
// state.
func NewPrimary(ctx context.Context, cfg PrimaryConfig) (*Primary, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 2 * time.Second
	}
	p := &Primary{cfg: cfg, log: cfg.Logger.With("component", "replication", "role", "dr-primary"), progress: map[string]SecondaryProgress{}}
	if _, err := loadJSON(ctx, cfg.Storage, primaryKey, &p.st); err != nil {
		return nil, err
	}
	epoch := max(p.st.Epoch, cfg.MinEpoch, 1)
	if epoch != p.st.Epoch || p.st.ID == "" {
		if p.st.ID == "" {
			raw := make([]byte, 16)
			if _, err := rand.Read(raw); err != nil {
				return nil, err
			}
			p.st.ID = hex.EncodeToString(raw)
		}
		p.st.Epoch = epoch
		if err := p.saveLocked(ctx, p.st); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *Primary) saveLocked(ctx context.Context, st primaryState) error {
	op, err := putOp(primaryKey, st)
	if err != nil {
		return err
	}
	if err := p.cfg.Storage.Txn(ctx, []storage.Op{op}); err != nil {
		return fmt.Errorf("replication: save primary state: %w", err)
	}
	return nil
}

// Epoch is the primary's replication epoch.
func (p *Primary) Epoch() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.Epoch
}

// Fenced reports the newer epoch this primary learned of (0: not fenced).
func (p *Primary) Fenced() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.FencedBy
}

// Status reports the primary's state.
func (p *Primary) Status() PrimaryStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PrimaryStatus{Epoch: p.st.Epoch, FencedBy: p.st.FencedBy, Applied: p.cfg.Source.Applied(), Secondaries: maps.Clone(p.progress)}
}

// AddSecondary registers secondary id and returns its token (shown once;
// only its hash is stored). Registering an id again replaces its token.
func (p *Primary) AddSecondary(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", errors.New("replication: a secondary needs an id")
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(token))
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.st
	st.Secondaries = maps.Clone(st.Secondaries)
	if st.Secondaries == nil {
		st.Secondaries = map[string]string{}
	}
	st.Secondaries[id] = hex.EncodeToString(sum[:])
	if err := p.saveLocked(ctx, st); err != nil {
		return "", err
	}
	p.st = st
	return token, nil
}

// RevokeSecondary forgets secondary id; its streams end at their next pull.
func (p *Primary) RevokeSecondary(ctx context.Context, id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.st
	st.Secondaries = maps.Clone(st.Secondaries)
	delete(st.Secondaries, id)
	st.SecondaryAddrs = maps.Clone(st.SecondaryAddrs)
	delete(st.SecondaryAddrs, id)
	if err := p.saveLocked(ctx, st); err != nil {
		return err
	}
	p.st = st
	delete(p.progress, id)
	return nil
}

// Demote fences this primary: it learned (from an operator, or from a
// secondary) that epoch newer replaced it. It never serves again; the
// server refuses client writes.
func (p *Primary) Demote(ctx context.Context, newer uint64) error {
	p.mu.Lock()
	if newer <= p.st.Epoch {
		newer = p.st.Epoch + 1
	}
	if p.st.FencedBy >= newer {
		p.mu.Unlock()
		return nil
	}
	st := p.st
	st.FencedBy = newer
	if err := p.saveLocked(ctx, st); err != nil {
		p.mu.Unlock()
		return err
	}
	p.st = st
	p.mu.Unlock()
	p.log.Warn("this primary is fenced by a newer replication epoch", "epoch", st.Epoch, "newer_epoch", newer)
	if p.cfg.OnFenced != nil {
		p.cfg.OnFenced(newer)
	}
	return nil
}

// authorize checks a hello: the token in constant time, then the epochs.
// It returns the stored hash the token matched: the stream lives only as
// long as that registration (a revoked or re-issued token ends it).
func (p *Primary) authorize(ctx context.Context, h hello) (uint64, string, error) {
	sum := sha256.Sum256([]byte(h.Token))
	p.mu.Lock()
	want, ok := p.st.Secondaries[h.ID]
	epoch, fenced := p.st.Epoch, p.st.FencedBy
	p.mu.Unlock()
	wantSum, err := hex.DecodeString(want)
	if !ok || err != nil || len(wantSum) != len(sum) || subtle.ConstantTimeCompare(wantSum, sum[:]) != 1 {
		return 0, "", ErrDenied
	}
	if h.Epoch > epoch {
		if err := p.Demote(ctx, h.Epoch); err != nil {
			return 0, "", err
		}
		return epoch, "", ErrFenced
	}
	if fenced != 0 {
		return epoch, "", ErrFenced
	}
	return epoch, want, nil
}

// frameTimeout bounds each frame the primary writes: a secondary that
// stops reading does not hold a goroutine forever.
const frameTimeout = time.Minute

func send(conn net.Conn, b batch) error {
	_ = conn.SetWriteDeadline(time.Now().Add(frameTimeout))
	return writeFrame(conn, b)
}

// Serve runs one secondary's stream on conn (authenticated transport, the
// cluster port's replication protocol) until it ends or ctx is done; it
// closes conn. peerID is the secondary ID the transport authenticated
// (its certificate); the hello must name the same secondary.
func (p *Primary) Serve(ctx context.Context, conn net.Conn, peerID string) {
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { <-ctx.Done(); _ = conn.Close() }()

	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var h hello
	if err := readFrameMax(conn, &h, maxRequestFrame); err != nil {
		p.log.Debug("replication stream: no hello", "secondary", peerID, "error", err)
		return
	}
	if h.Version != ProtocolVersion {
		_ = send(conn, batch{Error: fmt.Sprintf("unsupported protocol version %d", h.Version)})
		return
	}
	if h.Probe {
		// An epoch probe (ProbeEpoch): a restarted primary asks whether
		// it was replaced. The certificate was checked by the transport.
		p.mu.Lock()
		newest, fenced := max(p.st.Epoch, p.st.FencedBy), p.st.FencedBy != 0
		p.mu.Unlock()
		_ = send(conn, batch{Epoch: newest, Fenced: fenced})
		return
	}
	var epoch uint64
	var registered string
	var err error
	if h.ID != peerID {
		err = ErrDenied
	} else {
		epoch, registered, err = p.authorize(ctx, h)
	}
	if err != nil {
		p.log.Warn("replication stream refused", "secondary", peerID, "error", err)
		_ = send(conn, batch{Epoch: epoch, Error: err.Error(), Fenced: errors.Is(err, ErrFenced)})
		return
	}
	p.recordAddrs(ctx, h.ID, h.Addrs)
	// The hello is answered with an empty batch carrying the epoch.
	p.mu.Lock()
	id := p.st.ID
	p.mu.Unlock()
	if err := send(conn, batch{Epoch: epoch, Primary: id, Applied: p.cfg.Source.Applied()}); err != nil {
		return
	}
	for {
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
		var req pull
		if err := readFrameMax(conn, &req, maxRequestFrame); err != nil {
			return
		}
		// Revocation, a re-issued token and fencing take effect at the
		// next pull.
		p.mu.Lock()
		still := p.st.Secondaries[h.ID] == registered
		fenced := p.st.FencedBy
		if still && !req.Snapshot {
			p.progress[h.ID] = SecondaryProgress{Acked: max(req.From, 1) - 1, LastContact: time.Now()}
		}
		p.mu.Unlock()
		if !still {
			_ = send(conn, batch{Epoch: epoch, Error: ErrDenied.Error()})
			return
		}
		if fenced != 0 {
			_ = send(conn, batch{Epoch: epoch, Error: ErrFenced.Error(), Fenced: true})
			return
		}
		if req.Snapshot {
			if err := p.sendSnapshot(ctx, conn, epoch); err != nil {
				p.log.Warn("replication snapshot failed", "secondary", peerID, "error", err)
				return
			}
			continue
		}
		if err := p.sendBatch(ctx, conn, epoch, req); err != nil {
			p.log.Debug("replication stream ended", "secondary", peerID, "error", err)
			return
		}
	}
}

// recordAddrs keeps the cluster addresses secondary id announced (newest
// first), durably: a restarted primary probes them for a newer epoch
// before it accepts a write. A failure is logged only (the stream goes on).
func (p *Primary) recordAddrs(ctx context.Context, id string, addrs []string) {
	if len(addrs) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.st.SecondaryAddrs[id]
	merged := make([]string, 0, len(addrs)+len(old))
	for _, a := range append(append([]string(nil), addrs...), old...) {
		if a != "" && len(a) <= 512 && !slices.Contains(merged, a) {
			merged = append(merged, a)
		}
	}
	if len(merged) > maxSecondaryAddrs {
		merged = merged[:maxSecondaryAddrs]
	}
	if slices.Equal(merged, old) {
		return
	}
	st := p.st
	st.SecondaryAddrs = maps.Clone(st.SecondaryAddrs)
	if st.SecondaryAddrs == nil {
		st.SecondaryAddrs = map[string][]string{}
	}
	st.SecondaryAddrs[id] = merged
	if err := p.saveLocked(ctx, st); err != nil {
		p.log.Warn("replication: recording a secondary's addresses failed", "secondary", id, "error", err)
		return
	}
	p.st = st
}

// PrimaryPeers reads a primary's durable state from st: its epoch, the
// newer epoch it was fenced by (0: none), and the cluster addresses each
// known secondary announced. found is false when st holds no primary
// state.
func PrimaryPeers(ctx context.Context, st storage.Backend) (epoch, fencedBy uint64, addrs map[string][]string, found bool, err error) {
	var ps primaryState
	found, err = loadJSON(ctx, st, primaryKey, &ps)
	if err != nil || !found {
		return 0, 0, nil, found, err
	}
	addrs = map[string][]string{}
	for id, a := range ps.SecondaryAddrs {
		if _, known := ps.Secondaries[id]; known {
			addrs[id] = slices.Clone(a)
		}
	}
	return ps.Epoch, ps.FencedBy, addrs, true, nil
}

// ProbeEpoch asks the node at the other end of an authenticated
// replication connection (dial) for the newest replication epoch it
// knows: a promoted secondary answers its new epoch. id is the secondary
// ID the caller's certificate names. A node that serves no replication
// stream (a DR secondary's standby, a secondary not promoted) closes the
// connection: an error, which says nothing about the epoch.
func ProbeEpoch(ctx context.Context, dial func(ctx context.Context) (net.Conn, error), id string) (uint64, error) {
	conn, err := dial(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	_ = conn.SetDeadline(deadline)
	if err := writeFrame(conn, hello{Version: ProtocolVersion, ID: id, Probe: true}); err != nil {
		return 0, err
	}
	var b batch
	if err := readFrameMax(conn, &b, maxRequestFrame); err != nil {
		return 0, err
	}
	if b.Error != "" {
		return 0, fmt.Errorf("replication: epoch probe: %s", b.Error)
	}
	return b.Epoch, nil
}

func (p *Primary) sendBatch(ctx context.Context, conn net.Conn, epoch uint64, req pull) error {
	limit := min(max(req.Limit, 1), 4096)
	wait := min(time.Duration(req.WaitMillis)*time.Millisecond, p.cfg.MaxWait)
	deadline := time.Now().Add(wait)
	from := req.From
	for {
		changes, next, err := p.cfg.Source.Changes(from, limit)
		if errors.Is(err, ErrCompacted) {
			return send(conn, batch{Epoch: epoch, Next: req.From, Applied: p.cfg.Source.Applied(), Compacted: true})
		}
		if err != nil {
			_ = send(conn, batch{Epoch: epoch, Next: req.From, Error: "the primary cannot read its log"})
			return err
		}
		if len(changes) == 0 && time.Now().Before(deadline) {
			// Nothing new, or only non-storage entries (skipped): wait
			// from past them.
			from = next
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		b := batch{Epoch: epoch, Next: next, Applied: p.cfg.Source.Applied()}
		size := 0
		for _, c := range changes {
			for _, op := range c.Ops {
				size += len(op.Key) + len(op.Value)
			}
			// Stay well inside maxFrame (values grow by a third in JSON).
			if len(b.Changes) > 0 && size > maxFrame/4 {
				b.Next = c.Index
				break
			}
			b.Changes = append(b.Changes, change{Index: c.Index, Ops: c.Ops})
		}
		return send(conn, b)
	}
}

func (p *Primary) sendSnapshot(ctx context.Context, conn net.Conn, epoch uint64) error {
	rc, index, err := p.cfg.Source.Snapshot(ctx)
	if err != nil {
		_ = send(conn, batch{Epoch: epoch, Error: "the primary cannot take a snapshot"})
		return err
	}
	defer rc.Close()
	if err := send(conn, batch{Epoch: epoch, SnapIndex: index, Applied: p.cfg.Source.Applied()}); err != nil {
		return err
	}
	buf := make([]byte, snapChunk)
	sum := sha256.New()
	var size int64
	for {
		n, err := io.ReadFull(rc, buf)
		if n > 0 || err != nil {
			done := err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF)
			if err != nil && !done {
				_ = send(conn, batch{Epoch: epoch, Error: "the primary's snapshot failed"})
				return err
			}
			sum.Write(buf[:n])
			size += int64(n)
			b := batch{Epoch: epoch, SnapIndex: index, Chunk: buf[:n], SnapDone: done}
			if done {
				b.SnapSHA256, b.SnapSize = hex.EncodeToString(sum.Sum(nil)), size
			}
			if werr := send(conn, b); werr != nil {
				return werr
			}
			if done {
				return nil
			}
		}
	}
}
