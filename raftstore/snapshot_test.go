package raftstore

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// snapshotBytes encodes m as a snapshot stream.
func snapshotBytes(t testing.TB, m map[string]string, index, term uint64) []byte {
	t.Helper()
	tree := newTree()
	for k, v := range m {
		tree.ReplaceOrInsert(item{key: k, value: []byte(v)})
	}
	var buf bytes.Buffer
	if err := writeSnapshot(&buf, snapshotMeta{Index: index, Term: term}, tree); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func treeMap(t testing.TB, r io.Reader) (map[string]string, snapshotMeta, error) {
	t.Helper()
	tree, meta, err := readSnapshot(r)
	if err != nil {
		return nil, meta, err
	}
	m := map[string]string{}
	tree.Ascend(func(it item) bool {
		m[it.key] = string(it.value)
		return true
	})
	return m, meta, nil
}

var goldenSnapshot = map[string]string{
	"core/keyring":       "\x00\x00\x00\x01\x02ciphertext",
	"core/seal-config":   `{"secret_shares":5,"secret_threshold":3}`,
	"logical/abc/foo":    strings.Repeat("z", 300),
	"sys/policy/default": "",
}

// withChecksum recomputes the trailer, so a test can corrupt the body and
// still reach the check it targets.
func withChecksum(body []byte) []byte {
	sum := sha256.Sum256(body)
	return append(append([]byte(nil), body...), sum[:]...)
}

// snapshotFixtures are the golden valid stream and the negative fixtures
// derived from it; -update rewrites them all in testdata/.
func snapshotFixtures(t *testing.T) map[string][]byte {
	good := snapshotBytes(t, goldenSnapshot, 42, 3)
	body := good[:len(good)-sha256.Size]

	badSum := append([]byte(nil), good...)
	badSum[len(badSum)-1] ^= 0x01

	badVersion := append([]byte(nil), body...)
	badVersion[len(snapshotMagic)] = 2

	return map[string][]byte{
		"snapshot-v1.bin":         good,
		"snapshot-truncated.bin":  good[:len(good)/2],
		"snapshot-badsum.bin":     badSum,
		"snapshot-badversion.bin": withChecksum(badVersion),
	}
}

func TestSnapshot_Golden(t *testing.T) {
	fx := snapshotFixtures(t)
	for name, data := range fx {
		checkGolden(t, name, data)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "snapshot-v1.bin"))
	if err != nil {
		t.Fatal(err)
	}
	got, meta, err := treeMap(t, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read golden: %v", err)
	}
	if diff := cmp.Diff(goldenSnapshot, got); diff != "" {
		t.Fatalf("golden contents (-want +got):\n%s", diff)
	}
	if meta != (snapshotMeta{Index: 42, Term: 3, Count: uint64(len(goldenSnapshot))}) {
		t.Fatalf("golden meta = %+v", meta)
	}
}

func TestSnapshot_NegativeFixtures(t *testing.T) {
	for _, name := range []string{"snapshot-truncated.bin", "snapshot-badsum.bin", "snapshot-badversion.bin"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := readSnapshot(bytes.NewReader(data)); !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("readSnapshot(%s) = %v, want ErrBadSnapshot", name, err)
			}
		})
	}
}

func TestSnapshot_Invalid(t *testing.T) {
	good := snapshotBytes(t, map[string]string{"a": "1", "b": "2"}, 7, 2)
	body := good[:len(good)-sha256.Size]
	hdr := snapshotHdrLen

	mutate := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), body...))
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short header", good[:10]},
		{"bad magic", withChecksum(mutate(func(b []byte) []byte { b[0] = 'X'; return b }))},
		{"wrong version", withChecksum(mutate(func(b []byte) []byte { b[len(snapshotMagic)] = 9; return b }))},
		{"count larger than entries", withChecksum(mutate(func(b []byte) []byte { b[hdr-1] = 3; return b }))},
		{"count smaller than entries", withChecksum(mutate(func(b []byte) []byte { b[hdr-1] = 1; return b }))},
		// Entries are "a"→"1", "b"→"2": swap the keys to break the order.
		{"keys out of order", withChecksum(mutate(func(b []byte) []byte { b[hdr+1], b[hdr+5] = 'b', 'a'; return b }))},
		{"duplicate keys", withChecksum(mutate(func(b []byte) []byte { b[hdr+5] = 'a'; return b }))},
		{"invalid key", withChecksum(mutate(func(b []byte) []byte { b[hdr+1] = '/'; return b }))},
		{"checksum flipped", append(append([]byte(nil), body...), bytes.Repeat([]byte{0}, sha256.Size)...)},
		{"missing checksum", body},
		{"truncated checksum", good[:len(good)-1]},
		{"trailing data", append(append([]byte(nil), good...), 0)},
		{"huge length", withChecksum(append(append([]byte(nil), body[:hdr]...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f))},
		{"overlong varint", withChecksum(append(append([]byte(nil), body[:hdr]...), bytes.Repeat([]byte{0xff}, 11)...))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := readSnapshot(bytes.NewReader(tt.data)); !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("readSnapshot = %v, want ErrBadSnapshot", err)
			}
		})
	}
	// Every strict prefix of a valid stream is rejected.
	for n := 0; n < len(good); n++ {
		if _, _, err := readSnapshot(bytes.NewReader(good[:n])); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("readSnapshot(prefix %d/%d) = %v, want ErrBadSnapshot", n, len(good), err)
		}
	}
}

func TestSnapshot_ReaderErrorPassesThrough(t *testing.T) {
	boom := errors.New("disk on fire")
	good := snapshotBytes(t, map[string]string{"a": "1"}, 1, 1)
	r := io.MultiReader(bytes.NewReader(good[:snapshotHdrLen+2]), iotest.ErrReader(boom))
	if _, _, err := readSnapshot(r); !errors.Is(err, boom) {
		t.Fatalf("readSnapshot = %v, want the reader's error", err)
	}
}

func TestSnapshot_RoundTripLarge(t *testing.T) {
	m := map[string]string{}
	for i := 0; i < 2000; i++ {
		m[fmt.Sprintf("logical/%04d/%d", i%37, i)] = strings.Repeat(string(rune('a'+i%26)), i%97)
	}
	m["big"] = strings.Repeat("B", 200_000) // larger than smallField
	data := snapshotBytes(t, m, 99, 5)
	// One byte at a time exercises every buffer boundary.
	got, meta, err := treeMap(t, iotest.OneByteReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatalf("readSnapshot: %v", err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	if meta.Index != 99 || meta.Term != 5 || meta.Count != uint64(len(m)) {
		t.Fatalf("meta = %+v", meta)
	}
}

// FuzzReadSnapshot: the snapshot parser never panics, only accepts streams
// whose re-encoding is byte-identical, and reports rejections as
// ErrBadSnapshot.
func FuzzReadSnapshot(f *testing.F) {
	f.Add(snapshotBytes(f, map[string]string{"a": "1", "b/c": "2"}, 1, 1))
	f.Add(snapshotBytes(f, nil, 0, 0))
	for _, name := range []string{"snapshot-v1.bin", "snapshot-truncated.bin", "snapshot-badsum.bin", "snapshot-badversion.bin"} {
		if data, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, meta, err := readSnapshot(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("error %v is not ErrBadSnapshot", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := writeSnapshot(&buf, meta, tree); err != nil {
			t.Fatal(err)
		}
		// Non-minimal varints are accepted but re-encode shorter; anything
		// else must be byte-identical.
		if buf.Len() == len(data) && !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("accepted stream does not re-encode identically")
		}
	})
}
