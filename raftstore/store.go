package raftstore

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
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"github.com/vaultd/vaultd/storage"
)

// Encryptor is what the leader's side of the join challenge needs: it
// encrypts a random challenge that only a node unsealed with the same keys
// can decrypt. *seal.Barrier satisfies it; raftstore never imports seal.
type Encryptor interface {
	// Encrypt seals plaintext bound to path (the AAD). No storage side effect.
	Encrypt(path string, plaintext []byte) ([]byte, error)
	// Decrypt opens a ciphertext made by Encrypt for the same path.
	Decrypt(path string, ciphertext []byte) ([]byte, error)
}

// Server is one member of the raft configuration.
type Server struct {
	ID, Address string
	Voter       bool // false for non-voters (e.g. a joining node being caught up)
	Leader      bool // as this node currently believes
}

// Store is a replicated storage.Backend on hashicorp/raft. It is safe for
// concurrent use.
type Store struct {
	cfg  Config
	log  *slog.Logger
	addr string // advertised raft address

	raft   *raft.Raft
	fsm    *fsm
	bolt   *raftboltdb.BoltStore // nil with InMemory
	logs   raft.LogStore
	stable raft.StableStore
	snaps  raft.SnapshotStore

	pump     *leadershipPump
	verifier *verifier
	// barrierTerm is the term in which a Barrier last completed on this
	// node: in that term its FSM holds everything earlier leaders
	// committed (ReadIndex, readindex.go).
	barrierTerm atomic.Uint64
	watch       *leaderWatch

	// lease serves reads on the leader without a quorum round (lease.go);
	// nil when the transport cannot be observed.
	lease     *lease
	leaseT    *leaseTransport // nil when the transport is not wrapped
	leaseKick chan struct{}
	leaseWG   sync.WaitGroup

	// logBytes and logEntries count the command entries written to this
	// node's log; tuneSnapshots derives the mean entry size from them.
	logBytes, logEntries atomic.Uint64
	snapThreshold        atomic.Uint64 // the SnapshotThreshold raft runs with now

	// Removed's cache (autopilot.go).
	removed   atomic.Bool
	removedAt atomic.Int64 // ns since born of the last check; 0: never
	born      time.Time    // monotonic origin for removedAt
	removedMu sync.Mutex
	metrics   Metrics // metrics.go

	closeOnce sync.Once
	closed    chan struct{} // closed by Close
	closeErr  error

	// diskFull is set while the log store's last write failed with ENOSPC
	// (raft flattens that error into text, so apply cannot see it).
	diskFull atomic.Bool
	// member caches the persisted memberKey flag (autopilot.go).
	member atomic.Bool
}

var _ storage.Backend = (*Store)(nil)

// Open opens (or creates) the node's raft state and starts raft: the bolt
// log and stable store DataDir/raft.db, file snapshots in DataDir/snapshots/
// and the transport. A node with existing state rejoins its cluster; a new
// node waits to be bootstrapped (Bootstrap) or added by a leader (AddVoter).
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "raftstore", "node_id", cfg.NodeID)
	s := &Store{cfg: cfg, log: logger, fsm: newFSM(), closed: make(chan struct{}), born: time.Now()}
	s.metrics = cfg.Metrics
	if s.metrics == nil {
		s.metrics = nopMetrics{}
	}
	s.fsm.metrics = s.metrics

	var undo []func()
	fail := func(err error) (*Store, error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return nil, err
	}

	if cfg.InMemory {
		st := raft.NewInmemStore()
		s.logs, s.stable, s.snaps = st, st, raft.NewInmemSnapshotStore()
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fail(fmt.Errorf("raftstore: open: %w", err))
		}
		if err := checkBoltFile(filepath.Join(cfg.DataDir, "raft.db")); err != nil {
			return fail(err) // integrity.go
		}
		if err := checkSnapshots(cfg.DataDir); err != nil {
			return fail(err)
		}
		bolt, err := raftboltdb.New(raftboltdb.Options{
			Path: filepath.Join(cfg.DataDir, "raft.db"),
			// Fail instead of hanging when another process holds the file.
			// The free-page list is not written in every commit (one page
			// write less per log batch, which grows with the free list
			// after log truncation); bolt rebuilds it by a scan at open.
			// A hashmap free list keeps allocation O(1) on large files.
			BoltOptions: &bbolt.Options{
				Timeout:        5 * time.Second,
				NoFreelistSync: true,
				FreelistType:   bbolt.FreelistMapType,
			},
		})
		if err != nil {
			return fail(fmt.Errorf("raftstore: open raft.db: %w", err))
		}
		undo = append(undo, func() { _ = bolt.Close() })
		snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, 2, newHCLogger(logger, "raft-snapshot"))
		if err != nil {
			return fail(fmt.Errorf("raftstore: open snapshots: %w", err))
		}
		s.bolt, s.logs, s.stable, s.snaps = bolt, chunkedTruncate{LogStore: bolt, pause: time.Millisecond}, bolt, snaps
	}
	s.lease = newLease(cfg.NodeID, cfg.heartbeatTimeout())
	s.leaseKick = make(chan struct{}, 1)
	watched := &configWatch{LogStore: &spaceWatch{LogStore: timedLogStore{LogStore: s.logs, m: s.metrics}, full: &s.diskFull}, lease: s.lease, // lease.go, integrity.go, metrics.go
		bytes: &s.logBytes, entries: &s.logEntries}
	cache, err := raft.NewLogCache(logCacheSize, watched)
	if err != nil {
		return fail(fmt.Errorf("raftstore: log cache: %w", err))
	}

	trans, err := newTransport(cfg, logger)
	if err != nil {
		return fail(fmt.Errorf("raftstore: transport: %w", err))
	}
	if c, ok := trans.(raft.WithClose); ok {
		undo = append(undo, func() { _ = c.Close() })
	}
	s.addr = string(trans.LocalAddr())
	if wrapped, ok := wrapTransport(trans, s.lease); ok {
		trans = wrapped
		s.leaseT, _ = wrapped.(*leaseTransport)
	} else {
		s.lease = nil
	}

	// A restarted node has forgotten the leader it last accepted and would
	// grant a vote at once; a leader may still hold a lease that counted on
	// this node's refusal. Wait out one HeartbeatTimeout (lease.go).
	if !cfg.InMemory {
		has, err := raft.HasExistingState(s.logs, s.stable, s.snaps)
		if err != nil {
			return fail(fmt.Errorf("raftstore: read state: %w", err))
		}
		if has {
			time.Sleep(cfg.heartbeatTimeout())
		}
	}

	s.pump = newLeadershipPump()
	undo = append(undo, s.pump.stop)
	rc := cfg.raftConfig(s.pump.in, logger)
	var logStore raft.LogStore = cache
	if s.bolt != nil { // replay committed entries at start (join_restore.go)
		logStore = &commitTracker{LogStore: cache, stable: s.stable, applied: func() uint64 { i, _ := s.fsm.applied(); return i }}
		rc.RestoreCommittedLogs = true
	}
	r, err := raft.NewRaft(rc, s.fsm, logStore, s.stable, s.snaps, trans)
	if err != nil {
		return fail(fmt.Errorf("raftstore: start raft: %w", err))
	}
	s.raft = r
	s.verifier = newVerifier(r.VerifyLeader, s.closed)
	s.watch = startLeaderWatch(r, logger, s.closed)
	s.leaseWG.Add(3)
	go s.keepLease()
	go s.watchMembership() // autopilot.go
	s.snapThreshold.Store(cfg.SnapshotThreshold)
	go s.tuneSnapshots() // snapshot.go
	logger.Info("raft started", "addr", s.addr, "in_memory", cfg.InMemory)
	return s, nil
}

// newTransport builds raft's transport: NetworkTransport over cfg.Stream,
// over TCP on cfg.BindAddr, or (InMemory without either) an in-memory one.
func newTransport(cfg Config, logger *slog.Logger) (raft.Transport, error) {
	netCfg := &raft.NetworkTransportConfig{
		MaxPool: 3,
		// I/O deadline for one RPC; InstallSnapshot scales it with size.
		Timeout: 10 * time.Second,
		Logger:  newHCLogger(logger, "raft-net"),
	}
	switch {
	case cfg.Stream != nil:
		stream := cfg.Stream
		if cfg.AdvertiseAddr != "" {
			stream = advertisedStream{StreamLayer: stream, addr: tcpAddrString(cfg.AdvertiseAddr)}
		}
		netCfg.Stream = stream
		return raft.NewNetworkTransportWithConfig(netCfg), nil
	case cfg.BindAddr != "":
		var adv net.Addr
		if cfg.AdvertiseAddr != "" {
			a, err := net.ResolveTCPAddr("tcp", cfg.AdvertiseAddr)
			if err != nil {
				return nil, fmt.Errorf("advertise address: %w", err)
			}
			adv = a
		}
		return raft.NewTCPTransportWithConfig(cfg.BindAddr, adv, netCfg)
	default:
		_, t := raft.NewInmemTransport(raft.ServerAddress("inmem:" + cfg.NodeID))
		return t, nil
	}
}

// advertisedStream reports AdvertiseAddr as the stream's address, which is
// what raft records as this node's address.
type advertisedStream struct {
	StreamLayer
	addr net.Addr
}

func (a advertisedStream) Addr() net.Addr { return a.addr }

type tcpAddrString string

func (a tcpAddrString) Network() string { return "tcp" }
func (a tcpAddrString) String() string  { return string(a) }

// Close shuts raft down gracefully (a leader stops replicating; followers
// elect a new leader), closes the transport and the bolt store, and closes
// LeadershipChanges. It is idempotent. Operations after Close return
// ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		var errs []error
		if err := s.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raftstore: shutdown: %w", err))
		}
		s.pump.stop()
		s.verifier.wait()
		s.leaseWG.Wait()
		s.watch.stop()
		if s.bolt != nil {
			if err := s.bolt.Close(); err != nil {
				errs = append(errs, fmt.Errorf("raftstore: close raft.db: %w", err))
			}
		}
		s.closeErr = errors.Join(errs...)
		s.log.Info("raft stopped")
	})
	return s.closeErr
}

func (s *Store) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// opCtx bounds ctx by ApplyTimeout and returns the remaining time, which is
// what raft's timeout-only API takes.
func (s *Store) opCtx(ctx context.Context) (context.Context, context.CancelFunc, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	dl, _ := ctx.Deadline()
	// raft reads a timeout <= 0 as "wait forever"; ctx still bounds the wait.
	return ctx, cancel, max(time.Until(dl), time.Millisecond)
}

// wait waits for a raft future, the context, or Close, whichever is first.
// raft never answers a future still queued in its buffered channels when it
// shuts down, so Close must be able to end the wait; the helper goroutine
// then stays parked on that dead future.
func (s *Store) wait(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		select {
		case err := <-done:
			return err
		default:
			return raft.ErrRaftShutdown
		}
	}
}

// mapErr turns raft's and the context's errors into this package's
// sentinels, keeping the original in the chain.
func mapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fmt.Errorf("raftstore: %s: %w: %w: %w", op, ErrNotLeader, storage.ErrUnavailable, err)
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("raftstore: %s: %w: %w", op, storage.ErrNoSpace, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("raftstore: %s: %w: %w: %w", op, ErrClosed, storage.ErrUnavailable, err)
	case errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("raftstore: %s: %w: %w: %w", op, ErrTimeout, storage.ErrUnavailable, err)
	default:
		return fmt.Errorf("raftstore: %s: %w", op, err)
	}
}

// apply proposes one command and waits until this node's FSM applied it.
// Success means raft committed it (a quorum has it in its log).
func (s *Store) apply(ctx context.Context, op string, ops []storage.Op) error {
	if s.isClosed() {
		return fmt.Errorf("raftstore: %s: %w", op, ErrClosed)
	}
	if err := validateOps(ops); err != nil {
		return fmt.Errorf("raftstore: %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return mapErr(op, err)
	}
	// The caller's deadline bounds only the enqueue: a command raft did not
	// take (ErrEnqueueTimeout) was never proposed.
	ctx, cancel, timeout := s.opCtx(ctx)
	defer cancel()
	start := time.Now()
	f := s.raft.Apply(encodeCommand(ops), timeout)
	// Once raft has the command it may commit whatever the caller's context
	// does, so its outcome is awaited past that context (bounded by
	// ApplyTimeout and Close). Returning early would let the caller release
	// its locks while the entry is in flight: the next read-modify-write of
	// the same key (kv's cas and version numbering) would read an FSM
	// without it, and its blind Txn would overwrite the entry once both
	// commit — the lost update the seed-7 linearizability soak found (a
	// client gone at SIGCONT of a frozen active cancelled the first write's
	// wait; a second write took version N again). raft resolves the future
	// when the entry is applied here, when this node stops being leader
	// (LeaderLeaseTimeout without a quorum) or on shutdown.
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ApplyTimeout)
	defer wcancel()
	if err := s.wait(wctx, f); err != nil {
		if s.diskFull.Load() {
			return fmt.Errorf("raftstore: %s: %w: %w", op, storage.ErrNoSpace, err)
		}
		return mapErr(op, err)
	}
	s.metrics.Commit(time.Since(start))
	res, ok := f.Response().(*applyResult)
	if !ok {
		return fmt.Errorf("raftstore: %s: unexpected FSM response %T", op, f.Response())
	}
	return res.Err
}

// Get implements storage.Backend from the local FSM. It does not check
// leadership: on the active node call VerifyLeader first for a
// linearizable read.
func (s *Store) Get(ctx context.Context, key string) (*storage.Entry, error) {
	if s.isClosed() {
		return nil, fmt.Errorf("raftstore: get: %w", ErrClosed)
	}
	if err := storage.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("raftstore: get %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v, ok := s.fsm.get(key)
	if !ok {
		return nil, storage.ErrNotFound
	}
	return &storage.Entry{Key: key, Value: v, Rev: storage.RevOf(v)}, nil
}

// List implements storage.Backend from the local FSM (see Get).
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	if s.isClosed() {
		return nil, fmt.Errorf("raftstore: list: %w", ErrClosed)
	}
	if err := storage.ValidatePrefix(prefix); err != nil {
		return nil, fmt.Errorf("raftstore: list %q: %w", prefix, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.fsm.list(prefix), nil
}

// Put implements storage.Backend through raft; ErrNotLeader on a follower.
func (s *Store) Put(ctx context.Context, e *storage.Entry) error {
	if e == nil {
		return fmt.Errorf("raftstore: put: %w: nil entry", ErrInvalidArgument)
	}
	return s.apply(ctx, "put", []storage.Op{{Kind: storage.OpPut, Key: e.Key, Value: e.Value}})
}

// Delete implements storage.Backend through raft; deleting an absent key
// succeeds.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.apply(ctx, "delete", []storage.Op{{Kind: storage.OpDelete, Key: key}})
}

// Txn implements storage.Backend: all ops go into one raft entry and are
// applied atomically on every node. Every op is validated first; one bad op
// fails the whole Txn before anything is proposed. An empty Txn is a no-op.
func (s *Store) Txn(ctx context.Context, ops []storage.Op) error {
	if len(ops) == 0 {
		if s.isClosed() {
			return fmt.Errorf("raftstore: txn: %w", ErrClosed)
		}
		return nil
	}
	return s.apply(ctx, "txn", ops)
}

// HasState reports whether raft has state on disk, i.e. this node was
// bootstrapped or joined a cluster before.
func (s *Store) HasState() (bool, error) {
	ok, err := raft.HasExistingState(s.logs, s.stable, s.snaps)
	if err != nil {
		return false, fmt.Errorf("raftstore: has state: %w", err)
	}
	return ok, nil
}

// Bootstrap makes this node a one-node cluster with itself as the only voter
// and waits until it has become leader (within ctx and ApplyTimeout).
// Other nodes then join through AddVoter on the leader. It returns
// ErrAlreadyBootstrapped if the node has raft state already.
func (s *Store) Bootstrap(ctx context.Context) error {
	if s.isClosed() {
		return fmt.Errorf("raftstore: bootstrap: %w", ErrClosed)
	}
	has, err := s.HasState()
	if err != nil {
		return err
	}
	if has {
		return fmt.Errorf("raftstore: bootstrap: %w", ErrAlreadyBootstrapped)
	}
	ctx, cancel, _ := s.opCtx(ctx)
	defer cancel()
	f := s.raft.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{
		Suffrage: raft.Voter,
		ID:       raft.ServerID(s.cfg.NodeID),
		Address:  raft.ServerAddress(s.addr),
	}}})
	if err := s.wait(ctx, f); err != nil {
		if errors.Is(err, raft.ErrCantBootstrap) {
			return fmt.Errorf("raftstore: bootstrap: %w: %w", ErrAlreadyBootstrapped, err)
		}
		return mapErr("bootstrap", err)
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !s.IsLeader() {
		select {
		case <-t.C:
		case <-ctx.Done():
			return mapErr("bootstrap: wait for leadership", ctx.Err())
		case <-s.closed:
			return fmt.Errorf("raftstore: bootstrap: %w", ErrClosed)
		}
	}
	s.log.Info("bootstrapped single-node cluster")
	return nil
}

// AddVoter adds (or promotes) a voting member; leader only. It returns once
// the configuration change is committed, not once the new node caught up.
func (s *Store) AddVoter(ctx context.Context, id, addr string) error {
	if id == "" || addr == "" {
		return fmt.Errorf("raftstore: add voter: %w: empty id or address", ErrInvalidArgument)
	}
	ctx, cancel, timeout := s.opCtx(ctx)
	defer cancel()
	return mapErr("add voter", s.wait(ctx, s.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, timeout)))
}

// RemoveServer removes a member; leader only. Removing an unknown ID is a
// no-op. A removed node shuts its raft down (its Store then returns
// ErrClosed).
func (s *Store) RemoveServer(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("raftstore: remove server: %w: empty id", ErrInvalidArgument)
	}
	ctx, cancel, timeout := s.opCtx(ctx)
	defer cancel()
	return mapErr("remove server", s.wait(ctx, s.raft.RemoveServer(raft.ServerID(id), 0, timeout)))
}

// Configuration returns the latest raft configuration this node knows
// (possibly not yet committed), sorted as raft keeps it.
func (s *Store) Configuration(ctx context.Context) ([]Server, error) {
	ctx, cancel, _ := s.opCtx(ctx)
	defer cancel()
	f := s.raft.GetConfiguration()
	if err := s.wait(ctx, f); err != nil {
		return nil, mapErr("configuration", err)
	}
	_, leaderID := s.raft.LeaderWithID()
	cfg := f.Configuration()
	out := make([]Server, 0, len(cfg.Servers))
	for _, srv := range cfg.Servers {
		out = append(out, Server{
			ID:      string(srv.ID),
			Address: string(srv.Address),
			Voter:   srv.Suffrage == raft.Voter,
			Leader:  leaderID != "" && srv.ID == leaderID,
		})
	}
	return out, nil
}

// SaveSnapshot writes an operator snapshot of this node's FSM to w: the
// snapshot stream (see snapshot.go: header with magic and format version,
// entries sorted by key, SHA-256 trailer). It holds ciphertexts only: it is
// taken below the barrier. Taken on the active node it contains every
// acknowledged write; on a follower it may lag.
func (s *Store) SaveSnapshot(ctx context.Context, w io.Writer) error {
	if s.isClosed() {
		return fmt.Errorf("raftstore: save snapshot: %w", ErrClosed)
	}
	snap := s.fsm.snapshot()
	if err := writeSnapshot(ctxWriter{ctx: ctx, w: w}, snap.meta, snap.tree); err != nil {
		return fmt.Errorf("raftstore: save snapshot: %w", err)
	}
	return nil
}

// SaveSnapshotSized is SaveSnapshot for a caller that must know the size
// of the stream before it starts (an archive header): start is called
// with the exact number of bytes that will be written, and returns the
// writer. Nothing is buffered, so a large state costs no extra memory.
func (s *Store) SaveSnapshotSized(ctx context.Context, start func(size int64) (io.Writer, error)) error {
	if s.isClosed() {
		return fmt.Errorf("raftstore: save snapshot: %w", ErrClosed)
	}
	snap := s.fsm.snapshot()
	w, err := start(snapshotSize(snap.tree))
	if err != nil {
		return err
	}
	if err := writeSnapshot(ctxWriter{ctx: ctx, w: w}, snap.meta, snap.tree); err != nil {
		return fmt.Errorf("raftstore: save snapshot: %w", err)
	}
	return nil
}

// RestoreSnapshot replaces the whole replicated state with a snapshot made
// by SaveSnapshot; leader only. The stream is read and verified completely
// (structure, key order, checksum) before anything is applied; a bad,
// truncated or unknown-version stream returns ErrBadSnapshot and leaves the
// data untouched. Applying goes through raft.Restore: the leader installs it
// and followers receive it by InstallSnapshot. Writes in flight at that
// moment fail. Bounded by ctx only (not ApplyTimeout): a large restore can
// take a while.
func (s *Store) RestoreSnapshot(ctx context.Context, r io.Reader) error {
	if s.isClosed() {
		return fmt.Errorf("raftstore: restore snapshot: %w", ErrClosed)
	}
	if !s.IsLeader() {
		return fmt.Errorf("raftstore: restore snapshot: %w", ErrNotLeader)
	}
	var (
		meta snapshotMeta
		body io.Reader
		size int64
		err  error
	)
	if rs, ok := r.(io.ReadSeeker); ok {
		// A file (a replication resync spool): verify it in one pass
		// without keeping it, then let raft read it again from the start;
		// the stream is never held in memory whole.
		start, err := rs.Seek(0, io.SeekCurrent)
		if err != nil {
			return fmt.Errorf("raftstore: restore snapshot: %w", err)
		}
		if meta, err = verifySnapshot(ctxReader{ctx: ctx, r: rs}); err != nil {
			return fmt.Errorf("raftstore: restore snapshot: %w", err)
		}
		var end int64
		if end, err = rs.Seek(0, io.SeekEnd); err == nil {
			size = end - start
			_, err = rs.Seek(start, io.SeekStart)
		}
		if err != nil {
			return fmt.Errorf("raftstore: restore snapshot: %w", err)
		}
		body = ctxReader{ctx: ctx, r: rs}
	} else {
		var buf bytes.Buffer
		if _, meta, err = readSnapshot(io.TeeReader(ctxReader{ctx: ctx, r: r}, &buf)); err != nil {
			return fmt.Errorf("raftstore: restore snapshot: %w", err)
		}
		body, size = &buf, int64(buf.Len())
	}
	rmeta := &raft.SnapshotMeta{
		Version: raft.SnapshotVersionMax,
		Index:   meta.Index,
		Term:    meta.Term,
		Size:    size,
	}
	done := make(chan error, 1)
	go func() { done <- s.raft.Restore(rmeta, body, s.cfg.ApplyTimeout) }()
	select {
	case err := <-done:
		if err != nil {
			return mapErr("restore snapshot", err)
		}
	case <-ctx.Done():
		return mapErr("restore snapshot", ctx.Err())
	case <-s.closed:
		return fmt.Errorf("raftstore: restore snapshot: %w", ErrClosed)
	}
	// The FSM now reports the snapshot's own (older) index, which followers
	// that have not installed the restore yet may already have passed: a
	// read index handed out now would let them answer with the state from
	// before the restore. Commit one entry after the restore so the applied
	// index moves past every follower's pre-restore index before the
	// restore is acknowledged (readindex.go). Deleting a key that is never
	// written changes nothing else.
	if err := s.apply(ctx, "restore snapshot", []storage.Op{{Kind: storage.OpDelete, Key: restoreMarkerKey}}); err != nil {
		return err
	}
	s.log.Info("restored operator snapshot", "keys", meta.Count, "bytes", size)
	return nil
}

// restoreMarkerKey is deleted right after an operator restore (above); no
// layer ever writes it.
const restoreMarkerKey = "core/raft/restore-marker"

// ctxWriter and ctxReader stop a snapshot stream when ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// LocalID is this node's raft server ID.
func (s *Store) LocalID() string { return s.cfg.NodeID }

// Addr is the raft address peers dial (the advertised address; with
// BindAddr port 0, the port actually bound). Pass it to AddVoter.
func (s *Store) Addr() string { return s.addr }

// Leader returns the current leader as this node knows it; empty if none.
func (s *Store) Leader() (id, addr string) {
	a, i := s.raft.LeaderWithID()
	return string(i), string(a)
}

// IsLeader reports whether this node currently believes it is the leader.
// That belief can be stale; VerifyLeader confirms it with a quorum.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }

// LeadershipChanges delivers every leadership transition of this node, in
// order: true when it became leader, false when it stopped being leader. It
// is fed from raft.Config.NotifyCh through an unbounded queue, so raft never
// blocks on a slow consumer and nothing is dropped. There must be exactly
// one consumer (core's loop). On true, the consumer should run Barrier
// before serving. The channel is closed by Close (treat that as false).
func (s *Store) LeadershipChanges() <-chan bool { return s.pump.out }

// Barrier blocks until this node's FSM has applied every entry committed
// before the call; leader only. A new leader runs it before serving, so its
// reads include everything earlier leaders acknowledged.
func (s *Store) Barrier(ctx context.Context) error {
	ctx, cancel, timeout := s.opCtx(ctx)
	defer cancel()
	term := s.raft.CurrentTerm()
	err := mapErr("barrier", s.wait(ctx, s.raft.Barrier(timeout)))
	if err == nil {
		s.barrierTerm.Store(term) // readindex.go
	}
	return err
}

// VerifyLeader confirms that this node is still the leader, so that a read
// from its FSM that follows is linearizable. While the leader lease holds
// (lease.go: a quorum accepted this leader's heartbeats recently enough
// that no other node can have been elected) it returns at once; otherwise
// it runs the quorum check (VerifyLeaderRound). ErrNotLeader when the
// check fails.
func (s *Store) VerifyLeader(ctx context.Context) error {
	if s.isClosed() {
		return fmt.Errorf("raftstore: verify leader: %w", ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.leaseValid() {
		s.lease.hits.Add(1)
		return nil
	}
	if s.lease != nil {
		s.lease.misses.Add(1)
		select { // a new term: let the keeper confirm the voters now
		case s.leaseKick <- struct{}{}:
		default:
		}
	}
	return s.VerifyLeaderRound(ctx)
}

// VerifyLeaderRound confirms with a quorum that this node is still the
// leader, ignoring the lease. Calls are coalesced: each caller joins the
// next raft VerifyLeader round that starts after it called (never one
// already in flight), so one quorum round serves many concurrent reads and
// a deposed leader never passes. ErrNotLeader when the check fails.
func (s *Store) VerifyLeaderRound(ctx context.Context) error {
	if s.isClosed() {
		return fmt.Errorf("raftstore: verify leader: %w", ErrClosed)
	}
	ctx, cancel, _ := s.opCtx(ctx)
	defer cancel()
	return mapErr("verify leader", s.verifier.verify(ctx))
}

// StepDownHold is how long a node that handed leadership off
// (TransferLeadership) sends no pre-vote or vote request of its own, so it
// cannot take leadership back at once; it keeps voting for others.
const StepDownHold = 10 * time.Second

// TransferLeadership hands leadership to the most up-to-date voter and
// waits for the transfer; leader only. After a successful transfer this
// node does not campaign for StepDownHold.
//
// The target's election is flagged as a transfer, which followers grant
// although they still have this leader, so the lease is held off from
// before the request until raft has finished the attempt (raft bounds it
// by ElectionTimeout), even if ctx ends first.
func (s *Store) TransferLeadership(ctx context.Context) error {
	ctx, cancel, _ := s.opCtx(ctx)
	defer cancel()
	if s.lease != nil {
		s.lease.hold.Add(1)
	}
	f := s.raft.LeadershipTransfer()
	done := make(chan error, 1)
	go func() { // raft futures must not be waited on twice
		err := f.Error()
		if err == nil && s.leaseT != nil {
			// raft alone lets this node win the next election at once (a
			// new leader that loses its quorum under load leaves this
			// node, whose log is as long as anyone's, the favourite): it
			// does not campaign for StepDownHold, as Vault's active waits
			// before it contends for the lock again. It still votes. Set
			// here, not in the caller, so a caller gone first still gets
			// it.
			s.leaseT.holdCampaigns(StepDownHold)
		}
		if s.lease != nil {
			s.lease.hold.Add(-1)
		}
		done <- err
	}()
	select {
	case err := <-done:
		return mapErr("transfer leadership", err)
	case <-ctx.Done():
		return mapErr("transfer leadership", ctx.Err())
	case <-s.closed:
		return fmt.Errorf("raftstore: transfer leadership: %w", ErrClosed)
	}
}

// Indexes returns the index of the last entry this node's FSM applied and
// raft's commit index on this node; committed - applied is the node's
// apply lag (the readiness check's raft_lag). raft's own AppliedIndex is
// not used: raft advances it when it hands entries to the FSM, before
// they are applied, so a stalled FSM would show no lag.
func (s *Store) Indexes() (applied, committed uint64) {
	applied, _ = s.fsm.applied()
	return applied, s.raft.CommitIndex()
}

// PauseApplyForTesting stops this node's FSM from applying entries until
// resume is called (which is idempotent): raft keeps replicating and
// committing, so the node's apply lag grows. For tests and fault drills
// only; a paused leader cannot acknowledge writes, and Close waits for
// the FSM, so call resume before it.
func (s *Store) PauseApplyForTesting() (resume func()) {
	ch := make(chan struct{})
	s.fsm.paused.Store(&ch)
	var once sync.Once
	return func() {
		once.Do(func() {
			s.fsm.paused.Store(nil)
			close(ch)
		})
	}
}

// Term is this node's current raft term.
func (s *Store) Term() uint64 { return s.raft.CurrentTerm() }

// Stats returns raft's stats plus the Store's own: fsm_keys, fsm_index
// (last log applied to the FSM), fsm_apply_batches and fsm_apply_entries
// (ApplyBatch calls and the logs they carried: their ratio is the mean
// write batch size), and verify_leader_rounds (raft VerifyLeader rounds
// started; with coalescing this grows slower than VerifyLeader calls).
func (s *Store) Stats() map[string]string {
	m := s.raft.Stats()
	idx, _ := s.fsm.applied()
	m["fsm_keys"] = strconv.Itoa(s.fsm.size())
	m["fsm_index"] = strconv.FormatUint(idx, 10)
	m["fsm_apply_batches"] = strconv.FormatUint(s.fsm.batches.Load(), 10)
	m["fsm_apply_entries"] = strconv.FormatUint(s.fsm.entries.Load(), 10)
	m["verify_leader_rounds"] = strconv.FormatUint(s.verifier.rounds.Load(), 10)
	m["fsm_bytes"] = strconv.FormatInt(s.fsm.bytes.Load(), 10)
	m["snapshot_threshold_effective"] = strconv.FormatUint(s.snapThreshold.Load(), 10)
	if s.lease != nil {
		m["lease_reads"] = strconv.FormatUint(s.lease.hits.Load(), 10)
		m["lease_misses"] = strconv.FormatUint(s.lease.misses.Load(), 10)
	}
	return m
}

// Raft is an escape hatch to the underlying *raft.Raft for operational code
// that raftstore does not wrap yet (autopilot, observers, forced snapshots
// in tests). Do not Shutdown it or Apply raw commands through it: commands
// must be encoded by this package, and Close owns the lifecycle.
func (s *Store) Raft() *raft.Raft { return s.raft }
