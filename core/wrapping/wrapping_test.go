package wrapping_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/core/wrapping"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/cubbyhole"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

func setup(t *testing.T) (*wrapping.Service, *tokens.Store) {
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
	eng, err := cubbyhole.Factory(ctx, secrets.Config{})
	if err != nil {
		t.Fatal(err)
	}
	view := storage.NewView(b, "logical/cubby/")
	s := wrapping.New(wrapping.Config{
		Tokens: ts, MaxTTL: time.Hour,
		Cubbyhole: func() (secrets.Backend, storage.Backend, error) { return eng, view, nil },
	})
	return s, ts
}

func TestWrapLookupUnwrapOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := setup(t)
	wi, err := s.Wrap(ctx, "secret/data/x", 2*time.Hour, wrapping.Payload{Data: map[string]any{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if wi.TTL != 3600 || wi.CreationPath != "secret/data/x" || wi.Token == "" {
		t.Fatalf("wrap info %+v (the TTL must be capped at MaxTTL)", wi)
	}
	look, err := s.Lookup(ctx, &wrapping.Request{Operation: secrets.OpUpdate, Path: "sys/wrapping/lookup", Data: map[string]any{"token": wi.Token}})
	if err != nil || look["creation_path"] != "secret/data/x" {
		t.Fatalf("lookup: %v, %v", look, err)
	}
	unwrap := &wrapping.Request{Operation: secrets.OpUpdate, Path: "sys/wrapping/unwrap", Data: map[string]any{"token": wi.Token}}
	r, err := s.Handle(ctx, unwrap, nil)
	if err != nil || r.Payload.Data["k"] != "v" {
		t.Fatalf("unwrap: %+v, %v", r, err)
	}
	if _, err := s.Handle(ctx, unwrap, nil); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("a second unwrap: %v, want 400", err)
	}
}

func TestRewrapAndRefusals(t *testing.T) {
	ctx := context.Background()
	s, ts := setup(t)
	wi, err := s.Wrap(ctx, "sys/wrapping/wrap", time.Minute, wrapping.Payload{Data: map[string]any{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Handle(ctx, &wrapping.Request{Operation: secrets.OpUpdate, Path: "sys/wrapping/rewrap", Data: map[string]any{"token": wi.Token}}, nil)
	if err != nil || r.WrapInfo == nil || r.WrapInfo.Token == wi.Token {
		t.Fatalf("rewrap: %+v, %v", r, err)
	}
	got, err := s.Handle(ctx, &wrapping.Request{Operation: secrets.OpUpdate, Path: "sys/wrapping/unwrap", Data: map[string]any{"token": r.WrapInfo.Token}}, nil)
	if err != nil || got.Payload.Data["a"] != "b" {
		t.Fatalf("unwrap after rewrap: %+v, %v", got, err)
	}
	// An ordinary token is not a wrapping token.
	id, err := ts.Create(ctx, &tokens.Entry{Policies: []string{"default"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Handle(ctx, &wrapping.Request{Operation: secrets.OpUpdate, Path: "sys/wrapping/unwrap", Data: map[string]any{"token": id}}, nil); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("unwrapping with a normal token: %v", err)
	}
	if _, err := s.Handle(ctx, &wrapping.Request{Operation: secrets.OpUpdate, Path: "sys/wrapping/wrap", Data: map[string]any{"a": 1}}, nil); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("sys/wrapping/wrap without a wrap TTL: %v", err)
	}
	if _, err := s.Wrap(ctx, "x", time.Millisecond, wrapping.Payload{}); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("a sub-second wrap TTL: %v", err)
	}
}
