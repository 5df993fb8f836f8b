package raftstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vaultd/vaultd/storage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenOps is the Txn pinned by testdata/command-v1.bin.
var goldenOps = []storage.Op{
	{Kind: storage.OpPut, Key: "core/keyring", Value: []byte{0x00, 0x01, 0x02, 0xff}},
	{Kind: storage.OpDelete, Key: "logical/9f3e/secret/old"},
	{Kind: storage.OpPut, Key: "a", Value: []byte{}},
	{Kind: storage.OpPut, Key: "sys/token/id/h", Value: bytes.Repeat([]byte{0xab}, 200)},
}

// goldenOpsV2 is the conditional Txn pinned by testdata/command-v2.bin:
// a check for a revision, a check for absence, and writes.
var goldenOpsV2 = []storage.Op{
	storage.CheckRev("logical/9f3e/metadata/k", storage.RevOf([]byte("stored ciphertext"))),
	storage.CheckRev("logical/9f3e/metadata/new", storage.Rev{}),
	{Kind: storage.OpPut, Key: "logical/9f3e/metadata/k", Value: []byte{0x01, 0x02}},
	{Kind: storage.OpDelete, Key: "logical/9f3e/versions/x/1"},
}

// checkGolden compares got with testdata/name, rewriting it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: encoding changed (a format change needs a new version):\ngot  %x\nwant %x", name, got, want)
	}
}

func normalize(ops []storage.Op) []storage.Op {
	out := make([]storage.Op, len(ops))
	for i, op := range ops {
		out[i] = op
		if op.Kind == storage.OpDelete || len(op.Value) == 0 {
			out[i].Value = nil
		}
	}
	return out
}

func TestCommand_Golden(t *testing.T) {
	enc := encodeCommand(goldenOps)
	checkGolden(t, "command-v1.bin", enc)

	data, err := os.ReadFile(filepath.Join("testdata", "command-v1.bin"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeCommand(data)
	if err != nil {
		t.Fatalf("decode golden: %v", err)
	}
	if diff := cmp.Diff(normalize(goldenOps), normalize(got)); diff != "" {
		t.Fatalf("decode golden (-want +got):\n%s", diff)
	}
}

// TestCommand_GoldenV2: the conditional Txn format is pinned too, a Txn
// without checks still encodes as version 1 (what older nodes read), and
// version 1 entries keep decoding (TestCommand_Golden).
func TestCommand_GoldenV2(t *testing.T) {
	enc := encodeCommand(goldenOpsV2)
	if enc[0] != commandVersion2 {
		t.Fatalf("a Txn with checks encodes as version %d, want 2", enc[0])
	}
	checkGolden(t, "command-v2.bin", enc)
	data, err := os.ReadFile(filepath.Join("testdata", "command-v2.bin"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeCommand(data)
	if err != nil {
		t.Fatalf("decode golden v2: %v", err)
	}
	if diff := cmp.Diff(normalize(goldenOpsV2), normalize(got)); diff != "" {
		t.Fatalf("decode golden v2 (-want +got):\n%s", diff)
	}
	if v := encodeCommand(goldenOps)[0]; v != commandVersion1 {
		t.Fatalf("a Txn without checks encodes as version %d, want 1", v)
	}
}

func TestCommand_RoundTrip(t *testing.T) {
	tests := []struct {
		name string
		ops  []storage.Op
	}{
		{"empty txn", nil},
		{"single put", []storage.Op{{Kind: storage.OpPut, Key: "k", Value: []byte("v")}}},
		{"single delete", []storage.Op{{Kind: storage.OpDelete, Key: "k"}}},
		{"delete drops value", []storage.Op{{Kind: storage.OpDelete, Key: "k", Value: []byte("ignored")}}},
		{"long value", []storage.Op{{Kind: storage.OpPut, Key: "big", Value: bytes.Repeat([]byte("x"), 70000)}}},
		{"golden", goldenOps},
		{"golden v2", goldenOpsV2},
		{"check only", []storage.Op{storage.CheckRev("k", storage.Rev{})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeCommand(encodeCommand(tt.ops))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if diff := cmp.Diff(normalize(tt.ops), normalize(got)); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCommand_DecodeErrors(t *testing.T) {
	valid := encodeCommand([]storage.Op{{Kind: storage.OpPut, Key: "k", Value: []byte("v")}})
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{3}, valid[1:]...)},
		{"version zero", append([]byte{0}, valid[1:]...)},
		{"missing count", []byte{1}},
		{"count overflows data", []byte{1, 5, 1, 0, 0}},
		{"huge count", append([]byte{1}, binary.AppendUvarint(nil, 1<<62)...)},
		{"truncated key", valid[:4]},
		{"truncated value", valid[:len(valid)-1]},
		{"trailing bytes", append(append([]byte(nil), valid...), 0)},
		{"unknown kind", []byte{1, 1, 4, 1, 'k', 0}},
		{"check in version 1", []byte{1, 1, 3, 1, 'k', 0}},
		{"check of a bad length", []byte{2, 1, 3, 1, 'k', 1, 'x'}},
		{"unknown kind in version 2", []byte{2, 1, 4, 1, 'k', 0}},
		{"kind zero", []byte{1, 1, 0, 1, 'k', 0}},
		{"delete with value", []byte{1, 1, 2, 1, 'k', 1, 'v'}},
		{"bad varint", []byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := decodeCommand(tt.data)
			if !errors.Is(err, errBadCommand) {
				t.Fatalf("decodeCommand(%x) = %v, %v; want errBadCommand", tt.data, ops, err)
			}
		})
	}
}

func TestCommand_IgnorableKindSkipped(t *testing.T) {
	// put k=v, then an ignorable marker 0x81 with key "m" and value "x".
	data := []byte{1, 2, 1, 1, 'k', 1, 'v', 0x81, 1, 'm', 1, 'x'}
	ops, err := decodeCommand(data)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := []storage.Op{{Kind: storage.OpPut, Key: "k", Value: []byte("v")}}
	if diff := cmp.Diff(want, ops); diff != "" {
		t.Fatalf("ops (-want +got):\n%s", diff)
	}
}

func TestValidateOps(t *testing.T) {
	tests := []struct {
		name string
		op   storage.Op
		want error
	}{
		{"ok put", storage.Op{Kind: storage.OpPut, Key: "a/b"}, nil},
		{"ok delete", storage.Op{Kind: storage.OpDelete, Key: "a"}, nil},
		{"empty key", storage.Op{Kind: storage.OpPut, Key: ""}, storage.ErrInvalidKey},
		{"dotdot", storage.Op{Kind: storage.OpPut, Key: "a/../b"}, storage.ErrInvalidKey},
		{"leading slash", storage.Op{Kind: storage.OpDelete, Key: "/a"}, storage.ErrInvalidKey},
		{"unknown kind", storage.Op{Kind: 9, Key: "a"}, ErrInvalidArgument},
		{"ok check absent", storage.CheckRev("a", storage.Rev{}), nil},
		{"ok check rev", storage.CheckRev("a", storage.RevOf([]byte("v"))), nil},
		{"short check", storage.Op{Kind: storage.OpCheck, Key: "a", Value: []byte("v")}, ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateOps([]storage.Op{tt.op})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("validateOps(%+v) = %v, want %v", tt.op, err, tt.want)
			}
		})
	}
}

// FuzzDecodeCommand: the decoder never panics, and whatever it accepts
// re-encodes to something that decodes to the same ops.
func FuzzDecodeCommand(f *testing.F) {
	f.Add(encodeCommand(goldenOps))
	f.Add(encodeCommand(nil))
	f.Add([]byte{1, 2, 1, 1, 'k', 1, 'v', 0x81, 1, 'm', 1, 'x'})
	f.Add([]byte{1, 1, 3, 1, 'k', 0})
	f.Add([]byte{2})
	f.Add(encodeCommand(goldenOpsV2))
	if data, err := os.ReadFile(filepath.Join("testdata", "command-v1.bin")); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ops, err := decodeCommand(data)
		if err != nil {
			if !errors.Is(err, errBadCommand) {
				t.Fatalf("error %v does not wrap errBadCommand", err)
			}
			return
		}
		again, err := decodeCommand(encodeCommand(ops))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if diff := cmp.Diff(normalize(ops), normalize(again)); diff != "" {
			t.Fatalf("re-encode round trip (-first +second):\n%s", diff)
		}
	})
}
