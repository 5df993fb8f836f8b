package clusterops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// Automated snapshots (sys/storage/raft/snapshot-auto/*), with the names
// Vault Enterprise gives them.
//
// A configuration (interval, retain, path_prefix, file_prefix,
// storage_type, local_max_space) is stored behind the barrier at
// core/raft/snapshot-auto/config/<name>; the status of its latest attempt
// at core/raft/snapshot-auto/status/<name>. Both replicate with raft, so a
// node that becomes active picks the schedules up where the old active left
// them (the next snapshot is due one interval after the last attempt).
//
// The scheduler runs on the active node only: an active hook starts it and
// the standby hook (step-down, seal) stops it, waiting for a snapshot in
// progress to be abandoned. Each snapshot is the same archive as
// GET sys/storage/raft/snapshot (snapshot.go: barrier ciphertexts, the raft
// index and term in meta.json, SHA-256 checksums of its parts, sealed
// checksums), written atomically: a temporary file in the target directory,
// fsync, rename to <file_prefix>-<UTC time>.snap, fsync of the directory.
// Afterwards the oldest files of that configuration beyond retain are
// removed. Only storage_type "local" exists: a directory on the active
// node's file system (so with more than one node, each node's directory
// holds the snapshots it took while it was active).
//
// Writing files where the server process can is a privilege: the config
// paths need sudo (core's sudoPaths), path_prefix must be absolute, and
// files are created 0600 in directories created 0700.

const (
	autoSnapConfigPrefix = "core/raft/snapshot-auto/config/"
	autoSnapStatusPrefix = "core/raft/snapshot-auto/status/"
	autoSnapMinInterval  = time.Second
	autoSnapMaxWait      = time.Minute
	autoSnapTimeFormat   = "20060102T150405.000000000Z"
	defaultFilePrefix    = "vault-snapshot"
)

var (
	autoSnapNameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	autoSnapPrefixRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
)

// autoSnapConfig is one schedule, stored as JSON behind the barrier.
type autoSnapConfig struct {
	Interval      time.Duration `json:"interval"`
	Retain        int           `json:"retain"`
	PathPrefix    string        `json:"path_prefix"`
	FilePrefix    string        `json:"file_prefix"`
	StorageType   string        `json:"storage_type"`
	LocalMaxSpace int64         `json:"local_max_space"`
	// Updated is when the configuration was last written: the first
	// snapshot is due one interval after it.
	Updated time.Time `json:"updated"`
}

func (c autoSnapConfig) output() map[string]any {
	return map[string]any{
		"interval": int64(c.Interval / time.Second), "retain": c.Retain, "path_prefix": c.PathPrefix,
		"file_prefix": c.FilePrefix, "storage_type": c.StorageType, "local_max_space": c.LocalMaxSpace,
	}
}

// autoSnapStatus is the outcome of a schedule's latest attempts.
type autoSnapStatus struct {
	LastStart         time.Time `json:"last_start"`         // latest attempt
	LastSuccessStart  time.Time `json:"last_success_start"` // latest good snapshot
	LastSuccessEnd    time.Time `json:"last_success_end"`   //
	LastPath          string    `json:"last_path"`          // file of the latest good snapshot
	LastSize          int64     `json:"last_size"`          // its size in bytes
	LastSHA256        string    `json:"last_sha256"`        // SHA-256 of the whole file
	LastIndex         uint64    `json:"last_index"`         // raft index it holds
	LastTerm          uint64    `json:"last_term"`          // raft term
	LastError         string    `json:"last_error"`         // error of the latest attempt, "" if it succeeded
	ConsecutiveErrors int       `json:"consecutive_errors"` //
	Node              string    `json:"node"`               // the node that made the latest attempt
}

func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (st autoSnapStatus) output(cfg autoSnapConfig) map[string]any {
	url := ""
	if st.LastPath != "" {
		url = "file://" + st.LastPath
	}
	return map[string]any{
		"consecutive_errors":   st.ConsecutiveErrors,
		"last_snapshot_start":  timeOrEmpty(st.LastSuccessStart),
		"last_snapshot_end":    timeOrEmpty(st.LastSuccessEnd),
		"last_snapshot_error":  st.LastError,
		"last_snapshot_url":    url,
		"last_snapshot_path":   st.LastPath,
		"last_snapshot_size":   st.LastSize,
		"last_snapshot_sha256": st.LastSHA256,
		"last_snapshot_index":  st.LastIndex,
		"last_snapshot_term":   st.LastTerm,
		"last_attempt_start":   timeOrEmpty(st.LastStart),
		"last_attempt_node":    st.Node,
		"next_snapshot_start":  timeOrEmpty(nextDue(cfg, st)),
	}
}

// nextDue is when the schedule's next snapshot is due.
func nextDue(cfg autoSnapConfig, st autoSnapStatus) time.Time {
	base := cfg.Updated
	if st.LastStart.After(base) {
		base = st.LastStart
	}
	return base.Add(cfg.Interval)
}

func checkAutoSnapName(name string) error {
	if !autoSnapNameRE.MatchString(name) {
		return badRequest("invalid snapshot configuration name: use letters, digits, '.', '_' and '-' (at most 128, starting with a letter or digit)")
	}
	return nil
}

// AutoSnapshotBackend declares the snapshot-auto endpoints relative to the
// sys/ mount. Core has checked the token, the ACL and sudo.
func (s *Service) AutoSnapshotBackend() *endpoint.Backend {
	s.autoOnce.Do(func() {
		name := &endpoint.Field{Type: endpoint.TypeString, Description: "Name of the automated snapshot configuration.", Required: true}
		s.autoEP = &endpoint.Backend{
			Help:            "Automated raft snapshots written by the active node.",
			StorageOptional: true,
			Paths: []*endpoint.Path{
				{
					Pattern: "storage/raft/snapshot-auto/config", Summary: "List the automated snapshot configurations.",
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpList: s.autoSnapList},
				},
				{
					Pattern: "storage/raft/snapshot-auto/config/{name}", Summary: "An automated snapshot configuration.",
					Fields: map[string]*endpoint.Field{
						"name":            name,
						"interval":        {Type: endpoint.TypeDurationSecond, Description: "Time between snapshots (at least 1s). Required on creation."},
						"retain":          {Type: endpoint.TypeInt, Description: "How many snapshots to keep; older ones are deleted (default 1)."},
						"path_prefix":     {Type: endpoint.TypeString, Description: "For storage_type local: the absolute directory the snapshots are written to. Required on creation."},
						"file_prefix":     {Type: endpoint.TypeString, Description: "Name prefix of the snapshot files (default vault-snapshot)."},
						"storage_type":    {Type: endpoint.TypeString, Description: "Where snapshots go: only \"local\" is supported. Required on creation."},
						"local_max_space": {Type: endpoint.TypeInt64, Description: "For local: the most bytes the retained snapshots of this configuration may use (0: no limit)."},
					},
					Operations: map[secrets.Operation]endpoint.Handler{
						secrets.OpRead: s.autoSnapRead, secrets.OpUpdate: s.autoSnapWrite, secrets.OpDelete: s.autoSnapDelete,
					},
					Exists: func(ctx context.Context, _ *secrets.Request, d *endpoint.Data) (bool, error) {
						_, ok, err := s.loadAutoSnapConfig(ctx, d.String("name"))
						return ok, err
					},
				},
				{
					Pattern: "storage/raft/snapshot-auto/status/{name}", Summary: "The outcome of an automated snapshot configuration's latest snapshots.",
					Fields:     map[string]*endpoint.Field{"name": name},
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: s.autoSnapStatusRead},
				},
			},
		}
	})
	return s.autoEP
}

// IsAutoSnapshotPath reports whether path (without a trailing slash) is
// served by AutoSnapshotBackend.
func IsAutoSnapshotPath(path string) bool {
	return strings.HasPrefix(path, "sys/storage/raft/snapshot-auto/")
}

func (s *Service) raftInUse() error {
	if s.cfg.Ops == nil {
		return secrets.Errorf(secrets.ErrUnsupportedPath, "raft storage is not in use on this node")
	}
	return nil
}

func (s *Service) loadAutoSnapConfig(ctx context.Context, name string) (autoSnapConfig, bool, error) {
	var cfg autoSnapConfig
	if err := checkAutoSnapName(name); err != nil {
		return cfg, false, err
	}
	e, err := s.cfg.Barrier.Get(ctx, autoSnapConfigPrefix+name)
	if errors.Is(err, storage.ErrNotFound) {
		return cfg, false, nil
	}
	if err != nil {
		return cfg, false, err
	}
	if err := json.Unmarshal(e.Value, &cfg); err != nil {
		return cfg, false, fmt.Errorf("clusterops: snapshot-auto configuration %q: %w", name, err)
	}
	return cfg, true, nil
}

func (s *Service) loadAutoSnapStatus(ctx context.Context, name string) (autoSnapStatus, error) {
	var st autoSnapStatus
	e, err := s.cfg.Barrier.Get(ctx, autoSnapStatusPrefix+name)
	if errors.Is(err, storage.ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(e.Value, &st); err != nil {
		return st, fmt.Errorf("clusterops: snapshot-auto status %q: %w", name, err)
	}
	return st, nil
}

func (s *Service) autoSnapList(ctx context.Context, _ *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
	if err := s.raftInUse(); err != nil {
		return nil, err
	}
	keys, err := s.cfg.Barrier.List(ctx, autoSnapConfigPrefix)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, secrets.Errorf(secrets.ErrNotFound, "no automated snapshot configurations")
	}
	out := make([]any, 0, len(keys))
	for _, k := range keys {
		out = append(out, k)
	}
	return &secrets.Response{Data: map[string]any{"keys": out}}, nil
}

func (s *Service) autoSnapRead(ctx context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	if err := s.raftInUse(); err != nil {
		return nil, err
	}
	cfg, ok, err := s.loadAutoSnapConfig(ctx, d.String("name"))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, secrets.Errorf(secrets.ErrNotFound, "no automated snapshot configuration %q", d.String("name"))
	}
	return &secrets.Response{Data: cfg.output()}, nil
}

func (s *Service) autoSnapStatusRead(ctx context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	if err := s.raftInUse(); err != nil {
		return nil, err
	}
	name := d.String("name")
	cfg, ok, err := s.loadAutoSnapConfig(ctx, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, secrets.Errorf(secrets.ErrNotFound, "no automated snapshot configuration %q", name)
	}
	st, err := s.loadAutoSnapStatus(ctx, name)
	if err != nil {
		return nil, err
	}
	return &secrets.Response{Data: st.output(cfg)}, nil
}

// autoSnapWrite creates or updates a configuration: the fields present
// replace the stored ones, and the result must be complete and valid.
func (s *Service) autoSnapWrite(ctx context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	if err := s.raftInUse(); err != nil {
		return nil, err
	}
	name := d.String("name")
	cfg, exists, err := s.loadAutoSnapConfig(ctx, name)
	if err != nil {
		return nil, err
	}
	if !exists {
		cfg = autoSnapConfig{Retain: 1, FilePrefix: defaultFilePrefix}
	}
	if d.Has("interval") {
		cfg.Interval = d.Duration("interval")
	}
	if d.Has("retain") {
		cfg.Retain = d.Int("retain")
	}
	if d.Has("path_prefix") {
		cfg.PathPrefix = d.String("path_prefix")
	}
	if d.Has("file_prefix") {
		cfg.FilePrefix = d.String("file_prefix")
	}
	if d.Has("storage_type") {
		t := d.String("storage_type")
		if exists && t != cfg.StorageType {
			return nil, badRequest("storage_type cannot be changed; delete the configuration and create it again")
		}
		cfg.StorageType = t
	}
	if d.Has("local_max_space") {
		cfg.LocalMaxSpace = d.Int64("local_max_space")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.Updated = time.Now().UTC()
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Barrier.Put(ctx, &storage.Entry{Key: autoSnapConfigPrefix + name, Value: b}); err != nil {
		return nil, err
	}
	s.log.Info("automated snapshot configuration written", "name", name, "interval", cfg.Interval, "retain", cfg.Retain, "path_prefix", cfg.PathPrefix)
	s.wakeAutoSnap()
	return nil, nil
}

func (c autoSnapConfig) validate() error {
	switch c.StorageType {
	case "local":
	case "":
		return badRequest("missing storage_type: only \"local\" is supported")
	case "aws-s3", "azure-blob", "google-gcs":
		return badRequest("storage_type %q is not supported by vaultd: only \"local\" is", c.StorageType)
	default:
		return badRequest("unknown storage_type %q: only \"local\" is supported", c.StorageType)
	}
	switch {
	case c.Interval == 0:
		return badRequest("missing interval")
	case c.Interval < autoSnapMinInterval:
		return badRequest("interval must be at least %s", autoSnapMinInterval)
	case c.Retain < 1:
		return badRequest("retain must be at least 1")
	case c.PathPrefix == "":
		return badRequest("missing path_prefix")
	case !filepath.IsAbs(c.PathPrefix) || filepath.Clean(c.PathPrefix) != c.PathPrefix:
		return badRequest("path_prefix must be an absolute, clean directory path for storage_type local")
	case !autoSnapPrefixRE.MatchString(c.FilePrefix):
		return badRequest("invalid file_prefix: use letters, digits, '.', '_' and '-'")
	case c.LocalMaxSpace < 0:
		return badRequest("local_max_space cannot be negative")
	}
	return nil
}

func (s *Service) autoSnapDelete(ctx context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	if err := s.raftInUse(); err != nil {
		return nil, err
	}
	name := d.String("name")
	if err := checkAutoSnapName(name); err != nil {
		return nil, err
	}
	if err := s.cfg.Barrier.Txn(ctx, []storage.Op{
		{Kind: storage.OpDelete, Key: autoSnapConfigPrefix + name},
		{Kind: storage.OpDelete, Key: autoSnapStatusPrefix + name},
	}); err != nil {
		return nil, err
	}
	s.wakeAutoSnap()
	return nil, nil
}

// autoSnapRunner is the scheduler loop of the active node.
type autoSnapRunner struct {
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{}
}

// StartAutoSnapshots starts the scheduler; core calls it when the node
// becomes active. A no-op without raft storage.
func (s *Service) StartAutoSnapshots() {
	if s.cfg.Ops == nil {
		return
	}
	s.StopAutoSnapshots()
	ctx, cancel := context.WithCancel(context.Background())
	r := &autoSnapRunner{cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	s.mu.Lock()
	s.autoSnap = r
	s.mu.Unlock()
	go s.runAutoSnapshots(ctx, r)
}

// StopAutoSnapshots stops the scheduler and waits for it (a snapshot in
// progress is abandoned: its temporary file is removed). Idempotent.
func (s *Service) StopAutoSnapshots() {
	s.mu.Lock()
	r := s.autoSnap
	s.autoSnap = nil
	s.mu.Unlock()
	if r != nil {
		r.cancel()
		<-r.done
	}
}

func (s *Service) wakeAutoSnap() {
	s.mu.Lock()
	r := s.autoSnap
	s.mu.Unlock()
	if r != nil {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

func (s *Service) runAutoSnapshots(ctx context.Context, r *autoSnapRunner) {
	defer close(r.done)
	for {
		wait := s.autoSnapPass(ctx)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// autoSnapPass takes every snapshot that is due and returns how long to
// wait for the next one.
func (s *Service) autoSnapPass(ctx context.Context) time.Duration {
	wait := autoSnapMaxWait
	names, err := s.cfg.Barrier.List(ctx, autoSnapConfigPrefix)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("listing automated snapshot configurations failed", "error", err)
		}
		return 5 * time.Second
	}
	for _, name := range names {
		if ctx.Err() != nil {
			return wait
		}
		cfg, ok, err := s.loadAutoSnapConfig(ctx, name)
		if err != nil || !ok {
			continue
		}
		st, err := s.loadAutoSnapStatus(ctx, name)
		if err != nil {
			continue
		}
		due := nextDue(cfg, st)
		if d := time.Until(due); d > 0 {
			wait = min(wait, d)
			continue
		}
		st = s.takeAutoSnapshot(ctx, name, cfg, st)
		if ctx.Err() != nil {
			return wait // stepped down mid-snapshot: the new active retries
		}
		if _, still, err := s.loadAutoSnapConfig(ctx, name); err != nil || !still {
			continue // deleted meanwhile: leave no status behind
		}
		if b, err := json.Marshal(st); err == nil {
			if err := s.cfg.Barrier.Put(ctx, &storage.Entry{Key: autoSnapStatusPrefix + name, Value: b}); err != nil && ctx.Err() == nil {
				s.log.Warn("recording the automated snapshot status failed", "name", name, "error", err)
			}
		}
		wait = min(wait, max(time.Until(nextDue(cfg, st)), 10*time.Millisecond))
	}
	return wait
}

// takeAutoSnapshot writes one snapshot of cfg and prunes old ones; it
// returns the updated status.
func (s *Service) takeAutoSnapshot(ctx context.Context, name string, cfg autoSnapConfig, st autoSnapStatus) autoSnapStatus {
	start := time.Now().UTC()
	st.LastStart = start
	st.Node = s.cfg.NodeID
	res, err := s.writeLocalSnapshot(ctx, cfg, start)
	if err != nil {
		st.LastError = err.Error()
		st.ConsecutiveErrors++
		if ctx.Err() == nil {
			s.log.Error("automated snapshot failed", "name", name, "error", err, "consecutive_errors", st.ConsecutiveErrors)
		}
		return st
	}
	st.LastError = ""
	st.ConsecutiveErrors = 0
	st.LastSuccessStart, st.LastSuccessEnd = start, time.Now().UTC()
	st.LastPath, st.LastSize, st.LastSHA256 = res.path, res.size, res.sha256
	st.LastIndex, st.LastTerm = res.meta.Index, res.meta.Term
	s.log.Info("automated snapshot written", "name", name, "path", res.path, "bytes", res.size, "index", res.meta.Index, "term", res.meta.Term)
	if err := pruneLocalSnapshots(cfg); err != nil {
		s.log.Warn("pruning old automated snapshots failed", "name", name, "error", err)
	}
	return st
}

type localSnapshot struct {
	path   string
	size   int64
	sha256 string
	meta   snapshotMetaJSON
}

// hashCountWriter writes through, hashing and counting.
type hashCountWriter struct {
	w io.Writer
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	n int64
}

func (w *hashCountWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// writeLocalSnapshot writes the archive atomically into cfg.PathPrefix.
func (s *Service) writeLocalSnapshot(ctx context.Context, cfg autoSnapConfig, at time.Time) (res localSnapshot, err error) {
	dir := cfg.PathPrefix
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return res, fmt.Errorf("creating the snapshot directory: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+cfg.FilePrefix+"-*.tmp")
	if err != nil {
		return res, fmt.Errorf("creating the snapshot file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	hw := &hashCountWriter{w: f, h: sha256.New()}
	meta, err := writeSnapshotArchive(ctx, hw, s.cfg.Ops, s.cfg.Barrier)
	if err != nil {
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if cfg.LocalMaxSpace > 0 {
		kept, err := localSnapshots(cfg)
		if err != nil {
			return res, err
		}
		total := hw.n
		// The new file plus the retain-1 newest existing ones stay.
		for i := len(kept) - 1; i >= 0 && i >= len(kept)-(cfg.Retain-1); i-- {
			total += kept[i].size
		}
		if total > cfg.LocalMaxSpace {
			return res, fmt.Errorf("the snapshot (%d bytes) does not fit in local_max_space (%d bytes) with the %d snapshot(s) retained", hw.n, cfg.LocalMaxSpace, cfg.Retain-1)
		}
	}
	if err := f.Sync(); err != nil {
		return res, fmt.Errorf("syncing the snapshot file: %w", err)
	}
	if err := f.Close(); err != nil {
		return res, fmt.Errorf("closing the snapshot file: %w", err)
	}
	final := filepath.Join(dir, cfg.FilePrefix+"-"+at.UTC().Format(autoSnapTimeFormat)+".snap")
	if err := os.Rename(tmp, final); err != nil {
		return res, fmt.Errorf("renaming the snapshot file: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return res, fmt.Errorf("syncing the snapshot directory: %w", err)
	}
	return localSnapshot{path: final, size: hw.n, sha256: hex.EncodeToString(hw.h.Sum(nil)), meta: meta}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

type localFile struct {
	name string
	size int64
}

// localSnapshots lists cfg's snapshot files, oldest first. Only names of
// exactly the form the scheduler writes count; nothing else in the
// directory is touched.
func localSnapshots(cfg autoSnapConfig) ([]localFile, error) {
	ents, err := os.ReadDir(cfg.PathPrefix)
	if err != nil {
		return nil, err
	}
	var out []localFile
	for _, e := range ents {
		n := e.Name()
		ts, ok := strings.CutPrefix(n, cfg.FilePrefix+"-")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		ts, ok = strings.CutSuffix(ts, ".snap")
		if !ok {
			continue
		}
		if _, err := time.Parse(autoSnapTimeFormat, ts); err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, localFile{name: n, size: info.Size()})
	}
	// The time format sorts lexically.
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// pruneLocalSnapshots removes the oldest snapshots beyond cfg.Retain.
func pruneLocalSnapshots(cfg autoSnapConfig) error {
	files, err := localSnapshots(cfg)
	if err != nil {
		return err
	}
	var errs []error
	for i := 0; i < len(files)-cfg.Retain; i++ {
		if err := os.Remove(filepath.Join(cfg.PathPrefix, files[i].name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return syncDir(cfg.PathPrefix)
}
