package raftstore

import (
	"bytes"
	"testing"

	"github.com/hashicorp/raft"
)

func TestSnapshotThresholdFor(t *testing.T) {
	for _, c := range []struct {
		name                 string
		base                 uint64
		state                int64
		logBytes, logEntries uint64
		want                 uint64
	}{
		{"no writes yet", 8192, 1 << 30, 0, 0, 8192},
		{"too few entries to judge", 8192, 1 << 30, 1000, 10, 8192},
		{"small state keeps the base", 8192, 10 << 20, 2000 * 1000, 1000, 8192},
		// 1 GiB of state, 2 KB entries: 2^30 / 4000 = 268435 entries.
		{"large state raises it", 8192, 1 << 30, 2000 * 1000, 1000, (1 << 30) / 4000},
		{"empty state", 8192, 0, 2000, 100, 8192},
	} {
		if got := snapshotThresholdFor(c.base, c.state, c.logBytes, c.logEntries); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
}

// TestFSM_ByteAccounting: the state size follows puts, overwrites,
// deletes and restores exactly.
func TestFSM_ByteAccounting(t *testing.T) {
	f := newFSM()
	feed(f, []*raft.Log{cmdLog(put("a", "1234"), put("bb", "12"))})
	if got := f.bytes.Load(); got != 1+4+2+2 {
		t.Fatalf("after two puts: %d bytes, want 9", got)
	}
	feed(f, []*raft.Log{cmdLog(put("a", "1"), del("bb"), del("absent"))})
	if got := f.bytes.Load(); got != 2 {
		t.Fatalf("after overwrite and deletes: %d bytes, want 2", got)
	}
	feed(f, []*raft.Log{cmdLog(put("k/x", "vvvv"))})
	var buf bytes.Buffer
	snap := f.snapshot()
	if err := writeSnapshot(&buf, snap.meta, snap.tree); err != nil {
		t.Fatal(err)
	}
	g := newFSM()
	if err := g.Restore(nopCloser{&buf}); err != nil {
		t.Fatal(err)
	}
	if got, want := g.bytes.Load(), f.bytes.Load(); got != want || want != 2+7 {
		t.Fatalf("restored %d bytes, original %d, want 9", got, want)
	}
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }
