package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vaultd/vaultd/core/audit"
)

// ErrAuditFailed: audit devices are enabled but none could record the
// request, so it is refused (fail closed). api answers 500.
var ErrAuditFailed = errors.New("core: no audit device could record the request")

// setupAudit opens every enabled audit device (core/audit.Table).
func (c *Core) setupAudit(ctx context.Context) error { return c.ident.audit.Setup(ctx, c.barrier) }

func (c *Core) teardownAudit() { c.ident.audit.Teardown() }

// ReopenAuditDevices reopens every audit file (log rotation, SIGHUP).
func (c *Core) ReopenAuditDevices() error { return c.ident.audit.Reopen() }

// EnableAudit enables an audit device at path ("file/"). The device is
// opened before anything is stored, so a bad file_path is a 400.
func (c *Core) EnableAudit(ctx context.Context, path, typ, desc string, opts map[string]string, local bool) error {
	return c.ident.audit.Enable(ctx, path, typ, desc, opts, local)
}

// DisableAudit disables the device at path and deletes its salt.
func (c *Core) DisableAudit(ctx context.Context, path string) error {
	return c.ident.audit.Disable(ctx, path)
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
	broker := c.ident.audit.Broker()
	if broker == nil || !broker.Enabled() {
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
	if mt := c.mounts.Current(); mt != nil {
		if me := mt.Match(req.Path); me != nil {
			r.MountType, r.MountPoint = me.Type, me.Path
		}
	}
	return &auditor{broker: broker, stats: &c.auditStats, in: audit.Input{Time: now, Auth: auditAuth(te, now), Request: r}}
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
