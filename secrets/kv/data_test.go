package kv_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

func TestV2_Data_WriteRead(t *testing.T) {
	f := newKV(t, "2")
	got := f.write("app/db", map[string]any{"user": "u", "pass": "p1"})
	assertEqual(t, "write v1", got, map[string]any{
		"created_time": ts(t0), "custom_metadata": nil, "deletion_time": "", "destroyed": false, "version": float64(1),
	})

	f.clock.Advance(time.Second)
	got = f.write("app/db", map[string]any{"user": "u", "pass": "p2"})
	if got["version"] != float64(2) || got["created_time"] != ts(t0.Add(time.Second)) {
		t.Fatalf("write v2 = %v", got)
	}

	assertEqual(t, "read latest", f.mustJSON(secrets.OpRead, "data/app/db", nil), map[string]any{
		"data": map[string]any{"user": "u", "pass": "p2"},
		"metadata": map[string]any{
			"created_time": ts(t0.Add(time.Second)), "custom_metadata": nil, "deletion_time": "",
			"destroyed": false, "version": float64(2),
		},
	})
	for _, tc := range []struct {
		version any
		pass    string
	}{{"1", "p1"}, {"2", "p2"}, {"0", "p2"}, {"", "p2"}, {float64(1), "p1"}, {json.Number("1"), "p1"}} {
		r := f.mustJSON(secrets.OpRead, "data/app/db", map[string]any{"version": tc.version})
		if r["data"].(map[string]any)["pass"] != tc.pass {
			t.Fatalf("read version=%v = %v, want pass %q", tc.version, r, tc.pass)
		}
	}
	f.fails(secrets.OpRead, "data/app/db", map[string]any{"version": "3"}, secrets.ErrNotFound)
	f.fails(secrets.OpRead, "data/app/db", map[string]any{"version": "x"}, secrets.ErrInvalidRequest)
	f.fails(secrets.OpRead, "data/app/other", nil, secrets.ErrNotFound)
	f.assertContained()
}

func TestV2_Data_NestedAndNumbers(t *testing.T) {
	f := newKV(t, "2")
	in := jsonObj(t, `{"a":{"b":[1,2,{"c":null}]},"t":true,"s":"x"}`)
	f.write("n", in)
	assertEqual(t, "data", f.mustJSON(secrets.OpRead, "data/n", nil)["data"], in)
	f.write("n", map[string]any{"big": json.Number("98765432109876543210")})
	if got := f.must(secrets.OpRead, "data/n", nil).Data["data"].(map[string]any)["big"]; got != json.Number("98765432109876543210") {
		t.Fatalf("big number = %#v", got)
	}
	// An empty object is a valid secret.
	f.write("empty", map[string]any{})
	assertEqual(t, "empty", f.mustJSON(secrets.OpRead, "data/empty", nil)["data"], map[string]any{})
}

func TestV2_Data_WriteErrors(t *testing.T) {
	f := newKV(t, "2")
	f.write("k", map[string]any{"a": "b"})
	for _, tc := range []struct {
		name string
		path string
		data map[string]any
		kind error
		msg  string
	}{
		{"no data", "data/k", map[string]any{}, secrets.ErrInvalidRequest, "no data provided"},
		{"null data", "data/k", map[string]any{"data": nil}, secrets.ErrInvalidRequest, "no data provided"},
		{"data not object", "data/k", map[string]any{"data": "str"}, secrets.ErrInvalidRequest, ""},
		{"options not object", "data/k", map[string]any{"data": map[string]any{}, "options": 3}, secrets.ErrInvalidRequest, ""},
		{"cas unparsable", "data/k", map[string]any{"data": map[string]any{}, "options": map[string]any{"cas": "x"}}, secrets.ErrInvalidRequest, "error parsing check-and-set parameter"},
		{"cas null", "data/k", map[string]any{"data": map[string]any{}, "options": map[string]any{"cas": nil}}, secrets.ErrInvalidRequest, "error parsing check-and-set parameter"},
		{"cas mismatch", "data/k", map[string]any{"data": map[string]any{}, "options": map[string]any{"cas": 0}}, secrets.ErrCASMismatch, "check-and-set parameter did not match the current version"},
		{"cas negative", "data/k", map[string]any{"data": map[string]any{}, "options": map[string]any{"cas": -1}}, secrets.ErrCASMismatch, "check-and-set parameter did not match the current version"},
		{"empty path", "data/", map[string]any{"data": map[string]any{}}, secrets.ErrUnsupportedPath, ""},
		{"trailing slash", "data/k/", map[string]any{"data": map[string]any{}}, secrets.ErrUnsupportedPath, ""},
		{"data root", "data", map[string]any{"data": map[string]any{}}, secrets.ErrUnsupportedPath, "Non-listing operations on the root of a K/V v2 mount are not supported."},
		{"unknown family", "foo/bar", map[string]any{"data": map[string]any{}}, secrets.ErrUnsupportedPath, "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv put' for this operation."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.with(t)
			se := f.fails(secrets.OpUpdate, tc.path, tc.data, tc.kind)
			if tc.msg != "" && se.Msg != tc.msg {
				t.Fatalf("message = %q, want %q", se.Msg, tc.msg)
			}
		})
	}
	// None of the failures wrote a version.
	if v := f.mustJSON(secrets.OpRead, "metadata/k", nil)["current_version"]; v != float64(1) {
		t.Fatalf("current_version = %v, want 1", v)
	}
}

func TestV2_Data_CAS(t *testing.T) {
	f := newKV(t, "2")
	put := func(cas any) error {
		_, err := f.do(secrets.OpUpdate, "data/c", map[string]any{
			"data": map[string]any{"v": "x"}, "options": map[string]any{"cas": cas},
		})
		return err
	}
	if err := put(0); err != nil {
		t.Fatalf("cas=0 on a new key: %v", err)
	}
	f.fails(secrets.OpUpdate, "data/c", map[string]any{"data": map[string]any{}, "options": map[string]any{"cas": 0}}, secrets.ErrCASMismatch)
	if err := put("1"); err != nil { // weakly typed, as from a form
		t.Fatalf("cas=\"1\": %v", err)
	}
	if err := put(json.Number("2")); err != nil {
		t.Fatalf("cas=2: %v", err)
	}
	f.fails(secrets.OpUpdate, "data/c", map[string]any{"data": map[string]any{}, "options": map[string]any{"cas": 2}}, secrets.ErrCASMismatch)
}

func TestV2_Data_CASRequired(t *testing.T) {
	const msg = "check-and-set parameter required for this call"
	t.Run("mount", func(t *testing.T) {
		f := newKV(t, "2")
		f.must(secrets.OpUpdate, "config", map[string]any{"cas_required": true})
		se := f.fails(secrets.OpUpdate, "data/k", map[string]any{"data": map[string]any{"a": "b"}}, secrets.ErrInvalidRequest)
		if se.Msg != msg {
			t.Fatalf("message = %q, want %q", se.Msg, msg)
		}
		f.must(secrets.OpUpdate, "data/k", map[string]any{"data": map[string]any{"a": "b"}, "options": map[string]any{"cas": 0}})
		f.fails(secrets.OpPatch, "data/k", map[string]any{"data": map[string]any{"a": "c"}}, secrets.ErrInvalidRequest)
		f.must(secrets.OpPatch, "data/k", map[string]any{"data": map[string]any{"a": "c"}, "options": map[string]any{"cas": 1}})
	})
	t.Run("key", func(t *testing.T) {
		f := newKV(t, "2")
		f.write("free", map[string]any{"a": "b"}) // other keys are unaffected
		f.must(secrets.OpUpdate, "metadata/k", map[string]any{"cas_required": true})
		se := f.fails(secrets.OpUpdate, "data/k", map[string]any{"data": map[string]any{"a": "b"}}, secrets.ErrInvalidRequest)
		if se.Msg != msg {
			t.Fatalf("message = %q, want %q", se.Msg, msg)
		}
		f.must(secrets.OpUpdate, "data/k", map[string]any{"data": map[string]any{"a": "b"}, "options": map[string]any{"cas": 0}})
		f.write("free", map[string]any{"a": "c"})
	})
}

func TestV2_Data_Patch(t *testing.T) {
	f := newKV(t, "2")
	f.write("p", jsonObj(t, `{"keep":"k","drop":"d","nested":{"x":1,"y":2},"list":[1,2],"scalar":"s"}`))
	f.clock.Advance(time.Minute)
	got := f.mustJSON(secrets.OpPatch, "data/p", map[string]any{"data": jsonObj(t,
		`{"drop":null,"nested":{"y":null,"z":3},"list":[9],"scalar":{"now":"obj","gone":null},"new":"n"}`)})
	assertEqual(t, "patch response", got, map[string]any{
		"created_time": ts(t0.Add(time.Minute)), "custom_metadata": nil, "deletion_time": "", "destroyed": false, "version": float64(2),
	})
	assertEqual(t, "patched data", f.mustJSON(secrets.OpRead, "data/p", nil)["data"], jsonObj(t,
		`{"keep":"k","nested":{"x":1,"z":3},"list":[9],"scalar":{"now":"obj"},"new":"n"}`))
	// The old version is untouched.
	assertEqual(t, "version 1", f.mustJSON(secrets.OpRead, "data/p", map[string]any{"version": "1"})["data"], jsonObj(t,
		`{"keep":"k","drop":"d","nested":{"x":1,"y":2},"list":[1,2],"scalar":"s"}`))

	// Patch with cas.
	f.fails(secrets.OpPatch, "data/p", map[string]any{"data": map[string]any{}, "options": map[string]any{"cas": 1}}, secrets.ErrCASMismatch)
	f.must(secrets.OpPatch, "data/p", map[string]any{"data": map[string]any{"c": "d"}, "options": map[string]any{"cas": 2}})
}

func TestV2_Data_PatchErrors(t *testing.T) {
	f := newKV(t, "2")
	f.fails(secrets.OpPatch, "data/absent", map[string]any{"data": map[string]any{"a": "b"}}, secrets.ErrNotFound)
	f.fails(secrets.OpPatch, "data/absent", map[string]any{}, secrets.ErrInvalidRequest)
	f.fails(secrets.OpPatch, "data/absent", map[string]any{"data": []any{1}}, secrets.ErrInvalidRequest)

	// Metadata without versions: nothing to patch.
	f.must(secrets.OpUpdate, "metadata/meta-only", map[string]any{"max_versions": 3})
	f.fails(secrets.OpPatch, "data/meta-only", map[string]any{"data": map[string]any{"a": "b"}}, secrets.ErrNotFound)

	// Deleted latest version: 404 with the version's metadata, flat.
	f.write("del", map[string]any{"a": "b"})
	f.must(secrets.OpDelete, "data/del", nil)
	resp := f.must(secrets.OpPatch, "data/del", map[string]any{"data": map[string]any{"a": "c"}})
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("patch of deleted: status %d, want 404", resp.StatusCode)
	}
	assertEqual(t, "patch of deleted", asJSON(t, resp.Data), map[string]any{
		"created_time": ts(t0), "custom_metadata": nil, "deletion_time": ts(t0), "destroyed": false, "version": float64(1),
	})
	// Destroyed latest version: likewise.
	f.write("gone", map[string]any{"a": "b"})
	f.must(secrets.OpUpdate, "destroy/gone", map[string]any{"versions": []any{float64(1)}})
	resp = f.must(secrets.OpPatch, "data/gone", map[string]any{"data": map[string]any{"a": "c"}})
	if resp.StatusCode != http.StatusNotFound || resp.Data["destroyed"] != true {
		t.Fatalf("patch of destroyed = %d %v", resp.StatusCode, resp.Data)
	}
}

func TestV2_Data_SoftDelete(t *testing.T) {
	f := newKV(t, "2")
	f.write("s", map[string]any{"a": "1"})
	f.write("s", map[string]any{"a": "2"})
	f.clock.Advance(time.Hour)
	resp := f.must(secrets.OpDelete, "data/s", nil)
	if resp.Data != nil || resp.StatusCode != 0 {
		t.Fatalf("delete response = %+v, want empty (204)", resp)
	}
	resp = f.must(secrets.OpRead, "data/s", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("read of deleted: status %d, want 404", resp.StatusCode)
	}
	assertEqual(t, "read of deleted", asJSON(t, resp.Data), map[string]any{
		"data": nil,
		"metadata": map[string]any{
			"created_time": ts(t0), "custom_metadata": nil, "deletion_time": ts(t0.Add(time.Hour)),
			"destroyed": false, "version": float64(2),
		},
	})
	// Older versions stay readable; deleting again changes nothing.
	if d := f.mustJSON(secrets.OpRead, "data/s", map[string]any{"version": "1"})["data"]; d.(map[string]any)["a"] != "1" {
		t.Fatalf("version 1 = %v", d)
	}
	f.clock.Advance(time.Hour)
	f.must(secrets.OpDelete, "data/s", nil)
	if dt := f.mustJSON(secrets.OpRead, "metadata/s", nil)["versions"].(map[string]any)["2"].(map[string]any)["deletion_time"]; dt != ts(t0.Add(time.Hour)) {
		t.Fatalf("second delete moved deletion_time to %v", dt)
	}
	// Absent key: no-op.
	f.must(secrets.OpDelete, "data/absent", nil)
	// A new write makes the key readable again.
	f.write("s", map[string]any{"a": "3"})
	if d := f.mustJSON(secrets.OpRead, "data/s", nil)["data"]; d.(map[string]any)["a"] != "3" {
		t.Fatalf("after rewrite = %v", d)
	}
}

func TestV2_Data_DeleteVersionAfter(t *testing.T) {
	f := newKV(t, "2")
	f.must(secrets.OpUpdate, "config", map[string]any{"delete_version_after": "1h"})
	got := f.write("t", map[string]any{"a": "b"})
	if got["deletion_time"] != ts(t0.Add(time.Hour)) {
		t.Fatalf("deletion_time = %v, want created + 1h", got["deletion_time"])
	}
	f.clock.Advance(59 * time.Minute)
	if resp := f.must(secrets.OpRead, "data/t", nil); resp.StatusCode != 0 {
		t.Fatalf("read before expiry: status %d", resp.StatusCode)
	}
	f.clock.Advance(time.Minute)
	if resp := f.must(secrets.OpRead, "data/t", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("read at expiry: status %d, want 404", resp.StatusCode)
	}

	// The smaller non-zero of mount and key wins.
	f.must(secrets.OpUpdate, "metadata/short", map[string]any{"delete_version_after": 60})
	if got := f.write("short", map[string]any{"a": "b"}); got["deletion_time"] != ts(f.clock.Now().Add(time.Minute)) {
		t.Fatalf("key 1m vs mount 1h: deletion_time = %v", got["deletion_time"])
	}
	f.must(secrets.OpUpdate, "metadata/long", map[string]any{"delete_version_after": "3h"})
	if got := f.write("long", map[string]any{"a": "b"}); got["deletion_time"] != ts(f.clock.Now().Add(time.Hour)) {
		t.Fatalf("key 3h vs mount 1h: deletion_time = %v", got["deletion_time"])
	}

	// A negative mount value disables it, even for keys that set one.
	f.must(secrets.OpUpdate, "config", map[string]any{"delete_version_after": "-1s"})
	if got := f.write("short", map[string]any{"a": "c"}); got["deletion_time"] != "" {
		t.Fatalf("disabled: deletion_time = %v", got["deletion_time"])
	}
}

func TestV2_Data_ExistsCreateVsUpdate(t *testing.T) {
	f := newKV(t, "2")
	ec := f.eng.(secrets.ExistenceChecker)
	check := func(path string, wantExists, wantOK bool) {
		t.Helper()
		exists, ok, err := ec.Exists(t.Context(), &secrets.Request{Operation: secrets.OpUpdate, Path: path, Storage: f.view})
		if err != nil || exists != wantExists || ok != wantOK {
			t.Fatalf("Exists(%q) = %v, %v, %v; want %v, %v, nil", path, exists, ok, err, wantExists, wantOK)
		}
	}
	check("data/a", false, true)
	check("metadata/a", false, true)
	f.write("a", map[string]any{"x": "y"})
	check("data/a", true, true)
	check("metadata/a", true, true)
	// Paths without an existence check: every write is an update.
	check("config", false, false)
	check("delete/a", false, false)
	check("destroy/a", false, false)
	check("undelete/a", false, false)
	check("foo/a", false, false)
	check("data/../a", false, false)

	// Both create and update reach the handlers, as do creates on paths
	// without an existence check.
	f.must(secrets.OpCreate, "data/b", map[string]any{"data": map[string]any{"x": "y"}})
	f.must(secrets.OpCreate, "config", map[string]any{"max_versions": 4})
	f.must(secrets.OpCreate, "delete/b", map[string]any{"versions": []any{1}})
}
