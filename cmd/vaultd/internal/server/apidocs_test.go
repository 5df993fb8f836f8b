package server

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/core/identity"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage/inmem"
)

var updateDocs = flag.Bool("update", false, "rewrite the generated endpoint tables of docs/api.md")

// documentedMounts are the mounts docs/api.md's generated tables show,
// one per engine (and per KV version). Adding an engine is one line here;
// TestAPIDocs fails until every engine Engines() ships is listed.
var documentedMounts = []struct {
	mount, engine string
	options       map[string]string
	title         string
}{
	{"secret/", "kv", map[string]string{"version": "2"}, "KV version 2 (`kv`, `version=2`), mounted at `secret/`"},
	{"kv/", "kv", map[string]string{"version": "1"}, "KV version 1 (`kv`), mounted at `kv/`"},
	{"cubbyhole/", "cubbyhole", nil, "Cubbyhole (`cubbyhole`), mounted at `cubbyhole/`"},
	{"transit/", "transit", nil, "Transit (`transit`), mounted at `transit/`"},
	{"pki/", "pki", nil, "PKI (`pki`), mounted at `pki/`"},
	{"auth/userpass/", "userpass", nil, "Userpass (`userpass`), mounted at `auth/userpass/`"},
	{"auth/approle/", "approle", nil, "AppRole (`approle`), mounted at `auth/approle/`"},
	{"auth/jwt/", "jwt", nil, "JWT (`jwt`), mounted at `auth/jwt/`"},
	{"auth/kubernetes/", "kubernetes", nil, "Kubernetes (`kubernetes`), mounted at `auth/kubernetes/`"},
}

// coreBackends are core's own declared endpoints, with where they are
// served: the node-local sys/ endpoints the HTTP layer serves, the rest of
// sys/, the token store at auth/token/ (declared by a core that is built
// but never run) and the identity store.
func coreBackends(t *testing.T) []struct {
	mount, title string
	b            *endpoint.Backend
} {
	t.Helper()
	c, err := core.New(core.Config{Storage: inmem.New(), Cluster: core.NewStandaloneCluster("docs")})
	if err != nil {
		t.Fatal(err)
	}
	out := []struct {
		mount, title string
		b            *endpoint.Backend
	}{
		{"sys/", "System: node-local endpoints (`sys/`, served by each node, unauthenticated)", core.NodeLocalEndpoints()},
		{"sys/", "System (`sys/`)", c.SysEndpoints()},
		{"auth/token/", "Token store (`token`, built in), at `auth/token/`", c.TokenEndpoints()},
		{"identity/", "Identity store (built in), at `identity/`", identity.New(nil, nil).Endpoints()},
	}
	for _, cb := range out {
		if err := cb.b.Validate(); err != nil {
			t.Fatalf("%s: %v", cb.title, err)
		}
	}
	return out
}

// declared is what an engine that declares its paths through the
// endpoint package offers.
type declared interface {
	Endpoints() *endpoint.Backend
}

// mountedBackends makes each documented mount's engine and returns the
// declarations of those that have them, and the titles of those that do
// not (yet).
func mountedBackends(t *testing.T) (backends []*endpoint.Backend, pending []string) {
	t.Helper()
	engines := Engines()
	listed := map[string]bool{}
	for _, m := range documentedMounts {
		listed[m.engine] = true
		f, ok := engines[m.engine]
		if !ok {
			t.Fatalf("documented engine %q is not in Engines()", m.engine)
		}
		b, err := f(context.Background(), secrets.Config{Type: m.engine, Options: m.options, Storage: inmem.New(), Now: time.Now})
		if err != nil {
			t.Fatalf("%s: %v", m.engine, err)
		}
		d, ok := b.(declared)
		if !ok {
			pending = append(pending, m.title)
			backends = append(backends, nil)
			continue
		}
		if err := d.Endpoints().Validate(); err != nil {
			t.Fatalf("%s: %v", m.engine, err)
		}
		backends = append(backends, d.Endpoints())
	}
	var missing []string
	for name, f := range engines {
		if !listed[name] && !isAlias(f, engines, listed) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Fatalf("engines %q ship in Engines() but are not in documentedMounts", missing)
	}
	return backends, pending
}

// isAlias reports whether f is the factory of a listed engine under
// another name (generic is kv).
func isAlias(f secrets.Factory, engines map[string]secrets.Factory, listed map[string]bool) bool {
	for name, g := range engines {
		if listed[name] && reflect.ValueOf(g).Pointer() == reflect.ValueOf(f).Pointer() {
			return true
		}
	}
	return false
}

const (
	docsBegin = "<!-- BEGIN GENERATED ENDPOINTS: go test ./cmd/vaultd/internal/server -run TestAPIDocs -update -->"
	docsEnd   = "<!-- END GENERATED ENDPOINTS -->"
)

// renderEndpoints is the generated part of docs/api.md.
func renderEndpoints(t *testing.T) string {
	backends, pending := mountedBackends(t)
	used := map[string]bool{}
	var sb strings.Builder
	sb.WriteString(docsBegin + "\n\n")
	sb.WriteString("Generated from the engines' endpoint declarations (package `endpoint`), so it\n" +
		"cannot drift from the code. `:name` is one path segment, `:name*` the rest of\n" +
		"the path, `:name+` the rest of the path naming a leaf (not a folder), and\n" +
		"`[/:name]` an optional segment. LIST is also `GET ?list=true`; POST is also PUT.\n" +
		"Fields are converted as Vault does (numbers and booleans may be strings,\n" +
		"durations are seconds or `1h30m`, lists are JSON arrays or comma-separated);\n" +
		"a value that does not convert is a 400 naming the field, and a field the\n" +
		"endpoint does not declare is ignored with Vault's warning\n" +
		"`Endpoint ignored these unrecognized parameters: [...]` (KV v1 and cubbyhole\n" +
		"store the whole body, so they take any field; core's sys/ and auth/token/\n" +
		"endpoints outside sys/policy*, sys/capabilities*, sys/audit*, sys/rotate,\n" +
		"sys/key-status and sys/seal read their bodies with their own parsers and\n" +
		"warn about nothing). \"vs Vault\" is the endpoint's status against Vault's\n" +
		"API: same, or different and why; the Vault endpoints vaultd does not serve\n" +
		"are listed at the end.\n")
	for i, m := range documentedMounts {
		b := backends[i]
		if b == nil {
			continue
		}
		fmt.Fprintf(&sb, "\n### %s\n\n", m.title)
		if b.Help != "" {
			sb.WriteString(b.Help + "\n\n")
		}
		rows := b.Endpoints(m.mount)
		for _, r := range rows {
			if r.Summary == "" {
				t.Errorf("%s has no Summary: the docs would show an empty row", r.Path)
			}
		}
		sb.WriteString(statusTable(t, rows, used))
	}
	for _, cb := range coreBackends(t) {
		fmt.Fprintf(&sb, "\n### %s\n\n%s\n\n", cb.title, cb.b.Help)
		rows := cb.b.Endpoints(cb.mount)
		for _, r := range rows {
			if r.Summary == "" {
				t.Errorf("%s has no Summary: the docs would show an empty row", r.Path)
			}
		}
		sb.WriteString(statusTable(t, rows, used))
	}
	if len(pending) > 0 {
		fmt.Fprintf(&sb, "\nNot yet declared through the endpoint package (see the table above): %s.\n", strings.Join(pending, "; "))
	}
	checkStaleStatus(t, used)
	sb.WriteString(renderMissing())
	sb.WriteString("\n" + docsEnd)
	return sb.String()
}

// TestAPIDocs keeps docs/api.md's endpoint tables equal to what the
// declarations render; -update rewrites them.
func TestAPIDocs(t *testing.T) {
	const path = "../../../../docs/api.md"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	want := renderEndpoints(t)
	begin, end := strings.Index(doc, docsBegin), strings.Index(doc, docsEnd)
	if begin < 0 || end < begin {
		if !*updateDocs {
			t.Fatalf("docs/api.md has no generated endpoint section; run go test ./cmd/vaultd/internal/server -run TestAPIDocs -update")
		}
		doc = strings.TrimRight(doc, "\n") + "\n\n## Endpoints of the engines and auth methods\n\n" + want + "\n"
	} else {
		got := doc[begin : end+len(docsEnd)]
		if got == want {
			return
		}
		if !*updateDocs {
			t.Fatalf("docs/api.md's endpoint tables are stale; run go test ./cmd/vaultd/internal/server -run TestAPIDocs -update\n--- want:\n%s", want)
		}
		doc = doc[:begin] + want + doc[end+len(docsEnd):]
	}
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOpenAPIValidates renders the OpenAPI document of every declared
// engine at its documented mount and has an OpenAPI 3 validator check it.
func TestOpenAPIValidates(t *testing.T) {
	backends, _ := mountedBackends(t)
	paths := map[string]*endpoint.OpenAPIPathItem{}
	for i, m := range documentedMounts {
		if backends[i] == nil {
			continue
		}
		for k, v := range backends[i].OpenAPI(m.mount) {
			if _, dup := paths[k]; dup {
				t.Fatalf("two mounts document %s", k)
			}
			paths[k] = v
		}
	}
	for _, cb := range coreBackends(t) {
		for k, v := range cb.b.OpenAPI(cb.mount) {
			if _, dup := paths[k]; dup {
				t.Fatalf("two declarations document %s", k)
			}
			paths[k] = v
		}
	}
	if len(paths) == 0 {
		t.Fatal("no paths documented")
	}
	raw, err := json.Marshal(endpoint.NewOpenAPIDocument("vaultd", "test", "vaultd's engines", paths))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document does not validate: %v", err)
	}
	for _, want := range []string{"/secret/data/{path}", "/auth/approle/login", "/auth/userpass/users/{username}", "/identity/entity/id/{id}", "/sys/mounts/{path}", "/sys/health", "/auth/token/create"} {
		if doc.Paths.Find(want) == nil {
			t.Errorf("the document lacks %s", want)
		}
	}
}
