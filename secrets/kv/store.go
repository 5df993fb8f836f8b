package kv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/vaultd/vaultd/storage"
)

// Storage keys of KV v2 inside the mount's view (see doc.go).
const (
	configKey      = "config"
	metadataPrefix = "metadata/"
	versionsPrefix = "versions/"
)

// defaultMaxVersions is what Vault keeps when neither the mount nor the key
// sets max_versions.
const defaultMaxVersions = 10

// deleteVersionAfterDisabled is the mount setting that turns
// delete_version_after off for every key (a negative config value).
const deleteVersionAfterDisabled = -time.Second

// mountConfig is the v2 mount configuration stored at "config".
type mountConfig struct {
	MaxVersions        uint32        `json:"max_versions"`
	CASRequired        bool          `json:"cas_required"`
	DeleteVersionAfter time.Duration `json:"delete_version_after"`

	// rev is the storage revision the config was read at (zero: absent);
	// a write of it carries the precondition that it is unchanged.
	rev storage.Rev
}

// keyMetadata is the record at metadata/<path>.
type keyMetadata struct {
	CurrentVersion     uint64                  `json:"current_version"`
	OldestVersion      uint64                  `json:"oldest_version"`
	CreatedTime        time.Time               `json:"created_time"`
	UpdatedTime        time.Time               `json:"updated_time"`
	MaxVersions        uint32                  `json:"max_versions"`
	CASRequired        bool                    `json:"cas_required"`
	DeleteVersionAfter time.Duration           `json:"delete_version_after"`
	CustomMetadata     map[string]string       `json:"custom_metadata,omitempty"`
	Versions           map[uint64]*versionMeta `json:"versions"`

	// rev is the storage revision this record was read at; zero for a
	// record that does not exist yet. Every write of the record (and of
	// the versions it lists) carries the precondition that the stored
	// record is still at rev (metaCheck): two writers that read the same
	// record can never both commit, whatever happened to the key's lock
	// or to a client (docs/consistency.md).
	rev storage.Rev
}

// metaCheck is the precondition of every write derived from meta: key's
// metadata record is still the one meta was read from (or still absent).
func metaCheck(key string, meta *keyMetadata) storage.Op {
	return storage.CheckRev(metadataKey(key), meta.rev)
}

// versionMeta is one version's entry in keyMetadata.Versions.
type versionMeta struct {
	CreatedTime  time.Time `json:"created_time"`
	DeletionTime time.Time `json:"deletion_time,omitzero"`
	Destroyed    bool      `json:"destroyed,omitempty"`
}

// versionRecord is the record at versions/<hash>/<n>.
type versionRecord struct {
	Data json.RawMessage `json:"data"`
}

func metadataKey(key string) string { return metadataPrefix + key }

// versionsDir is the folder holding every version of key.
func versionsDir(key string) string {
	sum := sha256.Sum256([]byte(key))
	return versionsPrefix + hex.EncodeToString(sum[:]) + "/"
}

func versionKey(key string, n uint64) string {
	return versionsDir(key) + strconv.FormatUint(n, 10)
}

// getJSON reads key into v; found is false when the key is absent.
func getJSON(ctx context.Context, s storage.Backend, key string, v any) (found bool, err error) {
	e, err := s.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("kv: get %q: %w", key, err)
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return false, fmt.Errorf("%w: %q: %v", ErrCorrupt, key, err)
	}
	return true, nil
}

func putOp(key string, v any) (storage.Op, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return storage.Op{}, fmt.Errorf("kv: encode %q: %w", key, err)
	}
	return storage.Op{Kind: storage.OpPut, Key: key, Value: b}, nil
}

func txn(ctx context.Context, s storage.Backend, ops []storage.Op) error {
	if err := s.Txn(ctx, ops); err != nil {
		return fmt.Errorf("kv: txn: %w", err)
	}
	return nil
}

// loadConfig returns the mount config (zero when never written).
func loadConfig(ctx context.Context, s storage.Backend) (*mountConfig, error) {
	var c mountConfig
	e, err := s.Get(ctx, configKey)
	if errors.Is(err, storage.ErrNotFound) {
		return &c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kv: get %q: %w", configKey, err)
	}
	if err := json.Unmarshal(e.Value, &c); err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrCorrupt, configKey, err)
	}
	c.rev = e.Rev
	return &c, nil
}

// loadMeta returns key's metadata, or nil when the key has none.
// Decoded records are reused while the stored bytes are unchanged
// (metacache.go).
func loadMeta(ctx context.Context, s storage.Backend, key string) (*keyMetadata, error) {
	mk := metadataKey(key)
	e, err := s.Get(ctx, mk)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kv: get %q: %w", mk, err)
	}
	if m, ok := metas.get(mk, e.Value); ok {
		m.rev = e.Rev
		return m, nil
	}
	var m keyMetadata
	if err := json.Unmarshal(e.Value, &m); err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrCorrupt, mk, err)
	}
	if m.Versions == nil {
		m.Versions = map[uint64]*versionMeta{}
	}
	metas.put(mk, e.Value, &m)
	m.rev = e.Rev
	return &m, nil
}

// metaExists is the existence check of data/ and metadata/.
func metaExists(ctx context.Context, s storage.Backend, key string) (bool, error) {
	_, err := s.Get(ctx, metadataKey(key))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("kv: existence check: %w", err)
	}
	return true, nil
}

// loadVersionData reads the data of key at version n, decoding numbers as
// json.Number so they round-trip exactly.
func loadVersionData(ctx context.Context, s storage.Backend, key string, n uint64) (map[string]any, error) {
	vk := versionKey(key, n)
	e, err := s.Get(ctx, vk)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("%w: could not find version data for version %d", ErrCorrupt, n)
	}
	if err != nil {
		return nil, fmt.Errorf("kv: get %q: %w", vk, err)
	}
	// One decoding pass straight into the data map (not a RawMessage that
	// is then decoded again).
	var rec struct {
		Data map[string]any `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(e.Value))
	dec.UseNumber()
	if err := dec.Decode(&rec); err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrCorrupt, vk, err)
	}
	if rec.Data == nil {
		rec.Data = map[string]any{}
	}
	return rec.Data, nil
}

// decodeObject decodes a JSON object with json.Number numbers.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// encodeObject encodes a secret's data map; it fails (400) only for values
// that are not JSON.
func encodeObject(m map[string]any) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, invalidf("data is not a JSON object")
	}
	return b, nil
}

// isDeleted reports whether the version's deletion time has come.
func (v *versionMeta) isDeleted(now time.Time) bool {
	return !v.DeletionTime.IsZero() && !v.DeletionTime.After(now)
}

// effectiveMaxVersions is Vault's rule: the larger of the key's and the
// mount's setting, or 10 when both are 0.
func effectiveMaxVersions(m *keyMetadata, c *mountConfig) uint64 {
	n := max(m.MaxVersions, c.MaxVersions)
	if n == 0 {
		return defaultMaxVersions
	}
	return uint64(n)
}

// deletionTimeFor returns when a version created (or undeleted) at t is
// deleted automatically: t plus the smaller non-zero delete_version_after
// of mount and key, or the zero time when neither is set or the mount
// disables it.
func deletionTimeFor(t time.Time, c *mountConfig, m *keyMetadata) time.Time {
	if c.DeleteVersionAfter < 0 { // deleteVersionAfterDisabled
		return time.Time{}
	}
	d := m.DeleteVersionAfter
	if c.DeleteVersionAfter > 0 && (d <= 0 || c.DeleteVersionAfter < d) {
		d = c.DeleteVersionAfter
	}
	if d <= 0 {
		return time.Time{}
	}
	return t.Add(d)
}

// addVersion appends a version created at t to m and trims the oldest
// versions beyond max_versions (Vault's sliding window). It returns the new
// version number and the versions removed, whose data must be deleted.
func (m *keyMetadata) addVersion(t time.Time, deletion time.Time, c *mountConfig) (uint64, []uint64) {
	m.CurrentVersion++
	n := m.CurrentVersion
	m.Versions[n] = &versionMeta{CreatedTime: t, DeletionTime: deletion}
	m.UpdatedTime = t
	if m.CreatedTime.IsZero() {
		m.CreatedTime = t
	}
	maxV := effectiveMaxVersions(m, c)
	if n < maxV || n-m.OldestVersion < maxV {
		return n, nil
	}
	last := n - maxV // every version <= last goes
	var removed []uint64
	for _, v := range slices.Sorted(maps.Keys(m.Versions)) {
		if v > last {
			break
		}
		if !m.Versions[v].Destroyed {
			removed = append(removed, v)
		}
		delete(m.Versions, v)
	}
	m.OldestVersion = last + 1
	return n, removed
}

// versionView is the per-version metadata as Vault shows it in data/ and
// subkeys/ responses.
func (m *keyMetadata) versionView(n uint64, v *versionMeta) map[string]any {
	return map[string]any{
		"version":         n,
		"created_time":    fmtTime(v.CreatedTime),
		"deletion_time":   fmtTime(v.DeletionTime),
		"destroyed":       v.Destroyed,
		"custom_metadata": m.customMetadataView(),
	}
}

// customMetadataView is custom_metadata for a response: null when unset.
func (m *keyMetadata) customMetadataView() any {
	if len(m.CustomMetadata) == 0 {
		return nil
	}
	return maps.Clone(m.CustomMetadata)
}
