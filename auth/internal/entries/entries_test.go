package entries_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/auth/internal/entries"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

func put(t *testing.T, s storage.Backend, key, value string) {
	t.Helper()
	if err := s.Put(context.Background(), &storage.Entry{Key: key, Value: []byte(value)}); err != nil {
		t.Fatal(err)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	s := inmem.New()
	_, err := entries.List(ctx, s, "user/", "test: users")
	if !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("empty List err = %v, want a 404", err)
	}
	put(t, s, "user/b", "{}")
	put(t, s, "user/a", "{}")
	put(t, s, "user/dir/x", "{}")
	resp, err := entries.List(ctx, s, "user/", "test: users")
	if err != nil || !reflect.DeepEqual(resp.Data["keys"], []string{"a", "b"}) {
		t.Fatalf("List = %v, %v; want the leaves [a b]", resp, err)
	}
}

func TestNamedExists(t *testing.T) {
	ctx := context.Background()
	s := inmem.New()
	put(t, s, "user/alice", "{}")
	n := entries.Named{
		Capture: "username",
		Canonical: func(name string) (string, error) {
			if strings.Contains(name, "!") {
				return "", errors.New("bad")
			}
			return strings.ToLower(name), nil
		},
		Key:  func(name string) string { return "user/" + name },
		What: "test: users",
	}
	fields := map[string]*endpoint.Field{"username": {Type: endpoint.TypeString}}
	for name, want := range map[string]bool{"alice": true, "ALICE": true, "bob": false, "al!ce": false} {
		d, err := endpoint.NewData(fields, map[string]any{"username": name})
		if err != nil {
			t.Fatal(err)
		}
		got, err := n.Exists(ctx, &secrets.Request{Storage: s}, d)
		if err != nil || got != want {
			t.Errorf("Exists(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
}

func TestGetJSON(t *testing.T) {
	ctx := context.Background()
	s := inmem.New()
	corrupt := errors.New("corrupt")
	put(t, s, "ok", `{"a":1}`)
	put(t, s, "bad", `{`)
	var v struct{ A int }
	if found, err := entries.GetJSON(ctx, s, "ok", &v, corrupt); !found || err != nil || v.A != 1 {
		t.Errorf("GetJSON(ok) = %v, %v, %+v", found, err, v)
	}
	if found, err := entries.GetJSON(ctx, s, "none", &v, corrupt); found || err != nil {
		t.Errorf("GetJSON(none) = %v, %v", found, err)
	}
	if _, err := entries.GetJSON(ctx, s, "bad", &v, corrupt); !errors.Is(err, corrupt) {
		t.Errorf("GetJSON(bad) err = %v, want corrupt", err)
	}
}

func TestCheckRoleName(t *testing.T) {
	for name, ok := range map[string]bool{
		"web": true, "Web-1.a@b": true, "a": true, "_x_": true,
		"": false, "-web": false, "web.": false, "a/b": false, "a b": false, "..": false,
		strings.Repeat("a", 16): true, strings.Repeat("a", 17): false,
	} {
		err := entries.CheckRoleName(name, 16)
		if (err == nil) != ok {
			t.Errorf("CheckRoleName(%q) = %v, want ok=%v", name, err, ok)
		}
		if err != nil && !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Errorf("CheckRoleName(%q) = %v, want a 400", name, err)
		}
	}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	s := inmem.New()
	corrupt := errors.New("corrupt")
	put(t, s, "ok", `{"A":1}`)
	put(t, s, "bad", `{`)
	type rec struct{ A int }
	if v, err := entries.Load[rec](ctx, s, "ok", corrupt, "test"); err != nil || v == nil || v.A != 1 {
		t.Errorf("Load(ok) = %+v, %v", v, err)
	}
	if v, err := entries.Load[rec](ctx, s, "none", corrupt, "test"); err != nil || v != nil {
		t.Errorf("Load(none) = %+v, %v; want nil, nil", v, err)
	}
	if _, err := entries.Load[rec](ctx, s, "bad", corrupt, "test"); !errors.Is(err, corrupt) {
		t.Errorf("Load(bad) err = %v, want corrupt", err)
	}
}
