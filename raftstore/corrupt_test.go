package raftstore_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/raftstore"
	"github.com/vaultd/vaultd/storage"
)

// prepareDir leaves a closed single-node store in dir with a snapshot and
// log entries after it, and returns its config.
func prepareDir(t *testing.T, dir string) raftstore.Config {
	t.Helper()
	cfg := nodeConfig(t, "n1", dir)
	ctx := ctxTimeout(t, 30*time.Second)
	s := openStore(t, cfg)
	if err := s.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	waitLeader(t, 10*time.Second, s)
	for i := range 40 {
		if err := s.Put(ctx, &storage.Entry{Key: fmt.Sprint("k", i), Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
		if i == 20 {
			if err := s.Raft().Snapshot().Error(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.BindAddr = s.Addr()
	return cfg
}

// A torn or corrupted raft.db or snapshot makes Open fail with
// ErrCorrupt, naming the file and the way out, never a crash (bbolt
// faults on some corrupted pages) and never a node serving partial data.
// An unfinished snapshot left by a crash (*.tmp) is ignored.
func TestOpen_CorruptedState(t *testing.T) {
	for _, kind := range []string{"db-garbage", "db-truncated", "db-zero-head", "snap-flip", "snap-truncated", "snap-meta", "snap-tmp-leftover"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			cfg := prepareDir(t, dir)
			db := filepath.Join(dir, "raft.db")
			snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*", "state.bin"))
			metas, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*", "meta.json"))
			if len(snaps) == 0 || len(metas) == 0 {
				t.Fatal("no snapshot was written")
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			file := db
			switch kind {
			case "db-garbage":
				b, err := os.ReadFile(db)
				must(err)
				for i := 4096 * 2; i < len(b); i += 97 {
					b[i] ^= 0xff
				}
				must(os.WriteFile(db, b, 0o600))
			case "db-truncated":
				st, err := os.Stat(db)
				must(err)
				must(os.Truncate(db, st.Size()/3))
			case "db-zero-head":
				b, err := os.ReadFile(db)
				must(err)
				clear(b[:8192])
				must(os.WriteFile(db, b, 0o600))
			case "snap-flip":
				b, err := os.ReadFile(snaps[0])
				must(err)
				b[len(b)/2] ^= 0xff
				must(os.WriteFile(snaps[0], b, 0o600))
				file = snaps[0]
			case "snap-truncated":
				st, err := os.Stat(snaps[0])
				must(err)
				must(os.Truncate(snaps[0], st.Size()/2))
				file = snaps[0]
			case "snap-meta":
				must(os.WriteFile(metas[0], []byte("{"), 0o600))
				file = metas[0]
			case "snap-tmp-leftover":
				tmp := filepath.Join(dir, "snapshots", "9-99-1.tmp")
				must(os.MkdirAll(tmp, 0o700))
				must(os.WriteFile(filepath.Join(tmp, "state.bin"), []byte("half a snapshot"), 0o600))
				s := openStore(t, cfg)
				waitLeader(t, 10*time.Second, s)
				if err := s.Barrier(ctxTimeout(t, 10*time.Second)); err != nil {
					t.Fatal(err)
				}
				for i := range 40 {
					if _, err := s.Get(ctxTimeout(t, 5*time.Second), fmt.Sprint("k", i)); err != nil {
						t.Fatalf("k%d after restart with a leftover unfinished snapshot: %v", i, err)
					}
				}
				return
			}
			s, err := raftstore.Open(cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded on corrupted state")
			}
			if !errors.Is(err, raftstore.ErrCorrupt) || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "remove-peer") {
				t.Fatalf("Open error %q: want ErrCorrupt naming %s and the way out", err, file)
			}
		})
	}
}
