package identity

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage/inmem"
)

var testMount = Mount{Accessor: "auth_jwt_1", Path: "auth/jwt/", Type: "jwt"}

func newTestStore(t *testing.T) (*Store, *inmem.Backend) {
	t.Helper()
	b := inmem.New()
	s := New(func(acc string) (Mount, bool) { return testMount, acc == testMount.Accessor }, func() time.Time { return time.Unix(1700000000, 0) })
	if err := s.Load(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return s, b
}

func call(t *testing.T, s *Store, op secrets.Operation, path string, data map[string]any) *secrets.Response {
	t.Helper()
	resp, err := s.Endpoints().HandleRequest(context.Background(), &secrets.Request{Operation: op, Path: path, Data: data})
	if err != nil {
		t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

func TestExternalGroupsFollowLogins(t *testing.T) {
	s, b := newTestStore(t)
	ctx := context.Background()
	admins := call(t, s, secrets.OpUpdate, "group", map[string]any{"name": "admins", "type": "external", "policies": "admin"}).Data["id"].(string)
	devs := call(t, s, secrets.OpUpdate, "group", map[string]any{"name": "devs", "type": "external", "policies": "dev"}).Data["id"].(string)
	parent := call(t, s, secrets.OpUpdate, "group", map[string]any{"name": "all", "policies": "all", "member_group_ids": []any{devs}}).Data["id"].(string)
	call(t, s, secrets.OpUpdate, "group-alias", map[string]any{"name": "idp-admins", "mount_accessor": testMount.Accessor, "canonical_id": admins})
	call(t, s, secrets.OpUpdate, "group-alias", map[string]any{"name": "idp-devs", "mount_accessor": testMount.Accessor, "canonical_id": devs})

	id, err := s.LoginEntity(ctx, testMount, "alice", map[string]string{"role": "r"}, []string{"idp-devs", "unknown"})
	if err != nil {
		t.Fatal(err)
	}
	ident, ok := s.Resolve(id)
	if !ok || !slices.Equal(ident.Policies, []string{"all", "dev"}) {
		t.Fatalf("policies = %v", ident.Policies)
	}
	if v, ok := ident.Template("identity.groups.names.all.id"); !ok || v != parent {
		t.Fatalf("groups.names.all.id = %q, %v", v, ok)
	}
	if v, ok := ident.Template("identity.groups.ids." + devs + ".name"); !ok || v != "devs" {
		t.Fatalf("groups.ids.<devs>.name = %q, %v", v, ok)
	}
	if v, ok := ident.Template("identity.entity.aliases." + testMount.Accessor + ".metadata.role"); !ok || v != "r" {
		t.Fatalf("alias metadata = %q, %v", v, ok)
	}
	// The next login reports other groups: membership follows.
	if id2, err := s.LoginEntity(ctx, testMount, "alice", map[string]string{"role": "r"}, []string{"idp-admins"}); err != nil || id2 != id {
		t.Fatalf("second login = %q, %v", id2, err)
	}
	ident, _ = s.Resolve(id)
	if !slices.Equal(ident.Policies, []string{"admin"}) {
		t.Fatalf("policies after the groups changed = %v", ident.Policies)
	}
	// Everything is in storage: a fresh store over the same backend agrees.
	s2 := New(s.mounts, s.now)
	if err := s2.Load(ctx, b); err != nil {
		t.Fatal(err)
	}
	ident2, ok := s2.Resolve(id)
	if !ok || !slices.Equal(ident2.Policies, []string{"admin"}) {
		t.Fatalf("reloaded policies = %v, %v", ident2, ok)
	}
	s2.Reset()
	if _, ok := s2.Resolve(id); ok {
		t.Fatal("Resolve after Reset found an entity")
	}
}

func TestEmptyListsAre404(t *testing.T) {
	s, _ := newTestStore(t)
	for _, p := range []string{"entity/id", "entity/name", "entity-alias/id", "group/id", "group/name", "group-alias/id"} {
		_, err := s.Endpoints().HandleRequest(context.Background(), &secrets.Request{Operation: secrets.OpList, Path: p + "/"})
		if !errors.Is(err, secrets.ErrNotFound) {
			t.Errorf("LIST %s on an empty store: %v, want not found", p, err)
		}
	}
}
