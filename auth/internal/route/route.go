package route

import (
	"context"
	"errors"
	"strings"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// ErrNoStorage is what Table.HandleRequest returns for a request without
// a storage view when the table names no error of its own.
var ErrNoStorage = errors.New("auth: request has no storage")

// Handler serves one operation on one path family; name is the segment
// captured by the route's "*", or "" when it has none.
type Handler func(ctx context.Context, req *secrets.Request, name string) (*secrets.Response, error)

// ExistsFunc is a route's existence check (create vs update).
type ExistsFunc func(ctx context.Context, s storage.Backend, name string) (bool, error)

// Route is one row of the routing table: a pattern of slash-separated
// segments, where "*" captures one non-empty segment, a handler per
// operation and an optional existence check.
type Route struct {
	Pattern string
	Ops     map[secrets.Operation]Handler
	Exists  ExistsFunc
}

// Match reports whether the route serves path p, and the captured segment.
func (r *Route) Match(p string) (string, bool) {
	var name string
	pat := r.Pattern
	for {
		ps, prest, pmore := strings.Cut(pat, "/")
		seg, rest, more := strings.Cut(p, "/")
		switch {
		case ps == "*":
			if seg == "" {
				return "", false
			}
			name = seg
		case ps != seg:
			return "", false
		}
		if pmore != more {
			return "", false
		}
		if !more {
			return name, true
		}
		pat, p = prest, rest
	}
}

// Handler returns the route's handler for op, or nil. As in Vault, a create
// on a path without a create handler is served as an update.
func (r *Route) Handler(op secrets.Operation) Handler {
	if h, ok := r.Ops[op]; ok {
		return h
	}
	if op == secrets.OpCreate {
		return r.Ops[secrets.OpUpdate]
	}
	return nil
}

// normalizePath strips the one trailing slash a LIST carries (the HTTP
// layer makes every LIST path a folder).
func normalizePath(op secrets.Operation, p string) string {
	if op == secrets.OpList {
		return strings.TrimSuffix(p, "/")
	}
	return p
}

// Table is an engine's routing table. It is read-only once built and safe
// for concurrent use.
type Table struct {
	// Routes are tried in order; the first that matches serves.
	Routes []Route
	// NoStorage is returned for a request without a storage view (the
	// engine's own sentinel); nil means ErrNoStorage.
	NoStorage error
}

// Match returns the first route that serves op on path, and the segment
// it captured.
func (t *Table) Match(op secrets.Operation, path string) (*Route, string, bool) {
	p := normalizePath(op, path)
	for i := range t.Routes {
		if name, ok := t.Routes[i].Match(p); ok {
			return &t.Routes[i], name, true
		}
	}
	return nil, "", false
}

// HandleRequest serves req as secrets.Backend.HandleRequest does: a nil
// request is a 400, a request without storage is t.NoStorage, an unknown
// path is secrets.ErrUnsupportedPath and an operation the route does not
// serve is secrets.ErrUnsupportedOperation. The handler sees a non-nil
// req.Data (a copy of req is made when it is nil; req itself is never
// changed).
func (t *Table) HandleRequest(ctx context.Context, req *secrets.Request) (*secrets.Response, error) {
	if req == nil {
		return nil, secrets.Errorf(secrets.ErrInvalidRequest, "missing request")
	}
	if req.Storage == nil {
		if t.NoStorage != nil {
			return nil, t.NoStorage
		}
		return nil, ErrNoStorage
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, name, ok := t.Match(req.Operation, req.Path)
	if !ok {
		return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
	}
	h := r.Handler(req.Operation)
	if h == nil {
		return nil, secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
	}
	if req.Data == nil {
		cp := *req
		cp.Data = map[string]any{}
		req = &cp
	}
	return h(ctx, req, name)
}

// Exists serves secrets.ExistenceChecker.Exists: the existence check of
// the route that serves req, with ok = false when there is no such route,
// the route has no check, or req has no storage.
func (t *Table) Exists(ctx context.Context, req *secrets.Request) (exists, ok bool, err error) {
	if req == nil || req.Storage == nil {
		return false, false, nil
	}
	r, name, matched := t.Match(req.Operation, req.Path)
	if !matched || r.Exists == nil {
		return false, false, nil
	}
	exists, err = r.Exists(ctx, req.Storage, name)
	if err != nil {
		return false, false, err
	}
	return exists, true, nil
}
