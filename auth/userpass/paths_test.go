package userpass_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/vaultd/vaultd/auth/userpass"
	"github.com/vaultd/vaultd/secrets"
)

func TestPaths_Unsupported(t *testing.T) {
	f := newFixture(t)
	f.Must(secrets.OpUpdate, "users/alice", map[string]any{"password": "pw"})
	tests := []struct {
		op   secrets.Operation
		path string
		kind error
	}{
		{secrets.OpRead, "", secrets.ErrUnsupportedPath},
		{secrets.OpRead, "foo", secrets.ErrUnsupportedPath},
		{secrets.OpUpdate, "login", secrets.ErrUnsupportedPath},
		{secrets.OpUpdate, "login/", secrets.ErrUnsupportedPath},
		{secrets.OpUpdate, "login/alice/x", secrets.ErrUnsupportedPath},
		{secrets.OpRead, "users/alice/", secrets.ErrUnsupportedPath},
		{secrets.OpRead, "users//alice", secrets.ErrUnsupportedPath},
		{secrets.OpRead, "users/alice/other", secrets.ErrUnsupportedPath},
		{secrets.OpRead, "users", secrets.ErrUnsupportedOperation},
		{secrets.OpList, "users/alice", secrets.ErrUnsupportedOperation},
		{secrets.OpPatch, "users/alice", secrets.ErrUnsupportedOperation},
		{secrets.OpRead, "login/alice", secrets.ErrUnsupportedOperation},
		{secrets.OpDelete, "login/alice", secrets.ErrUnsupportedOperation},
		{secrets.OpRead, "users/alice/password", secrets.ErrUnsupportedOperation},
		{secrets.OpRead, "users/../../core/keyring", secrets.ErrUnsupportedPath},
		{secrets.OpRead, "users/..", secrets.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(string(tt.op)+" "+tt.path, func(t *testing.T) {
			f.with(t).Fails(tt.op, tt.path, nil, tt.kind)
		})
	}
	f.AssertContained()
}

func TestHandleRequest_BadRequests(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.Eng.HandleRequest(ctx, nil); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("nil request: %v", err)
	}
	_, err := f.Eng.HandleRequest(ctx, &secrets.Request{Operation: secrets.OpRead, Path: "users/a"})
	if !errors.Is(err, userpass.ErrNoStorage) {
		t.Fatalf("no storage: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = f.Eng.HandleRequest(cctx, f.Req(secrets.OpRead, "users/a", nil, ""))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled ctx: %v", err)
	}
}

func TestExists(t *testing.T) {
	f := newFixture(t)
	f.Must(secrets.OpUpdate, "users/alice", map[string]any{"password": "pw"})
	ec := f.Eng.(secrets.ExistenceChecker)
	tests := []struct {
		path       string
		exists, ok bool
	}{
		{"users/alice", true, true},
		{"users/bob", false, true},
		{"users/bad!name", false, true},
		{"users/alice/password", false, false},
		{"login/alice", false, false},
		{"nope", false, false},
	}
	for _, tt := range tests {
		exists, ok, err := ec.Exists(context.Background(), f.Req(secrets.OpUpdate, tt.path, nil, ""))
		if err != nil || exists != tt.exists || ok != tt.ok {
			t.Errorf("Exists(%q) = %v, %v, %v; want %v, %v, nil", tt.path, exists, ok, err, tt.exists, tt.ok)
		}
	}
	// A create of a new user is served (create falls back to the write handler).
	if _, err := f.Eng.HandleRequest(context.Background(), f.Req(secrets.OpCreate, "users/new", map[string]any{"password": "p"}, "")); err != nil {
		t.Fatal(err)
	}
}

func TestUnauthenticatedPaths(t *testing.T) {
	f := newFixture(t)
	u, ok := f.Eng.(secrets.Unauthenticated)
	if !ok {
		t.Fatal("engine does not implement secrets.Unauthenticated")
	}
	if got := u.UnauthenticatedPaths(); !reflect.DeepEqual(got, []string{"login/+"}) {
		t.Fatalf("UnauthenticatedPaths() = %q", got)
	}
}
