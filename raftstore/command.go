package raftstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vaultd/vaultd/storage"
)

// Raft command format, version 1 (one raft log entry = one storage Txn):
//
//	version u8 | count uvarint | { kind u8 | klen uvarint | key | vlen uvarint | value } * count
//
// Kinds 1 (put) and 2 (delete) carry the storage.OpKind values. A delete has
// vlen 0. A kind with the high bit (0x80) set is "ignorable": a node that
// does not know it skips it, so newer nodes can add optional markers without
// breaking older ones. Any other unknown kind or version is an error, and the
// FSM panics on it rather than let replicas diverge.
//
// Version 2 is version 1 plus kind 3, a precondition (storage.OpCheck):
// value is the expected storage.Rev (32 bytes) or empty for "absent". A
// precondition cannot be ignorable (a node that skipped it would apply a
// Txn the others refused), so it needs a version an older node refuses
// (it stops with "unknown version 2" instead of diverging). A Txn without
// checks is still encoded as version 1, so the entries a node writes do
// not change until it uses a check, and every old log and snapshot reads
// as before. Upgrade every node before the active node writes version-2
// entries: followers first, the active node last.
const (
	commandVersion1 byte = 1
	commandVersion2 byte = 2

	kindPut    byte = byte(storage.OpPut)
	kindDelete byte = byte(storage.OpDelete)
	kindCheck  byte = byte(storage.OpCheck) // version 2 only

	// kindIgnorableFlag marks kinds that older nodes skip.
	kindIgnorableFlag byte = 0x80

	// minOpLen is the smallest encoded op: kind, klen 0, vlen 0.
	minOpLen = 3
)

// errBadCommand is what the decoder returns for malformed input. It is not
// exported: a well-formed cluster never produces one, and the FSM turns it
// into a panic.
var errBadCommand = errors.New("raftstore: malformed command")

// encodeCommand encodes ops as one command: version 1, or version 2 when
// ops hold a precondition. It does not validate keys; callers do that
// first (validateOps).
func encodeCommand(ops []storage.Op) []byte {
	n := 1 + binary.MaxVarintLen64
	version := commandVersion1
	for _, op := range ops {
		n += 1 + 2*binary.MaxVarintLen64 + len(op.Key) + len(op.Value)
		if op.Kind == storage.OpCheck {
			version = commandVersion2
		}
	}
	buf := make([]byte, 0, n)
	buf = append(buf, version)
	buf = binary.AppendUvarint(buf, uint64(len(ops)))
	for _, op := range ops {
		buf = append(buf, byte(op.Kind))
		buf = binary.AppendUvarint(buf, uint64(len(op.Key)))
		buf = append(buf, op.Key...)
		if op.Kind == storage.OpPut || op.Kind == storage.OpCheck {
			buf = binary.AppendUvarint(buf, uint64(len(op.Value)))
			buf = append(buf, op.Value...)
		} else {
			buf = binary.AppendUvarint(buf, 0)
		}
	}
	return buf
}

// decodeCommand parses a command. The returned ops' keys are copies and
// their values alias data; callers that keep values must copy them.
// Ignorable kinds are skipped. It never panics on any input.
func decodeCommand(data []byte) ([]storage.Op, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", errBadCommand)
	}
	version := data[0]
	if version != commandVersion1 && version != commandVersion2 {
		return nil, fmt.Errorf("%w: unknown version %d", errBadCommand, data[0])
	}
	rest := data[1:]
	count, n := binary.Uvarint(rest)
	if n <= 0 {
		return nil, fmt.Errorf("%w: bad op count", errBadCommand)
	}
	rest = rest[n:]
	if count > uint64(len(rest)/minOpLen) {
		return nil, fmt.Errorf("%w: op count %d exceeds data", errBadCommand, count)
	}
	ops := make([]storage.Op, 0, count)
	for i := uint64(0); i < count; i++ {
		if len(rest) == 0 {
			return nil, fmt.Errorf("%w: op %d: truncated", errBadCommand, i)
		}
		kind := rest[0]
		rest = rest[1:]
		key, r, err := readBytes(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: op %d key: %v", errBadCommand, i, err)
		}
		val, r, err := readBytes(r)
		if err != nil {
			return nil, fmt.Errorf("%w: op %d value: %v", errBadCommand, i, err)
		}
		rest = r
		switch {
		case kind == kindPut:
			ops = append(ops, storage.Op{Kind: storage.OpPut, Key: string(key), Value: val})
		case kind == kindDelete:
			if len(val) != 0 {
				return nil, fmt.Errorf("%w: op %d: delete with a value", errBadCommand, i)
			}
			ops = append(ops, storage.Op{Kind: storage.OpDelete, Key: string(key)})
		case kind == kindCheck && version >= commandVersion2:
			if len(val) != 0 && len(val) != storage.RevSize {
				return nil, fmt.Errorf("%w: op %d: check of %d bytes", errBadCommand, i, len(val))
			}
			op := storage.Op{Kind: storage.OpCheck, Key: string(key)}
			if len(val) != 0 {
				op.Value = val
			}
			ops = append(ops, op)
		case kind&kindIgnorableFlag != 0:
			// A newer node's optional marker: skip it.
		default:
			return nil, fmt.Errorf("%w: op %d: unknown kind %d", errBadCommand, i, kind)
		}
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errBadCommand, len(rest))
	}
	return ops, nil
}

// readBytes reads one uvarint-length-prefixed field from b.
func readBytes(b []byte) (field, rest []byte, err error) {
	l, n := binary.Uvarint(b)
	if n <= 0 {
		return nil, nil, errors.New("bad length")
	}
	b = b[n:]
	if l > uint64(len(b)) {
		return nil, nil, errors.New("truncated")
	}
	return b[:l], b[l:], nil
}

// validateOps checks ops before they are proposed (on the leader) and again
// inside the FSM (deterministically, on every node).
func validateOps(ops []storage.Op) error {
	for _, op := range ops {
		if err := storage.ValidateKey(op.Key); err != nil {
			return fmt.Errorf("%w: %q", err, op.Key)
		}
		if err := storage.ValidateOp(op); err != nil {
			return fmt.Errorf("%w: %w: op %q of kind %d", ErrInvalidArgument, err, op.Key, op.Kind)
		}
	}
	return nil
}
