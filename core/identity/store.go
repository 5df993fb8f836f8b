// Package identity is vaultd's identity store: entities and their aliases
// (one per auth mount), groups (internal, with entity and group members;
// external, with one group alias) and group aliases, as in Vault's
// identity secrets engine.
//
// The active node loads the whole store into memory when it becomes
// active (Load) and keeps it there: every write goes to storage first,
// then replaces the cached object, so the request path (Resolve, which
// core calls for each authenticated request of a token with an entity)
// reads no storage. Only the active node writes.
//
// Storage (a view behind the barrier): entity/<id> and group/<id>, JSON;
// an entity's aliases live in its record, a group's alias in the group's.
//
// It imports the standard library, storage, secrets and endpoint only.
package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

const (
	entityPrefix = "entity/"
	groupPrefix  = "group/"

	GroupInternal = "internal"
	GroupExternal = "external"
)

// Alias is an entity alias (an identity within one auth mount) or a
// group alias (an external group's name within one auth mount).
type Alias struct {
	ID             string            `json:"id"`
	CanonicalID    string            `json:"canonical_id"`
	MountAccessor  string            `json:"mount_accessor"`
	Name           string            `json:"name"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	CustomMetadata map[string]string `json:"custom_metadata,omitempty"`
	CreationTime   time.Time         `json:"creation_time"`
	LastUpdateTime time.Time         `json:"last_update_time"`
}

// Entity is one client (person or machine) with its aliases.
type Entity struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	Policies       []string          `json:"policies,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	Disabled       bool              `json:"disabled,omitempty"`
	Aliases        []*Alias          `json:"aliases,omitempty"`
	CreationTime   time.Time         `json:"creation_time"`
	LastUpdateTime time.Time         `json:"last_update_time"`
}

// Group is an internal group (explicit members) or an external one
// (membership from its alias, at login).
type Group struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	Type            string            `json:"type"`
	Policies        []string          `json:"policies,omitempty"`
	MemberEntityIDs []string          `json:"member_entity_ids,omitempty"`
	MemberGroupIDs  []string          `json:"member_group_ids,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	Alias           *Alias            `json:"alias,omitempty"`
	CreationTime    time.Time         `json:"creation_time"`
	LastUpdateTime  time.Time         `json:"last_update_time"`
	ModifyIndex     int               `json:"modify_index"`
}

// Mount is what the store needs to know of an auth mount.
type Mount struct {
	Accessor, Path, Type string
}

// MountLookup finds an auth mount by accessor.
type MountLookup func(accessor string) (Mount, bool)

// Store is the identity store. Cached objects are immutable: a write
// replaces them. Safe for concurrent use.
type Store struct {
	// Inactive is returned while the store is not loaded.
	Inactive error

	mounts MountLookup
	now    func() time.Time

	writeMu sync.Mutex // serialises writes (storage, then the maps)

	mu      sync.RWMutex // guards the fields below
	b       storage.Backend
	gen     uint64
	ents    map[string]*Entity
	entName map[string]string // lower(name) → entity ID
	alias   map[string]string // alias ID → entity ID
	aliasBy map[string]string // aliasKey(accessor, name) → alias ID
	groups  map[string]*Group
	grpName map[string]string // lower(name) → group ID
	galias  map[string]string // group alias ID → group ID
	gaBy    map[string]string // aliasKey → group ID
	// derived, rebuilt on group writes:
	entGroups map[string][]string // entity ID → IDs of groups listing it
	parents   map[string][]string // group ID → IDs of groups listing it
}

// New returns an unloaded store; mounts resolves auth mount accessors.
func New(mounts MountLookup, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{mounts: mounts, now: now}
}

func aliasKey(accessor, name string) string { return accessor + "\x00" + strings.ToLower(name) }

// Load reads the whole store from b (the node is becoming active).
func (s *Store) Load(ctx context.Context, b storage.Backend) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	ents := map[string]*Entity{}
	groups := map[string]*Group{}
	if err := loadAll(ctx, b, entityPrefix, func(v []byte) error {
		e := new(Entity)
		if err := json.Unmarshal(v, e); err != nil {
			return err
		}
		ents[e.ID] = e
		return nil
	}); err != nil {
		return fmt.Errorf("identity: loading entities: %w", err)
	}
	if err := loadAll(ctx, b, groupPrefix, func(v []byte) error {
		g := new(Group)
		if err := json.Unmarshal(v, g); err != nil {
			return err
		}
		groups[g.ID] = g
		return nil
	}); err != nil {
		return fmt.Errorf("identity: loading groups: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = b
	s.gen++
	s.ents, s.entName, s.alias, s.aliasBy = map[string]*Entity{}, map[string]string{}, map[string]string{}, map[string]string{}
	s.groups, s.grpName, s.galias, s.gaBy = map[string]*Group{}, map[string]string{}, map[string]string{}, map[string]string{}
	for _, e := range ents {
		s.indexEntity(e)
	}
	for _, g := range groups {
		s.indexGroup(g)
	}
	s.rebuildMembership()
	return nil
}

// Reset drops everything (the node stepped down or sealed).
func (s *Store) Reset() {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = nil
	s.gen++
	s.ents, s.entName, s.alias, s.aliasBy = nil, nil, nil, nil
	s.groups, s.grpName, s.galias, s.gaBy = nil, nil, nil, nil
	s.entGroups, s.parents = nil, nil
}

func loadAll(ctx context.Context, b storage.Backend, prefix string, f func([]byte) error) error {
	keys, err := b.List(ctx, prefix)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if strings.HasSuffix(k, "/") {
			continue
		}
		e, err := b.Get(ctx, prefix+k)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := f(e.Value); err != nil {
			return fmt.Errorf("%s%s: %w", prefix, k, err)
		}
	}
	return nil
}

// ---- indexes (callers hold mu for writing) ----

func (s *Store) indexEntity(e *Entity) {
	s.ents[e.ID] = e
	s.entName[strings.ToLower(e.Name)] = e.ID
	for _, a := range e.Aliases {
		s.alias[a.ID] = e.ID
		s.aliasBy[aliasKey(a.MountAccessor, a.Name)] = a.ID
	}
}

func (s *Store) unindexEntity(e *Entity) {
	delete(s.ents, e.ID)
	if s.entName[strings.ToLower(e.Name)] == e.ID {
		delete(s.entName, strings.ToLower(e.Name))
	}
	for _, a := range e.Aliases {
		delete(s.alias, a.ID)
		if s.aliasBy[aliasKey(a.MountAccessor, a.Name)] == a.ID {
			delete(s.aliasBy, aliasKey(a.MountAccessor, a.Name))
		}
	}
}

func (s *Store) indexGroup(g *Group) {
	s.groups[g.ID] = g
	s.grpName[strings.ToLower(g.Name)] = g.ID
	if g.Alias != nil {
		s.galias[g.Alias.ID] = g.ID
		s.gaBy[aliasKey(g.Alias.MountAccessor, g.Alias.Name)] = g.ID
	}
}

func (s *Store) unindexGroup(g *Group) {
	delete(s.groups, g.ID)
	if s.grpName[strings.ToLower(g.Name)] == g.ID {
		delete(s.grpName, strings.ToLower(g.Name))
	}
	if g.Alias != nil {
		delete(s.galias, g.Alias.ID)
		if s.gaBy[aliasKey(g.Alias.MountAccessor, g.Alias.Name)] == g.ID {
			delete(s.gaBy, aliasKey(g.Alias.MountAccessor, g.Alias.Name))
		}
	}
}

func (s *Store) rebuildMembership() {
	s.entGroups = map[string][]string{}
	s.parents = map[string][]string{}
	for _, g := range s.groups {
		for _, e := range g.MemberEntityIDs {
			s.entGroups[e] = append(s.entGroups[e], g.ID)
		}
		for _, c := range g.MemberGroupIDs {
			s.parents[c] = append(s.parents[c], g.ID)
		}
	}
}

// ---- persistence (callers hold writeMu) ----

func (s *Store) backend() (storage.Backend, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.b == nil {
		return nil, s.inactive()
	}
	return s.b, nil
}

func (s *Store) inactive() error {
	if s.Inactive != nil {
		return s.Inactive
	}
	return errors.New("identity: store not loaded")
}

func (s *Store) putEntity(ctx context.Context, old, e *Entity) error {
	b, err := s.backend()
	if err != nil {
		return err
	}
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := b.Put(ctx, &storage.Entry{Key: entityPrefix + e.ID, Value: v}); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old != nil {
		s.unindexEntity(old)
	}
	s.indexEntity(e)
	s.gen++
	return nil
}

func (s *Store) deleteEntity(ctx context.Context, e *Entity) error {
	b, err := s.backend()
	if err != nil {
		return err
	}
	if err := b.Delete(ctx, entityPrefix+e.ID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unindexEntity(e)
	s.gen++
	return nil
}

func (s *Store) putGroup(ctx context.Context, old, g *Group) error {
	b, err := s.backend()
	if err != nil {
		return err
	}
	v, err := json.Marshal(g)
	if err != nil {
		return err
	}
	if err := b.Put(ctx, &storage.Entry{Key: groupPrefix + g.ID, Value: v}); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old != nil {
		s.unindexGroup(old)
	}
	s.indexGroup(g)
	s.rebuildMembership()
	s.gen++
	return nil
}

func (s *Store) deleteGroup(ctx context.Context, g *Group) error {
	b, err := s.backend()
	if err != nil {
		return err
	}
	if err := b.Delete(ctx, groupPrefix+g.ID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unindexGroup(g)
	s.rebuildMembership()
	s.gen++
	return nil
}

// ---- reads (snapshots of immutable objects) ----

func (s *Store) entity(id string) *Entity {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ents[id]
}

func (s *Store) entityByName(name string) *Entity {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ents[s.entName[strings.ToLower(name)]]
}

func (s *Store) group(id string) *Group {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.groups[id]
}

func (s *Store) groupByName(name string) *Group {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.groups[s.grpName[strings.ToLower(name)]]
}

// entityAlias returns the alias with the given ID and its entity.
func (s *Store) entityAlias(id string) (*Alias, *Entity) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.ents[s.alias[id]]
	if e == nil {
		return nil, nil
	}
	for _, a := range e.Aliases {
		if a.ID == id {
			return a, e
		}
	}
	return nil, nil
}

func (s *Store) entityAliasByName(accessor, name string) (*Alias, *Entity) {
	s.mu.RLock()
	id := s.aliasBy[aliasKey(accessor, name)]
	s.mu.RUnlock()
	if id == "" {
		return nil, nil
	}
	return s.entityAlias(id)
}

// groupsOf returns the IDs of the groups entityID belongs to, directly
// and (inherited) through group membership, sorted. Callers hold mu.
func (s *Store) groupsOfLocked(entityID string) (direct, all []string) {
	direct = slices.Clone(s.entGroups[entityID])
	sort.Strings(direct)
	seen := map[string]bool{}
	queue := slices.Clone(direct)
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		if seen[g] {
			continue
		}
		seen[g] = true
		all = append(all, g)
		queue = append(queue, s.parents[g]...)
	}
	sort.Strings(all)
	return direct, all
}

// ---- the request path ----

// Identity is what a request of a token with an entity needs: the
// entity's extra policies and the values of ACL templates. Immutable.
type Identity struct {
	EntityID string
	Disabled bool
	// Policies are the entity's own policies and those of every group it
	// belongs to, directly or through nested groups, sorted.
	Policies []string
	// Key changes whenever anything here may change (the store's
	// generation): a cache key for ACLs compiled with Template.
	Key string

	entity *Entity
	groups []*Group
	mounts MountLookup
}

// Resolve returns the identity of entityID; ok is false for an unknown
// entity (deleted, or the store is not loaded), which then adds nothing.
// It reads no storage.
func (s *Store) Resolve(entityID string) (*Identity, bool) {
	if entityID == "" {
		return nil, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.ents[entityID]
	if e == nil {
		return nil, false
	}
	id := &Identity{EntityID: e.ID, Disabled: e.Disabled, entity: e, mounts: s.mounts,
		Key: fmt.Sprintf("%s@%d", e.ID, s.gen)}
	pols := slices.Clone(e.Policies)
	_, all := s.groupsOfLocked(e.ID)
	for _, gid := range all {
		if g := s.groups[gid]; g != nil {
			id.groups = append(id.groups, g)
			pols = append(pols, g.Policies...)
		}
	}
	sort.Strings(pols)
	id.Policies = slices.Compact(pols)
	return id, true
}

// Template answers an ACL template parameter (Vault's names):
// identity.entity.id|name|metadata.<k>,
// identity.entity.aliases.<mount accessor>.id|name|metadata.<k>,
// identity.groups.ids.<id>.name|metadata.<k>,
// identity.groups.names.<name>.id|metadata.<k>.
func (id *Identity) Template(param string) (string, bool) {
	rest, ok := strings.CutPrefix(param, "identity.")
	if !ok {
		return "", false
	}
	e := id.entity
	if r, ok := strings.CutPrefix(rest, "entity."); ok {
		switch {
		case r == "id":
			return e.ID, true
		case r == "name":
			return e.Name, true
		case strings.HasPrefix(r, "metadata."):
			v, ok := e.Metadata[strings.TrimPrefix(r, "metadata.")]
			return v, ok
		case strings.HasPrefix(r, "aliases."):
			acc, field, ok := strings.Cut(strings.TrimPrefix(r, "aliases."), ".")
			if !ok {
				return "", false
			}
			for _, a := range e.Aliases {
				if a.MountAccessor != acc {
					continue
				}
				switch {
				case field == "id":
					return a.ID, true
				case field == "name":
					return a.Name, true
				case strings.HasPrefix(field, "metadata."):
					v, ok := a.Metadata[strings.TrimPrefix(field, "metadata.")]
					return v, ok
				}
			}
		}
		return "", false
	}
	var byID bool
	var r string
	if r, ok = strings.CutPrefix(rest, "groups.ids."); ok {
		byID = true
	} else if r, ok = strings.CutPrefix(rest, "groups.names."); !ok {
		return "", false
	}
	// The group ID or name is everything up to the last field (".name",
	// ".id" or ".metadata.<k>"); group names may hold dots.
	for _, g := range id.groups {
		key := g.Name
		if byID {
			key = g.ID
		}
		field, ok := strings.CutPrefix(r, key+".")
		if !ok {
			continue
		}
		switch {
		case byID && field == "name":
			return g.Name, true
		case !byID && field == "id":
			return g.ID, true
		case strings.HasPrefix(field, "metadata."):
			v, ok := g.Metadata[strings.TrimPrefix(field, "metadata.")]
			return v, ok
		}
	}
	return "", false
}

// ---- logins ----

// LoginEntity finds the entity of (mount, alias name), creating the
// entity and its alias on a first login, as Vault does, and updates the
// alias's metadata when it changed. groupAliases are the groups the auth
// method reported: the entity's membership of the external groups aliased
// on this mount is made to match them. It returns the entity's ID.
func (s *Store) LoginEntity(ctx context.Context, m Mount, aliasName string, meta map[string]string, groupAliases []string) (string, error) {
	if aliasName == "" {
		return "", nil
	}
	id, err := s.loginEntity(ctx, m, aliasName, meta)
	if err != nil {
		return "", err
	}
	return id, s.syncExternalGroups(ctx, m.Accessor, id, groupAliases)
}

// syncExternalGroups makes entityID a member of exactly those external
// groups aliased on accessor whose alias name is in names. It writes
// only what changes.
func (s *Store) syncExternalGroups(ctx context.Context, accessor, entityID string, names []string) error {
	want := map[string]bool{}
	s.mu.RLock()
	for _, n := range names {
		if gid := s.gaBy[aliasKey(accessor, n)]; gid != "" {
			want[gid] = true
		}
	}
	var change []string
	for gid, g := range s.groups {
		if g.Type != GroupExternal || g.Alias == nil || g.Alias.MountAccessor != accessor {
			continue
		}
		if want[gid] != slices.Contains(g.MemberEntityIDs, entityID) {
			change = append(change, gid)
		}
	}
	s.mu.RUnlock()
	if len(change) == 0 {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	for _, gid := range change {
		g := s.group(gid)
		if g == nil {
			continue
		}
		has := slices.Contains(g.MemberEntityIDs, entityID)
		if want[gid] == has {
			continue
		}
		ng := cloneGroup(g)
		if want[gid] {
			ng.MemberEntityIDs = append(ng.MemberEntityIDs, entityID)
			sort.Strings(ng.MemberEntityIDs)
		} else {
			ng.MemberEntityIDs = slices.DeleteFunc(ng.MemberEntityIDs, func(x string) bool { return x == entityID })
		}
		ng.ModifyIndex++
		ng.LastUpdateTime = s.now().UTC()
		if err := s.putGroup(ctx, g, ng); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) loginEntity(ctx context.Context, m Mount, aliasName string, meta map[string]string) (string, error) {
	if a, e := s.entityAliasByName(m.Accessor, aliasName); a != nil && maps.Equal(a.Metadata, meta) {
		return e.ID, nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	now := s.now().UTC()
	if a, e := s.entityAliasByName(m.Accessor, aliasName); a != nil {
		if maps.Equal(a.Metadata, meta) {
			return e.ID, nil
		}
		ne := cloneEntity(e)
		for i, x := range ne.Aliases {
			if x.ID == a.ID {
				na := *x
				na.Metadata = maps.Clone(meta)
				na.LastUpdateTime = now
				ne.Aliases[i] = &na
			}
		}
		return ne.ID, s.putEntity(ctx, e, ne)
	}
	eid, err := newID()
	if err != nil {
		return "", err
	}
	aid, err := newID()
	if err != nil {
		return "", err
	}
	name, err := s.freeEntityName()
	if err != nil {
		return "", err
	}
	e := &Entity{
		ID: eid, Name: name, CreationTime: now, LastUpdateTime: now,
		Aliases: []*Alias{{
			ID: aid, CanonicalID: eid, MountAccessor: m.Accessor, Name: aliasName,
			Metadata: maps.Clone(meta), CreationTime: now, LastUpdateTime: now,
		}},
	}
	return e.ID, s.putEntity(ctx, nil, e)
}

// freeEntityName is Vault's generated entity name, entity_<8 hex>.
func (s *Store) freeEntityName() (string, error) {
	for range 16 {
		b := make([]byte, 4)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		n := "entity_" + hex.EncodeToString(b)
		if s.entityByName(n) == nil {
			return n, nil
		}
	}
	return "", errors.New("identity: no free entity name")
}

func newID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

func cloneEntity(e *Entity) *Entity {
	c := *e
	c.Policies = slices.Clone(e.Policies)
	c.Metadata = maps.Clone(e.Metadata)
	c.Aliases = slices.Clone(e.Aliases)
	return &c
}

func cloneGroup(g *Group) *Group {
	c := *g
	c.Policies = slices.Clone(g.Policies)
	c.MemberEntityIDs = slices.Clone(g.MemberEntityIDs)
	c.MemberGroupIDs = slices.Clone(g.MemberGroupIDs)
	c.Metadata = maps.Clone(g.Metadata)
	if g.Alias != nil {
		a := *g.Alias
		c.Alias = &a
	}
	return &c
}

func badRequest(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}
