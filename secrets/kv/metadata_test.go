package kv_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

func TestV2_Metadata_Read(t *testing.T) {
	f := newKV(t, "2")
	f.write("m", map[string]any{"a": "1"})
	f.clock.Advance(time.Second)
	f.write("m", map[string]any{"a": "2"})
	f.clock.Advance(time.Second)
	f.must(secrets.OpDelete, "data/m", nil)
	assertEqual(t, "metadata", f.mustJSON(secrets.OpRead, "metadata/m", nil), map[string]any{
		"cas_required":         false,
		"created_time":         ts(t0),
		"current_version":      float64(2),
		"custom_metadata":      nil,
		"delete_version_after": "0s",
		"max_versions":         float64(0),
		"oldest_version":       float64(0),
		"updated_time":         ts(t0.Add(time.Second)),
		"versions": map[string]any{
			"1": map[string]any{"created_time": ts(t0), "deletion_time": "", "destroyed": false},
			"2": map[string]any{"created_time": ts(t0.Add(time.Second)), "deletion_time": ts(t0.Add(2 * time.Second)), "destroyed": false},
		},
	})
	f.fails(secrets.OpRead, "metadata/absent", nil, secrets.ErrNotFound)
	f.fails(secrets.OpRead, "metadata/", nil, secrets.ErrNotFound)
	f.fails(secrets.OpRead, "metadata/m/", nil, secrets.ErrNotFound)
}

func TestV2_Metadata_WriteAndPatch(t *testing.T) {
	f := newKV(t, "2")
	// A metadata write on a new key creates it without versions.
	resp := f.must(secrets.OpUpdate, "metadata/w", map[string]any{
		"max_versions": 5, "cas_required": true, "delete_version_after": "3h25m19s",
		"custom_metadata": map[string]any{"owner": "jdoe", "mission_critical": false, "n": float64(7)},
	})
	if resp.Data != nil || len(resp.Warnings) != 0 {
		t.Fatalf("write response = %+v, want empty (204)", resp)
	}
	md := f.mustJSON(secrets.OpRead, "metadata/w", nil)
	assertEqual(t, "after write", md, map[string]any{
		"cas_required": true, "created_time": ts(t0), "current_version": float64(0),
		"custom_metadata":      map[string]any{"owner": "jdoe", "mission_critical": "0", "n": "7"},
		"delete_version_after": "3h25m19s", "max_versions": float64(5), "oldest_version": float64(0),
		"updated_time": ts(t0), "versions": map[string]any{},
	})
	f.fails(secrets.OpRead, "data/w", nil, secrets.ErrNotFound)

	// custom_metadata shows up in data responses.
	got := f.mustJSON(secrets.OpUpdate, "data/w", map[string]any{"data": map[string]any{"a": "b"}, "options": map[string]any{"cas": 0}})
	assertEqual(t, "custom_metadata in write response", got["custom_metadata"],
		map[string]any{"owner": "jdoe", "mission_critical": "0", "n": "7"})

	// A write replaces only the fields it names; custom_metadata as a whole.
	f.must(secrets.OpUpdate, "metadata/w", map[string]any{"custom_metadata": map[string]any{"only": "this"}})
	md = f.mustJSON(secrets.OpRead, "metadata/w", nil)
	if md["max_versions"] != float64(5) || md["cas_required"] != true {
		t.Fatalf("untouched fields changed: %v", md)
	}
	assertEqual(t, "custom_metadata", md["custom_metadata"], map[string]any{"only": "this"})

	// Patch: fields replace, custom_metadata merges, null removes.
	f.must(secrets.OpPatch, "metadata/w", map[string]any{
		"max_versions":    7,
		"custom_metadata": map[string]any{"only": nil, "added": "x"},
	})
	md = f.mustJSON(secrets.OpRead, "metadata/w", nil)
	if md["max_versions"] != float64(7) || md["cas_required"] != true || md["delete_version_after"] != "3h25m19s" {
		t.Fatalf("after patch: %v", md)
	}
	assertEqual(t, "patched custom_metadata", md["custom_metadata"], map[string]any{"added": "x"})
	f.must(secrets.OpPatch, "metadata/w", map[string]any{"custom_metadata": map[string]any{"added": nil}})
	if md = f.mustJSON(secrets.OpRead, "metadata/w", nil); md["custom_metadata"] != nil {
		t.Fatalf("emptied custom_metadata = %v, want null", md["custom_metadata"])
	}
	f.must(secrets.OpPatch, "metadata/w", map[string]any{"delete_version_after": "0s", "cas_required": false})
	if md = f.mustJSON(secrets.OpRead, "metadata/w", nil); md["delete_version_after"] != "0s" || md["cas_required"] != false {
		t.Fatalf("after clearing: %v", md)
	}

	// Patch of absent metadata is a 404; a write without fields creates nothing.
	f.fails(secrets.OpPatch, "metadata/absent", map[string]any{"max_versions": 1}, secrets.ErrNotFound)
	f.must(secrets.OpUpdate, "metadata/nothing", map[string]any{"unknown": 1})
	f.fails(secrets.OpRead, "metadata/nothing", nil, secrets.ErrNotFound)
}

func TestV2_Metadata_CASRequiredWarning(t *testing.T) {
	f := newKV(t, "2")
	f.must(secrets.OpUpdate, "config", map[string]any{"cas_required": true})
	const want = `"cas_required" set to false, but is mandated by backend config. This value will be ignored.`
	for _, op := range []secrets.Operation{secrets.OpUpdate, secrets.OpPatch} {
		resp := f.must(op, "metadata/k", map[string]any{"cas_required": false})
		if len(resp.Warnings) != 1 || resp.Warnings[0] != want {
			t.Fatalf("%s warnings = %q, want [%q]", op, resp.Warnings, want)
		}
	}
	// The mount still requires cas.
	f.fails(secrets.OpUpdate, "data/k", map[string]any{"data": map[string]any{}}, secrets.ErrInvalidRequest)
}

func TestV2_Metadata_Errors(t *testing.T) {
	f := newKV(t, "2")
	f.write("k", map[string]any{"a": "b"})
	long := strings.Repeat("x", 129)
	many := map[string]any{}
	for i := range 65 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	for _, tc := range []struct {
		name string
		op   secrets.Operation
		path string
		data map[string]any
		kind error
		msg  string
	}{
		{"write empty path", secrets.OpUpdate, "metadata/", map[string]any{"max_versions": 1}, secrets.ErrInvalidRequest, "missing path"},
		{"write trailing slash", secrets.OpUpdate, "metadata/a/", map[string]any{"max_versions": 1}, secrets.ErrInvalidRequest, ""},
		{"patch empty path", secrets.OpPatch, "metadata/", map[string]any{"max_versions": 1}, secrets.ErrInvalidRequest, "missing path"},
		{"max_versions negative", secrets.OpUpdate, "metadata/k", map[string]any{"max_versions": -1}, secrets.ErrInvalidRequest, ""},
		{"max_versions not int", secrets.OpUpdate, "metadata/k", map[string]any{"max_versions": "many"}, secrets.ErrInvalidRequest, ""},
		{"cas_required not bool", secrets.OpUpdate, "metadata/k", map[string]any{"cas_required": "maybe"}, secrets.ErrInvalidRequest, ""},
		{"dva negative", secrets.OpUpdate, "metadata/k", map[string]any{"delete_version_after": "-1h"}, secrets.ErrInvalidRequest, ""},
		{"dva garbage", secrets.OpUpdate, "metadata/k", map[string]any{"delete_version_after": "soon"}, secrets.ErrInvalidRequest, ""},
		{"custom not object", secrets.OpUpdate, "metadata/k", map[string]any{"custom_metadata": "x"}, secrets.ErrInvalidRequest, ""},
		{"custom nested", secrets.OpUpdate, "metadata/k", map[string]any{"custom_metadata": map[string]any{"a": map[string]any{}}}, secrets.ErrInvalidRequest, ""},
		{"custom too many", secrets.OpUpdate, "metadata/k", map[string]any{"custom_metadata": many}, secrets.ErrInvalidRequest,
			"1 error occurred:\n\t* custom_metadata validation failed: payload must contain at most 64 keys, provided 65\n\n"},
		{"custom key too long", secrets.OpUpdate, "metadata/k", map[string]any{"custom_metadata": map[string]any{long: "v"}}, secrets.ErrInvalidRequest,
			"1 error occurred:\n\t* custom_metadata validation failed: length of key \"" + long + "\" is 129 but must be 0 < len(key) <= 128\n\n"},
		{"custom empty value", secrets.OpUpdate, "metadata/k", map[string]any{"custom_metadata": map[string]any{"a": ""}}, secrets.ErrInvalidRequest,
			"1 error occurred:\n\t* custom_metadata validation failed: length of value for key \"a\" is 0 but must be 0 < len(value) <= 512\n\n"},
		{"custom null on write", secrets.OpUpdate, "metadata/k", map[string]any{"custom_metadata": map[string]any{"a": nil}}, secrets.ErrInvalidRequest, ""},
		{"custom unprintable", secrets.OpUpdate, "metadata/k", map[string]any{"custom_metadata": map[string]any{"a\x01": "v\x02"}}, secrets.ErrInvalidRequest,
			"2 errors occurred:\n\t* custom_metadata validation failed: key \"a\\x01\" (a) contains unprintable characters\n\t* custom_metadata validation failed: value for key \"a\\x01\" contains unprintable characters\n\n"},
		{"list of a secret", secrets.OpList, "metadata/k", nil, secrets.ErrNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.with(t)
			se := f.fails(tc.op, tc.path, tc.data, tc.kind)
			if tc.msg != "" && se.Msg != tc.msg {
				t.Fatalf("message = %q, want %q", se.Msg, tc.msg)
			}
		})
	}
	// Nothing changed.
	md := f.mustJSON(secrets.OpRead, "metadata/k", nil)
	if md["max_versions"] != float64(0) || md["custom_metadata"] != nil || md["delete_version_after"] != "0s" {
		t.Fatalf("failed writes changed metadata: %v", md)
	}
}

func TestV2_Metadata_Delete(t *testing.T) {
	f := newKV(t, "2")
	for i := range 3 {
		f.write("gone/k", map[string]any{"i": i})
	}
	f.write("stay", map[string]any{"a": "b"})
	f.must(secrets.OpUpdate, "destroy/gone/k", map[string]any{"versions": []any{2}})
	f.must(secrets.OpDelete, "metadata/gone/k", nil)
	f.fails(secrets.OpRead, "metadata/gone/k", nil, secrets.ErrNotFound)
	f.fails(secrets.OpRead, "data/gone/k", nil, secrets.ErrNotFound)
	f.fails(secrets.OpRead, "data/gone/k", map[string]any{"version": "1"}, secrets.ErrNotFound)
	// Only "stay" is left in storage: one metadata and one version record.
	if keys := f.viewKeys(""); len(keys) != 2 {
		t.Fatalf("storage after metadata delete = %q, want 2 keys of \"stay\"", keys)
	}
	// Deleting again, or an absent key, is a no-op; a re-created key starts at 1.
	f.must(secrets.OpDelete, "metadata/gone/k", nil)
	f.must(secrets.OpDelete, "metadata/", nil)
	if got := f.write("gone/k", map[string]any{"new": "life"}); got["version"] != float64(1) {
		t.Fatalf("re-created key version = %v, want 1", got["version"])
	}
	f.assertContained()
}

func TestV2_Metadata_List(t *testing.T) {
	f := newKV(t, "2")
	for _, p := range []string{"a", "b/c", "b/d", "b/e/f", "z", "b"} {
		f.write(p, map[string]any{"p": p})
	}
	f.must(secrets.OpUpdate, "metadata/meta-only", map[string]any{"max_versions": 2})
	f.must(secrets.OpDelete, "data/z", nil) // soft-deleted keys are still listed
	for _, tc := range []struct {
		path string
		want []any
	}{
		{"metadata/", []any{"a", "b", "b/", "meta-only", "z"}},
		{"metadata", []any{"a", "b", "b/", "meta-only", "z"}},
		{"metadata/b", []any{"c", "d", "e/"}},
		{"metadata/b/", []any{"c", "d", "e/"}},
		{"metadata/b/e", []any{"f"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			f := f.with(t)
			assertEqual(t, "keys", f.mustJSON(secrets.OpList, tc.path, nil), map[string]any{"keys": tc.want})
		})
	}
	f.fails(secrets.OpList, "metadata/nope", nil, secrets.ErrNotFound)
	f.must(secrets.OpDelete, "metadata/b/e/f", nil)
	f.fails(secrets.OpList, "metadata/b/e", nil, secrets.ErrNotFound)
	// Listing an empty mount.
	newKV(t, "2").fails(secrets.OpList, "metadata/", nil, secrets.ErrNotFound)
}

func TestV2_MaxVersions_Trimming(t *testing.T) {
	f := newKV(t, "2")
	f.must(secrets.OpUpdate, "config", map[string]any{"max_versions": 3})
	for i := 1; i <= 5; i++ {
		f.clock.Advance(time.Second)
		f.write("t", map[string]any{"i": i})
	}
	md := f.mustJSON(secrets.OpRead, "metadata/t", nil)
	if md["current_version"] != float64(5) || md["oldest_version"] != float64(3) {
		t.Fatalf("current/oldest = %v/%v, want 5/3", md["current_version"], md["oldest_version"])
	}
	versions := md["versions"].(map[string]any)
	if len(versions) != 3 || versions["3"] == nil || versions["4"] == nil || versions["5"] == nil {
		t.Fatalf("versions = %v, want 3, 4, 5", versions)
	}
	f.fails(secrets.OpRead, "data/t", map[string]any{"version": "2"}, secrets.ErrNotFound)
	if d := f.mustJSON(secrets.OpRead, "data/t", map[string]any{"version": "3"})["data"]; d.(map[string]any)["i"] != float64(3) {
		t.Fatalf("version 3 = %v", d)
	}
	// The trimmed versions' data is gone from storage.
	if n := len(f.viewKeys("versions/")); n != 3 {
		t.Fatalf("%d version records in storage, want 3", n)
	}

	// The larger of key and mount max_versions wins.
	f.must(secrets.OpUpdate, "metadata/t", map[string]any{"max_versions": 4})
	for i := 6; i <= 8; i++ {
		f.write("t", map[string]any{"i": i})
	}
	md = f.mustJSON(secrets.OpRead, "metadata/t", nil)
	if len(md["versions"].(map[string]any)) != 4 || md["oldest_version"] != float64(5) {
		t.Fatalf("key max 4 over mount 3: versions %v oldest %v", md["versions"], md["oldest_version"])
	}
	f.must(secrets.OpUpdate, "metadata/t", map[string]any{"max_versions": 1})
	f.write("t", map[string]any{"i": 9})
	if md = f.mustJSON(secrets.OpRead, "metadata/t", nil); len(md["versions"].(map[string]any)) != 3 {
		t.Fatalf("key max 1 under mount 3: %d versions, want 3", len(md["versions"].(map[string]any)))
	}
}

func TestV2_MaxVersions_Default10(t *testing.T) {
	f := newKV(t, "2")
	for i := 1; i <= 12; i++ {
		f.write("d", map[string]any{"i": i})
		md := f.mustJSON(secrets.OpRead, "metadata/d", nil)
		wantOldest := 0
		if i >= 10 {
			wantOldest = i - 9
		}
		if md["oldest_version"] != float64(wantOldest) || len(md["versions"].(map[string]any)) != min(i, 10) {
			t.Fatalf("after %d writes: oldest %v, %d versions; want %d, %d",
				i, md["oldest_version"], len(md["versions"].(map[string]any)), wantOldest, min(i, 10))
		}
	}
}

func TestV2_Metadata_NullResets(t *testing.T) {
	f := newKV(t, "2")
	set := map[string]any{
		"max_versions": 4, "cas_required": true, "delete_version_after": "1h",
		"custom_metadata": map[string]any{"a": "1", "b": "2"},
	}
	reset := map[string]any{"max_versions": nil, "cas_required": nil, "delete_version_after": nil, "custom_metadata": nil}
	for _, op := range []secrets.Operation{secrets.OpUpdate, secrets.OpPatch} {
		t.Run(string(op), func(t *testing.T) {
			f := f.with(t)
			f.must(secrets.OpUpdate, "metadata/n", set)
			f.must(op, "metadata/n", reset)
			md := f.mustJSON(secrets.OpRead, "metadata/n", nil)
			if md["max_versions"] != float64(0) || md["cas_required"] != false ||
				md["delete_version_after"] != "0s" || md["custom_metadata"] != nil {
				t.Fatalf("after null %s: %v", op, md)
			}
		})
	}
}
