package endpoint_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// bad marks an input that must not convert.
type badT struct{}

var bad = badT{}

// checkFieldErr fails unless err is a 400 that names field "f" and does
// not echo the input.
func checkFieldErr(t *testing.T, err error, in any) {
	t.Helper()
	if !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("err = %v, want kind ErrInvalidRequest", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, `error converting input for field "f": expected `) &&
		msg != fmt.Sprintf("%q has more than %d items", "f", endpoint.MaxListItems) {
		t.Fatalf("error %q is not one of the field errors (it may echo the input %v)", msg, in)
	}
}

type convCase struct {
	in   any
	want any // bad: must fail
}

func runConv(t *testing.T, typ endpoint.Type, cases []convCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%T(%v)", typ, c.in, c.in), func(t *testing.T) {
			got, err := endpoint.Convert("f", typ, c.in)
			if c.want == bad {
				if err == nil {
					t.Fatalf("Convert(%v) = %#v, want an error", c.in, got)
				}
				checkFieldErr(t, err, c.in)
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Convert(%#v) = %#v, %v; want %#v", c.in, got, err, c.want)
			}
		})
	}
}

func TestConvertString(t *testing.T) {
	runConv(t, endpoint.TypeString, []convCase{
		{nil, ""},
		{"abc", "abc"},
		{"", ""},
		{json.Number("12.5"), "12.5"},
		{float64(3), "3"},
		{1.5, "1.5"},
		{true, "1"}, // mapstructure's weak decoding
		{false, "0"},
		{7, "7"},
		{int64(-8), "-8"},
		{uint8(9), "9"},
		{[]any{"a"}, bad},
		{map[string]any{}, bad},
	})
	runConv(t, endpoint.TypeLowerCaseString, []convCase{
		{"AbC", "abc"},
		{12.0, "12"},
		{[]any{}, bad},
	})
}

func TestConvertInt(t *testing.T) {
	runConv(t, endpoint.TypeInt, []convCase{
		{nil, 0},
		{float64(3), 3},
		{json.Number("4"), 4},
		{json.Number("5.0"), 5},
		{"6", 6},
		{" 7 ", 7},
		{"8.0", 8},
		{"", 0},
		{int32(-9), -9},
		{uint64(10), 10},
		{int64(math.MaxInt32), math.MaxInt32},
		{float64(math.MinInt32), math.MinInt32},
		{float64(math.MaxInt32 + 1), bad},
		{2.5, bad},
		{"abc", bad},
		{json.Number("1e400"), bad},
		{1e30, bad},
		{true, bad},
		{[]any{1}, bad},
	})
	runConv(t, endpoint.TypeInt64, []convCase{
		{float64(math.MaxInt32 + 1), int64(math.MaxInt32 + 1)},
		{"9223372036854775807", int64(math.MaxInt64)},
		{json.Number("-3"), int64(-3)},
		{uint64(math.MaxUint64), bad},
		{"9223372036854775808", bad},
		{"1.5", bad},
		{map[string]any{}, bad},
	})
	runConv(t, endpoint.TypeFloat, []convCase{
		{1.5, 1.5},
		{"2.25", 2.25},
		{json.Number("3"), 3.0},
		{4, 4.0},
		{"", 0.0},
		{"NaN", bad},
		{"Inf", bad},
		{"x", bad},
		{true, bad},
	})
}

func TestConvertBool(t *testing.T) {
	runConv(t, endpoint.TypeBool, []convCase{
		{nil, false},
		{true, true},
		{false, false},
		{"true", true},
		{"True", true},
		{" 1 ", true},
		{"F", false},
		{"", false},
		{float64(1), true},
		{float64(0), false},
		{json.Number("2"), true},
		{"maybe", bad},
		{0.5, bad},
		{[]any{}, bad},
	})
}

func TestConvertDuration(t *testing.T) {
	runConv(t, endpoint.TypeDurationSecond, []convCase{
		{nil, time.Duration(0)},
		{float64(90), 90 * time.Second},
		{json.Number("60"), time.Minute},
		{"90", 90 * time.Second},
		{"", time.Duration(0)},
		{"1h30m", 90 * time.Minute},
		{"1.5h", 90 * time.Minute},
		{"1.9s", time.Second},
		{"7d", 7 * 24 * time.Hour},
		{"-1", -time.Second},
		{"-2d", -48 * time.Hour},
		{"1.5d", bad},
		{"abc", bad},
		{1e30, bad},
		{"9223372036854775807", bad},
		{"106752d", bad},
		{2.5, bad},
		{true, bad},
	})
}

func TestConvertCommaStringSlice(t *testing.T) {
	tooMany := strings.Repeat("a,", endpoint.MaxListItems) + "a"
	atLimit := strings.Repeat("a,", endpoint.MaxListItems-1) + "a"
	runConv(t, endpoint.TypeCommaStringSlice, []convCase{
		{nil, []string(nil)},
		{" a, B ,,c ", []string{"a", "B", "c"}},
		{"", []string{}},
		{[]any{"x", " y ", ""}, []string{"x", "y"}},
		{[]string{"p", "q"}, []string{"p", "q"}},
		{atLimit, slicesRepeat("a", endpoint.MaxListItems)},
		{tooMany, bad},
		{[]any{"a", 1.0}, bad},
		{5.0, bad},
		{map[string]any{"a": "b"}, bad},
	})
}

func TestConvertStringSlice(t *testing.T) {
	runConv(t, endpoint.TypeStringSlice, []convCase{
		{"a,b", []string{"a,b"}},
		{[]any{" x", "y"}, []string{" x", "y"}},
		{[]string{}, []string{}},
		{[]any{1.0}, bad},
		{true, bad},
		{make([]any, endpoint.MaxListItems+1), bad},
	})
}

func TestConvertCommaIntSlice(t *testing.T) {
	runConv(t, endpoint.TypeCommaIntSlice, []convCase{
		{[]any{1.0, json.Number("2"), "3"}, []int64{1, 2, 3}},
		{"1, 2,,3", []int64{1, 2, 3}},
		{4.0, []int64{4}},
		{[]int{5}, []int64{5}},
		{"-1", []int64{-1}},
		{"", []int64{}},
		{[]any{" "}, bad},
		{[]any{"x"}, bad},
		{[]any{1.5}, bad},
		{map[string]any{}, bad},
		{strings.Repeat("1,", endpoint.MaxListItems+1), bad},
	})
}

func TestConvertMapAndKVPairs(t *testing.T) {
	runConv(t, endpoint.TypeMap, []convCase{
		{map[string]any{"a": 1.0}, map[string]any{"a": 1.0}},
		{"{}", bad},
		{[]any{}, bad},
	})
	runConv(t, endpoint.TypeKVPairs, []convCase{
		{map[string]any{"a": "b", "n": 1.0, "t": true}, map[string]string{"a": "b", "n": "1", "t": "1"}},
		{map[string]string{"x": "y"}, map[string]string{"x": "y"}},
		{[]any{"a=b", "c=d=e", "e="}, map[string]string{"a": "b", "c": "d=e", "e": ""}},
		{[]any{"novalue"}, bad},
		{[]any{"=v"}, bad},
		{map[string]any{"a": []any{}}, bad},
		{"a=b", bad},
	})
	runConv(t, endpoint.TypeSlice, []convCase{
		{[]any{map[string]any{"a": "b"}, 1.0}, []any{map[string]any{"a": "b"}, 1.0}},
		{[]map[string]any{{"a": "b"}}, []any{map[string]any{"a": "b"}}},
		{"[]", bad},
		{map[string]any{}, bad},
		{make([]any, endpoint.MaxListItems+1), bad},
	})
	runConv(t, endpoint.TypeRaw, []convCase{
		{[]any{1.0, "x"}, []any{1.0, "x"}},
	})
}

func TestConvertUnknownType(t *testing.T) {
	if _, err := endpoint.Convert("f", endpoint.Type(999), "x"); err == nil {
		t.Fatal("Convert with an undeclared type succeeded")
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestNewData(t *testing.T) {
	fields := map[string]*endpoint.Field{
		"name":     {Type: endpoint.TypeString, Required: true},
		"ttl":      {Type: endpoint.TypeDurationSecond, Default: "1h"},
		"policies": {Type: endpoint.TypeCommaStringSlice},
		"count":    {Type: endpoint.TypeInt, Default: 3},
		"reset":    {Type: endpoint.TypeInt64},
		"on":       {Type: endpoint.TypeBool},
		"meta":     {Type: endpoint.TypeKVPairs},
		"m":        {Type: endpoint.TypeMap},
		"f":        {Type: endpoint.TypeFloat},
		"ids":      {Type: endpoint.TypeCommaIntSlice},
	}
	d, err := endpoint.NewData(fields, map[string]any{
		"name": "bob", "policies": "a,b", "reset": nil, "zzz": 1, "aaa": "x", "on": "true",
		"meta": map[string]any{"k": "v"}, "m": map[string]any{"x": 1.0}, "f": 0.5, "ids": "1,2",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.String("name"); got != "bob" {
		t.Errorf("String(name) = %q", got)
	}
	if got := d.Duration("ttl"); got != time.Hour {
		t.Errorf("Duration(ttl) = %v, want the default 1h", got)
	}
	if _, ok := d.GetOk("ttl"); ok {
		t.Error("GetOk(ttl) reports a default as set")
	}
	if got := d.Int("count"); got != 3 {
		t.Errorf("Int(count) = %d, want the default 3", got)
	}
	if got := d.Strings("policies"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("Strings(policies) = %q", got)
	}
	if !d.IsNull("reset") || d.Has("reset") || d.Int64("reset") != 0 {
		t.Errorf("reset: IsNull=%v Has=%v Int64=%d; want a null, absent field", d.IsNull("reset"), d.Has("reset"), d.Int64("reset"))
	}
	if !d.Bool("on") || d.KVPairs("meta")["k"] != "v" || d.Map("m")["x"] != 1.0 || d.Float("f") != 0.5 ||
		!reflect.DeepEqual(d.Ints("ids"), []int64{1, 2}) {
		t.Errorf("typed accessors: on=%v meta=%v m=%v f=%v ids=%v", d.Bool("on"), d.KVPairs("meta"), d.Map("m"), d.Float("f"), d.Ints("ids"))
	}
	if got := d.Unknown(); !reflect.DeepEqual(got, []string{"aaa", "zzz"}) {
		t.Errorf("Unknown() = %q, want sorted [aaa zzz]", got)
	}
	if d.Get("undeclared") != nil || d.String("count") != "" {
		t.Error("an undeclared name or a mistyped accessor did not return the zero value")
	}
	if d.Raw()["zzz"] != 1 {
		t.Error("Raw() lost an unknown key")
	}

	enum := map[string]*endpoint.Field{"kind": {Type: endpoint.TypeLowerCaseString, AllowedValues: []any{"aes", "rsa"}}}
	if d, err := endpoint.NewData(enum, map[string]any{"kind": "RSA"}); err != nil || d.String("kind") != "rsa" {
		t.Errorf("an allowed value: %v", err)
	}
	_, err = endpoint.NewData(enum, map[string]any{"kind": "des"})
	if !errors.Is(err, secrets.ErrInvalidRequest) || err.Error() != `invalid value for field "kind": must be one of [aes rsa]` {
		t.Errorf("a value not allowed: %v", err)
	}

	listEnum := map[string]*endpoint.Field{"l": {Type: endpoint.TypeStringSlice, AllowedValues: []any{"x"}}}
	if _, err := endpoint.NewData(listEnum, map[string]any{"l": "x"}); err == nil {
		t.Error("allowed values on a list type were accepted")
	}

	_, err = endpoint.NewData(fields, map[string]any{"policies": "a"})
	if !errors.Is(err, secrets.ErrInvalidRequest) || err.Error() != `missing required field "name"` {
		t.Errorf("missing required: err = %v", err)
	}
	_, err = endpoint.NewData(fields, map[string]any{"name": nil})
	if err == nil || err.Error() != `missing required field "name"` {
		t.Errorf("null required: err = %v", err)
	}
	_, err = endpoint.NewData(fields, map[string]any{"name": "x", "ttl": "soon"})
	if err == nil || err.Error() != `error converting input for field "ttl": expected a duration` {
		t.Errorf("bad ttl: err = %v", err)
	}
}
