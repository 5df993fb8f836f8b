package kv_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

// state is what a read of one version shows: "live", "deleted",
// "destroyed" or "absent".
func (f *fixture) state(path string, v int) string {
	f.t.Helper()
	resp, err := f.do(secrets.OpRead, "data/"+path, map[string]any{"version": fmt.Sprint(v)})
	if err != nil {
		f.fails(secrets.OpRead, "data/"+path, map[string]any{"version": fmt.Sprint(v)}, secrets.ErrNotFound)
		return "absent"
	}
	md := asJSON(f.t, resp.Data)["metadata"].(map[string]any)
	if md["version"] != float64(v) {
		f.t.Fatalf("read version %d answered version %v", v, md["version"])
	}
	switch {
	case resp.StatusCode == 0 && md["deletion_time"] == "" && md["destroyed"] == false:
		if resp.Data["data"] == nil {
			f.t.Fatalf("live version %d without data", v)
		}
		return "live"
	case resp.StatusCode == http.StatusNotFound && md["destroyed"] == true:
		return "destroyed"
	case resp.StatusCode == http.StatusNotFound && md["deletion_time"] != "":
		if resp.Data["data"] != nil {
			f.t.Fatalf("deleted version %d still shows data", v)
		}
		return "deleted"
	}
	f.t.Fatalf("version %d: unexpected read %d %v", v, resp.StatusCode, resp.Data)
	return ""
}

func (f *fixture) assertStates(path string, want ...string) {
	f.t.Helper()
	for i, w := range want {
		if got := f.state(path, i+1); got != w {
			f.t.Fatalf("version %d is %s, want %s", i+1, got, w)
		}
	}
}

func TestV2_DeleteUndeleteDestroy_StateMachine(t *testing.T) {
	f := newKV(t, "2")
	for i := range 4 {
		f.write("sm", map[string]any{"i": i + 1})
	}
	f.assertStates("sm", "live", "live", "live", "live")

	steps := []struct {
		path     string
		versions any
		want     []string
	}{
		{"delete/sm", []any{float64(1), float64(2)}, []string{"deleted", "deleted", "live", "live"}},
		{"delete/sm", []any{float64(1), float64(99)}, []string{"deleted", "deleted", "live", "live"}}, // repeat and unknown: no-op
		{"undelete/sm", []any{float64(1)}, []string{"live", "deleted", "live", "live"}},
		{"destroy/sm", []any{float64(2), float64(3)}, []string{"live", "destroyed", "destroyed", "live"}}, // deleted versions can be destroyed
		{"undelete/sm", "2,3", []string{"live", "destroyed", "destroyed", "live"}},                        // destroyed is final
		{"delete/sm", "3,4", []string{"live", "destroyed", "destroyed", "deleted"}},                       // no effect on destroyed
		{"undelete/sm", []any{"4"}, []string{"live", "destroyed", "destroyed", "live"}},
		{"destroy/sm", float64(4), []string{"live", "destroyed", "destroyed", "destroyed"}},
	}
	for i, s := range steps {
		f.clock.Advance(time.Second)
		resp := f.must(secrets.OpUpdate, s.path, map[string]any{"versions": s.versions})
		if resp.Data != nil || resp.StatusCode != 0 {
			t.Fatalf("step %d %s: response %+v, want empty (204)", i, s.path, resp)
		}
		f.assertStates("sm", s.want...)
	}
	// Destroyed versions' data is gone from storage: only version 1 remains.
	if n := len(f.viewKeys("versions/")); n != 1 {
		t.Fatalf("%d version records in storage, want 1", n)
	}
	// The latest version is destroyed, so a plain read is a 404 with metadata.
	if resp := f.must(secrets.OpRead, "data/sm", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("read latest: status %d, want 404", resp.StatusCode)
	}
	f.assertContained()
}

func TestV2_Undelete_DeleteVersionAfter(t *testing.T) {
	f := newKV(t, "2")
	f.write("u", map[string]any{"a": "b"})
	f.must(secrets.OpDelete, "data/u", nil)
	f.must(secrets.OpUpdate, "config", map[string]any{"delete_version_after": 600})
	f.clock.Advance(time.Minute)
	f.must(secrets.OpUpdate, "undelete/u", map[string]any{"versions": []any{1}})
	md := f.mustJSON(secrets.OpRead, "data/u", nil)["metadata"].(map[string]any)
	if md["deletion_time"] != ts(f.clock.Now().Add(10*time.Minute)) {
		t.Fatalf("undeleted deletion_time = %v, want now + 10m", md["deletion_time"])
	}
}

func TestV2_VersionsEndpoints_Errors(t *testing.T) {
	f := newKV(t, "2")
	f.write("k", map[string]any{"a": "b"})
	for _, tc := range []struct {
		path string
		data map[string]any
		kind error
		msg  string
	}{
		{"delete/k", map[string]any{}, secrets.ErrInvalidRequest, "No version number provided"},
		{"undelete/k", map[string]any{"versions": []any{}}, secrets.ErrInvalidRequest, "No version number provided"},
		{"destroy/k", map[string]any{"versions": ""}, secrets.ErrInvalidRequest, "no version number provided"},
		{"delete/k", map[string]any{"versions": []any{"one"}}, secrets.ErrInvalidRequest, ""},
		{"destroy/k", map[string]any{"versions": map[string]any{}}, secrets.ErrInvalidRequest, ""},
		{"undelete/k", map[string]any{"versions": "1,x"}, secrets.ErrInvalidRequest, ""},
		{"delete", map[string]any{"versions": []any{1}}, secrets.ErrUnsupportedPath, "Non-listing operations on the root of a K/V v2 mount are not supported."},
		{"destroy", map[string]any{"versions": []any{1}}, secrets.ErrUnsupportedPath, ""},
		{"undelete", map[string]any{"versions": []any{1}}, secrets.ErrUnsupportedPath, ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			f := f.with(t)
			se := f.fails(secrets.OpUpdate, tc.path, tc.data, tc.kind)
			if tc.msg != "" && se.Msg != tc.msg {
				t.Fatalf("message = %q, want %q", se.Msg, tc.msg)
			}
		})
	}
	f.assertStates("k", "live")
	// Absent keys and folder paths are no-ops, as in Vault.
	for _, p := range []string{"delete/absent", "undelete/absent", "destroy/absent", "delete/", "destroy/dir/"} {
		f.must(secrets.OpUpdate, p, map[string]any{"versions": []any{1}})
	}
	// Only update: no read, list, patch or delete.
	for _, op := range []secrets.Operation{secrets.OpRead, secrets.OpPatch, secrets.OpDelete, secrets.OpList} {
		for _, p := range []string{"delete/k", "undelete/k", "destroy/k"} {
			f.fails(op, p, map[string]any{"versions": []any{1}}, secrets.ErrUnsupportedOperation)
		}
	}
}
