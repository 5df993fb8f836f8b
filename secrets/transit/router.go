package transit

import (
	"context"
	"strings"

	"github.com/vaultd/vaultd/secrets"
)

// params are the path segments a route captured.
type params struct {
	name string // key name
	a    string // first optional segment (hash algorithm, bytes, version ...)
	b    string // second optional segment
	kind string // the non-name selector (datakey type, export key type)
}

// handler serves one operation on one path family.
type handler func(ctx context.Context, req *secrets.Request, p params) (*secrets.Response, error)

// route is one row of the routing table. Patterns are slash-separated
// segments: a literal, "{name}" (a key name), "{kind}" (any segment),
// "{a?}" / "{b?}" (optional trailing segments).
type route struct {
	pattern []string
	ops     map[secrets.Operation]handler
	// upsert: a write to an absent key creates it (existence check).
	upsert bool
}

func (e *engine) routeTable() []route {
	upd := func(h handler) map[secrets.Operation]handler {
		return map[secrets.Operation]handler{secrets.OpUpdate: h}
	}
	mk := func(pattern string, ops map[secrets.Operation]handler) route {
		return route{pattern: strings.Split(pattern, "/"), ops: ops}
	}
	keys := mk("keys/{name}", map[secrets.Operation]handler{
		secrets.OpRead: e.keyRead, secrets.OpUpdate: cpuHeavy(e.keyCreate),
		secrets.OpCreate: cpuHeavy(e.keyCreate), secrets.OpDelete: e.keyDelete,
	})
	keys.upsert = true
	enc := mk("encrypt/{name}", map[secrets.Operation]handler{
		secrets.OpUpdate: e.encrypt, secrets.OpCreate: e.encrypt,
	})
	enc.upsert = true
	return []route{
		mk("keys", map[secrets.Operation]handler{secrets.OpList: e.keyList}),
		mk("keys/", map[secrets.Operation]handler{secrets.OpList: e.keyList}),
		keys,
		mk("keys/{name}/config", upd(e.keyConfig)),
		mk("keys/{name}/rotate", upd(cpuHeavy(e.keyRotate))),
		enc,
		mk("decrypt/{name}", upd(e.decrypt)),
		mk("rewrap/{name}", upd(e.rewrap)),
		mk("datakey/{kind}/{name}", upd(e.datakey)),
		mk("sign/{name}/{a?}", upd(cpuHeavy(e.sign))),
		mk("verify/{name}/{a?}", upd(e.verify)),
		mk("hmac/{name}/{a?}", upd(e.hmac)),
		mk("random/{a?}/{b?}", upd(e.random)),
		mk("random", upd(e.random)),
		mk("hash/{a?}", upd(e.hash)),
		mk("hash", upd(e.hash)),
		mk("export/{kind}/{name}/{a?}", map[secrets.Operation]handler{secrets.OpRead: e.export}),
	}
}

// match finds the route serving path and the segments it captured.
func (e *engine) match(path string) (*route, params, error) {
	segs := strings.Split(path, "/")
	for i := range e.routes {
		if p, ok := e.routes[i].match(segs); ok {
			return &e.routes[i], p, nil
		}
	}
	return nil, params{}, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
}

func (r *route) match(segs []string) (params, bool) {
	var p params
	if len(segs) > len(r.pattern) {
		return p, false
	}
	for i, pat := range r.pattern {
		if i >= len(segs) {
			if strings.HasSuffix(pat, "?}") {
				continue
			}
			return p, false
		}
		s := segs[i]
		switch pat {
		case "{name}":
			if !validName(s) {
				return p, false
			}
			p.name = s
		case "{kind}":
			if !validName(s) {
				return p, false
			}
			p.kind = s
		case "{a?}", "{b?}":
			if !validName(s) {
				return p, false
			}
			if pat == "{a?}" {
				p.a = s
			} else {
				p.b = s
			}
		default:
			if s != pat {
				return p, false
			}
		}
	}
	return p, true
}

// validName is Vault's GenericNameRegex: word characters, '-' and '.',
// starting and ending with a word character.
func validName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	word := func(c byte) bool {
		return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	if !word(s[0]) || !word(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !word(c) && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// handler returns the route's handler for op, or nil. A create on a path
// without a create handler is served as an update, as in Vault.
func (r *route) handler(op secrets.Operation) handler {
	if h, ok := r.ops[op]; ok {
		return h
	}
	if op == secrets.OpCreate {
		return r.ops[secrets.OpUpdate]
	}
	return nil
}

// cpuHeavy runs h in a slot of the node's CPU pool (secrets.AcquireCPU):
// key generation and signing can cost milliseconds of CPU each (RSA), and
// a storm of them must not starve raft (issue 11).
func cpuHeavy(h handler) handler {
	return func(ctx context.Context, req *secrets.Request, p params) (*secrets.Response, error) {
		release, err := secrets.AcquireCPU(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
		return h(ctx, req, p)
	}
}
