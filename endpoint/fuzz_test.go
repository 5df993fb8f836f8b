package endpoint_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage/inmem"
)

var allTypes = []endpoint.Type{
	endpoint.TypeString, endpoint.TypeLowerCaseString, endpoint.TypeInt, endpoint.TypeInt64,
	endpoint.TypeFloat, endpoint.TypeBool, endpoint.TypeDurationSecond, endpoint.TypeCommaStringSlice,
	endpoint.TypeStringSlice, endpoint.TypeCommaIntSlice, endpoint.TypeMap, endpoint.TypeKVPairs, endpoint.TypeRaw, endpoint.TypeSlice,
}

// FuzzConvert runs every type over arbitrary JSON values and strings (the
// two ways a field arrives): no panic; either a value of the type's Go
// type within its bounds, or a 400 that never echoes the input.
func FuzzConvert(f *testing.F) {
	for _, s := range []string{`"1h"`, `"7d"`, `3.5`, `1e400`, `"a, b,,c"`, `["x",1]`, `true`, `null`, `"-9223372036854775808"`, `{"a":1}`, `"truE"`, `["a=b"]`, `"1,2,3"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		inputs := []any{body}
		dec := json.NewDecoder(strings.NewReader(body))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			inputs = append(inputs, v)
		}
		var v2 any
		if json.Unmarshal([]byte(body), &v2) == nil {
			inputs = append(inputs, v2)
		}
		for _, in := range inputs {
			for _, typ := range allTypes {
				out, err := endpoint.Convert("f", typ, in)
				if err != nil {
					checkFieldErr(t, err, in)
					continue
				}
				switch x := out.(type) {
				case int:
					if typ != endpoint.TypeInt || x > math.MaxInt32 || x < math.MinInt32 {
						t.Fatalf("%s(%v) = int %d", typ, in, x)
					}
				case time.Duration:
					if x%time.Second != 0 {
						t.Fatalf("%s(%v) = %v, not whole seconds", typ, in, x)
					}
				case []string:
					if typ == endpoint.TypeCommaStringSlice {
						for _, s := range x {
							if s == "" || s != strings.TrimSpace(s) {
								t.Fatalf("%s(%v) has item %q", typ, in, s)
							}
						}
					}
					if len(x) > endpoint.MaxListItems {
						t.Fatalf("%s(%v) has %d items", typ, in, len(x))
					}
				case float64:
					if math.IsNaN(x) || math.IsInf(x, 0) {
						t.Fatalf("%s(%v) = %v", typ, in, x)
					}
				}
			}
		}
	})
}

// FuzzMatch routes arbitrary paths and operations through a backend with
// every kind of pattern: no panic, no hang; a match's captures never
// contain a slash except a rest capture, a leaf capture is never empty nor a folder,, and every error is one of the
// routing kinds.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"", "/", "users/bob", "users//x", "hash/a/b", "data/", "data/a/b/", "metadata/x", "login/a/b", "typed/1e3", "config/", "leaf/a/", "leaf/a/b"} {
		f.Add(s, uint8(0))
	}
	ops := []secrets.Operation{secrets.OpRead, secrets.OpCreate, secrets.OpUpdate, secrets.OpPatch, secrets.OpDelete, secrets.OpList}
	b := testBackend()
	f.Fuzz(func(t *testing.T, path string, op uint8) {
		o := ops[int(op)%len(ops)]
		p, caps, ok := b.Match(o, path)
		if ok {
			for k, v := range caps {
				if strings.Contains(v, "/") && !strings.Contains(p.Pattern, "{"+k+"*}") && !strings.Contains(p.Pattern, "{"+k+"+}") {
					t.Fatalf("Match(%s, %q) via %q captured %s=%q", o, path, p.Pattern, k, v)
				}
				if v == "" && strings.Contains(p.Pattern, "{"+k+"}") {
					t.Fatalf("Match(%s, %q) via %q captured an empty %s", o, path, p.Pattern, k)
				}
				if (v == "" || strings.HasSuffix(v, "/")) && strings.Contains(p.Pattern, "{"+k+"+}") {
					t.Fatalf("Match(%s, %q) via %q captured a non-leaf %s=%q", o, path, p.Pattern, k, v)
				}
			}
		}
		_, err := b.HandleRequest(context.Background(), &secrets.Request{Operation: o, Path: path, Data: map[string]any{"ttl": path}, Storage: inmem.New()})
		if err != nil && !errors.Is(err, secrets.ErrUnsupportedPath) && !errors.Is(err, secrets.ErrUnsupportedOperation) && !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Fatalf("HandleRequest(%s, %q): unexpected error %v", o, path, err)
		}
		if ok != (err == nil || !errors.Is(err, secrets.ErrUnsupportedPath)) {
			t.Fatalf("Match and HandleRequest disagree on %s %q: %v / %v", o, path, ok, err)
		}
	})
}
