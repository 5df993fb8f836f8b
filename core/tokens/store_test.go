package tokens_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newStore(t *testing.T) (*tokens.Store, storage.Backend, *clock) {
	t.Helper()
	ctx := context.Background()
	b := inmem.New()
	if err := b.Put(ctx, &storage.Entry{Key: tokens.SaltKey, Value: []byte("0123456789abcdef0123456789abcdef")}); err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	ts := tokens.NewStore(b, clk.Now)
	if err := ts.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return ts, b, clk
}

func TestStore_CreateLookupNeverStoresID(t *testing.T) {
	ctx := context.Background()
	ts, b, _ := newStore(t)
	te := &tokens.Entry{Policies: []string{"default"}, Path: "auth/token/create"}
	id, err := ts.Create(ctx, te, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "hvs.") || te.Accessor == "" || te.IDHash == "" {
		t.Fatalf("Create filled id=%q accessor=%q hash=%q", id, te.Accessor, te.IDHash)
	}
	got, err := ts.Lookup(ctx, id)
	if err != nil || got.Accessor != te.Accessor || got.ID != id {
		t.Fatalf("Lookup = %+v, %v", got, err)
	}
	byAcc, err := ts.LookupAccessor(ctx, te.Accessor)
	if err != nil || byAcc.IDHash != te.IDHash || byAcc.ID != "" {
		t.Fatalf("LookupAccessor = %+v, %v", byAcc, err)
	}
	// Neither the token ID nor the accessor appears in any stored key or value.
	for _, prefix := range []string{"sys/token/id/", "sys/token/accessor/"} {
		keys, err := b.List(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			e, err := b.Get(ctx, prefix+k)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(k, id) || strings.Contains(string(e.Value), id) || strings.Contains(k, te.Accessor) {
				t.Fatalf("the token ID or accessor is stored in the clear at %s", prefix+k)
			}
		}
	}
	if _, err := ts.Create(ctx, &tokens.Entry{}, id); !errors.Is(err, tokens.ErrIDInUse) {
		t.Fatalf("a duplicate custom ID: %v", err)
	}
	if _, err := ts.Lookup(ctx, "hvs.nope"); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("an unknown token: %v", err)
	}
}

func TestStore_RevokeTreeAndOrphan(t *testing.T) {
	ctx := context.Background()
	ts, _, _ := newStore(t)
	mk := func(parent *tokens.Entry) (*tokens.Entry, string) {
		te := &tokens.Entry{Policies: []string{"default"}}
		if parent != nil {
			te.ParentHash = parent.IDHash
		}
		id, err := ts.Create(ctx, te, "")
		if err != nil {
			t.Fatal(err)
		}
		return te, id
	}
	var revoked []string
	var mu sync.Mutex
	ts.SetRevokeHook(func(_ context.Context, h string) error {
		mu.Lock()
		revoked = append(revoked, h)
		mu.Unlock()
		return nil
	})
	root, rootID := mk(nil)
	child, childID := mk(root)
	_, grandID := mk(child)
	if err := ts.RevokeTree(ctx, root.IDHash); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{rootID, childID, grandID} {
		if _, err := ts.Lookup(ctx, id); !errors.Is(err, tokens.ErrNotFound) {
			t.Errorf("a token of the revoked tree is still live: %v", err)
		}
	}
	if len(revoked) != 3 {
		t.Errorf("the revoke hook ran %d times, want 3", len(revoked))
	}

	p, _ := mk(nil)
	_, cID := mk(p)
	if err := ts.RevokeOrphan(ctx, p.IDHash); err != nil {
		t.Fatal(err)
	}
	got, err := ts.Lookup(ctx, cID)
	if err != nil || !got.Orphan || got.ParentHash != "" {
		t.Fatalf("the orphaned child: %+v, %v (want live, orphan)", got, err)
	}
	// Creating a child of a revoked parent fails.
	if _, err := ts.Create(ctx, &tokens.Entry{ParentHash: p.IDHash}, ""); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("a child of a revoked parent: %v", err)
	}
}

func TestStore_UseCountsDown(t *testing.T) {
	ctx := context.Background()
	ts, _, _ := newStore(t)
	id, err := ts.Create(ctx, &tokens.Entry{NumUses: 2}, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, wantLast := range []bool{false, true} {
		te, err := ts.Lookup(ctx, id)
		if err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
		if err := ts.Use(ctx, te); err != nil {
			t.Fatal(err)
		}
		if te.LastUse != wantLast {
			t.Fatalf("use %d: LastUse = %v", i+1, te.LastUse)
		}
	}
	if _, err := ts.Lookup(ctx, id); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("a used-up token is still accepted: %v", err)
	}
}

func TestStore_BoundCIDRs(t *testing.T) {
	ctx := context.Background()
	ts, _, _ := newStore(t)
	cidrs, err := tokens.CanonicalCIDRs("token_bound_cidrs", []string{"10.0.0.0/8", "127.0.0.1", "10.1.2.3/8", "::ffff:192.168.0.0/112"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.0/8", "127.0.0.1", "192.168.0.0/16"}; !slices.Equal(cidrs, want) {
		t.Fatalf("CanonicalCIDRs = %v, want %v", cidrs, want)
	}
	if _, err := tokens.CanonicalCIDRs("f", []string{"nope"}); err == nil {
		t.Fatal("an invalid block was accepted")
	}
	id, err := ts.Create(ctx, &tokens.Entry{BoundCIDRs: cidrs}, "")
	if err != nil {
		t.Fatal(err)
	}
	for remote, ok := range map[string]bool{"10.9.9.9:1234": true, "127.0.0.1": true, "[::ffff:127.0.0.1]:80": true, "127.0.0.2:80": false, "garbage": false} {
		_, err := ts.LookupFrom(ctx, id, remote)
		if (err == nil) != ok {
			t.Errorf("LookupFrom(%s) = %v, want allowed=%v", remote, err, ok)
		}
	}
}

func TestStore_ExpiryAndSeal(t *testing.T) {
	ctx := context.Background()
	ts, _, clk := newStore(t)
	if err := ts.StartExpiration(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	defer ts.StopExpiration()
	te := &tokens.Entry{TTL: time.Minute}
	id, err := ts.Create(ctx, te, "")
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute)
	// Refused at once, before the manager cleans it up.
	if _, err := ts.Lookup(ctx, id); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("an expired token: %v", err)
	}
	if n := ts.RevokeExpired(ctx, slog.New(slog.DiscardHandler)); n != 1 {
		t.Fatalf("RevokeExpired revoked %d, want 1", n)
	}
	if _, err := ts.GetByHash(ctx, te.IDHash); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("the expired token's entry survived: %v", err)
	}
	ts.Forget()
	if _, err := ts.Hash("x"); !errors.Is(err, seal.ErrSealed) {
		t.Fatalf("Hash after Forget: %v, want ErrSealed", err)
	}
}
