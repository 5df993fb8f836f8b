package replication

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vaultd/vaultd/storage"
)

// LocalPrefix holds replication's own state in each cluster's storage.
// Nothing under it replicates.
const LocalPrefix = "replication-local/"

const (
	primaryKey   = LocalPrefix + "dr-primary"
	secondaryKey = LocalPrefix + "dr-secondary"
)

// Errors.
var (
	// ErrCompacted: the source's log no longer holds the requested index;
	// the secondary resynchronises from a snapshot.
	ErrCompacted = errors.New("replication: the primary's log no longer holds the requested index")
	// ErrFenced: the other side is from an older replication epoch (an old
	// primary), or this primary learned of a newer epoch and must not
	// serve (it has been replaced by a promoted secondary).
	ErrFenced = errors.New("replication: fenced by a newer replication epoch")
	// ErrDenied: the secondary's token is unknown or revoked.
	ErrDenied = errors.New("replication: permission denied")
)

// primaryState is the primary's durable state.
type primaryState struct {
	// ID names this primary's log, random, made when it is first enabled.
	ID    string `json:"id"`
	Epoch uint64 `json:"epoch"`
	// FencedBy is the newer epoch this node learned of; non-zero means it
	// is no longer a primary and refuses to serve.
	FencedBy uint64 `json:"fenced_by,omitempty"`
	// Secondaries maps a secondary ID to the hex SHA-256 of its token.
	Secondaries map[string]string `json:"secondaries,omitempty"`
	// SecondaryAddrs maps a secondary ID to the cluster addresses its
	// leaders announced in their hellos (newest first, at most
	// maxSecondaryAddrs): where a restarted primary asks for the newest
	// epoch before it accepts a write (ProbeEpoch).
	SecondaryAddrs map[string][]string `json:"secondary_addrs,omitempty"`
}

// maxSecondaryAddrs bounds the addresses kept per secondary.
const maxSecondaryAddrs = 8

// secondaryState is the secondary's durable state; it is written in the
// same Txn as the replicated data it accounts for.
type secondaryState struct {
	// ID is the secondary's ID: a state with another ID came in a
	// primary's snapshot (the primary was once a secondary) and is not
	// this secondary's.
	ID string `json:"id"`
	// LastIndex is the primary raft index of the last transaction applied.
	LastIndex uint64 `json:"last_index"`
	Epoch     uint64 `json:"epoch"`
	// Primary is the ID of the primary whose log LastIndex counts in.
	Primary string `json:"primary,omitempty"`
	// Synced: the first full snapshot from the primary has been restored.
	// Until then the secondary's storage holds its own old data, which
	// must never mix with the primary's: the first pull is a snapshot.
	Synced bool `json:"synced,omitempty"`
	// Promoted: this secondary became a primary at Epoch.
	Promoted bool `json:"promoted,omitempty"`
}

func loadJSON(ctx context.Context, b storage.Backend, key string, v any) (bool, error) {
	e, err := b.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("replication: read %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return false, fmt.Errorf("replication: decode %s: %w", key, err)
	}
	return true, nil
}

func putOp(key string, v any) (storage.Op, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return storage.Op{}, err
	}
	return storage.Op{Kind: storage.OpPut, Key: key, Value: b}, nil
}

// clearOps lists every key under prefix (recursively) as delete ops.
func clearOps(ctx context.Context, b storage.Backend, prefix string) ([]storage.Op, error) {
	keys, err := b.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var ops []storage.Op
	for _, k := range keys {
		if strings.HasSuffix(k, "/") {
			sub, err := clearOps(ctx, b, prefix+k)
			if err != nil {
				return nil, err
			}
			ops = append(ops, sub...)
			continue
		}
		ops = append(ops, storage.Op{Kind: storage.OpDelete, Key: prefix + k})
	}
	return ops, nil
}

// SecondaryRecord is the durable part of a DR secondary's state, which
// every node of the secondary cluster can read from its own storage (the
// standbys' sys/replication/status).
type SecondaryRecord struct {
	ID        string
	LastIndex uint64
	Epoch     uint64
	Promoted  bool
}

// LoadSecondaryRecord reads the secondary state from b (found = false when
// there is none).
func LoadSecondaryRecord(ctx context.Context, b storage.Backend) (SecondaryRecord, bool, error) {
	var st secondaryState
	found, err := loadJSON(ctx, b, secondaryKey, &st)
	if err != nil || !found {
		return SecondaryRecord{}, found, err
	}
	return SecondaryRecord{ID: st.ID, LastIndex: st.LastIndex, Epoch: st.Epoch, Promoted: st.Promoted}, true, nil
}
