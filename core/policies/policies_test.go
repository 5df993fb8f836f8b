package policies_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/vaultd/vaultd/core/policies"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage/inmem"
)

var errInactive = errors.New("inactive")

func loaded(t *testing.T) *policies.Store {
	t.Helper()
	ps := &policies.Store{Inactive: errInactive}
	ps.Reset(inmem.New())
	if err := ps.EnsureDefault(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestStore_NotLoaded(t *testing.T) {
	ps := &policies.Store{Inactive: errInactive}
	if _, err := ps.List(context.Background()); !errors.Is(err, errInactive) {
		t.Fatalf("List on an unloaded store: %v, want the Inactive error", err)
	}
	if err := ps.Set(context.Background(), "p", `path "x" { capabilities = ["read"] }`); !errors.Is(err, errInactive) {
		t.Fatalf("Set on an unloaded store: %v", err)
	}
}

func TestStore_CRUDAndAuthz(t *testing.T) {
	ctx := context.Background()
	ps := loaded(t)
	if err := ps.Set(ctx, "app", `path "secret/app/*" { capabilities = ["read", "list"] }`); err != nil {
		t.Fatal(err)
	}
	names, err := ps.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"app", "default", "root"}; !slices.Equal(names, want) {
		t.Fatalf("List = %v, want %v", names, want)
	}
	az, err := ps.AuthzFor(ctx, []string{"app", "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := az.ACL().Allowed("read", "secret/app/db"); !ok {
		t.Error("app policy does not allow reading secret/app/db")
	}
	if ok, _ := az.ACL().Allowed("update", "secret/app/db"); ok {
		t.Error("app policy allows update")
	}
	if !az.AnyGrantUnder("secret/") || az.AnyGrantUnder("transit/") {
		t.Error("AnyGrantUnder does not follow the policy's paths")
	}
	// A write invalidates the compiled set.
	if err := ps.Set(ctx, "app", `path "transit/*" { capabilities = ["update"] }`); err != nil {
		t.Fatal(err)
	}
	az, err = ps.AuthzFor(ctx, []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := az.ACL().Allowed("read", "secret/app/db"); ok {
		t.Error("a stale compiled ACL survived a policy update")
	}
	if err := ps.Delete(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.Raw(ctx, "app"); !errors.Is(err, policies.ErrNotFound) {
		t.Fatalf("Raw after Delete: %v", err)
	}
	if az, _ := ps.AuthzFor(ctx, []string{"root"}); az != policies.RootAuthz {
		t.Error("the root policy does not compile to RootAuthz")
	}
}

func TestStore_BuiltinsProtected(t *testing.T) {
	ctx := context.Background()
	ps := loaded(t)
	for _, name := range []string{policies.RootPolicy, policies.ResponseWrappingPolicy} {
		if err := ps.Set(ctx, name, `path "x" { capabilities = ["read"] }`); !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Errorf("Set(%q) = %v, want a 400", name, err)
		}
	}
	for _, name := range []string{policies.RootPolicy, policies.DefaultPolicy, policies.ResponseWrappingPolicy} {
		if err := ps.Delete(ctx, name); !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Errorf("Delete(%q) = %v, want a 400", name, err)
		}
	}
	if err := ps.Set(ctx, "bad", `path "x" { capabilities = `); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Errorf("a policy that does not parse: %v, want a 400", err)
	}
}

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{" App ": "app", "a/b": "a/b"} {
		if got, err := policies.NormalizeName(in); err != nil || got != want {
			t.Errorf("NormalizeName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "  ", "a,b", "a/", "a\x00b", "../x"} {
		if _, err := policies.NormalizeName(bad); !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Errorf("NormalizeName(%q) = %v, want a 400", bad, err)
		}
	}
}

func TestBackend(t *testing.T) {
	ctx := context.Background()
	ps := loaded(t)
	if err := ps.Backend().Validate(); err != nil {
		t.Fatal(err)
	}
	do := func(op secrets.Operation, path string, data map[string]any) (*secrets.Response, error) {
		return ps.Backend().HandleRequest(ctx, &secrets.Request{Operation: op, Path: path, Data: data})
	}
	if resp, err := do(secrets.OpUpdate, "policies/acl/App", map[string]any{"policy": `path "a/*" { capabilities = ["read"] }`}); err != nil || resp != nil {
		t.Fatalf("write: %v, %v", resp, err)
	}
	resp, err := do(secrets.OpRead, "policy/app", nil)
	if err != nil || resp.Data["rules"] == nil || resp.Data["name"] != "app" {
		t.Fatalf("legacy read: %v, %v", resp, err)
	}
	resp, err = do(secrets.OpList, "policies/acl", nil)
	if err != nil || !slices.Equal(resp.Data["keys"].([]string), []string{"app", "default", "root"}) {
		t.Fatalf("list: %v, %v", resp, err)
	}
	resp, err = do(secrets.OpRead, "policy", nil)
	if err != nil || !slices.Equal(resp.Data["policies"].([]string), []string{"app", "default", "root"}) {
		t.Fatalf("legacy list: %v, %v", resp, err)
	}
	if _, err := do(secrets.OpRead, "policies/acl/root", nil); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("reading root: %v, want 404", err)
	}
	if _, err := do(secrets.OpUpdate, "policies/acl/x", map[string]any{}); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("write without a policy: %v, want 400", err)
	}
	if _, err := do(secrets.OpUpdate, "policy/legacy", map[string]any{"rules": `path "b" { capabilities = ["read"] }`}); err != nil {
		t.Fatalf("legacy write with rules: %v", err)
	}
	if _, err := do(secrets.OpDelete, "policies/acl", nil); !errors.Is(err, secrets.ErrUnsupportedOperation) {
		t.Fatalf("DELETE on the list path: %v, want 405", err)
	}
	if resp, err := do(secrets.OpUpdate, "policies/acl/y", map[string]any{"policy": `path "c" { capabilities = ["read"] }`, "bogus": 1}); err != nil || resp == nil || len(resp.Warnings) != 1 {
		t.Fatalf("an unknown field: %v, %v (want a warning)", resp, err)
	}
}
