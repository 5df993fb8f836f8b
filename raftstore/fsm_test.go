package raftstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"

	"github.com/vaultd/vaultd/storage"
)

func put(k, v string) storage.Op { return storage.Op{Kind: storage.OpPut, Key: k, Value: []byte(v)} }
func del(k string) storage.Op    { return storage.Op{Kind: storage.OpDelete, Key: k} }

// cmdLog builds a LogCommand entry. Index and term are filled by feed.
func cmdLog(ops ...storage.Op) *raft.Log {
	return &raft.Log{Type: raft.LogCommand, Data: encodeCommand(ops)}
}

// rawLog is a LogCommand with hand-made bytes.
func rawLog(data []byte) *raft.Log { return &raft.Log{Type: raft.LogCommand, Data: data} }

// dump returns the FSM's contents.
func dump(f *fsm) map[string]string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	m := map[string]string{}
	f.tree.Ascend(func(it item) bool {
		m[it.key] = string(it.value)
		return true
	})
	return m
}

// feed numbers the logs from 1 and applies them one batch per inner slice.
func feed(f *fsm, batches ...[]*raft.Log) []any {
	var out []any
	idx := uint64(0)
	for _, b := range batches {
		for _, l := range b {
			idx++
			l.Index, l.Term = idx, 1
		}
		if len(b) == 1 {
			out = append(out, f.Apply(b[0]))
			continue
		}
		out = append(out, f.ApplyBatch(b)...)
	}
	return out
}

func TestFSM_Apply(t *testing.T) {
	tests := []struct {
		name    string
		batches [][]*raft.Log
		want    map[string]string
		errs    []bool // per log: is the applyResult an error
	}{
		{
			name:    "put",
			batches: [][]*raft.Log{{cmdLog(put("a", "1"))}},
			want:    map[string]string{"a": "1"},
			errs:    []bool{false},
		},
		{
			name:    "overwrite",
			batches: [][]*raft.Log{{cmdLog(put("a", "1"))}, {cmdLog(put("a", "2"))}},
			want:    map[string]string{"a": "2"},
			errs:    []bool{false, false},
		},
		{
			name:    "delete and delete missing",
			batches: [][]*raft.Log{{cmdLog(put("a", "1"), put("b", "2"))}, {cmdLog(del("a"))}, {cmdLog(del("zzz"))}},
			want:    map[string]string{"b": "2"},
			errs:    []bool{false, false, false},
		},
		{
			name:    "txn applies in order",
			batches: [][]*raft.Log{{cmdLog(put("a", "1"), del("a"), put("b", "x"), put("b", "y"))}},
			want:    map[string]string{"b": "y"},
			errs:    []bool{false},
		},
		{
			name: "invalid key rejects whole txn deterministically",
			batches: [][]*raft.Log{
				{cmdLog(put("keep", "1"))},
				{cmdLog(put("t/1", "x"), del("keep"), put("../escape", "x"))},
			},
			want: map[string]string{"keep": "1"},
			errs: []bool{false, true},
		},
		{
			name: "batch mixes commands, rejections and configuration",
			batches: [][]*raft.Log{{
				cmdLog(put("a", "1")),
				{Type: raft.LogConfiguration},
				cmdLog(put("//bad", "1")),
				cmdLog(put("c", "3"), del("a")),
			}},
			want: map[string]string{"c": "3"},
			errs: []bool{false, false, true, false},
		},
		{
			name:    "ignorable marker is skipped",
			batches: [][]*raft.Log{{rawLog([]byte{1, 2, 1, 1, 'k', 1, 'v', 0x81, 1, 'm', 1, 'x'})}},
			want:    map[string]string{"k": "v"},
			errs:    []bool{false},
		},
		{
			name:    "empty txn",
			batches: [][]*raft.Log{{cmdLog()}},
			want:    map[string]string{},
			errs:    []bool{false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFSM()
			res := feed(f, tt.batches...)
			if len(res) != len(tt.errs) {
				t.Fatalf("got %d results, want %d", len(res), len(tt.errs))
			}
			for i, r := range res {
				ar, isCmd := r.(*applyResult)
				if !isCmd {
					if r != nil || tt.errs[i] {
						t.Fatalf("result %d = %#v, want *applyResult", i, r)
					}
					continue
				}
				if (ar.Err != nil) != tt.errs[i] {
					t.Fatalf("result %d err = %v, want error: %v", i, ar.Err, tt.errs[i])
				}
				if ar.Err != nil && !errors.Is(ar.Err, storage.ErrInvalidKey) {
					t.Fatalf("result %d err = %v, want ErrInvalidKey", i, ar.Err)
				}
			}
			if diff := cmp.Diff(tt.want, dump(f)); diff != "" {
				t.Fatalf("state (-want +got):\n%s", diff)
			}
			var n uint64
			for _, b := range tt.batches {
				n += uint64(len(b))
			}
			if idx, _ := f.applied(); idx != n {
				t.Fatalf("applied index = %d, want %d", idx, n)
			}
		})
	}
}

func TestFSM_ValueCopied(t *testing.T) {
	f := newFSM()
	l := cmdLog(put("k", "value"))
	feed(f, []*raft.Log{l})
	for i := range l.Data {
		l.Data[i] = 'X' // the log buffer may be reused by raft
	}
	v, ok := f.get("k")
	if !ok || string(v) != "value" {
		t.Fatalf("get = %q, %v; want value", v, ok)
	}
	v[0] = 'Y' // callers may mutate what they get
	if v2, _ := f.get("k"); string(v2) != "value" {
		t.Fatalf("get after caller mutation = %q", v2)
	}
}

func TestFSM_UnknownCommandPanics(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"unknown version", []byte{9, 0}},
		{"unknown kind", []byte{1, 1, 7, 1, 'k', 0}},
		{"truncated", encodeCommand([]storage.Op{put("key", "value")})[:5]},
		{"empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFSM()
			feed(f, []*raft.Log{cmdLog(put("before", "1"))})
			func() {
				defer func() {
					r := recover()
					if r == nil {
						t.Fatal("Apply did not panic")
					}
					if !strings.Contains(fmt.Sprint(r), "cannot apply raft log") {
						t.Fatalf("panic = %v", r)
					}
				}()
				f.ApplyBatch([]*raft.Log{cmdLog(put("x", "1")), {Index: 3, Term: 1, Type: raft.LogCommand, Data: tt.data}})
			}()
			// The panic happens before any entry of the batch is applied.
			if diff := cmp.Diff(map[string]string{"before": "1"}, dump(f)); diff != "" {
				t.Fatalf("state after panic (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFSM_List(t *testing.T) {
	f := newFSM()
	var ops []storage.Op
	for _, k := range []string{"a", "a-c", "a/b", "a/d/e", "a/d/f", "a.x", "foo", "foo/bar", "foo/baz/qux", "fop", "zed/1"} {
		ops = append(ops, put(k, k))
	}
	feed(f, []*raft.Log{cmdLog(ops...)})
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a", "a-c", "a.x", "a/", "foo", "foo/", "fop", "zed/"}},
		{"a/", []string{"b", "d/"}},
		{"a/d/", []string{"e", "f"}},
		{"foo/", []string{"bar", "baz/"}},
		{"nothing/", []string{}},
		{"zed/", []string{"1"}},
	}
	for _, tt := range tests {
		got := f.list(tt.prefix)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("list(%q) (-want +got):\n%s", tt.prefix, diff)
		}
		// Same answer as the reference implementation.
		var keys []string
		for k := range dump(f) {
			if strings.HasPrefix(k, tt.prefix) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		if diff := cmp.Diff(storage.ListChildren(tt.prefix, keys), got); diff != "" {
			t.Errorf("list(%q) differs from storage.ListChildren (-ref +got):\n%s", tt.prefix, diff)
		}
	}
}

// memSink is a raft.SnapshotSink in memory.
type memSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Close() error  { s.closed = true; return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }

func TestFSM_SnapshotRestoreRoundTrip(t *testing.T) {
	src := newFSM()
	var ops []storage.Op
	for i := 0; i < 500; i++ {
		ops = append(ops, put(fmt.Sprintf("k/%03d", i), strings.Repeat("v", i)))
	}
	feed(src, []*raft.Log{cmdLog(ops...)}, []*raft.Log{cmdLog(del("k/007"), put("bin", "\x00\xff"))})

	snap, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Writes after the snapshot do not leak into it (copy-on-write).
	feed(src, []*raft.Log{cmdLog(put("late", "1"), del("k/001"))})

	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatalf("Persist: %v", err)
	}
	snap.Release()
	if !sink.closed || sink.cancelled {
		t.Fatalf("sink closed=%v cancelled=%v", sink.closed, sink.cancelled)
	}

	dst := newFSM()
	feed(dst, []*raft.Log{cmdLog(put("stale", "gone after restore"))})
	if err := dst.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	want := dump(src)
	delete(want, "late")
	want["k/001"] = strings.Repeat("v", 1)
	if diff := cmp.Diff(want, dump(dst)); diff != "" {
		t.Fatalf("restored state (-want +got):\n%s", diff)
	}
	if idx, term := dst.applied(); idx != 2 || term != 1 {
		t.Fatalf("restored applied = %d/%d, want 2/1", idx, term)
	}
}

func TestFSM_RestoreBadStreamLeavesState(t *testing.T) {
	f := newFSM()
	feed(f, []*raft.Log{cmdLog(put("keep", "1"))})
	good := snapshotBytes(t, map[string]string{"other": "x"}, 1, 1)
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 0xff
	err := f.Restore(io.NopCloser(bytes.NewReader(bad)))
	if !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("Restore(bad checksum) = %v, want ErrBadSnapshot", err)
	}
	if diff := cmp.Diff(map[string]string{"keep": "1"}, dump(f)); diff != "" {
		t.Fatalf("state after failed restore (-want +got):\n%s", diff)
	}
}
