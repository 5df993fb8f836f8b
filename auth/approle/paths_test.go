package approle_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/vaultd/vaultd/auth/approle"
	"github.com/vaultd/vaultd/secrets"
)

func TestPaths_Unsupported(t *testing.T) {
	f := newFixture(t)
	f.role("web", nil)
	tests := []struct {
		op   secrets.Operation
		path string
		kind error
	}{
		{secrets.OpRead, "", secrets.ErrUnsupportedPath},
		{secrets.OpUpdate, "login/x", secrets.ErrUnsupportedPath},
		{secrets.OpRead, "role/web/", secrets.ErrUnsupportedPath},
		{secrets.OpRead, "role//web", secrets.ErrUnsupportedPath},
		{secrets.OpRead, "role/web/nope", secrets.ErrUnsupportedPath},
		{secrets.OpUpdate, "role/web/secret-id/other", secrets.ErrUnsupportedPath},
		{secrets.OpUpdate, "secret-id/destroy", secrets.ErrUnsupportedPath},
		{secrets.OpRead, "role/../../core/keyring", secrets.ErrUnsupportedPath},
		{secrets.OpRead, "login", secrets.ErrUnsupportedOperation},
		{secrets.OpRead, "role", secrets.ErrUnsupportedOperation},
		{secrets.OpList, "role/web", secrets.ErrUnsupportedOperation},
		{secrets.OpDelete, "role/web/role-id", secrets.ErrUnsupportedOperation},
		{secrets.OpRead, "role/web/secret-id", secrets.ErrUnsupportedOperation},
		{secrets.OpRead, "role/web/secret-id/lookup", secrets.ErrUnsupportedOperation},
		{secrets.OpRead, "tidy/secret-id", secrets.ErrUnsupportedOperation},
		{secrets.OpRead, "role/..", secrets.ErrInvalidRequest},
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
	if _, err := f.Eng.HandleRequest(ctx, &secrets.Request{Operation: secrets.OpUpdate, Path: "login"}); !errors.Is(err, approle.ErrNoStorage) {
		t.Fatalf("no storage: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.Eng.HandleRequest(cctx, f.Req(secrets.OpRead, "role/a", nil, "")); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled ctx: %v", err)
	}
}

func TestExists(t *testing.T) {
	f := newFixture(t)
	f.role("web", nil)
	ec := f.Eng.(secrets.ExistenceChecker)
	tests := []struct {
		path       string
		exists, ok bool
	}{
		{"role/web", true, true},
		{"role/WEB", true, true},
		{"role/db", false, true},
		{"role/b@d", false, true},
		{"role/web/secret-id", false, false},
		{"login", false, false},
	}
	for _, tt := range tests {
		exists, ok, err := ec.Exists(context.Background(), f.Req(secrets.OpUpdate, tt.path, nil, ""))
		if err != nil || exists != tt.exists || ok != tt.ok {
			t.Errorf("Exists(%q) = %v, %v, %v; want %v, %v, nil", tt.path, exists, ok, err, tt.exists, tt.ok)
		}
	}
}

func TestUnauthenticatedPaths(t *testing.T) {
	f := newFixture(t)
	u, ok := f.Eng.(secrets.Unauthenticated)
	if !ok {
		t.Fatal("engine does not implement secrets.Unauthenticated")
	}
	if got := u.UnauthenticatedPaths(); !reflect.DeepEqual(got, []string{"login"}) {
		t.Fatalf("UnauthenticatedPaths() = %q", got)
	}
}
