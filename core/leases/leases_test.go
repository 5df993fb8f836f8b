package leases_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vaultd/vaultd/core/leases"
	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

func setup(t *testing.T) (*leases.Service, *tokens.Store) {
	t.Helper()
	ctx := context.Background()
	b := inmem.New()
	if err := b.Put(ctx, &storage.Entry{Key: tokens.SaltKey, Value: []byte("0123456789abcdef0123456789abcdef")}); err != nil {
		t.Fatal(err)
	}
	ts := tokens.NewStore(b, time.Now)
	if err := ts.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return leases.New(leases.Config{Tokens: ts}), ts
}

func mk(t *testing.T, ts *tokens.Store, path string) (*tokens.Entry, string) {
	t.Helper()
	te := &tokens.Entry{Path: path, TTL: time.Hour, Renewable: true, Policies: []string{"default"}}
	id, err := ts.Create(context.Background(), te, "")
	if err != nil {
		t.Fatal(err)
	}
	return te, id
}

func TestLookupRenewRevoke(t *testing.T) {
	ctx := context.Background()
	s, ts := setup(t)
	te, id := mk(t, ts, "auth/userpass/login/alice")
	lease := te.Path + "/" + te.IDHash
	r, err := s.Handle(ctx, secrets.OpUpdate, "sys/leases/lookup", map[string]any{"lease_id": lease})
	if err != nil || r.Data["id"] != lease || r.Data["renewable"] != true {
		t.Fatalf("lookup: %+v, %v", r, err)
	}
	r, err = s.Handle(ctx, secrets.OpUpdate, "sys/leases/renew", map[string]any{"lease_id": lease, "increment": "30m"})
	if err != nil || r.LeaseID != lease || r.LeaseDuration != 1800 {
		t.Fatalf("renew: %+v, %v", r, err)
	}
	if _, err := s.Handle(ctx, secrets.OpUpdate, "sys/leases/lookup", map[string]any{"lease_id": "auth/token/create/" + te.IDHash}); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("a lease ID with the wrong path: %v", err)
	}
	if _, err := s.Handle(ctx, secrets.OpUpdate, "sys/revoke/"+lease, nil); err != nil {
		t.Fatalf("legacy revoke: %v", err)
	}
	if _, err := ts.Lookup(ctx, id); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("the token survived its lease's revocation: %v", err)
	}
	if _, err := s.Handle(ctx, secrets.OpUpdate, "sys/leases/revoke", map[string]any{"lease_id": lease}); err != nil {
		t.Fatalf("revoking an absent lease must succeed: %v", err)
	}
}

func TestListAndRevokePrefix(t *testing.T) {
	ctx := context.Background()
	s, ts := setup(t)
	_, a := mk(t, ts, "auth/userpass/login/alice")
	_, b := mk(t, ts, "auth/userpass/login/bob")
	_, c := mk(t, ts, "auth/token/create")
	r, err := s.Handle(ctx, secrets.OpList, "sys/leases/lookup/auth", nil)
	if err != nil || !slices.Equal(r.Data["keys"].([]string), []string{"token/", "userpass/"}) {
		t.Fatalf("list: %+v, %v", r, err)
	}
	if _, err := s.Handle(ctx, secrets.OpUpdate, "sys/leases/revoke-prefix/auth/userpass", nil); err != nil {
		t.Fatal(err)
	}
	for id, live := range map[string]bool{a: false, b: false, c: true} {
		if _, err := ts.Lookup(ctx, id); (err == nil) != live {
			t.Errorf("after revoke-prefix auth/userpass: token live=%v, want %v", err == nil, live)
		}
	}
	if _, err := s.Handle(ctx, secrets.OpList, "sys/leases/lookup/nothing", nil); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("listing an empty prefix: %v, want 404", err)
	}
	if _, err := s.Handle(ctx, secrets.OpUpdate, "sys/leases/revoke-prefix", nil); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("revoke-prefix without a prefix: %v, want 400", err)
	}
}
