package route_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/auth/internal/route"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

func TestRoute_Match(t *testing.T) {
	tests := []struct {
		pattern, path string
		name          string
		ok            bool
	}{
		{"users", "users", "", true},
		{"users", "users/", "", false},
		{"users", "user", "", false},
		{"users/*", "users/alice", "alice", true},
		{"users/*", "users/", "", false},
		{"users/*", "users", "", false},
		{"users/*", "users/alice/password", "", false},
		{"users/*/password", "users/bob/password", "bob", true},
		{"users/*/password", "users//password", "", false},
		{"users/*/password", "users/bob/policies", "", false},
		{"login", "login", "", true},
		{"login", "", "", false},
		{"*", "x", "x", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.path, func(t *testing.T) {
			r := &route.Route{Pattern: tt.pattern}
			name, ok := r.Match(tt.path)
			if name != tt.name || ok != tt.ok {
				t.Fatalf("Route{%q}.Match(%q) = %q, %v; want %q, %v", tt.pattern, tt.path, name, ok, tt.name, tt.ok)
			}
		})
	}
}

// reply is a handler that answers with the operation and captured name.
func reply(tag string) route.Handler {
	return func(_ context.Context, req *secrets.Request, name string) (*secrets.Response, error) {
		return &secrets.Response{Data: map[string]any{"tag": tag, "name": name, "data_nil": req.Data == nil}}, nil
	}
}

func TestRoute_Handler(t *testing.T) {
	r := &route.Route{Ops: map[secrets.Operation]route.Handler{
		secrets.OpRead:   reply("read"),
		secrets.OpUpdate: reply("update"),
	}}
	for op, want := range map[secrets.Operation]string{secrets.OpRead: "read", secrets.OpUpdate: "update", secrets.OpCreate: "update", secrets.OpDelete: ""} {
		h := r.Handler(op)
		if want == "" {
			if h != nil {
				t.Errorf("Handler(%s) is not nil", op)
			}
			continue
		}
		resp, _ := h(t.Context(), &secrets.Request{}, "")
		if got := resp.Data["tag"]; got != want {
			t.Errorf("Handler(%s) serves as %v, want %s", op, got, want)
		}
	}
	own := &route.Route{Ops: map[secrets.Operation]route.Handler{
		secrets.OpCreate: reply("create"),
		secrets.OpUpdate: reply("update"),
	}}
	if resp, _ := own.Handler(secrets.OpCreate)(t.Context(), &secrets.Request{}, ""); resp.Data["tag"] != "create" {
		t.Errorf("a route's own create handler is not used: %v", resp.Data["tag"])
	}
}

var errEngineNoStorage = errors.New("engine: request has no storage")

func exists(ctx context.Context, s storage.Backend, name string) (bool, error) {
	if name == "broken" {
		return false, errors.New("storage down")
	}
	_, err := s.Get(ctx, "item/"+name)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func table(noStorage error) *route.Table {
	return &route.Table{NoStorage: noStorage, Routes: []route.Route{
		{Pattern: "items", Ops: map[secrets.Operation]route.Handler{secrets.OpList: reply("list")}},
		{Pattern: "items/*", Exists: exists, Ops: map[secrets.Operation]route.Handler{
			secrets.OpRead:   reply("read"),
			secrets.OpUpdate: reply("write"),
		}},
		{Pattern: "items/*", Ops: map[secrets.Operation]route.Handler{secrets.OpDelete: reply("shadowed")}},
		{Pattern: "login", Ops: map[secrets.Operation]route.Handler{secrets.OpUpdate: reply("login")}},
	}}
}

func TestTable_HandleRequest(t *testing.T) {
	st := inmem.New()
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		tbl     *route.Table
		req     *secrets.Request
		wantErr error
		tag     string
		capture string
	}{
		{name: "nil request", req: nil, wantErr: secrets.ErrInvalidRequest},
		{name: "no storage", req: &secrets.Request{Operation: secrets.OpUpdate, Path: "login"}, wantErr: errEngineNoStorage},
		{name: "no storage default", tbl: table(nil), req: &secrets.Request{Operation: secrets.OpUpdate, Path: "login"}, wantErr: route.ErrNoStorage},
		{name: "canceled", ctx: canceled, req: &secrets.Request{Operation: secrets.OpUpdate, Path: "login", Storage: st}, wantErr: context.Canceled},
		{name: "unknown path", req: &secrets.Request{Operation: secrets.OpRead, Path: "nope", Storage: st}, wantErr: secrets.ErrUnsupportedPath},
		{name: "unknown op", req: &secrets.Request{Operation: secrets.OpRead, Path: "login", Storage: st}, wantErr: secrets.ErrUnsupportedOperation},
		{name: "first route wins", req: &secrets.Request{Operation: secrets.OpDelete, Path: "items/a", Storage: st}, wantErr: secrets.ErrUnsupportedOperation},
		{name: "list trailing slash", req: &secrets.Request{Operation: secrets.OpList, Path: "items/", Storage: st}, tag: "list"},
		{name: "read trailing slash", req: &secrets.Request{Operation: secrets.OpRead, Path: "items/a/", Storage: st}, wantErr: secrets.ErrUnsupportedPath},
		{name: "capture", req: &secrets.Request{Operation: secrets.OpRead, Path: "items/Alice", Storage: st}, tag: "read", capture: "Alice"},
		{name: "create as update", req: &secrets.Request{Operation: secrets.OpCreate, Path: "items/b", Storage: st}, tag: "write", capture: "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, tbl := tt.ctx, tt.tbl
			if ctx == nil {
				ctx = t.Context()
			}
			if tbl == nil {
				tbl = table(errEngineNoStorage)
			}
			resp, err := tbl.HandleRequest(ctx, tt.req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || resp != nil {
					t.Fatalf("HandleRequest = %v, %v; want error %v", resp, err, tt.wantErr)
				}
				return
			}
			if err != nil || resp == nil {
				t.Fatalf("HandleRequest = %v, %v", resp, err)
			}
			if resp.Data["tag"] != tt.tag || resp.Data["name"] != tt.capture || resp.Data["data_nil"] != false {
				t.Fatalf("served %v, want tag %q, name %q and non-nil Data", resp.Data, tt.tag, tt.capture)
			}
			if tt.req.Data != nil {
				t.Fatal("the caller's request was changed")
			}
		})
	}
}

func TestTable_Exists(t *testing.T) {
	st := inmem.New()
	if err := st.Put(t.Context(), &storage.Entry{Key: "item/a", Value: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	tbl := table(errEngineNoStorage)
	tests := []struct {
		name             string
		req              *secrets.Request
		exists, ok, fail bool
	}{
		{"nil request", nil, false, false, false},
		{"no storage", &secrets.Request{Path: "items/a"}, false, false, false},
		{"no check", &secrets.Request{Path: "login", Storage: st}, false, false, false},
		{"unknown path", &secrets.Request{Path: "nope", Storage: st}, false, false, false},
		{"exists", &secrets.Request{Operation: secrets.OpCreate, Path: "items/a", Storage: st}, true, true, false},
		{"absent", &secrets.Request{Operation: secrets.OpCreate, Path: "items/b", Storage: st}, false, true, false},
		{"check fails", &secrets.Request{Operation: secrets.OpCreate, Path: "items/broken", Storage: st}, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exists, ok, err := tbl.Exists(t.Context(), tt.req)
			if exists != tt.exists || ok != tt.ok || (err != nil) != tt.fail {
				t.Fatalf("Exists = %v, %v, %v; want %v, %v, fail %v", exists, ok, err, tt.exists, tt.ok, tt.fail)
			}
		})
	}
}

// FuzzMatch: a route with a capture matches a path exactly when putting
// the captured segment in place of "*" gives the path back, and the
// capture is one non-empty segment.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{{"users/*", "users/alice"}, {"users/*/password", "users/a/password"}, {"login", "login"}, {"role/*/secret-id", "role//secret-id"}, {"*", "a/b"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		if strings.Count(pattern, "*") > 1 {
			return
		}
		r := &route.Route{Pattern: pattern}
		name, ok := r.Match(path)
		if !ok {
			if name != "" {
				t.Fatalf("Match(%q) captured %q without a match", path, name)
			}
			return
		}
		segs := strings.Split(pattern, "/")
		hasCapture := false
		for i, s := range segs {
			if s == "*" {
				segs[i] = name
				hasCapture = true
			}
		}
		if hasCapture && (name == "" || strings.Contains(name, "/")) {
			t.Fatalf("Route{%q}.Match(%q) captured %q", pattern, path, name)
		}
		if got := strings.Join(segs, "/"); got != path {
			t.Fatalf("Route{%q}.Match(%q) = %q, but the pattern then reads %q", pattern, path, name, got)
		}
	})
}
