package endpoint_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/endpoint"
)

func TestOpenAPI(t *testing.T) {
	b := testBackend()
	b.Paths[2].Summary = "Manage users."
	b.Paths[2].Fields["password"].Required = true
	b.Paths[2].Fields["ttl"].Default = "1h"
	b.Paths[2].Fields["kind"] = &endpoint.Field{Type: endpoint.TypeString, AllowedValues: []any{"a", "b"}}
	b.Paths[7].Fields = map[string]*endpoint.Field{"version": {Type: endpoint.TypeInt, Query: true, Description: "the version"}}
	paths := b.OpenAPI("auth/mnt/")

	var keys []string
	for k := range paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{
		"/auth/mnt/config",
		"/auth/mnt/data/{path}", "/auth/mnt/data/{path}/",
		"/auth/mnt/hash", "/auth/mnt/hash/{algorithm}", "/auth/mnt/hash/{algorithm}/{format}",
		"/auth/mnt/leaf/{key}",
		"/auth/mnt/login/{username}",
		"/auth/mnt/metadata/{path}", "/auth/mnt/metadata/{path}/",
		"/auth/mnt/typed/{n}",
		"/auth/mnt/users",
		"/auth/mnt/users/{name}", "/auth/mnt/users/{name}/policies",
	}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("keys:\n got %q\nwant %q", keys, want)
	}

	users := paths["/auth/mnt/users/{name}"]
	if users.Get == nil || users.Post == nil || users.Delete == nil || users.Patch != nil {
		t.Fatalf("users/{name} methods: %+v", users)
	}
	if users.Description != "Manage users." || users.Get.Summary != "Manage users." {
		t.Errorf("summary not carried: %+v", users)
	}
	if len(users.Parameters) != 1 || users.Parameters[0].Name != "name" || users.Parameters[0].In != "path" || !users.Parameters[0].Required {
		t.Errorf("path parameters: %+v", users.Parameters)
	}
	body := users.Post.RequestBody
	if body == nil || !body.Required {
		t.Fatalf("users/{name} POST body: %+v", body)
	}
	s := body.Content["application/json"].Schema
	if s.Type != "object" || s.Properties["password"].Type != "string" ||
		s.Properties["ttl"].Format != "duration" || s.Properties["ttl"].Default != int64(3600) ||
		!reflect.DeepEqual(s.Required, []string{"password"}) || s.Properties["name"] != nil ||
		!reflect.DeepEqual(s.Properties["kind"].Enum, []any{"a", "b"}) {
		t.Errorf("body schema: %+v", s)
	}

	list := paths["/auth/mnt/users"].Get
	if list == nil || len(list.Parameters) != 1 || list.Parameters[0].Name != "list" || list.Parameters[0].In != "query" || !list.Parameters[0].Required {
		t.Errorf("LIST users: %+v", list)
	}
	meta := paths["/auth/mnt/metadata/{path}"].Get
	if meta == nil || len(meta.Parameters) != 1 || meta.Parameters[0].Name != "version" || meta.Parameters[0].In != "query" {
		t.Errorf("query field of a read: %+v", meta)
	}
	if l := paths["/auth/mnt/metadata/{path}/"].Get; l == nil || l.Parameters[0].Name != "list" {
		t.Errorf("list beside read: %+v", l)
	}
	if !paths["/auth/mnt/login/{username}"].Unauthenticated {
		t.Error("login not marked unauthenticated")
	}
	if p := paths["/auth/mnt/typed/{n}"].Parameters; len(p) != 1 || p[0].Schema.Type != "integer" {
		t.Errorf("typed capture schema: %+v", p)
	}

	// The whole document: JSON, every templated parameter declared, every
	// operation with a response.
	doc := endpoint.NewOpenAPIDocument("vaultd", "1.0.0", "test", paths)
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil || generic["openapi"] != "3.0.2" {
		t.Fatalf("document: %v %v", err, generic["openapi"])
	}
	checkPathParams(t, paths)
}

var templ = regexp.MustCompile(`\{([^}]+)\}`)

// checkPathParams enforces OpenAPI's rule: every {param} of a key is a
// required path parameter, and no other path parameter is declared.
func checkPathParams(t *testing.T, paths map[string]*endpoint.OpenAPIPathItem) {
	t.Helper()
	for key, item := range paths {
		want := map[string]bool{}
		for _, m := range templ.FindAllStringSubmatch(key, -1) {
			want[m[1]] = true
		}
		got := map[string]bool{}
		for _, p := range item.Parameters {
			if p.In == "path" {
				if !p.Required || p.Schema == nil {
					t.Errorf("%s: path parameter %q not required or without schema", key, p.Name)
				}
				got[p.Name] = true
			}
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: path parameters %v, want %v", key, got, want)
		}
		for _, o := range []*endpoint.OpenAPIOperation{item.Get, item.Post, item.Patch, item.Delete} {
			if o != nil && len(o.Responses) == 0 {
				t.Errorf("%s: an operation without responses", key)
			}
		}
	}
}

func TestEndpoints(t *testing.T) {
	rows := testBackend().Endpoints("secret/")
	got := make([]string, len(rows))
	for i, r := range rows {
		got[i] = r.Path + " " + strings.Join(r.Methods, ",")
	}
	want := []string{
		"secret/config GET,POST",
		"secret/users LIST",
		"secret/users/:name GET,POST,DELETE",
		"secret/users/:name/policies POST",
		"secret/login/:username POST",
		"secret/hash[/:algorithm][/:format] POST",
		"secret/data/:path* GET,LIST,POST",
		"secret/metadata/:path* GET,LIST",
		"secret/leaf/:key+ GET,POST",
		"secret/typed/:n GET",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Endpoints:\n got %q\nwant %q", got, want)
	}
}

func TestMarkdownTable(t *testing.T) {
	got := endpoint.MarkdownTable([]endpoint.EndpointRow{
		{Path: "secret/data/:path+", Methods: []string{"GET", "POST"}, Summary: "Read | write."},
		{Path: "secret/config", Methods: []string{"GET"}},
	})
	want := "| path | methods | what |\n|---|---|---|\n" +
		"| `secret/data/:path+` | GET, POST | Read \\| write. |\n" +
		"| `secret/config` | GET |  |\n"
	if got != want {
		t.Fatalf("MarkdownTable =\n%s\nwant\n%s", got, want)
	}
}
