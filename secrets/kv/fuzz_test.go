package kv_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/kv"
)

// FuzzRequest drives the path router and every request-field parser of
// both engine versions with arbitrary operations, paths and JSON bodies.
// Whatever comes in: no panic, never (nil, nil), only typed user errors,
// no key outside the view, and dot segments are always a 400.
func FuzzRequest(f *testing.F) {
	seeds := []struct {
		op   uint8
		path string
		body string
	}{
		{0, "data/a", `{"version":"1"}`},
		{1, "data/a", `{"data":{"x":1},"options":{"cas":0}}`},
		{2, "data/a", `{"data":{"x":null,"y":{"z":1}}}`},
		{3, "data/a", `{}`},
		{4, "metadata/", `{}`},
		{1, "metadata/a", `{"max_versions":"3","cas_required":"true","delete_version_after":"1d","custom_metadata":{"k":1}}`},
		{2, "metadata/a", `{"custom_metadata":{"k":null}}`},
		{1, "delete/a", `{"versions":"1,2"}`},
		{1, "undelete/a", `{"versions":[1,"2"]}`},
		{1, "destroy/a", `{"versions":1}`},
		{0, "subkeys/a", `{"depth":"1","version":"1"}`},
		{1, "config", `{"max_versions":1e3,"delete_version_after":"-1s"}`},
		{0, "../a", `{}`},
		{1, "data/a//b", `{"data":{}}`},
		{5, "data/%2e%2e/x", `{"data":{}}`},
		{0, "a", `{}`},
	}
	for _, s := range seeds {
		f.Add(s.op, s.path, s.body)
	}
	f.Fuzz(func(t *testing.T, opn uint8, path, body string) {
		var data map[string]any
		dec := json.NewDecoder(strings.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&data) != nil {
			data = nil
		}
		op := allOps[int(opn)%len(allOps)]
		for _, version := range []string{"1", "2"} {
			fx := newKV(t, version)
			if version == "1" {
				fx.must(secrets.OpUpdate, "a", map[string]any{"seed": "v"})
			} else {
				fx.write("a", map[string]any{"seed": "v"})
			}
			req := &secrets.Request{Operation: op, Path: path, Data: data, Storage: fx.view}
			if _, _, err := fx.eng.(secrets.ExistenceChecker).Exists(t.Context(), req); err != nil {
				t.Fatalf("v%s Exists(%q): %v", version, path, err)
			}
			resp, err := fx.eng.HandleRequest(t.Context(), req)
			if err == nil && resp == nil {
				t.Fatalf("v%s %s %q: (nil, nil)", version, op, path)
			}
			var se *secrets.Error
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("v%s %s %q: untyped error %v", version, op, path, err)
			}
			if hasDotSegment(path) && !errors.Is(err, secrets.ErrInvalidRequest) {
				t.Fatalf("v%s %s %q: err = %v, want ErrInvalidRequest", version, op, path, err)
			}
			fx.assertContained()
			if err == nil {
				if _, jerr := json.Marshal(resp.Data); jerr != nil {
					t.Fatalf("v%s %s %q: response is not JSON: %v", version, op, path, jerr)
				}
			}
		}
	})
}

func hasDotSegment(p string) bool {
	for _, s := range strings.Split(p, "/") {
		if s == "." || s == ".." {
			return true
		}
	}
	return false
}

// FuzzMergePatch checks RFC 7386 properties of the merge patch: the patch
// is never modified or aliased, applying it twice changes nothing more,
// null members remove keys, and other members land as given (objects
// recursively).
func FuzzMergePatch(f *testing.F) {
	// RFC 7386 appendix A, plus a few more.
	for _, s := range [][2]string{
		{`{"a":"b"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`},
		{`{"a":["b"]}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`},
		{`{"a":"foo"}`, `null`},
		{`{"a":"foo"}`, `"bar"`},
		{`{"e":null}`, `{"a":1}`},
		{`[1,2]`, `{"a":"b","c":null}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, docJSON, patchJSON string) {
		var doc, patch any
		if json.Unmarshal([]byte(docJSON), &doc) != nil || json.Unmarshal([]byte(patchJSON), &patch) != nil {
			t.Skip()
		}
		patchBefore := mustMarshal(t, patch)
		result := kv.MergePatch(doc, patch)
		resultJSON := mustMarshal(t, result)
		if !bytes.Equal(mustMarshal(t, patch), patchBefore) {
			t.Fatalf("patch modified: %s -> %s", patchBefore, mustMarshal(t, patch))
		}

		var again any
		if err := json.Unmarshal(resultJSON, &again); err != nil {
			t.Fatal(err)
		}
		if twice := mustMarshal(t, kv.MergePatch(again, patch)); !bytes.Equal(twice, resultJSON) {
			t.Fatalf("not idempotent: once %s, twice %s", resultJSON, twice)
		}

		pm, isObj := patch.(map[string]any)
		if !isObj {
			if !reflect.DeepEqual(result, patch) {
				t.Fatalf("non-object patch %s: result %s", patchBefore, resultJSON)
			}
		} else {
			rm, ok := result.(map[string]any)
			if !ok {
				t.Fatalf("object patch gave %s", resultJSON)
			}
			for k, v := range pm {
				got, present := rm[k]
				switch v.(type) {
				case nil:
					if present {
						t.Fatalf("null member %q still present in %s", k, resultJSON)
					}
				case map[string]any:
					if _, ok := got.(map[string]any); !ok {
						t.Fatalf("object member %q is %v", k, got)
					}
				default:
					if !reflect.DeepEqual(got, v) {
						t.Fatalf("member %q = %v, want %v", k, got, v)
					}
				}
			}
		}

		// The result shares nothing with the patch: wrecking it leaves the
		// patch intact.
		wreck(result)
		if !bytes.Equal(mustMarshal(t, patch), patchBefore) {
			t.Fatalf("result aliases the patch")
		}
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wreck overwrites every map and slice reachable from v.
func wreck(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			wreck(e)
			x[k] = "wrecked"
		}
		x["wrecked"] = true
	case []any:
		for i, e := range x {
			wreck(e)
			x[i] = "wrecked"
		}
	}
}
