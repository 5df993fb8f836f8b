package core

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vaultd/vaultd/core/audit"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// Audit devices. The table lives at core/audit and each device's HMAC
// salt at core/audit-salt/<device uuid>, both behind the barrier, so every
// node that becomes active reopens the same devices with the same salts
// (each node writes its own local file).
const (
	auditTableKey   = "core/audit"
	auditSaltPrefix = "core/audit-salt/"
)

// ErrAuditFailed: audit devices are enabled but none could record the
// request, so it is refused (fail closed). api answers 500.
var ErrAuditFailed = errors.New("core: no audit device could record the request")

type auditEntry struct {
	Path        string            `json:"path"` // "file/"
	Type        string            `json:"type"`
	Description string            `json:"description"`
	Options     map[string]string `json:"options"`
	UUID        string            `json:"uuid"`
	Local       bool              `json:"local"`
}

type storedAudit struct {
	Entries []*auditEntry `json:"entries"`
}

// auditState is the active node's audit table and broker. Immutable
// pointer contents except the broker, which is concurrency-safe.
type auditState struct {
	entries []*auditEntry
	broker  *audit.Broker
}

func (c *Core) loadAuditTable(ctx context.Context) ([]*auditEntry, error) {
	e, err := c.barrier.Get(ctx, auditTableKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("core: audit table: %w", err)
	}
	var sa storedAudit
	if err := json.Unmarshal(e.Value, &sa); err != nil {
		return nil, fmt.Errorf("core: audit table: %w", err)
	}
	return sa.Entries, nil
}

// setupAudit opens every enabled device. A device whose file cannot be
// opened stays registered and keeps retrying: while every device fails,
// requests fail rather than run unaudited.
func (c *Core) setupAudit(ctx context.Context) error {
	entries, err := c.loadAuditTable(ctx)
	if err != nil {
		return err
	}
	b := audit.NewBroker(c.log)
	for _, ae := range entries {
		se, err := c.barrier.Get(ctx, auditSaltPrefix+ae.UUID)
		if err != nil {
			b.Close()
			return fmt.Errorf("core: audit salt for %s: %w", ae.Path, err)
		}
		dev, opts, err := audit.OpenRetrying(audit.Config{Type: ae.Type, Options: ae.Options})
		if err != nil {
			c.log.Error("audit device is misconfigured; requests fail unless another device works", "path", ae.Path, "error", err)
			dev, opts = audit.Unavailable(err), audit.Options{HMACAccessor: true}
		}
		b.Register(ae.Path, dev, se.Value, opts)
		clear(se.Value)
	}
	c.ident.audit.Store(&auditState{entries: entries, broker: b})
	return nil
}

func (c *Core) teardownAudit() {
	c.ident.auditMu.Lock() // an EnableAudit in flight finishes first
	defer c.ident.auditMu.Unlock()
	if st := c.ident.audit.Swap(nil); st != nil {
		st.broker.Close()
	}
}

// ReopenAuditDevices reopens every audit file (log rotation, SIGHUP).
func (c *Core) ReopenAuditDevices() error {
	st := c.ident.audit.Load()
	if st == nil {
		return nil
	}
	return st.broker.Reopen()
}

func (c *Core) saveAuditTable(ctx context.Context, entries []*auditEntry, extra ...storage.Op) error {
	b, err := json.Marshal(storedAudit{Entries: entries})
	if err != nil {
		return err
	}
	return c.barrier.Txn(ctx, append([]storage.Op{{Kind: storage.OpPut, Key: auditTableKey, Value: b}}, extra...))
}

// sysAudit serves sys/audit (list), sys/audit/:path (enable, disable) and
// sys/audit-hash/:path. handleSys has already required sudo for sys/audit.
func (c *Core) sysAudit(ctx context.Context, op secrets.Operation, path string, d map[string]any) (*Response, error) {
	st := c.ident.audit.Load()
	if st == nil {
		return nil, ErrStandby
	}
	if rest, ok := strings.CutPrefix(path, "sys/audit-hash/"); ok {
		if op != secrets.OpUpdate && op != secrets.OpCreate {
			return nil, unsupportedOp()
		}
		p, err := normalizeMountPath(rest)
		if err != nil {
			return nil, err
		}
		in, err := strField(d, "input")
		if err != nil {
			return nil, err
		}
		h, err := st.broker.Hash(p, in)
		if errors.Is(err, audit.ErrUnknownDevice) {
			return nil, badRequest("unknown audit backend %s", p)
		}
		if err != nil {
			return nil, err
		}
		return &Response{Data: map[string]any{"hash": h}}, nil
	}
	if path == "sys/audit" {
		if op != secrets.OpRead && op != secrets.OpList {
			return nil, unsupportedOp()
		}
		out := map[string]any{}
		for _, ae := range st.entries {
			out[ae.Path] = map[string]any{
				"type": ae.Type, "description": ae.Description, "options": ae.Options,
				"local": ae.Local, "path": ae.Path,
			}
		}
		return &Response{Data: out}, nil
	}
	p, err := normalizeMountPath(strings.TrimPrefix(path, "sys/audit/"))
	if err != nil {
		return nil, err
	}
	switch op {
	case secrets.OpCreate, secrets.OpUpdate:
		typ, err := strField(d, "type")
		if err != nil {
			return nil, err
		}
		desc, err := strField(d, "description")
		if err != nil {
			return nil, err
		}
		local, _, err := boolField(d, "local")
		if err != nil {
			return nil, err
		}
		opts := map[string]string{}
		if o, ok := d["options"].(map[string]any); ok {
			for k, v := range o {
				opts[k] = fmt.Sprint(v)
			}
		} else if d["options"] != nil {
			return nil, badRequest("field \"options\" must map strings to strings")
		}
		if err := c.EnableAudit(ctx, p, typ, desc, opts, local); err != nil {
			return nil, err
		}
		return &Response{}, nil
	case secrets.OpDelete:
		if err := c.DisableAudit(ctx, p); err != nil {
			return nil, err
		}
		return &Response{}, nil
	}
	return nil, unsupportedOp()
}

// EnableAudit enables an audit device at path ("file/"). The device is
// opened before anything is stored, so a bad file_path is a 400.
func (c *Core) EnableAudit(ctx context.Context, path, typ, desc string, opts map[string]string, local bool) error {
	c.ident.auditMu.Lock()
	defer c.ident.auditMu.Unlock()
	st := c.ident.audit.Load()
	if st == nil {
		return ErrStandby
	}
	for _, ae := range st.entries {
		if ae.Path == path {
			return badRequest("path already in use")
		}
	}
	dev, fopts, err := audit.Open(audit.Config{Type: typ, Options: opts})
	if err != nil {
		return badRequest("sanity check failed; unable to open the audit device: %v", err)
	}
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		dev.Close()
		return err
	}
	defer clear(salt)
	ae := &auditEntry{Path: path, Type: typ, Description: desc, Options: opts, UUID: uuid.NewString(), Local: local}
	entries := append(append([]*auditEntry(nil), st.entries...), ae)
	if err := c.saveAuditTable(ctx, entries, storage.Op{Kind: storage.OpPut, Key: auditSaltPrefix + ae.UUID, Value: salt}); err != nil {
		dev.Close()
		return err
	}
	st.broker.Register(path, dev, salt, fopts)
	c.ident.audit.Store(&auditState{entries: entries, broker: st.broker})
	c.log.Info("audit device enabled", "path", path, "type", typ)
	return nil
}

// DisableAudit disables the device at path and deletes its salt (hashes it
// wrote can no longer be recomputed, as in Vault). Absent: success.
func (c *Core) DisableAudit(ctx context.Context, path string) error {
	c.ident.auditMu.Lock()
	defer c.ident.auditMu.Unlock()
	st := c.ident.audit.Load()
	if st == nil {
		return ErrStandby
	}
	var gone *auditEntry
	entries := make([]*auditEntry, 0, len(st.entries))
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
	if err := c.saveAuditTable(ctx, entries, storage.Op{Kind: storage.OpDelete, Key: auditSaltPrefix + gone.UUID}); err != nil {
		return err
	}
	if err := st.broker.Deregister(path); err != nil && !errors.Is(err, audit.ErrUnknownDevice) {
		c.log.Warn("closing audit device", "path", path, "error", err)
	}
	c.ident.audit.Store(&auditState{entries: entries, broker: st.broker})
	c.log.Info("audit device disabled", "path", path)
	return nil
}

// ---- per-request audit input ----

func auditAuth(te *TokenEntry, now time.Time) *audit.Auth {
	if te == nil {
		return nil
	}
	a := &audit.Auth{
		ClientToken: te.ID, Accessor: te.Accessor, DisplayName: te.DisplayName,
		Policies: te.Policies, TokenPolicies: te.Policies, Metadata: te.Meta,
		NumUses: max(te.NumUses, 0), EntityID: te.EntityID, TokenType: te.Type,
		TokenIssueTime: te.CreationTime, Orphan: te.ParentHash == "",
	}
	if !te.ExpireTime.IsZero() {
		a.TokenTTL = max(secs(te.ExpireTime.Sub(now)), 0)
	}
	return a
}

func responseAuthAudit(ra *ResponseAuth) *audit.Auth {
	if ra == nil {
		return nil
	}
	return &audit.Auth{
		ClientToken: ra.ClientToken, Accessor: ra.Accessor, Policies: ra.Policies,
		TokenPolicies: ra.TokenPolicies, Metadata: ra.Metadata, NumUses: ra.NumUses,
		EntityID: ra.EntityID, TokenType: ra.TokenType, TokenTTL: int64(ra.LeaseDuration), Orphan: ra.Orphan,
	}
}

// auditor is the audit state of one request: the broker it logs to (nil
// when no device is enabled) and the input it has built so far.
type auditor struct {
	broker *audit.Broker
	stats  *auditCounters // telemetry.go
	in     audit.Input
}

func (c *Core) newAuditor(req *Request, te *TokenEntry) *auditor {
	st := c.ident.audit.Load()
	if st == nil || !st.broker.Enabled() {
		return &auditor{}
	}
	now := c.now()
	r := &audit.Request{
		ID: req.ID, Operation: string(req.Operation), Path: req.Path, Data: req.Data,
		ClientToken: req.ClientToken, RemoteAddress: req.RemoteAddr, WrapTTL: req.WrapTTL,
	}
	if te != nil {
		r.ClientTokenAccessor = te.Accessor
	}
	if mt := c.mounts.Load(); mt != nil {
		if me := mt.match(req.Path); me != nil {
			r.MountType, r.MountPoint = me.Type, me.Path
		}
	}
	return &auditor{broker: st.broker, stats: &c.auditStats, in: audit.Input{Time: now, Auth: auditAuth(te, now), Request: r}}
}

// request logs the request entry; errText is set when the request has
// already failed (bad token).
func (a *auditor) request(ctx context.Context, errText string) error {
	if a.broker == nil {
		return nil
	}
	a.in.Error = errText
	done := a.stats.begin(false)
	if err := a.broker.LogRequest(ctx, &a.in); err != nil {
		done(true)
		return fmt.Errorf("%w: %w", ErrAuditFailed, err)
	}
	done(false)
	return nil
}

// response logs the response entry for resp or err.
func (a *auditor) response(ctx context.Context, resp *Response, reqErr error) error {
	if a.broker == nil {
		return nil
	}
	in := a.in
	in.Error = ""
	if reqErr != nil {
		in.Error = reqErr.Error()
	}
	if resp != nil {
		ar := &audit.Response{
			MountType: resp.MountType, Data: resp.Data, Auth: responseAuthAudit(resp.Auth), Warnings: resp.Warnings,
		}
		if w := resp.WrapInfo; w != nil {
			ct, _ := time.Parse(time.RFC3339Nano, w.CreationTime)
			ar.WrapInfo = &audit.WrapInfo{
				Token: w.Token, Accessor: w.Accessor, TTL: time.Duration(w.TTL) * time.Second,
				CreationTime: ct, CreationPath: w.CreationPath, WrappedAccessor: w.WrappedAccessor,
			}
		}
		in.Response = ar
	}
	done := a.stats.begin(true)
	if err := a.broker.LogResponse(ctx, &in); err != nil {
		done(true)
		return fmt.Errorf("%w: %w", ErrAuditFailed, err)
	}
	done(false)
	return nil
}
