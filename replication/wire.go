package replication

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/vaultd/vaultd/storage"
)

// ProtocolVersion is the version of the stream frames.
const ProtocolVersion = 1

// maxFrame bounds one frame (a batch or a snapshot chunk); a larger length
// prefix is a protocol error, never an allocation.
const maxFrame = 64 << 20

// maxRequestFrame bounds what the primary reads (hello, pull): small.
const maxRequestFrame = 64 << 10

// snapChunk is the size of the snapshot chunks the primary sends.
const snapChunk = 1 << 20

// hello is the secondary's first frame.
type hello struct {
	Version int    `json:"version"`
	ID      string `json:"id"`
	Token   string `json:"token"`
	// Epoch is the highest epoch the secondary knows.
	Epoch uint64 `json:"epoch"`
	// Addrs: the cluster addresses where the secondary's leader can be
	// reached; the primary records them to confirm its epoch after a
	// restart (ProbeEpoch).
	Addrs []string `json:"addrs,omitempty"`
	// Probe asks only for the epoch this side knows (no token: the epoch
	// is not secret, and the TLS handshake already required a certificate
	// from the cluster CA). The answer is a batch with Epoch (the newest
	// this node knows, FencedBy included) and Fenced.
	Probe bool `json:"probe,omitempty"`
}

// pull asks for the transactions from From on (or a snapshot).
type pull struct {
	From     uint64 `json:"from"`
	Limit    int    `json:"limit"`
	Snapshot bool   `json:"snapshot,omitempty"`
	// WaitMillis: when nothing is new, the primary waits up to this long
	// for something before answering an empty batch.
	WaitMillis int `json:"wait_ms,omitempty"`
}

// change is one committed storage transaction on the wire.
type change struct {
	Index uint64       `json:"index"`
	Ops   []storage.Op `json:"ops"`
}

// batch is the primary's answer to a pull.
type batch struct {
	Epoch     uint64   `json:"epoch"`
	Changes   []change `json:"changes,omitempty"`
	Next      uint64   `json:"next"`
	Applied   uint64   `json:"applied"` // the primary's applied index
	Compacted bool     `json:"compacted,omitempty"`
	Error     string   `json:"error,omitempty"`
	Fenced    bool     `json:"fenced,omitempty"`
	// Primary identifies the primary's log (the answer to a hello only):
	// a secondary that meets another one resyncs.
	Primary string `json:"primary,omitempty"`
	// Snapshot stream: the first answer to a snapshot pull has SnapIndex
	// set; then chunks follow, the last with SnapDone.
	SnapIndex uint64 `json:"snap_index,omitempty"`
	Chunk     []byte `json:"chunk,omitempty"`
	SnapDone  bool   `json:"snap_done,omitempty"`
	// SnapSHA256 (hex) and SnapSize, on the last chunk: what the whole
	// snapshot stream hashed to and its length; the secondary verifies
	// both before it restores.
	SnapSHA256 string `json:"snap_sha256,omitempty"`
	SnapSize   int64  `json:"snap_size,omitempty"`
}

var errFrameTooLarge = errors.New("replication: frame too large")

func writeFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > maxFrame {
		return errFrameTooLarge
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := w.Write(append(hdr[:], b...)); err != nil {
		return err
	}
	return nil
}

func readFrame(r io.Reader, v any) error { return readFrameMax(r, v, maxFrame) }

// readFrameMax reads one frame of at most limit bytes.
func readFrameMax(r io.Reader, v any, limit uint32) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > limit {
		return errFrameTooLarge
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("replication: short frame: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("replication: bad frame: %w", err)
	}
	return nil
}
