package identity

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// The identity/ endpoints, declared through package endpoint. core routes
// identity/<path> here after its ACL check.

var (
	fName     = &endpoint.Field{Type: endpoint.TypeString, Description: "Name (generated when absent)."}
	fID       = &endpoint.Field{Type: endpoint.TypeString, Description: "ID of the object to update; absent to create one."}
	fPolicies = &endpoint.Field{Type: endpoint.TypeCommaStringSlice, Description: "Policies added to the tokens of the members."}
	fMeta     = &endpoint.Field{Type: endpoint.TypeKVPairs, Description: "Metadata: string keys and values."}
)

func entityFields() map[string]*endpoint.Field {
	return map[string]*endpoint.Field{
		"name": fName, "id": fID, "policies": fPolicies, "metadata": fMeta,
		"disabled": {Type: endpoint.TypeBool, Description: "Whether tokens of the entity are refused."},
	}
}

func aliasFields() map[string]*endpoint.Field {
	return map[string]*endpoint.Field{
		"name":            {Type: endpoint.TypeString, Description: "Name of the alias within its auth mount (username, role ID ...)."},
		"id":              fID,
		"mount_accessor":  {Type: endpoint.TypeString, Description: "Accessor of the auth mount the alias belongs to."},
		"canonical_id":    {Type: endpoint.TypeString, Description: "ID of the entity (or group) the alias belongs to."},
		"custom_metadata": {Type: endpoint.TypeKVPairs, Description: "User-provided metadata of the alias."},
	}
}

func groupFields() map[string]*endpoint.Field {
	return map[string]*endpoint.Field{
		"name": fName, "id": fID, "policies": fPolicies, "metadata": fMeta,
		"type":              {Type: endpoint.TypeLowerCaseString, Description: "internal (default) or external.", AllowedValues: []any{GroupInternal, GroupExternal}},
		"member_entity_ids": {Type: endpoint.TypeCommaStringSlice, Description: "Entities that are members (internal groups)."},
		"member_group_ids":  {Type: endpoint.TypeCommaStringSlice, Description: "Groups that are members, and inherit this group's policies."},
	}
}

func lookupFields() map[string]*endpoint.Field {
	return map[string]*endpoint.Field{
		"name":                 {Type: endpoint.TypeString, Description: "Name to look up."},
		"id":                   {Type: endpoint.TypeString, Description: "ID to look up."},
		"alias_id":             {Type: endpoint.TypeString, Description: "ID of an alias to look up."},
		"alias_name":           {Type: endpoint.TypeString, Description: "Name of an alias (with alias_mount_accessor)."},
		"alias_mount_accessor": {Type: endpoint.TypeString, Description: "Auth mount accessor of alias_name."},
	}
}

func withField(m map[string]*endpoint.Field, name string, f *endpoint.Field) map[string]*endpoint.Field {
	m[name] = f
	return m
}

// family is one kind of identity object whose paths have the same
// shape: <pattern> creates, <pattern>/id lists and <pattern>/id/{id}
// reads, updates and deletes; with listNames, <pattern>/name and
// <pattern>/name/{name} do the same by name.
type family struct {
	pattern                              string // "entity"
	an, plural                           string // "an entity", "entities"
	createSuffix                         string // the create summary's tail: "(or update the one with this name or id)"
	fields                               func() map[string]*endpoint.Field
	write, read, del, listIDs, listNames endpoint.Handler
}

func (f family) paths() []*endpoint.Path {
	rd, up, del, ls := secrets.OpRead, secrets.OpUpdate, secrets.OpDelete, secrets.OpList
	crud := map[secrets.Operation]endpoint.Handler{rd: f.read, up: f.write, del: f.del}
	byID := "."
	if f.listNames != nil {
		byID = " by ID."
	}
	ps := []*endpoint.Path{
		{Pattern: f.pattern, Fields: f.fields(), Summary: "Create " + f.an + " " + f.createSuffix + ".",
			Operations: map[secrets.Operation]endpoint.Handler{up: f.write}},
		{Pattern: f.pattern + "/id", Summary: "List " + f.plural + " by ID.",
			Operations: map[secrets.Operation]endpoint.Handler{ls: f.listIDs}},
		{Pattern: f.pattern + "/id/{id}", Fields: withField(f.fields(), "id", &endpoint.Field{Type: endpoint.TypeString, Description: "ID."}),
			Summary: "Read, update or delete " + f.an + byID, Operations: crud},
	}
	if f.listNames != nil {
		ps = append(ps,
			&endpoint.Path{Pattern: f.pattern + "/name", Summary: "List " + f.plural + " by name.",
				Operations: map[secrets.Operation]endpoint.Handler{ls: f.listNames}},
			&endpoint.Path{Pattern: f.pattern + "/name/{name}", Fields: withField(f.fields(), "name", &endpoint.Field{Type: endpoint.TypeString, Description: "Name."}),
				Summary: "Read, create, update or delete " + f.an + " by name.", Operations: crud},
		)
	}
	return ps
}

// Endpoints declares the identity/ paths.
func (s *Store) Endpoints() *endpoint.Backend {
	families := []family{
		{pattern: "entity", an: "an entity", plural: "entities", createSuffix: "(or update the one with this name or id)",
			fields: entityFields, write: s.entityWrite, read: s.entityRead, del: s.entityDelete,
			listIDs: s.entityListIDs, listNames: s.entityListNames},
		{pattern: "entity-alias", an: "an entity alias", plural: "entity aliases", createSuffix: "(or update the one with this id)",
			fields: aliasFields, write: s.aliasWrite, read: s.aliasRead, del: s.aliasDelete, listIDs: s.aliasList},
		{pattern: "group", an: "a group", plural: "groups", createSuffix: "(or update the one with this name or id)",
			fields: groupFields, write: s.groupWrite, read: s.groupRead, del: s.groupDelete,
			listIDs: s.groupListIDs, listNames: s.groupListNames},
		{pattern: "group-alias", an: "a group alias", plural: "group aliases", createSuffix: "for an external group (or update the one with this id)",
			fields: aliasFields, write: s.groupAliasWrite, read: s.groupAliasRead, del: s.groupAliasDelete, listIDs: s.groupAliasList},
	}
	var paths []*endpoint.Path
	for _, f := range families {
		paths = append(paths, f.paths()...)
	}
	up := secrets.OpUpdate
	paths = append(paths,
		&endpoint.Path{Pattern: "lookup/entity", Fields: lookupFields(), Summary: "Find an entity by name, ID, alias ID or alias name and mount.",
			Operations: map[secrets.Operation]endpoint.Handler{up: s.lookupEntity}},
		&endpoint.Path{Pattern: "lookup/group", Fields: lookupFields(), Summary: "Find a group by name, ID, alias ID or alias name and mount.",
			Operations: map[secrets.Operation]endpoint.Handler{up: s.lookupGroup}},
	)
	return &endpoint.Backend{
		Help:            "The identity store: entities, entity aliases, groups and group aliases.",
		StorageOptional: true,
		Paths:           paths,
	}
}

func notFound() error { return secrets.Errorf(secrets.ErrNotFound, "not found") }

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func metaOut(m map[string]string) any {
	if m == nil {
		return nil
	}
	return maps.Clone(m)
}

// ---- output ----

func (s *Store) aliasOut(a *Alias) map[string]any {
	var m Mount // empty path and type for an accessor no mount has any more
	if s.mounts != nil {
		m, _ = s.mounts(a.MountAccessor)
	}
	return map[string]any{
		"id": a.ID, "canonical_id": a.CanonicalID, "mount_accessor": a.MountAccessor,
		"mount_path": m.Path, "mount_type": m.Type, "name": a.Name,
		"metadata": metaOut(a.Metadata), "custom_metadata": metaOut(a.CustomMetadata),
		"creation_time": ts(a.CreationTime), "last_update_time": ts(a.LastUpdateTime),
		"local": false, "merged_from_canonical_ids": nil, "namespace_id": "root",
	}
}

func (s *Store) entityOut(e *Entity) map[string]any {
	aliases := make([]any, 0, len(e.Aliases))
	for _, a := range e.Aliases {
		aliases = append(aliases, s.aliasOut(a))
	}
	s.mu.RLock()
	direct, all := s.groupsOfLocked(e.ID)
	s.mu.RUnlock()
	var inherited []string
	for _, g := range all {
		if !slices.Contains(direct, g) {
			inherited = append(inherited, g)
		}
	}
	return map[string]any{
		"id": e.ID, "name": e.Name, "policies": orEmpty(e.Policies), "metadata": metaOut(e.Metadata),
		"disabled": e.Disabled, "aliases": aliases,
		"creation_time": ts(e.CreationTime), "last_update_time": ts(e.LastUpdateTime),
		"direct_group_ids": orEmpty(direct), "group_ids": orEmpty(all), "inherited_group_ids": orEmpty(inherited),
		"merged_entity_ids": nil, "namespace_id": "root", "bucket_key": "",
	}
}

func (s *Store) groupOut(g *Group) map[string]any {
	s.mu.RLock()
	parents := slices.Clone(s.parents[g.ID])
	s.mu.RUnlock()
	sort.Strings(parents)
	var alias any = map[string]any{}
	if g.Alias != nil {
		alias = s.aliasOut(g.Alias)
	}
	return map[string]any{
		"id": g.ID, "name": g.Name, "type": g.Type, "policies": orEmpty(g.Policies),
		"member_entity_ids": orEmpty(g.MemberEntityIDs), "member_group_ids": orEmpty(g.MemberGroupIDs),
		"parent_group_ids": orEmpty(parents), "metadata": metaOut(g.Metadata), "alias": alias,
		"creation_time": ts(g.CreationTime), "last_update_time": ts(g.LastUpdateTime),
		"modify_index": g.ModifyIndex, "namespace_id": "root",
	}
}

// ---- entities ----

// entityTarget finds the entity a request names: by {id} or {name}
// capture (path forms), else by the body's id, else by its name.
func (s *Store) entityTarget(req *secrets.Request, d *endpoint.Data) (e *Entity, byPath bool, err error) {
	switch {
	case strings.HasPrefix(req.Path, "entity/id/"):
		e = s.entity(d.String("id"))
		if e == nil && req.Operation != secrets.OpRead && req.Operation != secrets.OpDelete {
			return nil, true, badRequest("entity not found from id")
		}
		return e, true, nil
	case strings.HasPrefix(req.Path, "entity/name/"):
		return s.entityByName(d.String("name")), true, nil
	}
	if id := d.String("id"); id != "" {
		if e = s.entity(id); e == nil {
			return nil, false, badRequest("entity not found from id")
		}
		return e, false, nil
	}
	if n := d.String("name"); n != "" {
		return s.entityByName(n), false, nil
	}
	return nil, false, nil
}

func (s *Store) entityRead(_ context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	e, _, err := s.entityTarget(req, d)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, notFound()
	}
	return &secrets.Response{Data: s.entityOut(e)}, nil
}

func (s *Store) entityWrite(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	old, _, err := s.entityTarget(req, d)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	var e *Entity
	if old != nil {
		e = cloneEntity(old)
	} else {
		id, err := newID()
		if err != nil {
			return nil, err
		}
		e = &Entity{ID: id, CreationTime: now}
	}
	if n := strings.TrimSpace(d.String("name")); n != "" && n != e.Name {
		if other := s.entityByName(n); other != nil && other.ID != e.ID {
			return nil, badRequest("entity name is already in use")
		}
		e.Name = n
	}
	if e.Name == "" {
		if e.Name, err = s.freeEntityName(); err != nil {
			return nil, err
		}
	}
	if v, ok := d.GetOk("policies"); ok {
		e.Policies = normalizePolicies(v.([]string))
	}
	if v, ok := d.GetOk("metadata"); ok {
		e.Metadata = v.(map[string]string)
	}
	if v, ok := d.GetOk("disabled"); ok {
		e.Disabled = v.(bool)
	}
	e.LastUpdateTime = now
	if err := s.putEntity(ctx, old, e); err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{"id": e.ID, "name": e.Name}}, nil
}

func (s *Store) entityDelete(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	e, _, err := s.entityTarget(req, d)
	if err != nil || e == nil {
		return nil, err // deleting an absent entity succeeds
	}
	// The entity leaves the groups that list it.
	s.mu.RLock()
	gids := slices.Clone(s.entGroups[e.ID])
	s.mu.RUnlock()
	if err := s.leaveGroups(ctx, gids, e.ID, func(g *Group) *[]string { return &g.MemberEntityIDs }); err != nil {
		return nil, err
	}
	return nil, s.deleteEntity(ctx, e)
}

// leaveGroups removes id from one member list (members picks it) of each
// group in gids. writeMu is held.
func (s *Store) leaveGroups(ctx context.Context, gids []string, id string, members func(*Group) *[]string) error {
	for _, gid := range gids {
		g := s.group(gid)
		if g == nil {
			continue
		}
		ng := cloneGroup(g)
		m := members(ng)
		*m = slices.DeleteFunc(*m, func(x string) bool { return x == id })
		ng.ModifyIndex++
		if err := s.putGroup(ctx, g, ng); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) entityListIDs(context.Context, *secrets.Request, *endpoint.Data) (*secrets.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return listOf(s, s.ents, byID[*Entity], func(id string, e *Entity) any {
		aliases := make([]any, 0, len(e.Aliases))
		for _, a := range e.Aliases {
			aliases = append(aliases, map[string]any{"id": a.ID, "mount_accessor": a.MountAccessor, "name": a.Name})
		}
		return map[string]any{"name": e.Name, "aliases": aliases}
	})
}

func (s *Store) entityListNames(context.Context, *secrets.Request, *endpoint.Data) (*secrets.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return listOf(s, s.ents, func(_ string, e *Entity) string { return e.Name }, nil)
}

func byID[V any](id string, _ V) string { return id }

// listOf answers a LIST of m (nil while the store is inactive): the
// sorted key(id, v) of every entry, with info(id, v) under its key when
// info is set. s.mu is held.
func listOf[V any](s *Store, m map[string]V, key func(string, V) string, info func(string, V) any) (*secrets.Response, error) {
	if m == nil {
		return nil, s.inactive()
	}
	keys := make([]string, 0, len(m))
	var infos map[string]any
	if info != nil {
		infos = map[string]any{}
	}
	for id, v := range m {
		k := key(id, v)
		keys = append(keys, k)
		if info != nil {
			infos[k] = info(id, v)
		}
	}
	sort.Strings(keys)
	return listResponse(keys, infos)
}

// listResponse answers a LIST; an empty list is a 404, as in Vault.
func listResponse(keys []string, info map[string]any) (*secrets.Response, error) {
	if len(keys) == 0 {
		return nil, notFound()
	}
	data := map[string]any{"keys": keys}
	if info != nil {
		data["key_info"] = info
	}
	return &secrets.Response{Data: data}, nil
}

func normalizePolicies(in []string) []string {
	out := make([]string, 0, len(in))
	for _, p := range in {
		p = strings.ToLower(strings.TrimSpace(p))
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// ---- entity aliases ----

func (s *Store) aliasRead(_ context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	a, _ := s.entityAlias(d.String("id"))
	if a == nil {
		return nil, notFound()
	}
	return &secrets.Response{Data: s.aliasOut(a)}, nil
}

func (s *Store) checkAccessor(acc string) error {
	if acc == "" {
		return badRequest("missing mount_accessor")
	}
	if s.mounts == nil {
		return badRequest("invalid mount accessor %q", acc)
	}
	if _, ok := s.mounts(acc); !ok {
		return badRequest("invalid mount accessor %q", acc)
	}
	return nil
}

func (s *Store) aliasWrite(ctx context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	now := s.now().UTC()
	var cur *Alias
	var owner *Entity
	if id := d.String("id"); id != "" {
		if cur, owner = s.entityAlias(id); cur == nil {
			return nil, badRequest("invalid alias id")
		}
	}
	a := &Alias{CreationTime: now}
	if cur != nil {
		cp := *cur
		a = &cp
	}
	if v, ok := d.GetOk("name"); ok {
		a.Name = strings.TrimSpace(v.(string))
	}
	if v, ok := d.GetOk("mount_accessor"); ok {
		a.MountAccessor = v.(string)
	}
	if v, ok := d.GetOk("custom_metadata"); ok {
		a.CustomMetadata = v.(map[string]string)
	}
	if a.Name == "" {
		return nil, badRequest("missing alias name")
	}
	if err := s.checkAccessor(a.MountAccessor); err != nil {
		return nil, err
	}
	if other, _ := s.entityAliasByName(a.MountAccessor, a.Name); other != nil && other.ID != a.ID {
		return nil, badRequest("alias with combination of mount accessor and name already exists")
	}
	// The entity it belongs to: canonical_id, else its current one, else
	// a new entity.
	target := owner
	if cid := d.String("canonical_id"); cid != "" {
		if target = s.entity(cid); target == nil {
			return nil, badRequest("invalid canonical ID")
		}
	}
	a.LastUpdateTime = now
	if a.ID == "" {
		var err error
		if a.ID, err = newID(); err != nil {
			return nil, err
		}
	}
	if target == nil {
		id, err := newID()
		if err != nil {
			return nil, err
		}
		name, err := s.freeEntityName()
		if err != nil {
			return nil, err
		}
		a.CanonicalID = id
		e := &Entity{ID: id, Name: name, CreationTime: now, LastUpdateTime: now, Aliases: []*Alias{a}}
		if err := s.putEntity(ctx, nil, e); err != nil {
			return nil, err
		}
		return &secrets.Response{Data: map[string]any{"id": a.ID, "canonical_id": id}}, nil
	}
	for _, x := range target.Aliases {
		if x.MountAccessor == a.MountAccessor && x.ID != a.ID {
			return nil, badRequest("entity %q already has an alias for mount accessor %q", target.ID, a.MountAccessor)
		}
	}
	if owner != nil && owner.ID != target.ID { // the alias moves
		no := cloneEntity(owner)
		no.Aliases = slices.DeleteFunc(no.Aliases, func(x *Alias) bool { return x.ID == a.ID })
		no.LastUpdateTime = now
		if err := s.putEntity(ctx, owner, no); err != nil {
			return nil, err
		}
		target = s.entity(target.ID)
	}
	a.CanonicalID = target.ID
	nt := cloneEntity(target)
	nt.Aliases = slices.DeleteFunc(nt.Aliases, func(x *Alias) bool { return x.ID == a.ID })
	nt.Aliases = append(nt.Aliases, a)
	nt.LastUpdateTime = now
	if err := s.putEntity(ctx, target, nt); err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{"id": a.ID, "canonical_id": target.ID}}, nil
}

func (s *Store) aliasDelete(ctx context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	a, e := s.entityAlias(d.String("id"))
	if a == nil {
		return nil, nil
	}
	ne := cloneEntity(e)
	ne.Aliases = slices.DeleteFunc(ne.Aliases, func(x *Alias) bool { return x.ID == a.ID })
	ne.LastUpdateTime = s.now().UTC()
	return nil, s.putEntity(ctx, e, ne)
}

func (s *Store) aliasList(context.Context, *secrets.Request, *endpoint.Data) (*secrets.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ents == nil {
		return nil, s.inactive()
	}
	var keys []string
	info := map[string]any{}
	for _, e := range s.ents {
		for _, a := range e.Aliases {
			keys = append(keys, a.ID)
			info[a.ID] = map[string]any{"canonical_id": a.CanonicalID, "mount_accessor": a.MountAccessor, "name": a.Name}
		}
	}
	sort.Strings(keys)
	return listResponse(keys, info)
}

// ---- groups ----

func (s *Store) groupTarget(req *secrets.Request, d *endpoint.Data) (*Group, error) {
	switch {
	case strings.HasPrefix(req.Path, "group/id/"):
		g := s.group(d.String("id"))
		if g == nil && req.Operation != secrets.OpRead && req.Operation != secrets.OpDelete {
			return nil, badRequest("group not found from id")
		}
		return g, nil
	case strings.HasPrefix(req.Path, "group/name/"):
		return s.groupByName(d.String("name")), nil
	}
	if id := d.String("id"); id != "" {
		g := s.group(id)
		if g == nil {
			return nil, badRequest("group not found from id")
		}
		return g, nil
	}
	if n := d.String("name"); n != "" {
		return s.groupByName(n), nil
	}
	return nil, nil
}

func (s *Store) groupRead(_ context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	g, err := s.groupTarget(req, d)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, notFound()
	}
	return &secrets.Response{Data: s.groupOut(g)}, nil
}

func (s *Store) groupWrite(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	old, err := s.groupTarget(req, d)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	var g *Group
	if old != nil {
		g = cloneGroup(old)
		if t := d.String("type"); t != "" && t != g.Type {
			return nil, badRequest("group type cannot be changed")
		}
	} else {
		id, err := newID()
		if err != nil {
			return nil, err
		}
		g = &Group{ID: id, Type: GroupInternal, CreationTime: now}
		if t := d.String("type"); t != "" {
			g.Type = t
		}
	}
	if n := strings.TrimSpace(d.String("name")); n != "" && n != g.Name {
		if other := s.groupByName(n); other != nil && other.ID != g.ID {
			return nil, badRequest("group name is already in use")
		}
		g.Name = n
	}
	if g.Name == "" {
		g.Name = "group_" + strings.ReplaceAll(g.ID, "-", "")[:8]
	}
	if v, ok := d.GetOk("policies"); ok {
		g.Policies = normalizePolicies(v.([]string))
	}
	if v, ok := d.GetOk("metadata"); ok {
		g.Metadata = v.(map[string]string)
	}
	if v, ok := d.GetOk("member_entity_ids"); ok {
		ids := v.([]string)
		if g.Type == GroupExternal && len(ids) > 0 {
			return nil, badRequest("member entities can't be set manually for external groups")
		}
		for _, id := range ids {
			if s.entity(id) == nil {
				return nil, badRequest("invalid member entity ID %q", id)
			}
		}
		g.MemberEntityIDs = slices.Compact(slices.Sorted(slices.Values(ids)))
	}
	if v, ok := d.GetOk("member_group_ids"); ok {
		ids := v.([]string)
		for _, id := range ids {
			if id == g.ID {
				return nil, badRequest("member group ID %q is the group itself", id)
			}
			if s.group(id) == nil {
				return nil, badRequest("invalid member group ID %q", id)
			}
			if s.isAncestor(id, g.ID) {
				return nil, badRequest("member group ID %q is already a parent of group %q", id, g.ID)
			}
		}
		g.MemberGroupIDs = slices.Compact(slices.Sorted(slices.Values(ids)))
	}
	g.LastUpdateTime = now
	g.ModifyIndex++
	if err := s.putGroup(ctx, old, g); err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{"id": g.ID, "name": g.Name}}, nil
}

// isAncestor reports whether candidate is g or contains g, directly or
// through nested groups (making candidate a member of g would loop).
func (s *Store) isAncestor(candidate, g string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	seen := map[string]bool{}
	queue := []string{g}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		if x == candidate {
			return true
		}
		if seen[x] {
			continue
		}
		seen[x] = true
		queue = append(queue, s.parents[x]...)
	}
	return false
}

func (s *Store) groupDelete(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	g, err := s.groupTarget(req, d)
	if err != nil || g == nil {
		return nil, err
	}
	s.mu.RLock()
	pids := slices.Clone(s.parents[g.ID])
	s.mu.RUnlock()
	if err := s.leaveGroups(ctx, pids, g.ID, func(p *Group) *[]string { return &p.MemberGroupIDs }); err != nil {
		return nil, err
	}
	return nil, s.deleteGroup(ctx, g)
}

func (s *Store) groupListIDs(context.Context, *secrets.Request, *endpoint.Data) (*secrets.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return listOf(s, s.groups, byID[*Group], func(id string, g *Group) any {
		return map[string]any{"name": g.Name, "num_member_entities": len(g.MemberEntityIDs), "num_parent_groups": len(s.parents[id])}
	})
}

func (s *Store) groupListNames(context.Context, *secrets.Request, *endpoint.Data) (*secrets.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return listOf(s, s.groups, func(_ string, g *Group) string { return g.Name }, nil)
}

// ---- group aliases ----

func (s *Store) groupAlias(id string) (*Alias, *Group) {
	s.mu.RLock()
	g := s.groups[s.galias[id]]
	s.mu.RUnlock()
	if g == nil || g.Alias == nil {
		return nil, nil
	}
	return g.Alias, g
}

func (s *Store) groupAliasRead(_ context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	a, _ := s.groupAlias(d.String("id"))
	if a == nil {
		return nil, notFound()
	}
	return &secrets.Response{Data: s.aliasOut(a)}, nil
}

func (s *Store) groupAliasWrite(ctx context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	now := s.now().UTC()
	var cur *Alias
	var owner *Group
	if id := d.String("id"); id != "" {
		if cur, owner = s.groupAlias(id); cur == nil {
			return nil, badRequest("invalid group alias id")
		}
	}
	a := &Alias{CreationTime: now}
	if cur != nil {
		cp := *cur
		a = &cp
	}
	if v, ok := d.GetOk("name"); ok {
		a.Name = strings.TrimSpace(v.(string))
	}
	if v, ok := d.GetOk("mount_accessor"); ok {
		a.MountAccessor = v.(string)
	}
	if a.Name == "" {
		return nil, badRequest("missing alias name")
	}
	if err := s.checkAccessor(a.MountAccessor); err != nil {
		return nil, err
	}
	target := owner
	if cid := d.String("canonical_id"); cid != "" {
		if target = s.group(cid); target == nil {
			return nil, badRequest("invalid canonical ID")
		}
	}
	if target == nil {
		return nil, badRequest("missing canonical_id: a group alias needs an external group")
	}
	if target.Type != GroupExternal {
		return nil, badRequest("alias can't be set on an internal group")
	}
	if target.Alias != nil && target.Alias.ID != a.ID {
		return nil, badRequest("group %q already has an alias", target.ID)
	}
	s.mu.RLock()
	other := s.gaBy[aliasKey(a.MountAccessor, a.Name)]
	s.mu.RUnlock()
	if other != "" && other != target.ID {
		return nil, badRequest("combination of mount accessor and name is already in use by another group alias")
	}
	if a.ID == "" {
		var err error
		if a.ID, err = newID(); err != nil {
			return nil, err
		}
	}
	a.LastUpdateTime = now
	a.CanonicalID = target.ID
	if owner != nil && owner.ID != target.ID {
		no := cloneGroup(owner)
		no.Alias = nil
		no.ModifyIndex++
		if err := s.putGroup(ctx, owner, no); err != nil {
			return nil, err
		}
		target = s.group(target.ID)
	}
	nt := cloneGroup(target)
	nt.Alias = a
	nt.ModifyIndex++
	nt.LastUpdateTime = now
	if err := s.putGroup(ctx, target, nt); err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{"id": a.ID, "canonical_id": target.ID}}, nil
}

func (s *Store) groupAliasDelete(ctx context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	a, g := s.groupAlias(d.String("id"))
	if a == nil {
		return nil, nil
	}
	ng := cloneGroup(g)
	ng.Alias = nil
	ng.ModifyIndex++
	return nil, s.putGroup(ctx, g, ng)
}

func (s *Store) groupAliasList(context.Context, *secrets.Request, *endpoint.Data) (*secrets.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.groups == nil {
		return nil, s.inactive()
	}
	var keys []string
	info := map[string]any{}
	for _, g := range s.groups {
		if a := g.Alias; a != nil {
			keys = append(keys, a.ID)
			info[a.ID] = map[string]any{"canonical_id": a.CanonicalID, "mount_accessor": a.MountAccessor, "name": a.Name}
		}
	}
	sort.Strings(keys)
	return listResponse(keys, info)
}

// ---- lookups ----

// lookupCriterion checks that exactly one way of naming the object is
// given (alias_name goes with alias_mount_accessor).
func lookupCriterion(d *endpoint.Data) (string, error) {
	var set []string
	for _, k := range []string{"name", "id", "alias_id", "alias_name"} {
		if d.String(k) != "" {
			set = append(set, k)
		}
	}
	if len(set) != 1 {
		return "", badRequest("exactly one of name, id, alias_id or alias_name (with alias_mount_accessor) must be given")
	}
	if set[0] == "alias_name" && d.String("alias_mount_accessor") == "" {
		return "", badRequest("missing alias_mount_accessor")
	}
	return set[0], nil
}

func (s *Store) lookupEntity(_ context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	k, err := lookupCriterion(d)
	if err != nil {
		return nil, err
	}
	var e *Entity
	switch k {
	case "name":
		e = s.entityByName(d.String("name"))
	case "id":
		e = s.entity(d.String("id"))
	case "alias_id":
		_, e = s.entityAlias(d.String("alias_id"))
	case "alias_name":
		_, e = s.entityAliasByName(d.String("alias_mount_accessor"), d.String("alias_name"))
	}
	if e == nil {
		return nil, nil // 204, as in Vault
	}
	return &secrets.Response{Data: s.entityOut(e)}, nil
}

func (s *Store) lookupGroup(_ context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	k, err := lookupCriterion(d)
	if err != nil {
		return nil, err
	}
	var g *Group
	switch k {
	case "name":
		g = s.groupByName(d.String("name"))
	case "id":
		g = s.group(d.String("id"))
	case "alias_id":
		_, g = s.groupAlias(d.String("alias_id"))
	case "alias_name":
		s.mu.RLock()
		g = s.groups[s.gaBy[aliasKey(d.String("alias_mount_accessor"), d.String("alias_name"))]]
		s.mu.RUnlock()
	}
	if g == nil {
		return nil, nil
	}
	return &secrets.Response{Data: s.groupOut(g)}, nil
}
