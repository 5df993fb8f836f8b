package kv_test

import (
	"reflect"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

var allOps = []secrets.Operation{
	secrets.OpRead, secrets.OpCreate, secrets.OpUpdate, secrets.OpPatch, secrets.OpDelete, secrets.OpList,
}

// trickBody is a body every write path accepts, so only the path can fail.
var trickBody = map[string]any{
	"data": map[string]any{"a": "b"}, "versions": []any{1}, "max_versions": 1, "a": "b",
}

func TestPaths_TricksAreRejected(t *testing.T) {
	tricks := []string{
		"../x", "..", "./x", "a/../b", "a/./b", "a//b", "/abs", "a/..", "x\x00y",
		"data/../../x", "data/../config", "data/a//b", "data/./a", "data/..", "data//a",
		"metadata/../../x", "metadata/a//b", "metadata/..", "metadata//",
		"delete/../x", "undelete/a/../../b", "destroy//x", "subkeys/../x", "config/..", "//", "/",
	}
	for _, version := range []string{"1", "2"} {
		t.Run("v"+version, func(t *testing.T) {
			f := newKV(t, version)
			if version == "1" {
				f.must(secrets.OpUpdate, "x", map[string]any{"secret": "v1"})
			} else {
				f.write("x", map[string]any{"secret": "v2"})
			}
			before := f.viewKeys("")
			for _, p := range tricks {
				for _, op := range allOps {
					f.fails(op, p, trickBody, secrets.ErrInvalidRequest)
				}
			}
			assertEqual(t, "view keys", f.viewKeys(""), before)
			f.assertContained()
		})
	}
}

// TestPaths_EncodedDotsAreLiteral: the engine does not decode URLs;
// "%2e%2e" is an ordinary (odd) name that stays inside the mount.
func TestPaths_EncodedDotsAreLiteral(t *testing.T) {
	f := newKV(t, "2")
	f.write("%2e%2e/x", map[string]any{"a": "b"})
	if d := f.mustJSON(secrets.OpRead, "data/%2e%2e/x", nil)["data"]; d.(map[string]any)["a"] != "b" {
		t.Fatalf("read = %v", d)
	}
	assertEqual(t, "list", f.mustJSON(secrets.OpList, "metadata/", nil), map[string]any{"keys": []any{"%2e%2e/"}})
	f.assertContained()

	f1 := newKV(t, "1")
	f1.must(secrets.OpUpdate, "%2e%2e/y", map[string]any{"a": "b"})
	f1.must(secrets.OpRead, "%2e%2e/y", nil)
	f1.assertContained()
}

func TestPaths_V2Routing(t *testing.T) {
	f := newKV(t, "2")
	f.write("k", map[string]any{"a": "b"})
	const invalidPut = "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv put' for this operation."
	const invalidList = "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv list' for this operation."
	const invalidGet = "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation."
	const root = "Non-listing operations on the root of a K/V v2 mount are not supported."
	for _, tc := range []struct {
		op   secrets.Operation
		path string
		kind error
		msg  string
	}{
		{secrets.OpUpdate, "foo/bar", secrets.ErrUnsupportedPath, invalidPut},
		{secrets.OpRead, "foo/bar", secrets.ErrUnsupportedPath, invalidGet},
		{secrets.OpRead, "k", secrets.ErrUnsupportedPath, invalidGet}, // v1-style path on a v2 mount
		{secrets.OpRead, "", secrets.ErrUnsupportedPath, invalidGet},
		{secrets.OpList, "", secrets.ErrUnsupportedPath, invalidList},
		{secrets.OpList, "data/", secrets.ErrUnsupportedPath, invalidList},
		{secrets.OpList, "data", secrets.ErrUnsupportedPath, invalidList},
		{secrets.OpList, "data/k", secrets.ErrUnsupportedPath, invalidList},
		{secrets.OpRead, "data/k/", secrets.ErrUnsupportedPath, invalidGet},
		{secrets.OpRead, "data", secrets.ErrUnsupportedPath, root},
		{secrets.OpRead, "metadata", secrets.ErrUnsupportedPath, root},
		{secrets.OpDelete, "data", secrets.ErrUnsupportedPath, root},
		{secrets.OpRead, "subkeys", secrets.ErrUnsupportedPath, invalidGet},
		{secrets.OpList, "subkeys/k", secrets.ErrUnsupportedOperation, "unsupported operation"},
		{secrets.OpList, "delete/", secrets.ErrUnsupportedOperation, "unsupported operation"},
		{secrets.OpDelete, "config", secrets.ErrUnsupportedOperation, "unsupported operation"},
		{secrets.OpRead, "destroy/k", secrets.ErrUnsupportedOperation, "unsupported operation"},
		{secrets.Operation("bogus"), "data/k", secrets.ErrUnsupportedOperation, "unsupported operation"},
	} {
		t.Run(string(tc.op)+" "+tc.path, func(t *testing.T) {
			se := f.with(t).fails(tc.op, tc.path, nil, tc.kind)
			if se.Msg != tc.msg {
				t.Fatalf("message = %q, want %q", se.Msg, tc.msg)
			}
		})
	}
}

func TestPaths_NilDataIsEmpty(t *testing.T) {
	f := newKV(t, "2")
	f.write("k", map[string]any{"a": "b"})
	// Reads, lists and deletes without query parameters carry nil Data.
	f.must(secrets.OpRead, "data/k", nil)
	f.must(secrets.OpRead, "metadata/k", nil)
	f.must(secrets.OpRead, "config", nil)
	f.must(secrets.OpList, "metadata/", nil)
	f.fails(secrets.OpUpdate, "data/k", nil, secrets.ErrInvalidRequest)
	f.must(secrets.OpDelete, "data/k", nil)
}

// TestPaths_UnknownFields: v2's declared paths warn about fields they do
// not know (Vault's text), v1 takes any field, and a field of the wrong
// type is a 400 naming it.
func TestPaths_UnknownFields(t *testing.T) {
	const warn = "Endpoint ignored these unrecognized parameters: [colour extra]"
	v2 := newKV(t, "2")
	resp := v2.must(secrets.OpUpdate, "data/k", map[string]any{"data": map[string]any{"a": "b"}, "extra": 1, "colour": "red"})
	if !reflect.DeepEqual(resp.Warnings, []string{warn}) {
		t.Fatalf("v2 write warnings = %q, want %q", resp.Warnings, warn)
	}
	resp = v2.must(secrets.OpRead, "data/k", map[string]any{"version": "1"})
	if len(resp.Warnings) != 0 {
		t.Fatalf("v2 read with ?version warned: %q", resp.Warnings)
	}
	se := v2.fails(secrets.OpUpdate, "config", map[string]any{"max_versions": "many"}, secrets.ErrInvalidRequest)
	if se.Msg != `error converting input for field "max_versions": expected an integer` {
		t.Fatalf("bad max_versions: %q", se.Msg)
	}
	v1 := newKV(t, "1")
	if resp := v1.must(secrets.OpUpdate, "k", map[string]any{"extra": 1, "colour": "red"}); len(resp.Warnings) != 0 {
		t.Fatalf("v1 write warned: %q", resp.Warnings)
	}
}
