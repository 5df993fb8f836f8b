package testcluster_test

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/server"
	"github.com/vaultd/vaultd/cmd/vaultd/internal/testcluster"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage/inmem"
)

func fetchOpenAPI(t *testing.T, cl *vaultapi.Client) ([]byte, int) {
	t.Helper()
	resp, err := cl.RawRequestWithContext(context.Background(), cl.NewRequest(http.MethodGet, "/v1/sys/internal/specs/openapi"))
	if resp == nil {
		t.Fatalf("GET sys/internal/specs/openapi: %v", err)
	}
	defer resp.Body.Close()
	b, rerr := io.ReadAll(resp.Body)
	if rerr != nil {
		t.Fatal(rerr)
	}
	return b, resp.StatusCode
}

// TestOpenAPI_ListsEveryDeclaredEndpoint fetches sys/internal/specs/openapi
// through the official client, validates it as an OpenAPI 3 document, and
// checks that it holds every endpoint of every backend the router has
// mounted, found independently: the test lists the mount tables through
// the API and builds each mount's engine from its type with the same
// factories the server uses.
func TestOpenAPI_ListsEveryDeclaredEndpoint(t *testing.T) {
	c := testcluster.New(t, 1)
	c.InitAndUnseal(t)
	cl := c.Client(t, 0)
	mustWrite(t, cl, "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	mustWrite(t, cl, "sys/mounts/kv1", map[string]any{"type": "kv", "options": map[string]any{"version": "1"}})
	mustWrite(t, cl, "sys/mounts/transit", map[string]any{"type": "transit"})
	mustWrite(t, cl, "sys/auth/userpass", map[string]any{"type": "userpass"})
	mustWrite(t, cl, "sys/auth/approle", map[string]any{"type": "approle"})

	body, code := fetchOpenAPI(t, cl)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(body)
	if err != nil {
		t.Fatalf("the document does not load as OpenAPI 3: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document does not validate: %v", err)
	}
	var generic struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &generic); err != nil {
		t.Fatal(err)
	}

	// The router's mounts, as the API lists them, with their engines built
	// the way the server builds them.
	type mount struct{ path, typ, version string }
	var mounts []mount
	secretMounts, err := cl.Sys().ListMounts()
	if err != nil {
		t.Fatal(err)
	}
	for p, m := range secretMounts {
		mounts = append(mounts, mount{p, m.Type, m.Options["version"]})
	}
	authMounts, err := cl.Sys().ListAuth()
	if err != nil {
		t.Fatal(err)
	}
	for p, m := range authMounts {
		mounts = append(mounts, mount{"auth/" + p, m.Type, ""})
	}
	factories := server.Engines()
	declaredMounts := 0
	var undeclared []string
	for _, m := range mounts {
		f, ok := factories[m.typ]
		if !ok {
			undeclared = append(undeclared, m.path+" ("+m.typ+")")
			continue
		}
		opts := map[string]string{}
		if m.version != "" {
			opts["version"] = m.version
		}
		eng, err := f(context.Background(), secrets.Config{Type: m.typ, Options: opts, Storage: inmem.New()})
		if err != nil {
			t.Fatalf("building %s engine: %v", m.typ, err)
		}
		d, ok := eng.(interface{ Endpoints() *endpoint.Backend })
		if !ok {
			undeclared = append(undeclared, m.path+" ("+m.typ+")")
			continue
		}
		declaredMounts++
		want := slices.Sorted(maps.Keys(d.Endpoints().OpenAPI(m.path)))
		if len(want) == 0 {
			t.Errorf("%s declares no endpoints", m.path)
		}
		for _, k := range want {
			if _, ok := generic.Paths[k]; !ok {
				t.Errorf("mount %s: endpoint %s is missing from the document", m.path, k)
			}
		}
	}
	if declaredMounts < 5 {
		t.Errorf("only %d mounts had declared endpoints; the test mounted kv v1, kv v2, userpass and approle besides cubbyhole", declaredMounts)
	}
	t.Logf("mounts not declared through the endpoint package (not in the document): %v", undeclared)

	// Spot checks that do not go through the generator.
	for _, k := range []string{"/secret/data/{path}", "/kv1/{path}", "/auth/userpass/login/{username}", "/sys/policies/acl/{name}", "/sys/policy", "/sys/capabilities-self", "/sys/audit/{path}", "/sys/key-status"} {
		if _, ok := generic.Paths[k]; !ok {
			t.Errorf("%s is missing from the document", k)
		}
	}

	// A token without any grant under a mount does not see its paths; no
	// token at all is refused.
	mustWrite(t, cl, "sys/policies/acl/kvonly", map[string]any{"policy": `path "kv1/*" { capabilities = ["read"] }`})
	sec, err := cl.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{"kvonly"}, NoDefaultPolicy: true})
	if err != nil {
		t.Fatal(err)
	}
	limited, err := cl.Clone()
	if err != nil {
		t.Fatal(err)
	}
	limited.SetToken(sec.Auth.ClientToken)
	body, code = fetchOpenAPI(t, limited)
	if code != http.StatusOK {
		t.Fatalf("limited token: status %d: %s", code, body)
	}
	generic.Paths = nil
	if err := json.Unmarshal(body, &generic); err != nil {
		t.Fatal(err)
	}
	for k := range generic.Paths {
		if !strings.HasPrefix(k, "/kv1/") {
			t.Errorf("a token limited to kv1/ sees %s", k)
		}
	}
	if len(generic.Paths) == 0 {
		t.Error("a token limited to kv1/ sees nothing of kv1/")
	}
	anon, err := cl.Clone()
	if err != nil {
		t.Fatal(err)
	}
	anon.ClearToken()
	if _, code := fetchOpenAPI(t, anon); code != http.StatusForbidden {
		t.Errorf("no token: status %d, want 403", code)
	}
}
