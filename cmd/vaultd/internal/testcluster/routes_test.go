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
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/testcluster"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// openAPIPaths is the document's paths with the methods each serves.
type openAPIPaths map[string]map[string]bool

func (p openAPIPaths) find(reqPath string) []string {
	segs := strings.Split(strings.Trim(reqPath, "/"), "/")
	var out []string
	for tmpl := range p {
		if templateMatches(strings.Split(strings.Trim(tmpl, "/"), "/"), segs) {
			out = append(out, tmpl)
		}
	}
	return out
}

// templateMatches: a {capture} stands for one segment, or for the rest of
// the path (at least one segment) when it is the template's last; a
// request path one segment shorter than such a template matches too
// (LIST of a folder: "sys/leases/lookup/" is "leases/lookup/{prefix}").
func templateMatches(tmpl, segs []string) bool {
	for i, t := range tmpl {
		capture := strings.HasPrefix(t, "{")
		last := i == len(tmpl)-1
		if i >= len(segs) {
			return last && capture && i == len(segs)
		}
		switch {
		case capture && last:
			return true
		case capture:
		case t != segs[i]:
			return false
		}
	}
	return len(tmpl) == len(segs)
}

func rootDocument(t *testing.T, cl *vaultapi.Client) openAPIPaths {
	t.Helper()
	body, code := fetchOpenAPI(t, cl)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	out := openAPIPaths{}
	for k, item := range doc.Paths {
		out[k] = map[string]bool{}
		for m := range item {
			out[k][m] = true
		}
	}
	return out
}

// TestOpenAPI_CoversEveryRoute walks what the server really serves and
// fails on anything the OpenAPI document lacks:
//
//   - every route the HTTP layer registers itself (the node-local sys
//     endpoints, the raft join and bootstrap routes), as the echo router
//     lists them;
//   - every declaration of core's sys/ and auth/token/ endpoints;
//   - the answers of the router to requests for the known sys/ and
//     auth/token/ paths and for paths of Vault's API that vaultd may or may
//     not serve: anything not answered 404 must be in the document with
//     the method asked (405: the path at least).
func TestOpenAPI_CoversEveryRoute(t *testing.T) {
	c := testcluster.New(t, 1)
	c.InitAndUnseal(t)
	cl := c.Client(t, 0)
	cl.SetClientTimeout(20 * time.Second)
	doc := rootDocument(t, cl)

	// The HTTP layer's own routes.
	routes := c.Node(0).Routes()
	if len(routes) == 0 {
		t.Fatal("the node lists no HTTP routes")
	}
	nodeLocal := 0
	for _, r := range routes {
		if r.Path == "/v1/*" || !strings.HasPrefix(r.Path, "/v1/") {
			continue // the catch-all that hands requests to core (probed below), the UI
		}
		nodeLocal++
		key := strings.TrimPrefix(r.Path, "/v1")
		method := strings.ToLower(r.Method)
		switch r.Method {
		case http.MethodPut:
			method = "post"
		case http.MethodHead:
			method = "get"
		}
		if !docHas(doc, key, method) {
			t.Errorf("the HTTP layer serves %s %s, which the OpenAPI document lacks", r.Method, r.Path)
		}
		if _, _, ok := core.NodeLocalEndpoints().Match(opOfMethod(r.Method), strings.TrimPrefix(key, "/sys/")); !ok {
			t.Errorf("%s %s is not declared in core.NodeLocalEndpoints", r.Method, r.Path)
		}
	}
	if nodeLocal < 9 { // init ×3, seal-status, unseal ×2, health ×2, leader, raft join/bootstrap
		t.Errorf("only %d node-local routes found", nodeLocal)
	}

	// Every declaration core routes by.
	co := c.Node(0).Core
	for mount, b := range map[string]*endpoint.Backend{"sys/": co.SysEndpoints(), "auth/token/": co.TokenEndpoints(), "sys/ ": core.NodeLocalEndpoints()} {
		if err := b.Validate(); err != nil {
			t.Fatalf("%s: %v", mount, err)
		}
		for _, k := range slices.Sorted(maps.Keys(b.OpenAPI(strings.TrimSpace(mount)))) {
			if doc[k] == nil {
				t.Errorf("declared endpoint %s is missing from the document", k)
			}
		}
	}

	// The router, probed.
	mustWrite(t, cl, "auth/token/roles/probe", map[string]any{"allowed_policies": "default"})
	type probe struct{ method, path string }
	var probes []probe
	for _, p := range []string{
		"sys/mounts", "sys/mounts/secret", "sys/mounts/cubbyhole/tune", "sys/mounts/auth/token", "sys/mounts/auth/token/tune",
		"sys/auth", "sys/auth/token", "sys/auth/token/tune", "sys/policy", "sys/policy/default", "sys/policies/acl",
		"sys/policies/acl/default", "sys/audit", "sys/key-status", "sys/ha-status", "sys/storage/raft/configuration",
		"sys/storage/raft/autopilot/state", "sys/storage/raft/autopilot/configuration", "sys/rekey/init",
		"sys/generate-root/attempt", "sys/internal/ui/mounts", "sys/internal/ui/mounts/cubbyhole/x",
		"sys/internal/specs/openapi", "sys/init", "sys/seal-status", "sys/health", "sys/leader",
		"sys/storage/raft/known-peers", "sys/leases/lookup", "auth/token/lookup-self", "auth/token/lookup",
		"auth/token/roles/probe",
	} {
		probes = append(probes, probe{http.MethodGet, p})
	}
	for _, p := range []string{"sys/policy", "sys/policies/acl", "sys/leases/lookup/", "sys/leases/lookup/auth/", "auth/token/accessors", "auth/token/roles", "sys/auth", "sys/audit"} {
		probes = append(probes, probe{"LIST", p})
	}
	// Paths of Vault's API: each must be a 404 or documented, whatever
	// the method (an empty body: nothing here changes state if served).
	for _, p := range []string{
		"sys", "sys/raw/core/keyring", "sys/remount", "sys/tools/random", "sys/tools/hash", "sys/metrics", "sys/host-info",
		"sys/in-flight-req", "sys/config/cors", "sys/config/state/sanitized", "sys/quotas/config", "sys/plugins/catalog",
		"sys/namespaces", "sys/internal/counters/activity", "sys/internal/ui/resultant-acl", "sys/control-group/request",
		"sys/replication/status", "sys/version-history", "sys/loggers", "sys/pprof", "sys/mfa/method", "sys/license/status",
		"sys/storage/raft/autopilot", "sys/leases", "sys/rekey", "sys/generate-root", "sys/wrapping/nothing",
		"sys/policies/password", "sys/policies/egp", "sys/locked-users", "sys/experiments", "sys/seal-backend-status",
		"auth/token", "auth/token/nothing", "auth/token/lookup-self/x", "sys/leases/nothing",
	} {
		for _, m := range []string{http.MethodGet, "LIST", http.MethodPost, http.MethodDelete} {
			probes = append(probes, probe{m, p})
		}
	}
	served := 0
	for _, pr := range probes {
		method := pr.method
		req := cl.NewRequest(method, "/v1/"+pr.path)
		if method == "LIST" {
			req.Method = http.MethodGet
			req.Params.Set("list", "true")
		}
		if method == http.MethodPost {
			if err := req.SetJSONBody(map[string]any{}); err != nil {
				t.Fatal(err)
			}
		}
		resp, _ := cl.RawRequestWithContext(context.Background(), req)
		if resp == nil {
			t.Errorf("%s %s: no response", method, pr.path)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			continue
		}
		served++
		tmpls := doc.find(pr.path)
		if len(tmpls) == 0 {
			t.Errorf("%s %s answers %d but no path of the document matches it", method, pr.path, resp.StatusCode)
			continue
		}
		if resp.StatusCode == http.StatusMethodNotAllowed {
			continue
		}
		docMethod := map[string]string{http.MethodGet: "get", "LIST": "get", http.MethodPost: "post", http.MethodDelete: "delete"}[method]
		if !slices.ContainsFunc(tmpls, func(k string) bool { return doc[k][docMethod] }) {
			t.Errorf("%s %s answers %d but the document has no %s on %v", method, pr.path, resp.StatusCode, docMethod, tmpls)
		}
	}
	if served < 30 {
		t.Errorf("only %d probes were served; the probe list is out of date", served)
	}
}

func opOfMethod(m string) secrets.Operation {
	switch m {
	case http.MethodGet, http.MethodHead:
		return "read"
	case http.MethodDelete:
		return "delete"
	}
	return "update"
}

// docHas reports whether the document has method on path, exactly or
// through a templated path whose "{x}" segments match one segment each
// (sys/pprof/heap is served as sys/pprof/{profile}).
func docHas[M ~map[string]bool](doc map[string]M, path, method string) bool {
	if doc[path][method] {
		return true
	}
	segs := strings.Split(path, "/")
	for p, ms := range doc {
		if !ms[method] {
			continue
		}
		ps := strings.Split(p, "/")
		if len(ps) != len(segs) {
			continue
		}
		ok := true
		for i := range ps {
			if ps[i] != segs[i] && !(strings.HasPrefix(ps[i], "{") && strings.HasSuffix(ps[i], "}") && segs[i] != "") {
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
