package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

func noop(context.Context, *secrets.Request, *endpoint.Data) (*secrets.Response, error) {
	return nil, nil
}

// specsCore serves sys/internal/specs/openapi (raw, as core does) from a
// small declared engine mounted at "kv/", for the token "good" only.
func specsCore(rec *recorder) *fakeCore {
	b := &endpoint.Backend{Paths: []*endpoint.Path{
		{Pattern: "data/{path+}", Summary: "Read and write versioned secrets.", Description: "Longer words about data.",
			Fields: map[string]*endpoint.Field{
				"path":    {Type: endpoint.TypeString, Description: "Location of the secret."},
				"data":    {Type: endpoint.TypeMap, Description: "The secret's key/value pairs."},
				"version": {Type: endpoint.TypeInt, Description: "Version to read.", Query: true},
			},
			Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: noop, secrets.OpUpdate: noop, secrets.OpPatch: noop}},
		{Pattern: "config", Summary: "Engine configuration.",
			Fields:     map[string]*endpoint.Field{"max_versions": {Type: endpoint.TypeInt, Description: "Versions kept."}},
			Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: noop, secrets.OpUpdate: noop}},
		{Pattern: "metadata/{path*}", Summary: "Secret metadata.",
			Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: noop, secrets.OpList: noop, secrets.OpDelete: noop}},
	}}
	doc := endpoint.NewOpenAPIDocument("HashiCorp Vault API", "1.0.0", "", b.OpenAPI("kv/"))
	raw, _ := json.Marshal(doc)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return &fakeCore{HandleRequestFunc: func(_ context.Context, req *core.Request) (*core.Response, error) {
		rec.add(req)
		if req.ClientToken != "good" {
			return nil, secrets.Errorf(secrets.ErrPermissionDenied, "permission denied")
		}
		if req.Path != "sys/internal/specs/openapi" || req.Operation != secrets.OpRead {
			return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unexpected %s %s", req.Operation, req.Path)
		}
		return &core.Response{Raw: m}, nil
	}}
}

func TestHelp_OfficialClient(t *testing.T) {
	var rec recorder
	srv := newServer(t, api.Config{}, specsCore(&rec))
	c := newClient(t, srv)
	c.SetToken("good")

	h, err := c.Help("kv/data/app/db")
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.take(t); got.Path != "sys/internal/specs/openapi" || got.ClientToken != "good" {
		t.Fatalf("the help was built from %+v", got)
	}
	for _, want := range []string{
		"Request:        kv/data/app/db\nMatching Route: /kv/data/{path}\n",
		"\nRead and write versioned secrets.\n",
		"\n## PARAMETERS\n\npath (string, path)\n\n    Location of the secret.\n",
		"\ndata (object, body)\n\n    The secret's key/value pairs.\n",
		"\nversion (integer, query)\n\n    Version to read.\n",
		"\n## OPERATIONS\n\nGET     Read and write versioned secrets.\nPOST    Read and write versioned secrets.\nPATCH   Read and write versioned secrets.\n",
		"\n## DESCRIPTION\n\nLonger words about data.\n",
	} {
		if !strings.Contains(h.Help, want) {
			t.Errorf("help lacks %q:\n%s", want, h.Help)
		}
	}
	paths, _ := h.OpenAPI["paths"].(map[string]any)
	if _, ok := paths["/kv/data/{path}"]; !ok || len(paths) != 1 {
		t.Fatalf("openapi paths %v, want only /kv/data/{path}", paths)
	}

	// A literal route wins over a capture; the LIST form of a folder.
	if h, err = c.Help("kv/config"); err != nil || !strings.Contains(h.Help, "Matching Route: /kv/config\n") {
		t.Fatalf("kv/config: %v\n%s", err, h.Help)
	}
	for _, p := range []string{"kv/metadata/app/", "kv/metadata/", "kv/metadata"} {
		if h, err = c.Help(p); err != nil || !strings.Contains(h.Help, "Matching Route: /kv/metadata/{path}\n") || !strings.Contains(h.Help, "GET     Secret metadata.\nLIST    Secret metadata.\nDELETE  Secret metadata.\n") {
			t.Fatalf("%s: %v\n%v", p, err, h)
		}
	}
}

func TestHelp_Refusals(t *testing.T) {
	var rec recorder
	srv := newServer(t, api.Config{}, specsCore(&rec))
	good := map[string]string{"X-Vault-Token": "good"}
	for _, tc := range []struct {
		name, path string
		hdr        map[string]string
		code       int
		err        string
	}{
		{"unknown path", "/v1/nothing/here?help=1", good, http.StatusNotFound, `no documented endpoint serves "nothing/here"`},
		{"engine root", "/v1/kv?help=1", good, http.StatusNotFound, "no help available"},
		{"no token", "/v1/kv/config?help=1", nil, http.StatusForbidden, "permission denied"},
		{"bad token", "/v1/kv/config?help=true", map[string]string{"X-Vault-Token": "bad"}, http.StatusForbidden, "permission denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, srv, http.MethodGet, tc.path, nil, tc.hdr)
			if r.code != tc.code {
				t.Fatalf("status %d, want %d (%s)", r.code, tc.code, r.body)
			}
			if errs := errorsOf(t, r.body); len(errs) != 1 || !strings.Contains(errs[0], tc.err) {
				t.Fatalf("errors %q, want %q", errs, tc.err)
			}
		})
	}
	// help=0 and other methods are ordinary requests.
	rec.reqs = nil
	r := do(t, srv, http.MethodGet, "/v1/kv/config?help=0", nil, good)
	if got := rec.take(t); got.Path != "kv/config" || r.code == http.StatusOK {
		t.Fatalf("help=0 went to %q (status %d)", got.Path, r.code)
	}
}
