package raftstore

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/google/btree"

	"github.com/vaultd/vaultd/storage"
)

// Snapshot stream format, version 1. It is both the raft FSM snapshot (what
// raft persists for log compaction and sends to lagging followers) and the
// operator snapshot (SaveSnapshot / RestoreSnapshot):
//
//	magic "VDSNAP" | version u8 | index u64 BE | term u64 BE | count u64 BE
//	{ klen uvarint | key | vlen uvarint | value } * count   (strictly ascending keys)
//	sha256[32] of every byte before it
//
// index/term are those of the last raft command applied to the state; they
// are informational (raft keeps its own snapshot metadata). Values are the
// ciphertexts written by the barrier: a snapshot never holds plaintext.
const (
	snapshotMagic    = "VDSNAP"
	snapshotVersion1 = 1
	snapshotHdrLen   = len(snapshotMagic) + 1 + 8 + 8 + 8

	// smallField is the size up to which a field is allocated in one go;
	// longer fields grow as their bytes actually arrive, so a corrupted
	// length cannot force a huge allocation before the checksum is checked.
	smallField = 64 << 10
)

// snapshotMeta is the header of a snapshot stream.
type snapshotMeta struct {
	Index, Term, Count uint64
}

// item is one FSM entry. value is never mutated after insertion.
type item struct {
	key   string
	value []byte
}

func itemLess(a, b item) bool { return a.key < b.key }

// btreeDegree: 32 keeps nodes around a few cache lines of pointers.
const btreeDegree = 32

func newTree() *btree.BTreeG[item] { return btree.NewG(btreeDegree, itemLess) }

// writeSnapshot streams tree (which the caller must not mutate meanwhile, e.g.
// an immutable clone) to w in the format above.
func writeSnapshot(w io.Writer, meta snapshotMeta, tree *btree.BTreeG[item]) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	h := sha256.New()
	mw := io.MultiWriter(bw, h)

	var hdr [snapshotHdrLen]byte
	copy(hdr[:], snapshotMagic)
	hdr[len(snapshotMagic)] = snapshotVersion1
	o := len(snapshotMagic) + 1
	binary.BigEndian.PutUint64(hdr[o:], meta.Index)
	binary.BigEndian.PutUint64(hdr[o+8:], meta.Term)
	binary.BigEndian.PutUint64(hdr[o+16:], uint64(tree.Len()))
	if _, err := mw.Write(hdr[:]); err != nil {
		return err
	}
	var werr error
	var lenBuf [binary.MaxVarintLen64]byte
	tree.Ascend(func(it item) bool {
		n := binary.PutUvarint(lenBuf[:], uint64(len(it.key)))
		if _, werr = mw.Write(lenBuf[:n]); werr != nil {
			return false
		}
		if _, werr = io.WriteString(mw, it.key); werr != nil {
			return false
		}
		n = binary.PutUvarint(lenBuf[:], uint64(len(it.value)))
		if _, werr = mw.Write(lenBuf[:n]); werr != nil {
			return false
		}
		_, werr = mw.Write(it.value)
		return werr == nil
	})
	if werr != nil {
		return werr
	}
	if _, err := bw.Write(h.Sum(nil)); err != nil {
		return err
	}
	return bw.Flush()
}

// snapshotSize is the exact length of writeSnapshot's stream for tree.
func snapshotSize(tree *btree.BTreeG[item]) int64 {
	n := int64(snapshotHdrLen + sha256.Size)
	var lenBuf [binary.MaxVarintLen64]byte
	tree.Ascend(func(it item) bool {
		n += int64(binary.PutUvarint(lenBuf[:], uint64(len(it.key))) + len(it.key))
		n += int64(binary.PutUvarint(lenBuf[:], uint64(len(it.value))) + len(it.value))
		return true
	})
	return n
}

// readSnapshot parses and fully verifies a snapshot stream into a new tree:
// header, strictly ascending valid keys, exactly count entries, the SHA-256
// trailer, and nothing after it. Any failure wraps ErrBadSnapshot (or is the
// reader's own I/O error). It never panics on any input.
func readSnapshot(r io.Reader) (*btree.BTreeG[item], snapshotMeta, error) {
	return readSnapshotTree(r, true)
}

// verifySnapshot reads and checks a snapshot stream as readSnapshot does
// without keeping its entries (a restore from a file verifies it first,
// then hands the file to raft).
func verifySnapshot(r io.Reader) (snapshotMeta, error) {
	_, meta, err := readSnapshotTree(r, false)
	return meta, err
}

func readSnapshotTree(r io.Reader, keep bool) (*btree.BTreeG[item], snapshotMeta, error) {
	var meta snapshotMeta
	hr := &hashingReader{r: bufio.NewReaderSize(r, 64<<10), h: sha256.New()}

	var hdr [snapshotHdrLen]byte
	if err := hr.readFull(hdr[:]); err != nil {
		return nil, meta, badSnapshot("header", err)
	}
	if string(hdr[:len(snapshotMagic)]) != snapshotMagic {
		return nil, meta, fmt.Errorf("%w: bad magic", ErrBadSnapshot)
	}
	if v := hdr[len(snapshotMagic)]; v != snapshotVersion1 {
		return nil, meta, fmt.Errorf("%w: unsupported version %d", ErrBadSnapshot, v)
	}
	o := len(snapshotMagic) + 1
	meta.Index = binary.BigEndian.Uint64(hdr[o:])
	meta.Term = binary.BigEndian.Uint64(hdr[o+8:])
	meta.Count = binary.BigEndian.Uint64(hdr[o+16:])

	tree := newTree()
	var prev string
	for i := uint64(0); i < meta.Count; i++ {
		key, err := hr.readField()
		if err != nil {
			return nil, meta, badSnapshot(fmt.Sprintf("entry %d key", i), err)
		}
		value, err := hr.readField()
		if err != nil {
			return nil, meta, badSnapshot(fmt.Sprintf("entry %d value", i), err)
		}
		k := string(key)
		if i > 0 && k <= prev {
			return nil, meta, fmt.Errorf("%w: entry %d: keys not strictly ascending", ErrBadSnapshot, i)
		}
		if err := storage.ValidateKey(k); err != nil {
			return nil, meta, fmt.Errorf("%w: entry %d: %w", ErrBadSnapshot, i, err)
		}
		if keep {
			tree.ReplaceOrInsert(item{key: k, value: value})
		}
		prev = k
	}

	want := hr.h.Sum(nil)
	var got [sha256.Size]byte
	if _, err := io.ReadFull(hr.r, got[:]); err != nil {
		return nil, meta, badSnapshot("checksum", err)
	}
	if !bytes.Equal(want, got[:]) {
		return nil, meta, fmt.Errorf("%w: checksum mismatch", ErrBadSnapshot)
	}
	if _, err := hr.r.ReadByte(); err == nil {
		return nil, meta, fmt.Errorf("%w: trailing data after checksum", ErrBadSnapshot)
	} else if !errors.Is(err, io.EOF) {
		return nil, meta, err
	}
	return tree, meta, nil
}

// badSnapshot maps a short read to ErrBadSnapshot ("truncated") and keeps
// other read errors as they are, wrapped with what was being read.
func badSnapshot(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated in %s", ErrBadSnapshot, what)
	}
	if errors.Is(err, errFieldLength) {
		return fmt.Errorf("%w: %s: %w", ErrBadSnapshot, what, err)
	}
	return fmt.Errorf("raftstore: read snapshot %s: %w", what, err)
}

var errFieldLength = errors.New("field length overflows")

// hashingReader reads from r and feeds every byte consumed into h.
type hashingReader struct {
	r       *bufio.Reader
	h       hash.Hash
	scratch [binary.MaxVarintLen64]byte
}

func (hr *hashingReader) readFull(p []byte) error {
	if _, err := io.ReadFull(hr.r, p); err != nil {
		return err
	}
	hr.h.Write(p)
	return nil
}

func (hr *hashingReader) readUvarint() (uint64, error) {
	var x uint64
	var s uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		b, err := hr.r.ReadByte()
		if err != nil {
			if i > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		hr.scratch[i] = b
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				return 0, errFieldLength
			}
			hr.h.Write(hr.scratch[:i+1])
			return x | uint64(b)<<s, nil
		}
		x |= uint64(b&0x7f) << s
		s += 7
	}
	return 0, errFieldLength
}

// readField reads one uvarint-length-prefixed field.
func (hr *hashingReader) readField() ([]byte, error) {
	n, err := hr.readUvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(int(^uint(0)>>1)) {
		return nil, errFieldLength
	}
	if n <= smallField {
		b := make([]byte, n)
		if err := hr.readFull(b); err != nil {
			return nil, err
		}
		return b, nil
	}
	var buf bytes.Buffer
	m, err := io.CopyN(&buf, hr.r, int64(n))
	if err != nil {
		if m < int64(n) && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	hr.h.Write(buf.Bytes())
	return buf.Bytes(), nil
}

// SnapshotInfo is what InspectSnapshot reads from a snapshot stream.
type SnapshotInfo struct {
	Index, Term uint64 // of the last command applied to the state
	Keys        uint64 // storage keys it holds
	Bytes       int64  // total size of the keys and values
}

// InspectSnapshot parses and fully verifies a snapshot stream (the state.bin
// of an operator snapshot archive): format, key order and the SHA-256
// trailer. It needs no key: values stay ciphertexts. Any failure wraps
// ErrBadSnapshot or is the reader's I/O error.
func InspectSnapshot(r io.Reader) (SnapshotInfo, error) {
	tree, meta, err := readSnapshot(r)
	if err != nil {
		return SnapshotInfo{}, err
	}
	info := SnapshotInfo{Index: meta.Index, Term: meta.Term, Keys: meta.Count}
	tree.Ascend(func(it item) bool {
		info.Bytes += int64(len(it.key) + len(it.value))
		return true
	})
	return info, nil
}

// SnapshotHasKey verifies a snapshot stream like InspectSnapshot and
// reports whether it holds key (keys are stored in the clear; values stay
// ciphertexts).
func (s *Store) SnapshotHasKey(r io.Reader, key string) (bool, error) {
	tree, _, err := readSnapshot(r)
	if err != nil {
		return false, err
	}
	_, ok := tree.Get(item{key: key})
	return ok, nil
}
