package core_test

import (
	"slices"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

func upAccessor(t *testing.T, n *node) string {
	t.Helper()
	d := n.must(n.root, secrets.OpRead, "sys/auth", nil).Data
	acc, _ := d["up/"].(map[string]any)["accessor"].(string)
	if acc == "" {
		t.Fatalf("no accessor for up/: %v", d)
	}
	return acc
}

func TestIdentityStore_LoginsPoliciesAndTemplates(t *testing.T) {
	n := newNode(t)
	n.must(n.root, secrets.OpUpdate, "sys/mounts/kv", map[string]any{"type": "kv"})
	n.must(n.root, secrets.OpUpdate, "sys/auth/up", map[string]any{"type": "userpass"})
	acc := upAccessor(t, n)
	for _, p := range []string{"kv/team/x", "kv/parent/x", "kv/users/alice-e/x", "kv/users/bob/x", "kv/alias/alice/x", "kv/grp/x"} {
		n.must(n.root, secrets.OpUpdate, p, map[string]any{"v": "1"})
	}

	// A login creates the entity and its alias; the next finds them.
	a1 := n.must("", secrets.OpUpdate, "auth/up/login/alice", map[string]any{"password": "pw-alice"}).Auth
	if a1.EntityID == "" {
		t.Fatal("login token has no entity_id")
	}
	a2 := n.must("", secrets.OpUpdate, "auth/up/login/alice", map[string]any{"password": "pw-alice"}).Auth
	if a2.EntityID != a1.EntityID {
		t.Fatalf("second login got entity %q, want %q", a2.EntityID, a1.EntityID)
	}
	bob := n.must("", secrets.OpUpdate, "auth/up/login/bob", map[string]any{"password": "pw-bob"}).Auth
	if bob.EntityID == "" || bob.EntityID == a1.EntityID {
		t.Fatalf("bob's entity = %q", bob.EntityID)
	}
	look := n.must(n.root, secrets.OpUpdate, "identity/lookup/entity", map[string]any{"alias_name": "alice", "alias_mount_accessor": acc}).Data
	if look["id"] != a1.EntityID {
		t.Fatalf("lookup by alias = %v", look)
	}
	aliases := look["aliases"].([]any)
	if len(aliases) != 1 || aliases[0].(map[string]any)["mount_path"] != "auth/up/" || aliases[0].(map[string]any)["mount_type"] != "userpass" {
		t.Fatalf("aliases = %v", aliases)
	}
	// Unknown: 204 (no data).
	if r := n.must(n.root, secrets.OpUpdate, "identity/lookup/entity", map[string]any{"name": "nobody"}); r.Data != nil {
		t.Fatalf("lookup of nobody = %v", r.Data)
	}
	// A child token belongs to its parent's entity.
	n.policy("kv-read", `path "auth/token/create" { capabilities = ["update"] }`)
	child := n.tokenAs(a1.ClientToken, map[string]any{"policies": []any{"kv-read"}})
	if lk := n.must(n.root, secrets.OpUpdate, "auth/token/lookup", map[string]any{"token": child.ClientToken}).Data; lk["entity_id"] != a1.EntityID {
		t.Fatalf("child token entity = %v", lk["entity_id"])
	}

	// The default policy's templated paths let a token read its own
	// entity, and only its own.
	n.must(a1.ClientToken, secrets.OpRead, "identity/entity/id/"+a1.EntityID, nil)
	n.wantErr(a1.ClientToken, secrets.OpRead, "identity/entity/id/"+bob.EntityID, nil, errDenied)

	// Groups add policies at request time, without a new login.
	n.policy("team", `path "kv/team/*" { capabilities = ["read"] }`)
	n.policy("parent", `path "kv/parent/*" { capabilities = ["read"] }`)
	n.wantErr(a1.ClientToken, secrets.OpRead, "kv/team/x", nil, errDenied)
	team := n.must(n.root, secrets.OpUpdate, "identity/group", map[string]any{
		"name": "team", "policies": "team", "member_entity_ids": []any{a1.EntityID},
	}).Data["id"].(string)
	n.must(a1.ClientToken, secrets.OpRead, "kv/team/x", nil)
	n.wantErr(bob.ClientToken, secrets.OpRead, "kv/team/x", nil, errDenied)
	// Nested groups: team is a member of parent, so alice inherits parent's policies.
	parent := n.must(n.root, secrets.OpUpdate, "identity/group", map[string]any{
		"name": "parent", "policies": []any{"parent"}, "member_group_ids": []any{team},
	}).Data["id"].(string)
	n.must(a1.ClientToken, secrets.OpRead, "kv/parent/x", nil)
	lk := n.must(a1.ClientToken, secrets.OpRead, "auth/token/lookup-self", nil).Data
	if ip, _ := lk["identity_policies"].([]string); !slices.Equal(ip, []string{"parent", "team"}) {
		t.Fatalf("identity_policies = %v", lk["identity_policies"])
	}
	ent := n.must(n.root, secrets.OpRead, "identity/entity/id/"+a1.EntityID, nil).Data
	if !slices.Equal(ent["direct_group_ids"].([]string), []string{team}) || !slices.Equal(ent["inherited_group_ids"].([]string), []string{parent}) {
		t.Fatalf("entity groups = %v / %v", ent["direct_group_ids"], ent["inherited_group_ids"])
	}
	// A cycle is refused; so are a group as its own member, unknown members
	// and manual members of an external group.
	n.wantErr(n.root, secrets.OpUpdate, "identity/group/id/"+team, map[string]any{"member_group_ids": []any{parent}}, errInvalid)
	n.wantErr(n.root, secrets.OpUpdate, "identity/group/id/"+team, map[string]any{"member_group_ids": []any{team}}, errInvalid)
	n.wantErr(n.root, secrets.OpUpdate, "identity/group", map[string]any{"name": "x", "member_entity_ids": []any{"nope"}}, errInvalid)
	n.wantErr(n.root, secrets.OpUpdate, "identity/group", map[string]any{"name": "ext", "type": "external", "member_entity_ids": []any{a1.EntityID}}, errInvalid)
	// Leaving the group takes the policies away at once.
	n.must(n.root, secrets.OpUpdate, "identity/group/name/team", map[string]any{"member_entity_ids": []any{}})
	n.wantErr(a1.ClientToken, secrets.OpRead, "kv/team/x", nil, errDenied)
	n.wantErr(a1.ClientToken, secrets.OpRead, "kv/parent/x", nil, errDenied)
	n.must(n.root, secrets.OpUpdate, "identity/group/name/team", map[string]any{"member_entity_ids": []any{a1.EntityID}})

	// ACL templating: entity name, alias name, group names.
	n.policy("own", `
path "kv/users/{{identity.entity.name}}/*" { capabilities = ["read"] }
path "kv/alias/{{identity.entity.aliases.`+acc+`.name}}/*" { capabilities = ["read"] }
path "kv/grp/{{identity.groups.names.team.id}}" { capabilities = ["read"] }
path "kv/grp/*" { capabilities = ["list"] }
`)
	n.must(n.root, secrets.OpUpdate, "identity/entity/id/"+a1.EntityID, map[string]any{"name": "alice-e", "policies": []any{"own"}})
	n.must(n.root, secrets.OpUpdate, "kv/grp/"+team, map[string]any{"v": "1"})
	n.must(a1.ClientToken, secrets.OpRead, "kv/users/alice-e/x", nil)
	n.wantErr(a1.ClientToken, secrets.OpRead, "kv/users/bob/x", nil, errDenied)
	n.must(a1.ClientToken, secrets.OpRead, "kv/alias/alice/x", nil)
	n.must(a1.ClientToken, secrets.OpRead, "kv/grp/"+team, nil)
	n.wantErr(a1.ClientToken, secrets.OpRead, "kv/grp/x", nil, errDenied)
	// bob has the same policy on his entity but no "team" group: that
	// template matches nothing for him.
	n.must(n.root, secrets.OpUpdate, "identity/entity/id/"+bob.EntityID, map[string]any{"policies": "own"})
	n.wantErr(bob.ClientToken, secrets.OpRead, "kv/grp/"+team, nil, errDenied)
	n.wantErr(bob.ClientToken, secrets.OpRead, "kv/users/alice-e/x", nil, errDenied)
	caps := n.must(n.root, secrets.OpUpdate, "sys/capabilities-accessor", map[string]any{"accessor": a1.Accessor, "path": "kv/users/alice-e/x"}).Data
	if !slices.Equal(caps["capabilities"].([]string), []string{"read"}) {
		t.Fatalf("capabilities = %v", caps)
	}

	// A disabled entity's tokens are refused.
	n.must(n.root, secrets.OpUpdate, "identity/entity/id/"+a1.EntityID, map[string]any{"disabled": true})
	n.wantErr(a1.ClientToken, secrets.OpRead, "kv/team/x", nil, errDenied)
	n.must(n.root, secrets.OpUpdate, "identity/entity/id/"+a1.EntityID, map[string]any{"disabled": false})
	n.must(a1.ClientToken, secrets.OpRead, "kv/team/x", nil)

	// The store survives a seal/unseal (it is in storage, reloaded).
	n.must(n.root, secrets.OpUpdate, "sys/seal", nil)
	n.unseal()
	n.must(a1.ClientToken, secrets.OpRead, "kv/parent/x", nil)
	if r := n.must(n.root, secrets.OpRead, "identity/group/name/parent", nil).Data; r["id"] != parent {
		t.Fatalf("group after unseal = %v", r)
	}

	// Deleting the entity removes its group memberships and policies.
	n.must(n.root, secrets.OpDelete, "identity/entity/id/"+a1.EntityID, nil)
	n.wantErr(a1.ClientToken, secrets.OpRead, "kv/team/x", nil, errDenied)
	if g := n.must(n.root, secrets.OpRead, "identity/group/id/"+team, nil).Data; len(g["member_entity_ids"].([]string)) != 0 {
		t.Fatalf("deleted entity still a member: %v", g["member_entity_ids"])
	}
	n.wantErr(n.root, secrets.OpRead, "identity/entity/id/"+a1.EntityID, nil, secrets.ErrNotFound)
}

func TestIdentityStore_CRUDAndAliases(t *testing.T) {
	n := newNode(t)
	n.must(n.root, secrets.OpUpdate, "sys/auth/up", map[string]any{"type": "userpass"})
	acc := upAccessor(t, n)

	e := n.must(n.root, secrets.OpUpdate, "identity/entity", map[string]any{"name": "svc", "metadata": map[string]any{"team": "ops"}, "policies": "a,b"}).Data
	id := e["id"].(string)
	if e["name"] != "svc" || id == "" {
		t.Fatalf("create = %v", e)
	}
	// POST with an existing name updates that entity.
	if again := n.must(n.root, secrets.OpUpdate, "identity/entity", map[string]any{"name": "svc", "policies": "c"}).Data; again["id"] != id {
		t.Fatalf("update by name = %v", again)
	}
	rd := n.must(n.root, secrets.OpRead, "identity/entity/name/svc", nil).Data
	if !slices.Equal(rd["policies"].([]string), []string{"c"}) || rd["metadata"].(map[string]string)["team"] != "ops" {
		t.Fatalf("read = %v", rd)
	}
	// Aliases: an unknown accessor is refused; one alias per mount per entity;
	// (accessor, name) is unique.
	n.wantErr(n.root, secrets.OpUpdate, "identity/entity-alias", map[string]any{"name": "svc", "mount_accessor": "auth_nope", "canonical_id": id}, errInvalid)
	al := n.must(n.root, secrets.OpUpdate, "identity/entity-alias", map[string]any{"name": "svc-login", "mount_accessor": acc, "canonical_id": id}).Data
	if al["canonical_id"] != id {
		t.Fatalf("alias = %v", al)
	}
	n.wantErr(n.root, secrets.OpUpdate, "identity/entity-alias", map[string]any{"name": "other", "mount_accessor": acc, "canonical_id": id}, errInvalid)
	n.wantErr(n.root, secrets.OpUpdate, "identity/entity-alias", map[string]any{"name": "svc-login", "mount_accessor": acc}, errInvalid)
	// A login as that alias lands in the pre-created entity.
	login := n.must("", secrets.OpUpdate, "auth/up/login/svc-login", map[string]any{"password": "pw-svc-login"}).Auth
	if login.EntityID != id {
		t.Fatalf("login entity = %q, want %q", login.EntityID, id)
	}
	if keys := n.must(n.root, secrets.OpList, "identity/entity-alias/id", nil).Data["keys"].([]string); !slices.Contains(keys, al["id"].(string)) {
		t.Fatalf("alias list = %v", keys)
	}
	if keys := n.must(n.root, secrets.OpList, "identity/entity/name", nil).Data["keys"].([]string); !slices.Equal(keys, []string{"svc"}) {
		t.Fatalf("entity names = %v", keys)
	}

	// External groups take one group alias; internal ones none.
	ext := n.must(n.root, secrets.OpUpdate, "identity/group", map[string]any{"name": "ldap-admins", "type": "external", "policies": "admin"}).Data["id"].(string)
	internal := n.must(n.root, secrets.OpUpdate, "identity/group", map[string]any{"name": "int"}).Data["id"].(string)
	n.wantErr(n.root, secrets.OpUpdate, "identity/group-alias", map[string]any{"name": "admins", "mount_accessor": acc, "canonical_id": internal}, errInvalid)
	ga := n.must(n.root, secrets.OpUpdate, "identity/group-alias", map[string]any{"name": "admins", "mount_accessor": acc, "canonical_id": ext}).Data
	n.wantErr(n.root, secrets.OpUpdate, "identity/group-alias", map[string]any{"name": "admins2", "mount_accessor": acc, "canonical_id": ext}, errInvalid)
	if g := n.must(n.root, secrets.OpUpdate, "identity/lookup/group", map[string]any{"alias_name": "admins", "alias_mount_accessor": acc}).Data; g["id"] != ext {
		t.Fatalf("group lookup by alias = %v", g)
	}
	n.wantErr(n.root, secrets.OpUpdate, "identity/group/id/"+ext, map[string]any{"type": "internal"}, errInvalid)
	n.must(n.root, secrets.OpDelete, "identity/group-alias/id/"+ga["id"].(string), nil)
	n.wantErr(n.root, secrets.OpRead, "identity/group-alias/id/"+ga["id"].(string), nil, secrets.ErrNotFound)
	// Lookup needs exactly one criterion.
	n.wantErr(n.root, secrets.OpUpdate, "identity/lookup/entity", map[string]any{}, errInvalid)
	n.wantErr(n.root, secrets.OpUpdate, "identity/lookup/entity", map[string]any{"name": "svc", "id": id}, errInvalid)
	// identity/ is behind the ACL like any path.
	plain := n.token(map[string]any{"policies": []any{"default"}}).ClientToken
	n.wantErr(plain, secrets.OpRead, "identity/entity/id/"+id, nil, errDenied)
	n.wantErr(plain, secrets.OpUpdate, "identity/entity", map[string]any{"name": "x"}, errDenied)
}
