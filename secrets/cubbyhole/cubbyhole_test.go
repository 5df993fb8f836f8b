package cubbyhole_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/cubbyhole"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

var (
	hashA = strings.Repeat("a", 64)
	hashB = strings.Repeat("b", 64)
)

func newEngine(t *testing.T) (*cubbyhole.Backend, storage.Backend) {
	t.Helper()
	s := storage.NewView(inmem.New(), "logical/uuid/")
	b, err := cubbyhole.Factory(context.Background(), secrets.Config{Type: "cubbyhole", Storage: s})
	if err != nil {
		t.Fatal(err)
	}
	return b.(*cubbyhole.Backend), s
}

func do(t *testing.T, b *cubbyhole.Backend, s storage.Backend, tok string, op secrets.Operation, path string, data map[string]any) (*secrets.Response, error) {
	t.Helper()
	return b.HandleRequest(context.Background(), &secrets.Request{Operation: op, Path: path, Data: data, Storage: s, ClientToken: tok})
}

func TestCubbyhole_IsolationAndCRUD(t *testing.T) {
	b, s := newEngine(t)
	if _, err := do(t, b, s, hashA, secrets.OpCreate, "app/db", map[string]any{"pw": "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := do(t, b, s, hashB, secrets.OpCreate, "app/db", map[string]any{"pw": "b"}); err != nil {
		t.Fatal(err)
	}
	r, err := do(t, b, s, hashA, secrets.OpRead, "app/db", nil)
	if err != nil || r.Data["pw"] != "a" {
		t.Fatalf("read = %+v, %v", r, err)
	}
	// A write replaces the whole value.
	if _, err := do(t, b, s, hashA, secrets.OpUpdate, "app/db", map[string]any{"user": "x"}); err != nil {
		t.Fatal(err)
	}
	if r, _ := do(t, b, s, hashA, secrets.OpRead, "app/db", nil); r.Data["pw"] != nil || r.Data["user"] != "x" {
		t.Fatalf("after update = %v", r.Data)
	}
	l, err := do(t, b, s, hashA, secrets.OpList, "", nil)
	if err != nil || !slices.Equal(l.Data["keys"].([]any), []any{"app/"}) {
		t.Fatalf("list root = %+v, %v", l, err)
	}
	exists, ok, err := b.Exists(context.Background(), &secrets.Request{Path: "app/db", Storage: s, ClientToken: hashA})
	if !exists || !ok || err != nil {
		t.Fatalf("Exists = %v %v %v", exists, ok, err)
	}
	if exists, ok, _ := b.Exists(context.Background(), &secrets.Request{Path: "nope", Storage: s, ClientToken: hashA}); exists || !ok {
		t.Fatal("Exists on an absent path")
	}
	if err := b.DestroyTokenData(context.Background(), s, hashA); err != nil {
		t.Fatal(err)
	}
	if _, err := do(t, b, s, hashA, secrets.OpRead, "app/db", nil); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("after destroy: %v", err)
	}
	if r, err := do(t, b, s, hashB, secrets.OpRead, "app/db", nil); err != nil || r.Data["pw"] != "b" {
		t.Fatalf("another token's data after destroy: %+v %v", r, err)
	}
	if _, err := do(t, b, s, hashB, secrets.OpDelete, "app/db", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := do(t, b, s, hashB, secrets.OpList, "app/", nil); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("empty list = %v, want not found", err)
	}
}

func TestCubbyhole_BadInput(t *testing.T) {
	b, s := newEngine(t)
	cases := []struct {
		name, tok, path string
		op              secrets.Operation
		data            map[string]any
		kind            error
	}{
		{"raw token refused", "hvs.abcdefghijklmnopqrstuvwx", "x", secrets.OpRead, nil, secrets.ErrPermissionDenied},
		{"no token", "", "x", secrets.OpRead, nil, secrets.ErrPermissionDenied},
		{"upper-case hash", strings.Repeat("A", 64), "x", secrets.OpRead, nil, secrets.ErrPermissionDenied},
		{"write without data", hashA, "x", secrets.OpCreate, nil, secrets.ErrInvalidRequest},
		{"write the root", hashA, "", secrets.OpCreate, map[string]any{"a": "b"}, secrets.ErrInvalidRequest},
		{"dotdot", hashA, "../" + hashB + "/x", secrets.OpRead, nil, secrets.ErrInvalidRequest},
		{"double slash", hashA, "a//b", secrets.OpCreate, map[string]any{"a": "b"}, secrets.ErrInvalidRequest},
		{"patch", hashA, "x", secrets.OpPatch, map[string]any{"a": "b"}, secrets.ErrUnsupportedOperation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := do(t, b, s, tc.tok, tc.op, tc.path, tc.data); !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
		})
	}
	if _, err := cubbyhole.Factory(context.Background(), secrets.Config{Options: map[string]string{"x": "y"}}); err == nil {
		t.Fatal("unknown option accepted")
	}
}
