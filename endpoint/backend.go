package endpoint

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/vaultd/vaultd/secrets"
)

// ErrNoStorage is what a Backend answers a request without a storage
// view, unless it names its own error or does not need storage.
var ErrNoStorage = errors.New("endpoint: request has no storage")

// Handler serves one operation on one path. d holds the request's
// converted fields and the path's captures.
type Handler func(ctx context.Context, req *secrets.Request, d *Data) (*secrets.Response, error)

// ExistenceFunc is a path's existence check (create vs update). A
// user-facing *secrets.Error (an invalid name) means "no answer": the
// write is then an update and its handler reports the error.
type ExistenceFunc func(ctx context.Context, req *secrets.Request, d *Data) (bool, error)

// Path declares one endpoint: a pattern relative to the mount, its
// operations and fields. See the package documentation for patterns.
type Path struct {
	Pattern    string
	Fields     map[string]*Field
	Operations map[secrets.Operation]Handler
	Exists     ExistenceFunc
	// Summary is one line for OpenAPI and docs/api.md; Description may be
	// longer.
	Summary, Description string
	// Unauthenticated paths need no token (login).
	Unauthenticated bool
	// TakesArbitraryInput turns off the unknown-field warning: the
	// handlers read the whole body (KV's data) from Data.Raw or req.Data.
	TakesArbitraryInput bool
}

// compiledPath is a Path with its pattern parsed and the fields its
// captures add.
type compiledPath struct {
	*Path
	pat    *compiled
	fields map[string]*Field
}

// Backend is an engine made of declared paths. Build it once (its
// fields are read-only after the first request) and use it by pointer;
// it is safe for concurrent use.
type Backend struct {
	Paths []*Path
	// Help is the engine's one-paragraph description.
	Help string
	// Unmatched answers a request that no path matches; nil answers
	// secrets.ErrUnsupportedPath "unsupported path".
	Unmatched func(req *secrets.Request) error
	// NoStorage is the error for a request without a storage view; nil
	// means ErrNoStorage. StorageOptional lets such requests through
	// (engines that keep no state).
	NoStorage       error
	StorageOptional bool
	// StrictList matches a LIST only with its trailing slash, never
	// retrying without it (KV: LIST config is a 404, not a 405).
	StrictList bool

	once  sync.Once
	paths []*compiledPath
	err   error
}

var (
	_ secrets.Backend          = (*Backend)(nil)
	_ secrets.ExistenceChecker = (*Backend)(nil)
	_ secrets.Unauthenticated  = (*Backend)(nil)
)

// Validate compiles the declarations and reports the first mistake (a
// bad pattern, a capture declared with a non-scalar type, a default that
// does not convert). A Backend that does not validate panics on first
// use: engines' tests call Validate.
func (b *Backend) Validate() error {
	b.once.Do(b.compile)
	return b.err
}

func (b *Backend) compile() {
	for _, p := range b.Paths {
		cp, err := compilePath(p)
		if err != nil {
			b.err = err
			return
		}
		b.paths = append(b.paths, cp)
	}
}

func compilePath(p *Path) (*compiledPath, error) {
	pat, err := compilePattern(p.Pattern)
	if err != nil {
		return nil, err
	}
	fields := make(map[string]*Field, len(p.Fields)+2)
	for name, f := range p.Fields {
		if f == nil {
			return nil, fmt.Errorf("endpoint: path %q: field %q is nil", p.Pattern, name)
		}
		if _, ok := typeNames[f.Type]; !ok {
			return nil, fmt.Errorf("endpoint: path %q: field %q has no type", p.Pattern, name)
		}
		if len(f.AllowedValues) > 0 && !f.Type.scalar() {
			return nil, fmt.Errorf("endpoint: path %q: field %q: allowed values need a scalar type, not %s", p.Pattern, name, f.Type)
		}
		if f.Default != nil {
			v, err := Convert(name, f.Type, f.Default)
			if err == nil {
				err = f.allowed(name, v)
			}
			if err != nil {
				return nil, fmt.Errorf("endpoint: path %q: default of field %q: %w", p.Pattern, name, err)
			}
		}
		fields[name] = f
	}
	for _, seg := range pat.segs {
		if seg.kind == segLiteral {
			continue
		}
		if f, ok := fields[seg.text]; ok {
			switch f.Type {
			case TypeMap, TypeKVPairs, TypeCommaIntSlice:
				return nil, fmt.Errorf("endpoint: path %q: capture %q cannot be a %s", p.Pattern, seg.text, f.Type)
			}
			continue
		}
		fields[seg.text] = &Field{Type: TypeString, Required: seg.kind == segOne}
	}
	return &compiledPath{Path: p, pat: pat, fields: fields}, nil
}

func (b *Backend) compiled() []*compiledPath {
	b.once.Do(b.compile)
	if b.err != nil {
		panic(b.err)
	}
	return b.paths
}

// match finds the path serving op on path and its captures. LIST paths
// are folders (see the package documentation).
func (b *Backend) match(op secrets.Operation, path string) (*compiledPath, map[string]string, bool) {
	paths := b.compiled()
	try := func(p string) (*compiledPath, map[string]string, bool) {
		for _, cp := range paths {
			if caps, ok := cp.pat.match(p); ok {
				return cp, caps, true
			}
		}
		return nil, nil, false
	}
	if op != secrets.OpList {
		return try(path)
	}
	if path != "" && !strings.HasSuffix(path, "/") {
		path += "/"
	}
	if cp, caps, ok := try(path); ok {
		return cp, caps, true
	}
	if path == "" || b.StrictList {
		return nil, nil, false
	}
	// "users" serves LIST users/; a rest capture decides for itself.
	cp, caps, ok := try(strings.TrimSuffix(path, "/"))
	if !ok || cp.pat.endsInRest() {
		return nil, nil, false
	}
	return cp, caps, true
}

// Match reports which declared path serves op on path (for tests and
// tools): its pattern and captures.
func (b *Backend) Match(op secrets.Operation, path string) (*Path, map[string]string, bool) {
	cp, caps, ok := b.match(op, path)
	if !ok {
		return nil, nil, false
	}
	return cp.Path, caps, true
}

// handler returns p's handler for op; a create falls back to update.
func (p *Path) handler(op secrets.Operation) Handler {
	if h, ok := p.Operations[op]; ok && h != nil {
		return h
	}
	if op == secrets.OpCreate {
		return p.Operations[secrets.OpUpdate]
	}
	return nil
}

// data builds the handler's Data: the request's data with the captures
// (which win over body keys of the same name), converted.
func (cp *compiledPath) data(req *secrets.Request, caps map[string]string) (*Data, error) {
	raw := req.Data
	if len(caps) > 0 {
		raw = make(map[string]any, len(req.Data)+len(caps))
		for k, v := range req.Data {
			raw[k] = v
		}
		for k, v := range caps {
			raw[k] = v
		}
	}
	if raw == nil {
		raw = map[string]any{}
	}
	return NewData(cp.fields, raw)
}

// HandleRequest implements secrets.Backend: a nil request is a 400, one
// without storage NoStorage, an unknown path Unmatched (or a 404), an
// operation the path does not serve a 405, a field that does not convert
// or a missing required one a 400. The handler sees a non-nil req.Data
// (req itself is never modified). Unknown fields add Vault's warning to a
// successful response.
func (b *Backend) HandleRequest(ctx context.Context, req *secrets.Request) (*secrets.Response, error) {
	if req == nil {
		return nil, secrets.Errorf(secrets.ErrInvalidRequest, "missing request")
	}
	if req.Storage == nil && !b.StorageOptional {
		if b.NoStorage != nil {
			return nil, b.NoStorage
		}
		return nil, ErrNoStorage
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cp, caps, ok := b.match(req.Operation, req.Path)
	if !ok {
		if b.Unmatched != nil {
			return nil, b.Unmatched(req)
		}
		return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
	}
	h := cp.handler(req.Operation)
	if h == nil {
		return nil, secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
	}
	d, err := cp.data(req, caps)
	if err != nil {
		return nil, err
	}
	if req.Data == nil {
		cpy := *req
		cpy.Data = map[string]any{}
		req = &cpy
	}
	resp, err := h(ctx, req, d)
	if err != nil || cp.TakesArbitraryInput || len(d.unknown) == 0 {
		return resp, err
	}
	if resp == nil {
		resp = &secrets.Response{}
	}
	resp.Warnings = append(resp.Warnings, UnknownFieldsWarning(d.unknown))
	return resp, nil
}

// UnknownFieldsWarning is Vault's warning for ignored request keys.
func UnknownFieldsWarning(keys []string) string {
	return fmt.Sprintf("Endpoint ignored these unrecognized parameters: %v", keys)
}

// Exists implements secrets.ExistenceChecker with the matching path's
// check; ok is false when no path matches, the path has no check, the
// request has no storage (unless storage is optional), its fields do not
// convert, or the check returns a user-facing *secrets.Error (a bad name:
// not an existence question; HandleRequest then answers the error).
func (b *Backend) Exists(ctx context.Context, req *secrets.Request) (exists, ok bool, err error) {
	if req == nil || (req.Storage == nil && !b.StorageOptional) {
		return false, false, nil
	}
	cp, caps, matched := b.match(req.Operation, req.Path)
	if !matched || cp.Exists == nil {
		return false, false, nil
	}
	d, err := cp.data(req, caps)
	if err != nil {
		return false, false, nil
	}
	exists, err = cp.Exists(ctx, req, d)
	var userErr *secrets.Error
	if errors.As(err, &userErr) {
		return false, false, nil // HandleRequest answers it
	}
	if err != nil {
		return false, false, err
	}
	return exists, true, nil
}

// UnauthenticatedPaths implements secrets.Unauthenticated in core's
// pattern form, exactly as narrow as the declarations: literal segments
// stay literal, a {name} capture becomes "+" (one segment), an optional
// {name?} yields the pattern with and without it, and a rest capture
// ({name*}, {name+}) becomes a trailing "*". So a public "issuer/{ref}/pem"
// opens "issuer/+/pem" and never "issuer/x/issue/...".
func (b *Backend) UnauthenticatedPaths() []string {
	var out []string
	for _, cp := range b.compiled() {
		if !cp.Unauthenticated {
			continue
		}
		out = append(out, unauthPatterns(cp.pat.segs)...)
	}
	return out
}

func unauthPatterns(segs []segment) []string {
	acc := []string{""}
	join := func(prefix, seg string) string {
		if prefix == "" {
			return seg
		}
		return prefix + "/" + seg
	}
	var done []string
	for _, seg := range segs {
		var next []string
		for _, p := range acc {
			switch seg.kind {
			case segLiteral:
				next = append(next, join(p, seg.text))
			case segOne:
				next = append(next, join(p, "+"))
			case segOptional:
				done = append(done, p) // the path without the optional tail
				next = append(next, join(p, "+"))
			default: // segRest, segLeaf: the rest of the path
				done = append(done, join(p, "*"))
			}
		}
		acc = next
	}
	return append(done, acc...)
}
