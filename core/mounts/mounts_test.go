package mounts

import (
	"context"
	"errors"
	"testing"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// public is an engine with unauthenticated paths.
type public struct{ secrets.Backend }

func (public) UnauthenticatedPaths() []string { return []string{"ca", "issuer/+/pem", "crl*"} }

var errInactive = errors.New("inactive")

func newSet(b storage.Backend) *Set {
	return NewSet(SetConfig{
		Key: "core/mounts", ViewPrefix: "logical/", What: "mount", Barrier: b, Inactive: errInactive,
		Engines: map[string]secrets.Factory{
			"pub": func(_ context.Context, cfg secrets.Config) (secrets.Backend, error) { return public{}, nil },
		},
		NoEngine: func(e *Entry) bool { return e.Type == "none" },
	})
}

func TestSet_LoadUpdateMatch(t *testing.T) {
	ctx := context.Background()
	b := inmem.New()
	s := newSet(b)
	if err := s.Update(ctx, func(*Table) ([]*Entry, error) { return nil, nil }); !errors.Is(err, errInactive) {
		t.Fatalf("update before load: %v", err)
	}
	if err := s.Load(ctx, nil); err == nil {
		t.Fatal("load of an absent table without defaults succeeded")
	}
	tok, _ := NewEntry("token/", "none", "", nil)
	if err := s.Load(ctx, func() ([]*Entry, error) { return []*Entry{tok}, nil }); err != nil {
		t.Fatal(err)
	}
	pki, _ := NewEntry("pki/int/", "pub", "", map[string]string{"a": "b"})
	if err := s.Update(ctx, func(t *Table) ([]*Entry, error) { return append(t.Entries(), pki), nil }); err != nil {
		t.Fatal(err)
	}
	cur := s.Current()
	if got := cur.Match("pki/int/ca"); got == nil || got.Path != "pki/int/" {
		t.Fatalf("match: %v", got)
	}
	if cur.Match("pki/intx") != nil || cur.Match("pki/int") == nil {
		t.Error("match must be by whole segments, and find the mount by its path without the slash")
	}
	if cur.Engine("token/") != nil || cur.Engine("pki/int/") == nil || cur.View("pki/int/") == nil {
		t.Error("engines: an entry without one has none; others have an engine and a view")
	}
	for sub, want := range map[string]bool{"ca": true, "ca/": true, "issuer/x/pem": true, "issuer//pem": false, "issuer/x/y/pem": false, "crl/delta": true, "roles/x": false} {
		if got := cur.Unauthenticated("pki/int/", sub); got != want {
			t.Errorf("unauthenticated %q = %v", sub, got)
		}
	}
	// A change that errs or does nothing leaves the table (and its engines).
	if err := s.Update(ctx, func(*Table) ([]*Entry, error) { return nil, ErrNoChange }); err != nil || s.Current() != cur {
		t.Errorf("no change: %v, table swapped: %v", err, s.Current() != cur)
	}
	if err := s.Update(ctx, func(*Table) ([]*Entry, error) { return nil, errors.New("no") }); err == nil || s.Current() != cur {
		t.Error("a failing change must change nothing")
	}
	// What was stored is what a fresh Set loads.
	s2 := newSet(b)
	if err := s2.Load(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := s2.Current().Get("pki/int/"); got == nil || got.UUID != pki.UUID || got.Options["a"] != "b" {
		t.Fatalf("reloaded: %+v", got)
	}
	s.Unload()
	if s.Current() != nil {
		t.Error("unload kept the table")
	}
}

func TestEntry_CloneAndNormalize(t *testing.T) {
	e, _ := NewEntry("a/", "pub", "", map[string]string{"k": "v"})
	cp := e.Clone()
	cp.Options["k"] = "w"
	if e.Options["k"] != "v" {
		t.Error("clone shares options")
	}
	for in, want := range map[string]string{"a": "a/", "/a/b/": "a/b/"} {
		if got, err := NormalizePath(in); err != nil || got != want {
			t.Errorf("NormalizePath(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "/", "a/../b", "a//b"} {
		if _, err := NormalizePath(bad); !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Errorf("NormalizePath(%q): %v", bad, err)
		}
	}
}

func TestEnableParamsAndTune(t *testing.T) {
	typ, desc, opts, cfg, err := EnableParams(map[string]any{
		"type": "kv", "description": "d", "options": map[string]any{"version": 2},
		"config": map[string]any{"default_lease_ttl": "1h", "max_lease_ttl": float64(7200), "token_type": "default-batch"},
	})
	if err != nil || typ != "kv" || desc != "d" || opts["version"] != "2" || cfg.DefaultLeaseTTL != 3600 || cfg.MaxLeaseTTL != 7200 || cfg.TokenType != "default-batch" {
		t.Fatalf("%q %q %v %+v %v", typ, desc, opts, cfg, err)
	}
	if _, _, _, _, err := EnableParams(map[string]any{}); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Errorf("no type: %v", err)
	}
	for _, bad := range []map[string]any{
		{"default_lease_ttl": float64(7200), "max_lease_ttl": float64(3600)},
		{"token_type": "bogus"},
		{"max_lease_ttl": "soon"},
	} {
		var c Config
		if err := ApplyTune(&c, bad); err == nil {
			t.Errorf("ApplyTune(%v) accepted", bad)
		}
	}
	var c Config
	if err := ApplyTune(&c, map[string]any{"token_type": "default"}); err != nil || c.TokenType != "" || TokenTypeShown(&Entry{Config: c}) != "default-service" {
		t.Errorf("default token type: %+v %v", c, err)
	}
	out := AuthOutput(&Entry{Path: "up/", Type: "userpass", Config: Config{TokenType: "batch"}})
	if out["config"].(map[string]any)["token_type"] != "batch" || out["options"] != nil {
		t.Errorf("auth output %v", out)
	}
}

// cleaner counts Cleanup calls.
type cleaner struct {
	secrets.Backend
	n *int
}

func (c cleaner) Cleanup() { *c.n++ }

// Engines are told when their table is dropped (secrets.Cleaner), once
// each: on every change (all engines are rebuilt) and on Unload.
func TestSet_CleansUpDroppedEngines(t *testing.T) {
	ctx := context.Background()
	built, cleaned := 0, 0
	s := NewSet(SetConfig{
		Key: "core/mounts", ViewPrefix: "logical/", What: "mount", Barrier: inmem.New(), Inactive: errInactive,
		Engines: map[string]secrets.Factory{
			"c": func(context.Context, secrets.Config) (secrets.Backend, error) {
				built++
				return cleaner{n: &cleaned}, nil
			},
		},
	})
	a, _ := NewEntry("a/", "c", "", nil)
	if err := s.Load(ctx, func() ([]*Entry, error) { return []*Entry{a}, nil }); err != nil {
		t.Fatal(err)
	}
	b, _ := NewEntry("b/", "c", "", nil)
	if err := s.Update(ctx, func(t *Table) ([]*Entry, error) { return append(t.Entries(), b), nil }); err != nil {
		t.Fatal(err)
	}
	if built != 3 || cleaned != 1 {
		t.Fatalf("after an update: built %d, cleaned %d; want 3, 1", built, cleaned)
	}
	s.Unload()
	if cleaned != 3 {
		t.Fatalf("after unload: cleaned %d, want 3", cleaned)
	}
}
