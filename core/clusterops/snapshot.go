package clusterops

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

// Operator snapshot archive (GET/POST sys/storage/raft/snapshot).
//
// The body is a gzip-compressed tar archive, the layout Vault uses, so the
// official client's RaftSnapshot (which checks for a non-empty
// SHA256SUMS.sealed entry) and `vault operator raft snapshot` work:
//
//	meta.json           {"format":"vaultd-raft-snapshot","version":1,"index","term","size","created_at"}
//	state.bin           raftstore's snapshot stream: every storage key with
//	                    its barrier ciphertext (no plaintext), SHA-256 trailer
//	SHA256SUMS          "<hex sha256>  meta.json\n<hex sha256>  state.bin\n"
//	SHA256SUMS.sealed   SHA256SUMS encrypted by the barrier (active keyring
//	                    term, AAD snapshotSumsPath)
//
// Restore (POST sys/storage/raft/snapshot) recomputes the checksums, then
// decrypts SHA256SUMS.sealed with this cluster's barrier and requires it to
// equal SHA256SUMS. A snapshot from a cluster with other keys fails there
// (its keyring terms are different random keys), and so does a tampered
// archive. POST sys/storage/raft/snapshot-force skips the sealed check (the
// checksums are still verified); after such a restore the node can only be
// unsealed with the keys of the cluster the snapshot came from (see
// core.reloadAfterRestore). One corner: a snapshot from this very cluster that is
// newer than a keyring this node was unsealed with (restore old, restart,
// restore newer) needs snapshot-force.
//
// Memory: the archive is built and parsed in memory (the FSM itself lives
// in memory, so this at most doubles it briefly); the request body is
// bounded by the listener's max_request_size (32 MiB by default) and the
// decompressed state by maxSnapshotState.
const (
	snapshotFormat        = "vaultd-raft-snapshot"
	snapshotFormatVersion = 1
	snapshotSumsPath      = "core/raft/snapshot-sha256sums"
	maxSnapshotState      = 1 << 30
	maxSnapshotSmallEntry = 64 << 10
)

// ErrSnapshotKeys: the snapshot's sealed checksums do not open with this
// cluster's keys (400).
var ErrSnapshotKeys error = &secrets.Error{Kind: secrets.ErrInvalidRequest, Msg: "could not verify the snapshot's sealed checksums: it was probably taken from a cluster with other unseal keys; use sys/storage/raft/snapshot-force to restore it anyway"}

type snapshotMetaJSON struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	Index     uint64    `json:"index"`
	Term      uint64    `json:"term"`
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created_at"`
}

// Sealer is the part of the barrier the snapshot archive needs.
type Sealer interface {
	Encrypt(path string, plaintext []byte) ([]byte, error)
	Decrypt(path string, ciphertext []byte) ([]byte, error)
}

func snapshotSums(meta, state []byte) []byte {
	m, s := sha256.Sum256(meta), sha256.Sum256(state)
	return fmt.Appendf(nil, "%s  meta.json\n%s  state.bin\n", hex.EncodeToString(m[:]), hex.EncodeToString(s[:]))
}

// SizedSnapshotSaver is implemented by storage that can tell the size of
// its snapshot stream before writing it (raftstore): the archive then
// streams state.bin instead of holding it in memory.
type SizedSnapshotSaver interface {
	SaveSnapshotSized(ctx context.Context, start func(size int64) (io.Writer, error)) error
}

// archiveCompression: state.bin is mostly ciphertext, which does not
// compress; the fastest level keeps a large snapshot from being CPU-bound
// in deflate (gzip's default level ran at ≈ 7 MB/s on a busy 2-core box).
const archiveCompression = gzip.BestSpeed

// writeSnapshotArchive writes the archive to w and returns its meta.json.
func writeSnapshotArchive(ctx context.Context, w io.Writer, ops RaftOps, b Sealer) (snapshotMetaJSON, error) {
	st, err := ops.RaftStatus(ctx)
	if err != nil {
		return snapshotMetaJSON{}, err
	}
	if sz, ok := ops.(SizedSnapshotSaver); ok {
		return streamSnapshotArchive(ctx, w, sz, st.AppliedIndex, st.Term, b)
	}
	var state bytes.Buffer
	if err := ops.SaveSnapshot(ctx, &state); err != nil {
		return snapshotMetaJSON{}, fmt.Errorf("clusterops: save snapshot: %w", err)
	}
	m := snapshotMetaJSON{
		Format: snapshotFormat, Version: snapshotFormatVersion, Index: st.AppliedIndex, Term: st.Term,
		Size: int64(state.Len()), CreatedAt: time.Now().UTC(),
	}
	meta, err := json.Marshal(m)
	if err != nil {
		return m, err
	}
	sums := snapshotSums(meta, state.Bytes())
	sealed, err := b.Encrypt(snapshotSumsPath, sums)
	if err != nil {
		return m, fmt.Errorf("clusterops: seal snapshot checksums: %w", err)
	}
	zw, err := gzip.NewWriterLevel(w, archiveCompression)
	if err != nil {
		return m, err
	}
	tw := tar.NewWriter(zw)
	now := time.Now().UTC()
	for _, f := range []struct {
		name string
		data []byte
	}{{"meta.json", meta}, {"state.bin", state.Bytes()}, {"SHA256SUMS", sums}, {"SHA256SUMS.sealed", sealed}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.data)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return m, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return m, err
		}
	}
	if err := tw.Close(); err != nil {
		return m, err
	}
	return m, zw.Close()
}

// streamSnapshotArchive writes the same archive as writeSnapshotArchive
// without buffering state.bin: its size is known up front, and its SHA-256
// is computed while it streams (SHA256SUMS comes after it in the archive).
func streamSnapshotArchive(ctx context.Context, w io.Writer, ops SizedSnapshotSaver, index, term uint64, b Sealer) (snapshotMetaJSON, error) {
	zw, err := gzip.NewWriterLevel(w, archiveCompression)
	if err != nil {
		return snapshotMetaJSON{}, err
	}
	tw := tar.NewWriter(zw)
	now := time.Now().UTC()
	file := func(name string, size int64) error {
		return tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: now, Typeflag: tar.TypeReg})
	}
	m := snapshotMetaJSON{Format: snapshotFormat, Version: snapshotFormatVersion, Index: index, Term: term, CreatedAt: now}
	var meta []byte
	h := sha256.New()
	var written int64
	err = ops.SaveSnapshotSized(ctx, func(size int64) (io.Writer, error) {
		m.Size = size
		var err error
		if meta, err = json.Marshal(m); err != nil {
			return nil, err
		}
		if err := file("meta.json", int64(len(meta))); err != nil {
			return nil, err
		}
		if _, err := tw.Write(meta); err != nil {
			return nil, err
		}
		if err := file("state.bin", size); err != nil {
			return nil, err
		}
		return io.MultiWriter(tw, h, countWriter{&written}), nil
	})
	if err != nil {
		return m, fmt.Errorf("clusterops: save snapshot: %w", err)
	}
	if written != m.Size {
		return m, fmt.Errorf("clusterops: save snapshot: wrote %d bytes, announced %d", written, m.Size)
	}
	ms := sha256.Sum256(meta)
	sums := fmt.Appendf(nil, "%s  meta.json\n%s  state.bin\n", hex.EncodeToString(ms[:]), hex.EncodeToString(h.Sum(nil)))
	sealed, err := b.Encrypt(snapshotSumsPath, sums)
	if err != nil {
		return m, fmt.Errorf("clusterops: seal snapshot checksums: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"SHA256SUMS", sums}, {"SHA256SUMS.sealed", sealed}} {
		if err := file(f.name, int64(len(f.data))); err != nil {
			return m, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return m, err
		}
	}
	if err := tw.Close(); err != nil {
		return m, err
	}
	return m, zw.Close()
}

type countWriter struct{ n *int64 }

func (c countWriter) Write(p []byte) (int, error) { *c.n += int64(len(p)); return len(p), nil }

func badSnapshot(format string, args ...any) error {
	return badRequest("invalid snapshot: "+format, args...)
}

// badSnapshotRead is a 400 that keeps the reader's error in the chain, so
// a body over max_request_size still maps to 413 in api.
func badSnapshotRead(err error) error {
	return fmt.Errorf("%w: %w", badSnapshot("reading the archive"), err)
}

// readSnapshotArchive parses and verifies an archive and returns state.bin.
// Without force, b must open SHA256SUMS.sealed (see the format comment).
// Every failure is a 400; it never panics on any input.
func readSnapshotArchive(r io.Reader, b Sealer, force bool) ([]byte, error) {
	files, err := readArchiveFiles(r)
	if err != nil {
		return nil, err
	}
	if _, err := verifyArchiveFiles(files); err != nil {
		return nil, err
	}
	if !force {
		sums := files["SHA256SUMS"]
		opened, err := b.Decrypt(snapshotSumsPath, files["SHA256SUMS.sealed"])
		if err != nil || subtle.ConstantTimeCompare(opened, sums) != 1 {
			return nil, ErrSnapshotKeys
		}
	}
	return files["state.bin"], nil
}

// readArchiveFiles reads the archive's four entries, bounded.
func readArchiveFiles(r io.Reader) (map[string][]byte, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, badSnapshotRead(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, badSnapshotRead(err)
		}
		limit := int64(maxSnapshotSmallEntry)
		switch h.Name {
		case "state.bin":
			limit = maxSnapshotState
		case "meta.json", "SHA256SUMS", "SHA256SUMS.sealed":
		default:
			return nil, badSnapshot("unexpected archive entry %q", h.Name)
		}
		if _, dup := files[h.Name]; dup {
			return nil, badSnapshot("duplicate archive entry %q", h.Name)
		}
		if h.Typeflag != tar.TypeReg || h.Size < 0 || h.Size > limit {
			return nil, badSnapshot("archive entry %q: bad type or size", h.Name)
		}
		var buf bytes.Buffer
		if _, err := io.CopyN(&buf, tr, h.Size); err != nil {
			return nil, badSnapshotRead(err)
		}
		files[h.Name] = buf.Bytes()
	}
	// Read the gzip stream to its end: that checks its CRC and length.
	if n, err := io.Copy(io.Discard, io.LimitReader(zr, maxSnapshotSmallEntry)); err != nil {
		return nil, badSnapshotRead(err)
	} else if n == maxSnapshotSmallEntry {
		return nil, badSnapshot("oversized archive trailer")
	}
	for _, n := range []string{"meta.json", "state.bin", "SHA256SUMS", "SHA256SUMS.sealed"} {
		if _, ok := files[n]; !ok {
			return nil, badSnapshot("archive entry %q is missing", n)
		}
	}
	return files, nil
}

// verifyArchiveFiles checks meta.json's format and SHA256SUMS (no key
// needed).
func verifyArchiveFiles(files map[string][]byte) (snapshotMetaJSON, error) {
	var meta snapshotMetaJSON
	if err := json.Unmarshal(files["meta.json"], &meta); err != nil {
		return meta, badSnapshot("meta.json: %v", err)
	}
	if meta.Format != snapshotFormat || meta.Version != snapshotFormatVersion {
		return meta, badSnapshot("unsupported format %q version %d", meta.Format, meta.Version)
	}
	sums := snapshotSums(files["meta.json"], files["state.bin"])
	if subtle.ConstantTimeCompare(sums, files["SHA256SUMS"]) != 1 {
		return meta, badSnapshot("checksum mismatch")
	}
	return meta, nil
}

// ArchiveInfo is what InspectArchive reads from a snapshot archive.
type ArchiveInfo struct {
	Format    string
	Version   int
	Index     uint64 // raft index the snapshot holds
	Term      uint64 // raft term
	CreatedAt time.Time
	// StateSize is the size of state.bin, State its bytes (barrier
	// ciphertexts only), to be checked by raftstore.InspectSnapshot.
	StateSize int64
	State     []byte
	// SHA256 is the archive's checksum of state.bin (from SHA256SUMS,
	// verified).
	SHA256 string
}

// InspectArchive parses an operator snapshot archive and verifies its
// checksums (SHA256SUMS against meta.json and state.bin) without any key:
// the sealed checksums, which need the barrier, are not opened. A bad or
// tampered archive is an error (a 400 kind).
func InspectArchive(r io.Reader) (ArchiveInfo, error) {
	files, err := readArchiveFiles(r)
	if err != nil {
		return ArchiveInfo{}, err
	}
	meta, err := verifyArchiveFiles(files)
	if err != nil {
		return ArchiveInfo{}, err
	}
	sum := sha256.Sum256(files["state.bin"])
	return ArchiveInfo{
		Format: meta.Format, Version: meta.Version, Index: meta.Index, Term: meta.Term, CreatedAt: meta.CreatedAt,
		StateSize: int64(len(files["state.bin"])), State: files["state.bin"], SHA256: hex.EncodeToString(sum[:]),
	}, nil
}

// ReadArchiveUnkeyed parses an operator snapshot archive and verifies its
// checksums, without opening the sealed checksums (there is no barrier key
// to open them with): it returns state.bin for RaftOps.RestoreSnapshot.
// Used to initialise an empty node from a snapshot; the node then opens
// only with the keys of the cluster the snapshot came from. Failures are
// 400s.
func ReadArchiveUnkeyed(r io.Reader) ([]byte, error) {
	return readSnapshotArchive(r, nil, true)
}
