package approle

import (
	"context"
	"strings"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// handler serves one operation on one path family; name is the segment
// captured by the route's "*" (the role name), or "" when it has none.
type handler func(ctx context.Context, req *secrets.Request, name string) (*secrets.Response, error)

// existsFunc is a route's existence check (create vs update).
type existsFunc func(ctx context.Context, s storage.Backend, name string) (bool, error)

// route is one row of the routing table: a pattern of slash-separated
// segments, where "*" captures one non-empty segment, and a handler per
// operation.
type route struct {
	pattern string
	ops     map[secrets.Operation]handler
	exists  existsFunc
}

// match reports whether the route serves path p, and the captured segment.
func (r *route) match(p string) (string, bool) {
	var name string
	pat := r.pattern
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

// handler returns the route's handler for op, or nil. As in Vault, a create
// on a path without a create handler is served as an update.
func (r *route) handler(op secrets.Operation) handler {
	if h, ok := r.ops[op]; ok {
		return h
	}
	if op == secrets.OpCreate {
		return r.ops[secrets.OpUpdate]
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
