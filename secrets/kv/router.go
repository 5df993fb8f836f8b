package kv

import (
	"context"
	"strings"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// handler serves one operation on one path family; key is the secret path
// captured by the route (e.g. "app/db" for "data/app/db").
type handler func(ctx context.Context, req *secrets.Request, key string) (*secrets.Response, error)

// existsFunc is a route's existence check (create vs update).
type existsFunc func(ctx context.Context, s storage.Backend, key string) (bool, error)

// route is one row of an engine's routing table: a pattern and a handler
// per operation.
type route struct {
	// exact, if set, is the whole path the route serves ("config").
	exact string
	// prefix is the path family ("data/"); the rest of the path is the key.
	prefix string
	// leafOnly restricts the key to a non-empty path without a trailing
	// slash (Vault's data/ pattern).
	leafOnly bool
	ops      map[secrets.Operation]handler
	exists   existsFunc
}

// routeTable is an engine's routes plus its answer for unmatched paths
// (nil when the routes match every path).
type routeTable struct {
	routes  []route
	invalid func(op secrets.Operation, path string) error
}

// match reports whether the route serves path p, and the key within it.
func (r *route) match(p string) (string, bool) {
	if r.exact != "" {
		return "", p == r.exact
	}
	key, ok := strings.CutPrefix(p, r.prefix)
	if !ok {
		return "", false
	}
	if r.leafOnly && (key == "" || strings.HasSuffix(key, "/")) {
		return "", false
	}
	return key, true
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
