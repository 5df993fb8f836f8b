// Package mounts owns the two mount tables of a node: the secrets engines'
// (core/mounts, engines see the view logical/<uuid>/) and the auth
// methods' (core/auth, views auth/<uuid>/). A Set is one table: its
// stored entries behind the barrier, and the immutable Table built from
// them (engines created with their factories, storage views, the
// engines' unauthenticated paths), swapped whole on every change.
//
// How an entry shows in the sys/ endpoints and how their bodies become
// its configuration is here too (output.go). The rules of what may be
// mounted where (reserved paths, the token store, kv-v2) and the sys/
// endpoints over the tables stay with core, which changes a Set through
// Update.
//
// It imports storage, secrets and core/internal/reqfield only.
package mounts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// Config is a mount's tunable configuration (seconds, as Vault shows it).
type Config struct {
	DefaultLeaseTTL int64 `json:"default_lease_ttl"`
	MaxLeaseTTL     int64 `json:"max_lease_ttl"`
	ForceNoCache    bool  `json:"force_no_cache"`
	// TokenType (auth mounts only) is the type of the tokens its logins
	// get: "service" or "batch" force it; "default-service" (the
	// default, "") and "default-batch" apply when the role does not say.
	TokenType string `json:"token_type,omitempty"`
}

// Entry is one row of a mount table.
type Entry struct {
	Path        string            `json:"path"` // "secret/"
	Type        string            `json:"type"`
	Description string            `json:"description"`
	UUID        string            `json:"uuid"`
	Accessor    string            `json:"accessor"`
	Config      Config            `json:"config"`
	Options     map[string]string `json:"options"`
	Local       bool              `json:"local"`
	SealWrap    bool              `json:"seal_wrap"`
}

// NewEntry makes an entry with a fresh UUID and accessor (<type>_<hex>).
func NewEntry(path, typ, desc string, opts map[string]string) (*Entry, error) {
	acc := make([]byte, 4)
	if _, err := rand.Read(acc); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = map[string]string{}
	}
	return &Entry{
		Path: path, Type: typ, Description: desc, UUID: uuid.NewString(),
		Accessor: typ + "_" + hex.EncodeToString(acc), Options: opts,
	}, nil
}

// Clone copies e (its options too), for changes that build a new table.
func (e *Entry) Clone() *Entry {
	cp := *e
	cp.Options = make(map[string]string, len(e.Options))
	for k, v := range e.Options {
		cp.Options[k] = v
	}
	return &cp
}

// NormalizePath cleans a user-supplied mount path to "a/b/".
func NormalizePath(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", secrets.Errorf(secrets.ErrInvalidRequest, "mount path cannot be empty")
	}
	if err := storage.ValidateKey(p); err != nil {
		return "", secrets.Errorf(secrets.ErrInvalidRequest, "invalid mount path %q", p)
	}
	return p + "/", nil
}

// stored is the JSON of a table in storage.
type stored struct {
	Entries []*Entry `json:"entries"`
}

// Encode is the stored form of entries (core writes the first table in
// the init transaction).
func Encode(entries []*Entry) ([]byte, error) { return json.Marshal(stored{Entries: entries}) }

// Table is immutable once built; changes build a new one and swap it.
type Table struct {
	entries []*Entry // sorted by path
	index   mountIndex
	engines map[string]secrets.Backend
	views   map[string]storage.Backend
	unauth  map[string][]string // mount path → unauthenticated path patterns
}

// Entries are the table's rows, sorted by path (do not modify).
func (t *Table) Entries() []*Entry { return t.entries }

// Match returns the mount with the longest path that prefixes p (or is p
// without its trailing slash), nil if none.
func (t *Table) Match(p string) *Entry { return t.index.match(t.entries, p) }

// Get returns the mount at exactly path, nil if none.
func (t *Table) Get(path string) *Entry { return t.index.get(t.entries, path) }

// Engine is the engine mounted at path (nil for an entry without one, the
// token store).
func (t *Table) Engine(path string) secrets.Backend { return t.engines[path] }

// View is the storage view of the engine mounted at path.
func (t *Table) View(path string) storage.Backend { return t.views[path] }

// Unauthenticated reports whether sub (relative to the mount at path) is
// one of the unauthenticated paths its engine declares.
func (t *Table) Unauthenticated(path, sub string) bool {
	return matchUnauthPaths(t.unauth[path], sub)
}

// matchUnauthPaths matches sub (relative to the mount) against an
// engine's unauthenticated patterns: a trailing "*" matches any rest, a
// "+" segment matches exactly one non-empty segment, anything else is
// literal (with an optional trailing slash).
func matchUnauthPaths(patterns []string, sub string) bool {
	for _, pat := range patterns {
		if g, isGlob := strings.CutSuffix(pat, "*"); isGlob && !strings.Contains(g, "+") {
			if strings.HasPrefix(sub, g) {
				return true
			}
			continue
		}
		if !strings.Contains(pat, "+") {
			if sub == pat || sub == pat+"/" {
				return true
			}
			continue
		}
		ps, ss := strings.Split(pat, "/"), strings.Split(strings.TrimSuffix(sub, "/"), "/")
		if len(ps) != len(ss) {
			continue
		}
		ok := true
		for i := range ps {
			if ps[i] == "+" && ss[i] != "" {
				continue
			}
			if ps[i] != ss[i] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// SetConfig configures a Set.
type SetConfig struct {
	// Key is where the table is stored ("core/mounts", "core/auth").
	Key string
	// ViewPrefix is the prefix of the engines' views ("logical/",
	// "auth/"): an engine sees <ViewPrefix><uuid>/.
	ViewPrefix string
	// What names the table in errors and logs ("mount", "auth mount").
	What    string
	Barrier storage.Backend
	Engines map[string]secrets.Factory
	Logger  *slog.Logger
	Now     func() time.Time
	// Inactive is the error of a change while the table is not loaded
	// (the node is not active).
	Inactive error
	// NoEngine names the entries built without an engine (the token
	// store); PublicPaths those whose engine's unauthenticated paths are
	// honoured (all when nil).
	NoEngine, PublicPaths func(*Entry) bool
}

// Set is one mount table. The zero value is not usable: NewSet.
type Set struct {
	cfg SetConfig
	mu  sync.Mutex // serialises changes
	cur atomic.Pointer[Table]
}

// NewSet makes an unloaded Set.
func NewSet(cfg SetConfig) *Set {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Set{cfg: cfg}
}

// Current is the loaded table, nil unless the node is active.
func (s *Set) Current() *Table { return s.cur.Load() }

// Load reads and builds the stored table. If none is stored, missing
// (when set) makes the first entries, which are stored; without it that
// is an error.
func (s *Set) Load(ctx context.Context, missing func() ([]*Entry, error)) error {
	var st stored
	e, err := s.cfg.Barrier.Get(ctx, s.cfg.Key)
	switch {
	case errors.Is(err, storage.ErrNotFound) && missing != nil:
		if st.Entries, err = missing(); err != nil {
			return err
		}
		b, err := Encode(st.Entries)
		if err != nil {
			return err
		}
		if err := s.cfg.Barrier.Put(ctx, &storage.Entry{Key: s.cfg.Key, Value: b}); err != nil {
			return fmt.Errorf("%s table: %w", s.cfg.What, err)
		}
	case err != nil:
		return fmt.Errorf("%s table: %w", s.cfg.What, err)
	default:
		if err := json.Unmarshal(e.Value, &st); err != nil {
			return fmt.Errorf("%s table: %w", s.cfg.What, err)
		}
	}
	t, err := s.build(ctx, st.Entries)
	if err != nil {
		return err
	}
	s.cur.Swap(t).cleanup()
	return nil
}

// cleanup tells the engines of a table that is no longer current that
// they are dropped (secrets.Cleaner). Every change builds all engines
// anew, so each engine is cleaned up exactly once.
func (t *Table) cleanup() {
	if t == nil {
		return
	}
	for _, eng := range t.engines {
		if c, ok := eng.(secrets.Cleaner); ok {
			c.Cleanup()
		}
	}
}

// Unload forgets the table (step-down); a change in flight finishes
// first.
func (s *Set) Unload() {
	s.mu.Lock()
	s.cur.Swap(nil).cleanup()
	s.mu.Unlock()
}

// ErrNoChange, returned by an Update's change, leaves the table as it is
// and makes Update succeed.
var ErrNoChange = errors.New("mounts: no change")

// Update changes the table: change gets the current table and returns the
// new entries (or an error, which changes nothing; ErrNoChange is a
// success); they are built, stored and swapped in. Changes are
// serialised; a Set that is not loaded answers Inactive.
func (s *Set) Update(ctx context.Context, change func(t *Table) ([]*Entry, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.cur.Load()
	if cur == nil {
		return s.cfg.Inactive
	}
	entries, err := change(cur)
	if errors.Is(err, ErrNoChange) {
		return nil
	}
	if err != nil {
		return err
	}
	t, err := s.build(ctx, entries)
	if err != nil {
		return err
	}
	b, err := Encode(entries)
	if err != nil {
		return err
	}
	if err := s.cfg.Barrier.Put(ctx, &storage.Entry{Key: s.cfg.Key, Value: b}); err != nil {
		return err
	}
	s.cur.Swap(t).cleanup()
	return nil
}

// ViewPrefixOf is the storage prefix of the engine mounted as me.
func (s *Set) ViewPrefixOf(me *Entry) string { return s.cfg.ViewPrefix + me.UUID + "/" }

func (s *Set) build(ctx context.Context, entries []*Entry) (*Table, error) {
	t := &Table{engines: map[string]secrets.Backend{}, views: map[string]storage.Backend{}, unauth: map[string][]string{}}
	for _, me := range entries {
		t.entries = append(t.entries, me)
		t.index.add(me)
		if s.cfg.NoEngine != nil && s.cfg.NoEngine(me) {
			continue
		}
		f, ok := s.cfg.Engines[me.Type]
		if !ok {
			return nil, fmt.Errorf("%s %q: unknown type %q", s.cfg.What, me.Path, me.Type)
		}
		view := storage.NewView(s.cfg.Barrier, s.ViewPrefixOf(me))
		eng, err := f(ctx, secrets.Config{
			Type: me.Type, Options: me.Options, Storage: view,
			Logger: s.cfg.Logger.With(strings.ReplaceAll(s.cfg.What, " ", "_"), me.Path), Now: s.cfg.Now,
		})
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", s.cfg.What, me.Path, err)
		}
		t.engines[me.Path] = eng
		t.views[me.Path] = view
		if u, ok := eng.(secrets.Unauthenticated); ok && (s.cfg.PublicPaths == nil || s.cfg.PublicPaths(me)) {
			t.unauth[me.Path] = u.UnauthenticatedPaths()
		}
	}
	sort.Slice(t.entries, func(i, j int) bool { return t.entries[i].Path < t.entries[j].Path })
	return t, nil
}
