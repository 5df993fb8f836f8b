package clusterops

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage/inmem"
)

type testBarrier struct {
	*inmem.Backend
	*gcmSealer
}

func autoReq(t *testing.T, s *Service, op secrets.Operation, path string, data map[string]any) (*secrets.Response, error) {
	t.Helper()
	return s.AutoSnapshotBackend().HandleRequest(context.Background(), &secrets.Request{Operation: op, Path: path, Data: data, MountPoint: "sys/"})
}

func waitFor(t *testing.T, what string, timeout time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAutoSnapshotConfigValidation(t *testing.T) {
	s := New(Config{NodeID: "n1", Barrier: testBarrier{inmem.New(), newGCMSealer(t)}, Ops: &fakeOps{state: []byte("x")}})
	dir := t.TempDir()
	const p = "storage/raft/snapshot-auto/config/daily"
	for _, tc := range []struct {
		data map[string]any
		want string
	}{
		{map[string]any{"interval": "1h", "path_prefix": dir, "storage_type": "aws-s3"}, `storage_type "aws-s3" is not supported`},
		{map[string]any{"interval": "1h", "path_prefix": dir}, "missing storage_type"},
		{map[string]any{"interval": "1h", "path_prefix": "rel/dir", "storage_type": "local"}, "absolute"},
		{map[string]any{"interval": "1h", "path_prefix": dir + "/../x", "storage_type": "local"}, "absolute"},
		{map[string]any{"path_prefix": dir, "storage_type": "local"}, "missing interval"},
		{map[string]any{"interval": "1h", "storage_type": "local"}, "missing path_prefix"},
		{map[string]any{"interval": "1h", "path_prefix": dir, "storage_type": "local", "retain": 0}, "retain"},
		{map[string]any{"interval": "1h", "path_prefix": dir, "storage_type": "local", "file_prefix": "../x"}, "file_prefix"},
		{map[string]any{"interval": "nope", "path_prefix": dir, "storage_type": "local"}, `field "interval"`},
	} {
		_, err := autoReq(t, s, secrets.OpUpdate, p, tc.data)
		if !errors.Is(err, secrets.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want a 400 with %q", tc.data, err, tc.want)
		}
	}
	if _, err := autoReq(t, s, secrets.OpRead, p, nil); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("read of a refused config: %v, want 404", err)
	}
	if _, err := autoReq(t, s, secrets.OpUpdate, p, map[string]any{"interval": 3600, "path_prefix": dir, "storage_type": "local", "retain": 3}); err != nil {
		t.Fatal(err)
	}
	r, err := autoReq(t, s, secrets.OpRead, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Data["interval"] != int64(3600) || r.Data["retain"] != 3 || r.Data["file_prefix"] != "vault-snapshot" || r.Data["path_prefix"] != dir {
		t.Fatalf("read: %v", r.Data)
	}
	// An update merges; storage_type cannot change.
	if _, err := autoReq(t, s, secrets.OpUpdate, p, map[string]any{"retain": 5}); err != nil {
		t.Fatal(err)
	}
	if r, _ := autoReq(t, s, secrets.OpRead, p, nil); r.Data["retain"] != 5 || r.Data["interval"] != int64(3600) {
		t.Fatalf("after merge: %v", r.Data)
	}
	if _, err := autoReq(t, s, secrets.OpUpdate, p, map[string]any{"storage_type": "google-gcs"}); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("changing storage_type: %v", err)
	}
	if r, err := autoReq(t, s, secrets.OpList, "storage/raft/snapshot-auto/config/", nil); err != nil || len(r.Data["keys"].([]any)) != 1 {
		t.Fatalf("list: %v %v", r, err)
	}
	if _, err := autoReq(t, s, secrets.OpDelete, p, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := autoReq(t, s, secrets.OpList, "storage/raft/snapshot-auto/config/", nil); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("list after delete: %v, want 404", err)
	}
	// Without raft storage the paths say so.
	s2 := New(Config{Barrier: testBarrier{inmem.New(), newGCMSealer(t)}})
	if _, err := autoReq(t, s2, secrets.OpRead, p, nil); !errors.Is(err, secrets.ErrUnsupportedPath) {
		t.Fatalf("no raft: %v", err)
	}
}

func TestAutoSnapshotRunsAndPrunes(t *testing.T) {
	ops := &fakeOps{state: []byte("VDSNAP-fake-state"), status: Status{Term: 4, AppliedIndex: 77}}
	s := New(Config{NodeID: "n1", Barrier: testBarrier{inmem.New(), newGCMSealer(t)}, Ops: ops})
	dir := filepath.Join(t.TempDir(), "snaps")
	// A file of another name in the directory is never pruned.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vault-snapshot-keep.snap"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := autoReq(t, s, secrets.OpUpdate, "storage/raft/snapshot-auto/config/fast", map[string]any{
		"interval": 1, "path_prefix": dir, "storage_type": "local", "retain": 2,
	}); err != nil {
		t.Fatal(err)
	}
	s.StartAutoSnapshots()
	defer s.StopAutoSnapshots()
	snaps := func() []localFile {
		f, _ := localSnapshots(autoSnapConfig{PathPrefix: dir, FilePrefix: "vault-snapshot"})
		return f
	}
	first := ""
	waitFor(t, "a third snapshot (and the first pruned)", 30*time.Second, func() bool {
		f := snaps()
		if len(f) > 0 && first == "" {
			first = f[0].name
		}
		if len(f) != 2 || f[0].name == first {
			return false
		}
		// The status is recorded after the pruning: wait for it too.
		r, err := autoReq(t, s, secrets.OpRead, "storage/raft/snapshot-auto/status/fast", nil)
		return err == nil && r.Data["last_snapshot_path"] == filepath.Join(dir, f[1].name)
	})
	s.StopAutoSnapshots()
	r, _ := autoReq(t, s, secrets.OpRead, "storage/raft/snapshot-auto/status/fast", nil)
	st := r.Data
	if st["consecutive_errors"] != 0 || st["last_snapshot_error"] != "" || st["last_snapshot_index"] != uint64(77) || st["last_snapshot_term"] != uint64(4) {
		t.Fatalf("status: %v", st)
	}
	files := snaps()
	if len(files) != 2 {
		t.Fatalf("retain 2: %v", files)
	}
	// Usually the newest; the older one if the stop came between a
	// snapshot's rename and its status (the status is then not written).
	last := -1
	for i, f := range files {
		if st["last_snapshot_path"] == filepath.Join(dir, f.name) {
			last = i
		}
	}
	if last < 0 {
		t.Fatalf("last path %v, files %v", st["last_snapshot_path"], files)
	}
	if _, err := os.Stat(filepath.Join(dir, "vault-snapshot-keep.snap")); err != nil {
		t.Fatalf("a foreign file was pruned: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, files[last].name))
	if err != nil {
		t.Fatal(err)
	}
	info, err := InspectArchive(bytes.NewReader(b))
	if err != nil || info.Index != 77 || info.Term != 4 || !bytes.Equal(info.State, ops.state) {
		t.Fatalf("inspect: %+v %v", info, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, files[last].name)); fi.Mode().Perm() != 0o600 || fi.Size() != st["last_snapshot_size"] {
		t.Fatalf("mode %v size %d, status %v", fi.Mode(), fi.Size(), st["last_snapshot_size"])
	}
	// No temporary file is left behind.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Fatalf("temporary file left: %s", e.Name())
		}
	}
}

func TestAutoSnapshotErrorsAndMaxSpace(t *testing.T) {
	ops := &fakeOps{state: bytes.Repeat([]byte("z"), 4096)}
	s := New(Config{NodeID: "n1", Barrier: testBarrier{inmem.New(), newGCMSealer(t)}, Ops: ops})
	dir := t.TempDir()
	if _, err := autoReq(t, s, secrets.OpUpdate, "storage/raft/snapshot-auto/config/tiny", map[string]any{
		"interval": "1s", "path_prefix": dir, "storage_type": "local", "local_max_space": 100,
	}); err != nil {
		t.Fatal(err)
	}
	s.StartAutoSnapshots()
	defer s.StopAutoSnapshots()
	waitFor(t, "two failed attempts", 30*time.Second, func() bool {
		r, err := autoReq(t, s, secrets.OpRead, "storage/raft/snapshot-auto/status/tiny", nil)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := r.Data["consecutive_errors"].(int)
		return n >= 2 && strings.Contains(r.Data["last_snapshot_error"].(string), "local_max_space")
	})
	s.StopAutoSnapshots()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Fatalf("files left after refused snapshots: %v", ents)
	}
}
