package kv_test

import (
	"encoding/json"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

func TestV1_WriteReadOverwriteDelete(t *testing.T) {
	f := newKV(t, "1")
	resp := f.must(secrets.OpUpdate, "app/db", map[string]any{"user": "u", "pass": "p", "n": 3})
	if resp.Data != nil || resp.StatusCode != 0 {
		t.Fatalf("write response = %+v, want empty (204)", resp)
	}
	assertEqual(t, "read", f.mustJSON(secrets.OpRead, "app/db", nil),
		map[string]any{"user": "u", "pass": "p", "n": float64(3)})

	// A write replaces the whole secret.
	f.must(secrets.OpUpdate, "app/db", map[string]any{"only": "this"})
	assertEqual(t, "read after overwrite", f.mustJSON(secrets.OpRead, "app/db", nil),
		map[string]any{"only": "this"})

	f.must(secrets.OpDelete, "app/db", nil)
	se := f.fails(secrets.OpRead, "app/db", nil, secrets.ErrNotFound)
	if se.Msg != "" {
		t.Fatalf("not-found message = %q, want empty (Vault answers errors: [])", se.Msg)
	}
	// Deleting again is a no-op.
	f.must(secrets.OpDelete, "app/db", nil)
	f.assertContained()
}

func TestV1_NumbersRoundTrip(t *testing.T) {
	f := newKV(t, "1")
	big := json.Number("12345678901234567890123")
	f.must(secrets.OpUpdate, "n", map[string]any{"big": big, "f": json.Number("1.5")})
	got := f.must(secrets.OpRead, "n", nil).Data
	if got["big"] != big || got["f"] != json.Number("1.5") {
		t.Fatalf("read = %#v, want exact numbers", got)
	}
}

func TestV1_Errors(t *testing.T) {
	f := newKV(t, "1")
	f.must(secrets.OpUpdate, "exists", map[string]any{"a": "b"})
	for _, tc := range []struct {
		name string
		op   secrets.Operation
		path string
		data map[string]any
		kind error
		msg  string
	}{
		{"write empty path", secrets.OpUpdate, "", map[string]any{"a": "b"}, secrets.ErrInvalidRequest, "missing path"},
		{"write no data", secrets.OpUpdate, "x", map[string]any{}, secrets.ErrInvalidRequest, "missing data fields"},
		{"write nil data", secrets.OpCreate, "x", nil, secrets.ErrInvalidRequest, "missing data fields"},
		{"write trailing slash", secrets.OpUpdate, "dir/", map[string]any{"a": "b"}, secrets.ErrInvalidRequest, ""},
		{"read absent", secrets.OpRead, "nope", nil, secrets.ErrNotFound, ""},
		{"read root", secrets.OpRead, "", nil, secrets.ErrNotFound, ""},
		{"read folder", secrets.OpRead, "dir/", nil, secrets.ErrNotFound, ""},
		{"patch unsupported", secrets.OpPatch, "exists", map[string]any{"a": "c"}, secrets.ErrUnsupportedOperation, "unsupported operation"},
		{"list absent", secrets.OpList, "nope", nil, secrets.ErrNotFound, ""},
		{"read dotdot", secrets.OpRead, "../x", nil, secrets.ErrInvalidRequest, ""},
		{"write dotdot", secrets.OpUpdate, "a/../../x", map[string]any{"a": "b"}, secrets.ErrInvalidRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.with(t)
			se := f.fails(tc.op, tc.path, tc.data, tc.kind)
			if tc.msg != "" && se.Msg != tc.msg {
				t.Fatalf("message = %q, want %q", se.Msg, tc.msg)
			}
		})
	}
	f.assertContained()
}

func TestV1_List(t *testing.T) {
	f := newKV(t, "1")
	for _, p := range []string{"b/d", "a", "b/c", "b/e/f", "c"} {
		f.must(secrets.OpUpdate, p, map[string]any{"v": p})
	}
	for _, tc := range []struct {
		path string
		want []any
	}{
		{"", []any{"a", "b/", "c"}},
		{"b", []any{"c", "d", "e/"}},
		{"b/", []any{"c", "d", "e/"}},
		{"b/e/", []any{"f"}},
	} {
		t.Run("list "+tc.path, func(t *testing.T) {
			f := f.with(t)
			assertEqual(t, "keys", f.mustJSON(secrets.OpList, tc.path, nil), map[string]any{"keys": tc.want})
		})
	}
	f.fails(secrets.OpList, "a/", nil, secrets.ErrNotFound) // a secret is not a folder
	f.fails(secrets.OpList, "zzz", nil, secrets.ErrNotFound)
}

func TestV1_Exists(t *testing.T) {
	f := newKV(t, "1")
	ec := f.eng.(secrets.ExistenceChecker)
	check := func(path string, wantExists, wantOK bool) {
		t.Helper()
		exists, ok, err := ec.Exists(t.Context(), &secrets.Request{Operation: secrets.OpUpdate, Path: path, Storage: f.view})
		if err != nil || exists != wantExists || ok != wantOK {
			t.Fatalf("Exists(%q) = %v, %v, %v; want %v, %v, nil", path, exists, ok, err, wantExists, wantOK)
		}
	}
	check("a/b", false, true)
	f.must(secrets.OpUpdate, "a/b", map[string]any{"x": "y"})
	check("a/b", true, true)
	check("../a", false, false) // invalid: HandleRequest answers the 400
	check("", false, false)
}
