package raftstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
	"go.etcd.io/bbolt"
)

// ErrCorrupt: a file of the node's raft state is damaged (torn write, disk
// corruption, a truncated copy). The node refuses to start rather than
// serve partial data; the message names the file and the way out.
var ErrCorrupt = errors.New("raftstore: raft state is corrupted")

// recoveryHint is what an operator can do about a corrupted node.
const recoveryHint = "this node cannot start from it. If the other nodes are healthy, remove this node from the cluster " +
	"(vaultd operator raft remove-peer <node-id>), move its data directory aside and start it empty so it rejoins (retry_join) " +
	"and receives the data from the leader; if it was the last copy, restore the latest snapshot into a new cluster " +
	"(vaultd operator raft snapshot restore)"

// checkBoltFile reads every page of the bolt file at path that the raft
// log and stable store can reach, in this goroutine: bbolt panics on some
// corrupted pages, and a panic in a later raft goroutine would crash the
// node with an unhelpful trace (or, worse, after it started serving).
// A missing file is fine (a new node).
func checkBoltFile(path string) (err error) {
	if _, statErr := os.Stat(path); errors.Is(statErr, os.ErrNotExist) {
		return nil
	}
	corrupt := func(detail any) error {
		return fmt.Errorf("%w: %s: %v; %s", ErrCorrupt, path, detail, recoveryHint)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		if errors.Is(err, bbolt.ErrTimeout) {
			return fmt.Errorf("raftstore: %s is locked by another process (is another vaultd running on this data directory?)", path)
		}
		return corrupt(err)
	}
	defer db.Close()
	// bbolt reads pages through mmap: a corrupted page offset faults
	// (SIGSEGV), which SetPanicOnFault turns into a recoverable panic in
	// this goroutine.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = corrupt(fmt.Sprintf("reading it failed (%v)", r))
		}
	}()
	return db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			return walkBucket(b)
		})
	})
}

func walkBucket(b *bbolt.Bucket) error {
	var sink int
	err := b.ForEach(func(k, v []byte) error {
		if v == nil { // a nested bucket
			if nb := b.Bucket(k); nb != nil {
				return walkBucket(nb)
			}
			return nil
		}
		sink += len(k) + len(v)
		if len(v) > 0 {
			sink += int(v[0]) + int(v[len(v)-1]) // touch the value's page
		}
		return nil
	})
	_ = sink
	return err
}

// checkSnapshots verifies every finished snapshot in dir/snapshots: its
// meta.json parses and its state.bin has the size and CRC-64 the meta
// records. raft would otherwise skip a snapshot whose meta is unreadable
// (and could then start from a compacted log: partial data) or fail with
// "failed to load any existing snapshots" without naming the file.
// Unfinished snapshots (*.tmp, left by a crash while one was written) are
// ignored, as raft ignores them.
func checkSnapshots(dir string) error {
	root := filepath.Join(dir, "snapshots")
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("raftstore: reading %s: %w", root, err)
	}
	for _, e := range ents {
		if !e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		if err := checkSnapshot(filepath.Join(root, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func checkSnapshot(path string) error {
	metaPath, statePath := filepath.Join(path, "meta.json"), filepath.Join(path, "state.bin")
	corrupt := func(file string, detail any) error {
		return fmt.Errorf("%w: snapshot file %s: %v; %s", ErrCorrupt, file, detail, recoveryHint)
	}
	raw, err := os.ReadFile(metaPath)
	if err != nil {
		return corrupt(metaPath, err)
	}
	var meta struct {
		Size int64
		CRC  []byte
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return corrupt(metaPath, fmt.Errorf("unreadable metadata: %v", err))
	}
	f, err := os.Open(statePath)
	if err != nil {
		return corrupt(statePath, err)
	}
	defer f.Close()
	h := crc64.New(crc64.MakeTable(crc64.ECMA))
	n, err := io.Copy(h, f)
	if err != nil {
		return corrupt(statePath, err)
	}
	if n != meta.Size {
		return corrupt(statePath, fmt.Sprintf("%d bytes, the snapshot's metadata says %d (torn or truncated)", n, meta.Size))
	}
	if !bytes.Equal(h.Sum(nil), meta.CRC) {
		return corrupt(statePath, "checksum mismatch")
	}
	return nil
}

// spaceWatch records whether the log store's last write ran out of disk
// space, so a failed Apply can say "disk full" (storage.ErrNoSpace, 507)
// instead of raft's flattened error text.
type spaceWatch struct {
	raft.LogStore
	full *atomic.Bool
}

func (w *spaceWatch) note(err error) error {
	w.full.Store(errors.Is(err, syscall.ENOSPC))
	return err
}

func (w *spaceWatch) StoreLog(l *raft.Log) error { return w.note(w.LogStore.StoreLog(l)) }

func (w *spaceWatch) StoreLogs(ls []*raft.Log) error { return w.note(w.LogStore.StoreLogs(ls)) }
