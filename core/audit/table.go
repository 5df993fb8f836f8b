package audit

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

func badRequest(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

// The audit table. It lives at core/audit and each device's HMAC
// salt at core/audit-salt/<device uuid>, both behind the barrier, so every
// node that becomes active reopens the same devices with the same salts
// (each node writes its own local file).
const (
	auditTableKey   = "core/audit"
	auditSaltPrefix = "core/audit-salt/"
)

type tableEntry struct {
	Path        string            `json:"path"` // "file/"
	Type        string            `json:"type"`
	Description string            `json:"description"`
	Options     map[string]string `json:"options"`
	UUID        string            `json:"uuid"`
	Local       bool              `json:"local"`
}

type storedTable struct {
	Entries []*tableEntry `json:"entries"`
}

// tableState is the active node's audit table and broker. Immutable
// pointer contents except the broker, which is concurrency-safe.
type tableState struct {
	entries []*tableEntry
	broker  *Broker
}

// TableConfig configures a Table.
type TableConfig struct {
	// NormalizePath turns a request's device path into its canonical
	// form ("file" → "file/"), or a 400.
	NormalizePath func(string) (string, error)
	// Inactive is returned while the table is not loaded (core's
	// ErrStandby).
	Inactive error
	Logger   *slog.Logger
}

// Table is the audit table of an active node: the enabled devices (stored
// behind the barrier, so every node that becomes active reopens the same
// devices with the same salts) and the broker requests are logged to.
type Table struct {
	cfg TableConfig
	log *slog.Logger

	epOnce sync.Once
	ep     *endpoint.Backend

	mu      sync.Mutex // serialises table changes
	barrier storage.Backend
	state   atomic.Pointer[tableState] // nil unless loaded
}

// NewTable builds an unloaded Table.
func NewTable(cfg TableConfig) *Table {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Inactive == nil {
		cfg.Inactive = errors.New("audit: the audit table is not loaded")
	}
	return &Table{cfg: cfg, log: cfg.Logger}
}

// Broker is the loaded table's broker; nil while not loaded.
func (t *Table) Broker() *Broker {
	if st := t.state.Load(); st != nil {
		return st.broker
	}
	return nil
}

func (t *Table) load(ctx context.Context) ([]*tableEntry, error) {
	e, err := t.barrier.Get(ctx, auditTableKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: audit table: %w", err)
	}
	var sa storedTable
	if err := json.Unmarshal(e.Value, &sa); err != nil {
		return nil, fmt.Errorf("audit: audit table: %w", err)
	}
	return sa.Entries, nil
}

// Setup loads the table from b (the barrier) and opens every enabled
// device. A device whose file cannot be
// opened stays registered and keeps retrying: while every device fails,
// requests fail rather than run unaudited.
func (t *Table) Setup(ctx context.Context, b storage.Backend) error {
	t.mu.Lock()
	t.barrier = b
	t.mu.Unlock()
	entries, err := t.load(ctx)
	if err != nil {
		return err
	}
	br := NewBroker(t.log)
	for _, ae := range entries {
		se, err := t.barrier.Get(ctx, auditSaltPrefix+ae.UUID)
		if err != nil {
			br.Close()
			return fmt.Errorf("audit: audit salt for %s: %w", ae.Path, err)
		}
		dev, opts, err := OpenRetrying(Config{Type: ae.Type, Options: ae.Options})
		if err != nil {
			t.log.Error("audit device is misconfigured; requests fail unless another device works", "path", ae.Path, "error", err)
			dev, opts = Unavailable(err), Options{HMACAccessor: true}
		}
		br.Register(ae.Path, dev, se.Value, opts)
		clear(se.Value)
	}
	t.state.Store(&tableState{entries: entries, broker: br})
	return nil
}

// Teardown closes every device and unloads the table. Idempotent.
func (t *Table) Teardown() {
	t.mu.Lock() // an Enable in flight finishes first
	defer t.mu.Unlock()
	if st := t.state.Swap(nil); st != nil {
		st.broker.Close()
	}
	t.barrier = nil
}

// Reopen reopens every audit file (log rotation, SIGHUP).
func (t *Table) Reopen() error {
	st := t.state.Load()
	if st == nil {
		return nil
	}
	return st.broker.Reopen()
}

func (t *Table) save(ctx context.Context, entries []*tableEntry, extra ...storage.Op) error {
	b, err := json.Marshal(storedTable{Entries: entries})
	if err != nil {
		return err
	}
	return t.barrier.Txn(ctx, append([]storage.Op{{Kind: storage.OpPut, Key: auditTableKey, Value: b}}, extra...))
}

// Backend declares sys/audit (list), sys/audit/:path (enable, disable)
// and sys/audit-hash/:path, relative to the sys/ mount. core has already
// required sudo for sys/audit.
func (t *Table) Backend() *endpoint.Backend {
	t.epOnce.Do(func() {
		path := &endpoint.Field{Type: endpoint.TypeString, Description: "The path of the audit device.", Required: true}
		t.ep = &endpoint.Backend{
			Help:            "Audit devices.",
			StorageOptional: true,
			Paths: []*endpoint.Path{
				{
					Pattern: "audit",
					Summary: "List the enabled audit devices.",
					Operations: map[secrets.Operation]endpoint.Handler{
						secrets.OpRead: t.handleList,
						secrets.OpList: t.handleList,
					},
				},
				{
					Pattern: "audit/{path+}",
					Fields: map[string]*endpoint.Field{
						"path":        path,
						"type":        {Type: endpoint.TypeString, Description: "The device type (file)."},
						"description": {Type: endpoint.TypeString, Description: "A human-friendly description."},
						"options":     {Type: endpoint.TypeMap, Description: "Device options (file_path, mode, format, prefix, hmac_accessor, log_raw, elide_list_responses)."},
						"local":       {Type: endpoint.TypeBool, Description: "Accepted for compatibility: every node writes its own file."},
					},
					Summary: "Enable or disable an audit device.",
					Operations: map[secrets.Operation]endpoint.Handler{
						secrets.OpUpdate: t.handleEnable,
						secrets.OpDelete: t.handleDisable,
					},
				},
				{
					Pattern: "audit-hash/{path+}",
					Fields: map[string]*endpoint.Field{
						"path":  path,
						"input": {Type: endpoint.TypeString, Description: "The value to hash with the device's salt."},
					},
					Summary:    "Hash a value the way an audit device does.",
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: t.handleHash},
				},
			},
		}
	})
	return t.ep
}

func (t *Table) loaded() (*tableState, error) {
	st := t.state.Load()
	if st == nil {
		return nil, t.cfg.Inactive
	}
	return st, nil
}

func (t *Table) handleList(context.Context, *secrets.Request, *endpoint.Data) (*secrets.Response, error) {
	st, err := t.loaded()
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, ae := range st.entries {
		out[ae.Path] = map[string]any{
			"type": ae.Type, "description": ae.Description, "options": ae.Options,
			"local": ae.Local, "path": ae.Path,
		}
	}
	return &secrets.Response{Data: out}, nil
}

func (t *Table) handleEnable(ctx context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	if _, err := t.loaded(); err != nil {
		return nil, err
	}
	p, err := t.cfg.NormalizePath(d.String("path"))
	if err != nil {
		return nil, err
	}
	opts := map[string]string{}
	if o, ok := d.Get("options").(map[string]any); ok {
		for k, v := range o {
			opts[k] = fmt.Sprint(v)
		}
	}
	if err := t.Enable(ctx, p, d.String("type"), d.String("description"), opts, d.Bool("local")); err != nil {
		return nil, err
	}
	return nil, nil
}

func (t *Table) handleDisable(ctx context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	if _, err := t.loaded(); err != nil {
		return nil, err
	}
	p, err := t.cfg.NormalizePath(d.String("path"))
	if err != nil {
		return nil, err
	}
	if err := t.Disable(ctx, p); err != nil {
		return nil, err
	}
	return nil, nil
}

func (t *Table) handleHash(_ context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	st, err := t.loaded()
	if err != nil {
		return nil, err
	}
	p, err := t.cfg.NormalizePath(d.String("path"))
	if err != nil {
		return nil, err
	}
	h, err := st.broker.Hash(p, d.String("input"))
	if errors.Is(err, ErrUnknownDevice) {
		return nil, badRequest("unknown audit backend %s", p)
	}
	if err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{"hash": h}}, nil
}

// Enable enables an audit device at path ("file/"). The device is
// opened before anything is stored, so a bad file_path is a 400.
func (t *Table) Enable(ctx context.Context, path, typ, desc string, opts map[string]string, local bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.state.Load()
	if st == nil {
		return t.cfg.Inactive
	}
	for _, ae := range st.entries {
		if ae.Path == path {
			return badRequest("path already in use")
		}
	}
	dev, fopts, err := Open(Config{Type: typ, Options: opts})
	if err != nil {
		return badRequest("sanity check failed; unable to open the audit device: %v", err)
	}
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		dev.Close()
		return err
	}
	defer clear(salt)
	ae := &tableEntry{Path: path, Type: typ, Description: desc, Options: opts, UUID: uuid.NewString(), Local: local}
	entries := append(append([]*tableEntry(nil), st.entries...), ae)
	if err := t.save(ctx, entries, storage.Op{Kind: storage.OpPut, Key: auditSaltPrefix + ae.UUID, Value: salt}); err != nil {
		dev.Close()
		return err
	}
	st.broker.Register(path, dev, salt, fopts)
	t.state.Store(&tableState{entries: entries, broker: st.broker})
	t.log.Info("audit device enabled", "path", path, "type", typ)
	return nil
}

// Disable disables the device at path and deletes its salt (hashes it
// wrote can no longer be recomputed, as in Vault). Absent: success.
func (t *Table) Disable(ctx context.Context, path string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.state.Load()
	if st == nil {
		return t.cfg.Inactive
	}
	var gone *tableEntry
	entries := make([]*tableEntry, 0, len(st.entries))
	for _, ae := range st.entries {
		if ae.Path == path {
			gone = ae
			continue
		}
		entries = append(entries, ae)
	}
	if gone == nil {
		return nil
	}
	if err := t.save(ctx, entries, storage.Op{Kind: storage.OpDelete, Key: auditSaltPrefix + gone.UUID}); err != nil {
		return err
	}
	if err := st.broker.Deregister(path); err != nil && !errors.Is(err, ErrUnknownDevice) {
		t.log.Warn("closing audit device", "path", path, "error", err)
	}
	t.state.Store(&tableState{entries: entries, broker: st.broker})
	t.log.Info("audit device disabled", "path", path)
	return nil
}
