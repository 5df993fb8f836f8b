package endpoint_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage/inmem"
)

// echo answers with the handler's name and every field it was given.
func echo(name string, fields ...string) endpoint.Handler {
	return func(_ context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
		out := map[string]any{"handler": name, "op": string(req.Operation)}
		for _, f := range fields {
			if v, ok := d.GetOk(f); ok {
				out[f] = v
			}
		}
		return &secrets.Response{Data: out}, nil
	}
}

func ops(name string, fields []string, list ...secrets.Operation) map[secrets.Operation]endpoint.Handler {
	m := map[secrets.Operation]endpoint.Handler{}
	for _, op := range list {
		m[op] = echo(name, fields...)
	}
	return m
}

func testBackend() *endpoint.Backend {
	return &endpoint.Backend{Paths: []*endpoint.Path{
		{Pattern: "config", Operations: ops("config", nil, secrets.OpRead, secrets.OpUpdate)},
		{Pattern: "users", Operations: ops("users-list", nil, secrets.OpList)},
		{
			Pattern: "users/{name}",
			Fields: map[string]*endpoint.Field{
				"password": {Type: endpoint.TypeString},
				"ttl":      {Type: endpoint.TypeDurationSecond},
			},
			Operations: map[secrets.Operation]endpoint.Handler{
				secrets.OpRead:   echo("user-read", "name"),
				secrets.OpUpdate: echo("user-write", "name", "ttl"),
				secrets.OpDelete: echo("user-delete", "name"),
			},
			Exists: func(_ context.Context, _ *secrets.Request, d *endpoint.Data) (bool, error) {
				return d.String("name") == "alice", nil
			},
		},
		{Pattern: "users/{name}/policies", Operations: ops("policies", []string{"name"}, secrets.OpUpdate, secrets.OpCreate)},
		{Pattern: "login/{username}", Unauthenticated: true, Operations: ops("login", []string{"username"}, secrets.OpUpdate)},
		{Pattern: "hash/{algorithm?}/{format?}", Operations: ops("hash", []string{"algorithm", "format"}, secrets.OpUpdate)},
		{Pattern: "data/{path*}", TakesArbitraryInput: true, Operations: ops("data", []string{"path"}, secrets.OpRead, secrets.OpUpdate, secrets.OpList)},
		{Pattern: "metadata/{path*}", Operations: ops("meta", []string{"path"}, secrets.OpRead, secrets.OpList)},
		{Pattern: "leaf/{key+}", Operations: ops("leaf", []string{"key"}, secrets.OpRead, secrets.OpUpdate)},
		{
			Pattern:    "typed/{n}",
			Fields:     map[string]*endpoint.Field{"n": {Type: endpoint.TypeInt}},
			Operations: ops("typed", []string{"n"}, secrets.OpRead),
		},
	}}
}

func TestMatch(t *testing.T) {
	b := testBackend()
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		op      secrets.Operation
		path    string
		pattern string // "" = no match
		caps    map[string]string
	}{
		{secrets.OpRead, "config", "config", nil},
		{secrets.OpRead, "config/", "", nil},
		{secrets.OpRead, "configx", "", nil},
		{secrets.OpRead, "", "", nil},
		{secrets.OpList, "users", "users", nil},
		{secrets.OpList, "users/", "users", nil},
		{secrets.OpRead, "users/", "", nil},
		{secrets.OpRead, "users/bob", "users/{name}", map[string]string{"name": "bob"}},
		{secrets.OpRead, "users/bob/", "", nil},
		{secrets.OpList, "users/bob", "users/{name}", map[string]string{"name": "bob"}},
		{secrets.OpList, "users/bob/", "users/{name}", map[string]string{"name": "bob"}},
		{secrets.OpList, "data/x", "data/{path*}", map[string]string{"path": "x/"}},
		{secrets.OpRead, "leaf/a/b", "leaf/{key+}", map[string]string{"key": "a/b"}},
		{secrets.OpRead, "leaf/a", "leaf/{key+}", map[string]string{"key": "a"}},
		{secrets.OpRead, "leaf/", "", nil},
		{secrets.OpRead, "leaf", "", nil},
		{secrets.OpRead, "leaf/a/", "", nil},
		{secrets.OpList, "leaf/a", "", nil}, // a rest capture decides for itself
		{secrets.OpList, "leaf/a/", "", nil},
		{secrets.OpRead, "users//policies", "", nil},
		{secrets.OpUpdate, "users/bob/policies", "users/{name}/policies", map[string]string{"name": "bob"}},
		{secrets.OpUpdate, "users/bob/policies/x", "", nil},
		{secrets.OpUpdate, "hash", "hash/{algorithm?}/{format?}", nil},
		{secrets.OpUpdate, "hash/", "hash/{algorithm?}/{format?}", nil},
		{secrets.OpUpdate, "hash/sha2-256", "hash/{algorithm?}/{format?}", map[string]string{"algorithm": "sha2-256"}},
		{secrets.OpUpdate, "hash/sha2-256/hex", "hash/{algorithm?}/{format?}", map[string]string{"algorithm": "sha2-256", "format": "hex"}},
		{secrets.OpUpdate, "hash//hex", "", nil},
		{secrets.OpUpdate, "hash/a/b/c", "", nil},
		{secrets.OpRead, "data", "", nil},
		{secrets.OpRead, "data/", "data/{path*}", map[string]string{"path": ""}},
		{secrets.OpRead, "data/a/b/c", "data/{path*}", map[string]string{"path": "a/b/c"}},
		{secrets.OpList, "metadata", "metadata/{path*}", map[string]string{"path": ""}},
		{secrets.OpList, "metadata/a", "metadata/{path*}", map[string]string{"path": "a/"}},
		{secrets.OpList, "metadata/a/", "metadata/{path*}", map[string]string{"path": "a/"}},
		{secrets.OpRead, "unknown", "", nil},
	}
	for _, tt := range tests {
		p, caps, ok := b.Match(tt.op, tt.path)
		if tt.pattern == "" {
			if ok {
				t.Errorf("Match(%s, %q) = %q, want no match", tt.op, tt.path, p.Pattern)
			}
			continue
		}
		if !ok || p.Pattern != tt.pattern || !reflect.DeepEqual(caps, tt.caps) {
			var pat string
			if p != nil {
				pat = p.Pattern
			}
			t.Errorf("Match(%s, %q) = %q %v %v; want %q %v", tt.op, tt.path, pat, caps, ok, tt.pattern, tt.caps)
		}
	}
}

func TestBadPatterns(t *testing.T) {
	for _, p := range []string{"/a", "a//b", "{x*}/a", "{a}/{a}", "{}", "{x?}/lit", "{?}", "a{b}", "{a}{b}"} {
		b := &endpoint.Backend{Paths: []*endpoint.Path{{Pattern: p}}}
		if err := b.Validate(); err == nil {
			t.Errorf("pattern %q validated", p)
		}
	}
	for name, f := range map[string]*endpoint.Field{
		"nil":                 nil,
		"untyped":             {},
		"bad default":         {Type: endpoint.TypeInt, Default: "x"},
		"default not allowed": {Type: endpoint.TypeString, Default: "x", AllowedValues: []any{"y"}},
		"enum of a list":      {Type: endpoint.TypeCommaStringSlice, AllowedValues: []any{"y"}},
	} {
		b := &endpoint.Backend{Paths: []*endpoint.Path{{Pattern: "p", Fields: map[string]*endpoint.Field{"f": f}}}}
		if err := b.Validate(); err == nil {
			t.Errorf("field %s validated", name)
		}
	}
	b := &endpoint.Backend{Paths: []*endpoint.Path{{Pattern: "p/{m}", Fields: map[string]*endpoint.Field{"m": {Type: endpoint.TypeMap}}}}}
	if err := b.Validate(); err == nil {
		t.Error("a map capture validated")
	}
	defer func() {
		if recover() == nil {
			t.Error("HandleRequest on a backend that does not validate did not panic")
		}
	}()
	bad := &endpoint.Backend{Paths: []*endpoint.Path{{Pattern: "/x"}}}
	_, _ = bad.HandleRequest(context.Background(), &secrets.Request{Storage: inmem.New(), Path: "x"})
}

func do(t *testing.T, b *endpoint.Backend, op secrets.Operation, path string, data map[string]any) (*secrets.Response, error) {
	t.Helper()
	return b.HandleRequest(context.Background(), &secrets.Request{Operation: op, Path: path, Data: data, Storage: inmem.New()})
}

func TestStrictList(t *testing.T) {
	b := testBackend()
	b.StrictList = true
	if p, _, ok := b.Match(secrets.OpList, "users"); ok {
		t.Errorf("StrictList: LIST users matched %q", p.Pattern)
	}
	if _, caps, ok := b.Match(secrets.OpList, "metadata/a"); !ok || caps["path"] != "a/" {
		t.Errorf("StrictList: LIST metadata/a = %v %v", caps, ok)
	}
}

func TestHandleRequest(t *testing.T) {
	b := testBackend()
	resp, err := do(t, b, secrets.OpCreate, "users/bob", map[string]any{"ttl": "1m"})
	if err != nil || resp.Data["handler"] != "user-write" || resp.Data["op"] != "create" || resp.Data["name"] != "bob" {
		t.Fatalf("create → update fallback: %v, %v", resp, err)
	}
	if len(resp.Warnings) != 0 {
		t.Errorf("declared fields warned: %q", resp.Warnings)
	}
	resp, err = do(t, b, secrets.OpCreate, "users/bob/policies", nil)
	if err != nil || resp.Data["op"] != "create" {
		t.Fatalf("an explicit create handler: %v, %v", resp, err)
	}
	resp, err = do(t, b, secrets.OpList, "users/", nil)
	if err != nil || resp.Data["handler"] != "users-list" {
		t.Fatalf("LIST users/: %v, %v", resp, err)
	}

	// unknown fields: Vault's warning, sorted; none on arbitrary-input paths
	resp, err = do(t, b, secrets.OpUpdate, "users/bob", map[string]any{"zeta": 1, "alpha": 2, "password": "x"})
	if err != nil || !reflect.DeepEqual(resp.Warnings, []string{"Endpoint ignored these unrecognized parameters: [alpha zeta]"}) {
		t.Fatalf("unknown fields: %v, %v", resp, err)
	}
	resp, err = do(t, b, secrets.OpUpdate, "data/x", map[string]any{"anything": 1})
	if err != nil || len(resp.Warnings) != 0 {
		t.Fatalf("arbitrary input warned: %v, %v", resp, err)
	}
	nilResp := &endpoint.Backend{Paths: []*endpoint.Path{{Pattern: "x", Operations: map[secrets.Operation]endpoint.Handler{
		secrets.OpUpdate: func(context.Context, *secrets.Request, *endpoint.Data) (*secrets.Response, error) { return nil, nil },
	}}}}
	resp, err = do(t, nilResp, secrets.OpUpdate, "x", map[string]any{"y": 1})
	if err != nil || resp == nil || len(resp.Warnings) != 1 {
		t.Fatalf("a nil response with unknown fields: %v, %v; want a response carrying the warning", resp, err)
	}

	// captures win over the body, and are converted when declared
	resp, err = do(t, b, secrets.OpRead, "users/bob", map[string]any{"name": "mallory"})
	if err != nil || resp.Data["name"] != "bob" {
		t.Fatalf("capture vs body: %v, %v", resp, err)
	}
	resp, err = do(t, b, secrets.OpRead, "typed/42", nil)
	if err != nil || resp.Data["n"] != 42 {
		t.Fatalf("typed capture: %v, %v", resp, err)
	}
	_, err = do(t, b, secrets.OpRead, "typed/x", nil)
	if !errors.Is(err, secrets.ErrInvalidRequest) || err.Error() != `error converting input for field "n": expected an integer` {
		t.Fatalf("bad typed capture: %v", err)
	}

	// errors
	_, err = do(t, b, secrets.OpUpdate, "users/bob", map[string]any{"ttl": []any{}})
	if !errors.Is(err, secrets.ErrInvalidRequest) || !strings.Contains(err.Error(), `field "ttl"`) {
		t.Errorf("bad field: %v", err)
	}
	if _, err = do(t, b, secrets.OpPatch, "users/bob", nil); !errors.Is(err, secrets.ErrUnsupportedOperation) {
		t.Errorf("unsupported op: %v", err)
	}
	if _, err = do(t, b, secrets.OpRead, "nope", nil); !errors.Is(err, secrets.ErrUnsupportedPath) || err.Error() != "unsupported path" {
		t.Errorf("unknown path: %v", err)
	}
	if _, err = b.HandleRequest(context.Background(), nil); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Errorf("nil request: %v", err)
	}
	if _, err = b.HandleRequest(context.Background(), &secrets.Request{Operation: secrets.OpRead, Path: "config"}); !errors.Is(err, endpoint.ErrNoStorage) {
		t.Errorf("no storage: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err = b.HandleRequest(ctx, &secrets.Request{Operation: secrets.OpRead, Path: "config", Storage: inmem.New()}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}

	// the engine's own answers
	mine := errors.New("mine")
	custom := &endpoint.Backend{
		NoStorage: mine,
		Unmatched: func(req *secrets.Request) error { return secrets.Errorf(secrets.ErrUnsupportedPath, "no %s", req.Path) },
	}
	if _, err = custom.HandleRequest(context.Background(), &secrets.Request{Path: "x"}); err != mine {
		t.Errorf("NoStorage: %v", err)
	}
	if _, err = do(t, custom, secrets.OpRead, "x", nil); err == nil || err.Error() != "no x" {
		t.Errorf("Unmatched: %v", err)
	}
	optional := &endpoint.Backend{StorageOptional: true, Paths: []*endpoint.Path{{Pattern: "x", Operations: ops("x", nil, secrets.OpRead)}}}
	if _, err = optional.HandleRequest(context.Background(), &secrets.Request{Operation: secrets.OpRead, Path: "x"}); err != nil {
		t.Errorf("StorageOptional: %v", err)
	}
}

func TestRequestNotModified(t *testing.T) {
	b := testBackend()
	data := map[string]any{"password": "p"}
	req := &secrets.Request{Operation: secrets.OpUpdate, Path: "users/bob", Data: data, Storage: inmem.New()}
	if _, err := b.HandleRequest(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if len(data) != 1 || req.Path != "users/bob" {
		t.Fatalf("request changed: %v %q", data, req.Path)
	}
	seen := false
	nb := &endpoint.Backend{Paths: []*endpoint.Path{{Pattern: "x", Operations: map[secrets.Operation]endpoint.Handler{
		secrets.OpRead: func(_ context.Context, r *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
			seen = r.Data != nil
			return nil, nil
		},
	}}}}
	req = &secrets.Request{Operation: secrets.OpRead, Path: "x", Storage: inmem.New()}
	if _, err := nb.HandleRequest(context.Background(), req); err != nil || !seen || req.Data != nil {
		t.Fatalf("nil Data: handler saw non-nil %v, caller's req.Data = %v, err %v", seen, req.Data, err)
	}
}

func TestExists(t *testing.T) {
	b := testBackend()
	ctx := context.Background()
	check := func(path string, wantExists, wantOK bool) {
		t.Helper()
		exists, ok, err := b.Exists(ctx, &secrets.Request{Operation: secrets.OpCreate, Path: path, Storage: inmem.New()})
		if err != nil || exists != wantExists || ok != wantOK {
			t.Errorf("Exists(%q) = %v, %v, %v; want %v, %v", path, exists, ok, err, wantExists, wantOK)
		}
	}
	check("users/alice", true, true)
	check("users/bob", false, true)
	check("config", false, false) // no check
	check("nope", false, false)
	if _, ok, _ := b.Exists(ctx, &secrets.Request{Operation: secrets.OpCreate, Path: "users/alice"}); ok {
		t.Error("Exists without storage reported ok")
	}
	if _, ok, _ := b.Exists(ctx, nil); ok {
		t.Error("Exists(nil) reported ok")
	}
	failing := &endpoint.Backend{Paths: []*endpoint.Path{{
		Pattern: "x", Fields: map[string]*endpoint.Field{"n": {Type: endpoint.TypeInt}},
		Exists: func(context.Context, *secrets.Request, *endpoint.Data) (bool, error) {
			return false, errors.New("boom")
		},
	}}}
	if _, ok, err := failing.Exists(ctx, &secrets.Request{Path: "x", Storage: inmem.New()}); err == nil || ok {
		t.Errorf("a failing check: ok %v, err %v", ok, err)
	}
	userErr := &endpoint.Backend{Paths: []*endpoint.Path{{
		Pattern: "x",
		Exists: func(context.Context, *secrets.Request, *endpoint.Data) (bool, error) {
			return true, secrets.Errorf(secrets.ErrInvalidRequest, "bad name")
		},
	}}}
	if _, ok, err := userErr.Exists(ctx, &secrets.Request{Path: "x", Storage: inmem.New()}); err != nil || ok {
		t.Errorf("a user-facing error from a check: ok %v, err %v; want ok=false, no error", ok, err)
	}
	if _, ok, err := failing.Exists(ctx, &secrets.Request{Path: "x", Data: map[string]any{"n": "x"}, Storage: inmem.New()}); err != nil || ok {
		t.Errorf("a bad field in an existence check: ok %v, err %v; want ok=false, no error", ok, err)
	}
}

func TestUnauthenticatedPaths(t *testing.T) {
	b := &endpoint.Backend{Paths: []*endpoint.Path{
		{Pattern: "login", Unauthenticated: true},
		{Pattern: "login/{username}", Unauthenticated: true},
		{Pattern: "pub/{x?}", Unauthenticated: true},
		{Pattern: "users/{name}"},
		{Pattern: "issuer/{ref}/pem", Unauthenticated: true},
		{Pattern: "files/{path*}", Unauthenticated: true},
	}}
	// Each capture opens exactly one segment: "issuer/{ref}/pem" must not
	// open "issuer/x/issue/role", as a "issuer/*" pattern would.
	want := []string{"login", "login/+", "pub", "pub/+", "issuer/+/pem", "files/*"}
	if got := b.UnauthenticatedPaths(); !reflect.DeepEqual(got, want) {
		t.Fatalf("UnauthenticatedPaths() = %q, want %q", got, want)
	}
}

// TestConcurrentFirstUse serves requests from many goroutines on a fresh
// Backend (compilation happens once, under -race).
func TestConcurrentFirstUse(t *testing.T) {
	b := testBackend()
	errs := make(chan error, 16)
	for i := 0; i < cap(errs); i++ {
		go func() {
			_, err := do(t, b, secrets.OpRead, "users/bob", nil)
			errs <- err
		}()
	}
	for i := 0; i < cap(errs); i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
