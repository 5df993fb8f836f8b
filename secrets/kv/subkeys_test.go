package kv_test

import (
	"net/http"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

func TestV2_Subkeys(t *testing.T) {
	f := newKV(t, "2")
	f.write("s", jsonObj(t, `{"foo":"abc","bar":{"baz":"def","qux":{"deep":1}},"quux":{},"list":[1,{"x":2}]}`))
	f.write("s", jsonObj(t, `{"only":"v2"}`))
	for _, tc := range []struct {
		name  string
		query map[string]any
		want  string
	}{
		{"version 1 unlimited", map[string]any{"version": "1"},
			`{"foo":null,"bar":{"baz":null,"qux":{"deep":null}},"quux":null,"list":null}`},
		{"version 1 depth 1", map[string]any{"version": "1", "depth": "1"},
			`{"foo":null,"bar":null,"quux":null,"list":null}`},
		{"version 1 depth 2", map[string]any{"version": "1", "depth": "2"},
			`{"foo":null,"bar":{"baz":null,"qux":null},"quux":null,"list":null}`},
		{"latest", nil, `{"only":null}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.with(t)
			got := f.mustJSON(secrets.OpRead, "subkeys/s", tc.query)
			assertEqual(t, "subkeys", got["subkeys"], jsonObj(t, tc.want))
			if got["metadata"].(map[string]any)["version"] == nil {
				t.Fatalf("no metadata in %v", got)
			}
		})
	}

	// Deleted: 404 with metadata and null subkeys.
	f.must(secrets.OpDelete, "data/s", nil)
	resp := f.must(secrets.OpRead, "subkeys/s", nil)
	if resp.StatusCode != http.StatusNotFound || resp.Data["subkeys"] != nil || resp.Data["metadata"] == nil {
		t.Fatalf("subkeys of deleted = %d %v", resp.StatusCode, resp.Data)
	}

	f.fails(secrets.OpRead, "subkeys/absent", nil, secrets.ErrNotFound)
	f.fails(secrets.OpRead, "subkeys/s", map[string]any{"version": "9"}, secrets.ErrNotFound)
	f.fails(secrets.OpRead, "subkeys/s", map[string]any{"depth": "-1"}, secrets.ErrInvalidRequest)
	f.fails(secrets.OpRead, "subkeys/s", map[string]any{"depth": "x"}, secrets.ErrInvalidRequest)
	f.fails(secrets.OpUpdate, "subkeys/s", map[string]any{"data": map[string]any{}}, secrets.ErrUnsupportedOperation)
	f.fails(secrets.OpRead, "subkeys/", nil, secrets.ErrNotFound)
}
