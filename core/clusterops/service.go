// Package clusterops serves the raft operator endpoints under
// sys/storage/raft/ (configuration, remove-peer, snapshot save/restore,
// autopilot state and configuration) and runs autopilot on the active
// node. It owns the autopilot configuration behind the barrier
// (core/raft/autopilot/configuration) and the operator snapshot archive
// format.
//
// It reaches raft only through RaftOps, which it declares with the status
// types it needs, so neither it nor core imports raftstore. What a restore
// means for the node (step down, rotate, become active again) stays with
// core, which passes it in as Config.Restored.
//
// It also serves sys/ha-status and sys/step-down (HA), over functions core
// passes in.
//
// It imports storage, secrets, endpoint and core/internal/reqfield only.
package clusterops

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/vaultd/vaultd/core/internal/reqfield"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// RaftOps is what the sys/storage/raft operator endpoints and autopilot
// need from replicated storage. The composition root adapts
// *raftstore.Store to it. Nodes without it (storage/inmem, -dev) answer
// those paths with 404 "raft storage is not in use".
type RaftOps interface {
	// RaftStatus: the latest configuration with its index, the local log
	// position and, on the leader, heartbeat contact with every peer.
	RaftStatus(ctx context.Context) (Status, error)
	// RemoveServer removes a member from the configuration (leader only).
	RemoveServer(ctx context.Context, id string) error
	// SaveSnapshot streams the replicated state (ciphertexts only).
	SaveSnapshot(ctx context.Context, w io.Writer) error
	// RestoreSnapshot replaces the replicated state (leader only); the
	// stream is fully verified before anything is applied.
	RestoreSnapshot(ctx context.Context, r io.Reader) error
}

// Barrier is the part of the barrier clusterops needs: storage for the
// autopilot configuration and the keyring for the snapshot checksums.
type Barrier interface {
	storage.Backend
	Sealer
}

// Config configures a Service.
type Config struct {
	// NodeID is the local raft server ID (it may not remove itself).
	NodeID string
	// Barrier: the autopilot configuration lives behind it, and it seals
	// the snapshot checksums.
	Barrier Barrier
	// Ops is the raft storage; nil when raft is not in use.
	Ops RaftOps
	// Restored is called (in its own goroutine, with the request's
	// context) once a snapshot restore has been applied; core reloads.
	Restored func(ctx context.Context)
	// Inactive is returned for autopilot state on a node that is not
	// active (core's ErrStandby).
	Inactive error
	Logger   *slog.Logger
	// NodeVersions, when set, maps server IDs to the versions autopilot
	// state reports (the nodes' own records); unknown IDs report "".
	NodeVersions func(ctx context.Context) map[string]string
}

// Service is the node's cluster operations. Safe for concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	autopilot *autopilot      // non-nil while active with raft storage
	autoSnap  *autoSnapRunner // non-nil while active with raft storage

	autoOnce sync.Once
	autoEP   *endpoint.Backend
}

// New builds a Service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Inactive == nil {
		cfg.Inactive = errors.New("clusterops: this node is not active")
	}
	if cfg.Restored == nil {
		cfg.Restored = func(context.Context) {}
	}
	return &Service{cfg: cfg, log: cfg.Logger}
}

// Request is one sys/storage/raft/* request after core has checked the
// token, the ACL and sudo, and verified leadership for reads.
type Request struct {
	Operation secrets.Operation
	Path      string // the full request path ("sys/storage/raft/…")
	Data      map[string]any
	// Body is the raw request body (snapshot restore).
	Body io.Reader
}

// Response is the answer. RawBody (snapshot save) is sent as it is with
// ContentType; otherwise Data, or 204 when both are empty.
type Response struct {
	Data        map[string]any
	RawBody     io.Reader
	ContentType string
}

// PathPrefix is the sys path prefix the Service serves.
const PathPrefix = "sys/storage/raft/"

// IsPath reports whether path is one of the Service's endpoints.
func IsPath(path string) bool {
	switch strings.TrimPrefix(path, PathPrefix) {
	case "configuration", "remove-peer", "snapshot", "snapshot-force", "autopilot/state", "autopilot/configuration":
		return strings.HasPrefix(path, PathPrefix)
	}
	return false
}

func unsupportedOp() error {
	return secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
}

func badRequest(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

// Handle serves sys/storage/raft/* on the active node.
func (s *Service) Handle(ctx context.Context, req *Request) (*Response, error) {
	ops := s.cfg.Ops
	if ops == nil {
		return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "raft storage is not in use on this node")
	}
	op := req.Operation
	write := op == secrets.OpUpdate || op == secrets.OpCreate
	switch req.Path {
	case "sys/storage/raft/configuration":
		if op != secrets.OpRead {
			return nil, unsupportedOp()
		}
		return s.configuration(ctx, ops)
	case "sys/storage/raft/remove-peer":
		if !write {
			return nil, unsupportedOp()
		}
		return s.removePeer(ctx, ops, req.Data)
	case "sys/storage/raft/snapshot":
		switch {
		case op == secrets.OpRead:
			return s.snapshotSave(ctx, ops)
		case write:
			return s.snapshotRestore(ctx, ops, req, false)
		}
		return nil, unsupportedOp()
	case "sys/storage/raft/snapshot-force":
		if !write {
			return nil, unsupportedOp()
		}
		return s.snapshotRestore(ctx, ops, req, true)
	case "sys/storage/raft/autopilot/state":
		if op != secrets.OpRead {
			return nil, unsupportedOp()
		}
		return s.autopilotState(ctx)
	case "sys/storage/raft/autopilot/configuration":
		switch {
		case op == secrets.OpRead:
			cfg, err := s.loadAutopilotConfig(ctx)
			if err != nil {
				return nil, err
			}
			return &Response{Data: cfg.output()}, nil
		case write:
			return s.autopilotConfigure(ctx, req.Data)
		}
		return nil, unsupportedOp()
	}
	return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
}

func (s *Service) configuration(ctx context.Context, ops RaftOps) (*Response, error) {
	st, err := ops.RaftStatus(ctx)
	if err != nil {
		return nil, err
	}
	servers := make([]any, 0, len(st.Peers))
	for _, p := range st.Peers {
		servers = append(servers, map[string]any{
			"node_id": p.ID, "address": p.Address, "leader": p.Leader,
			"protocol_version": "3", "voter": p.Voter,
		})
	}
	return &Response{Data: map[string]any{"config": map[string]any{"index": st.Index, "servers": servers}}}, nil
}

func (s *Service) removePeer(ctx context.Context, ops RaftOps, d map[string]any) (*Response, error) {
	id, err := reqfield.String(d, "server_id")
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, badRequest("missing server_id")
	}
	if id == s.cfg.NodeID {
		return nil, badRequest("server %q is the active node; step it down (sys/step-down) and remove it from the new active node", id)
	}
	st, err := ops.RaftStatus(ctx)
	if err != nil {
		return nil, err
	}
	found := false
	for _, p := range st.Peers {
		found = found || p.ID == id
	}
	if !found {
		return nil, badRequest("no server with id %q in the raft configuration", id)
	}
	if err := ops.RemoveServer(ctx, id); err != nil {
		return nil, err
	}
	s.log.Info("removed raft peer", "server_id", id)
	return &Response{}, nil
}

// snapshotSave streams the archive: a goroutine writes it into a pipe that
// the response body reads, so a large state is never held in memory. The
// first bytes are awaited here, so a failure before the archive starts
// (not leader, storage closed) is still an error answer; a failure later
// truncates the stream, which the archive's checksums then reject. The
// request's context ending (client gone) unblocks the writer.
func (s *Service) snapshotSave(ctx context.Context, ops RaftOps) (*Response, error) {
	pr, pw := io.Pipe()
	go func() {
		_, err := writeSnapshotArchive(ctx, pw, ops, s.cfg.Barrier)
		pw.CloseWithError(err) // nil: EOF for the reader
	}()
	stop := context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
	br := bufio.NewReaderSize(pr, 64<<10)
	if _, err := br.Peek(1); err != nil {
		stop()
		pr.CloseWithError(err)
		return nil, err
	}
	return &Response{RawBody: br, ContentType: "application/octet-stream"}, nil
}

// snapshotRestore installs an operator snapshot. Without force, the
// archive's SHA256SUMS.sealed must open with this cluster's barrier keys
// (snapshot.go). After the restore core reloads (Config.Restored).
func (s *Service) snapshotRestore(ctx context.Context, ops RaftOps, req *Request, force bool) (*Response, error) {
	if req.Body == nil {
		return nil, badRequest("the snapshot must be the request body")
	}
	state, err := readSnapshotArchive(req.Body, s.cfg.Barrier, force)
	if err != nil {
		return nil, err
	}
	if err := ops.RestoreSnapshot(ctx, bytes.NewReader(state)); err != nil {
		return nil, fmt.Errorf("clusterops: restore snapshot: %w", err)
	}
	s.log.Warn("raft snapshot restored; reloading", "force", force, "bytes", len(state))
	go s.cfg.Restored(ctx)
	return &Response{}, nil
}
