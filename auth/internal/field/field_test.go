package field_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/auth/internal/field"
	"github.com/vaultd/vaultd/secrets"
)

// data is a request body with the one field "f" (absent when v is absent).
type absentT struct{}

var absent absentT

func data(v any) map[string]any {
	if v == absent {
		return map[string]any{"other": "x"}
	}
	return map[string]any{"f": v}
}

// checkErr fails unless err is a 400 that names "f" and does not echo the
// input.
func checkErr(t *testing.T, err error, in any) {
	t.Helper()
	if !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("err = %v, want kind ErrInvalidRequest", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, `error converting input for field "f": expected `) &&
		msg != fmt.Sprintf("%q has more than %d items", "f", field.MaxListItems) {
		t.Fatalf("error %q is not one of the field errors (it may echo the input %v)", msg, in)
	}
}

// runCase checks one reader on one input: want and set when ok, else a
// field error.
func runCase[T comparable](t *testing.T, name string, read func(map[string]any, string) (T, bool, error), in any, want T, wantSet, ok bool) {
	t.Helper()
	t.Run(fmt.Sprintf("%T(%v)", in, in), func(t *testing.T) {
		got, set, err := read(data(in), "f")
		if !ok {
			checkErr(t, err, in)
			return
		}
		if err != nil || got != want || set != wantSet {
			t.Fatalf("%s(%v) = %v, %v, %v; want %v, %v, nil", name, in, got, set, err, want, wantSet)
		}
	})
}

func TestString(t *testing.T) {
	tests := []struct {
		in      any
		want    string
		set, ok bool
	}{
		{absent, "", false, true},
		{nil, "", false, true},
		{"abc", "abc", true, true},
		{"", "", true, true},
		{json.Number("12.5"), "12.5", true, true},
		{float64(3), "3", true, true},
		{1.5, "1.5", true, true},
		{true, "true", true, true},
		{7, "7", true, true},
		{int64(-8), "-8", true, true},
		{[]any{"a"}, "", false, false},
		{map[string]any{}, "", false, false},
	}
	for _, tt := range tests {
		runCase(t, "String", field.String, tt.in, tt.want, tt.set, tt.ok)
	}
}

func TestInt(t *testing.T) {
	tests := []struct {
		in      any
		want    int
		set, ok bool
	}{
		{absent, 0, false, true},
		{nil, 0, false, true},
		{float64(3), 3, true, true},
		{json.Number("4"), 4, true, true},
		{json.Number("5.0"), 5, true, true},
		{"6", 6, true, true},
		{" 7 ", 7, true, true},
		{"8.0", 8, true, true},
		{"", 0, true, true},
		{int32(-9), -9, true, true},
		{int64(math.MaxInt32), math.MaxInt32, true, true},
		{float64(math.MinInt32), math.MinInt32, true, true},
		{float64(math.MaxInt32 + 1), 0, false, false},
		{2.5, 0, false, false},
		{"abc", 0, false, false},
		{json.Number("1e400"), 0, false, false},
		{1e30, 0, false, false},
		{true, 0, false, false},
		{[]any{1}, 0, false, false},
	}
	for _, tt := range tests {
		runCase(t, "Int", field.Int, tt.in, tt.want, tt.set, tt.ok)
	}
}

func TestBool(t *testing.T) {
	tests := []struct {
		in      any
		want    bool
		set, ok bool
	}{
		{absent, false, false, true},
		{nil, false, false, true},
		{true, true, true, true},
		{false, false, true, true},
		{"true", true, true, true},
		{" 1 ", true, true, true},
		{"F", false, true, true},
		{"", false, true, true},
		{float64(1), true, true, true},
		{float64(0), false, true, true},
		{json.Number("2"), true, true, true},
		{"maybe", false, false, false},
		{0.5, false, false, false},
		{[]any{}, false, false, false},
	}
	for _, tt := range tests {
		runCase(t, "Bool", field.Bool, tt.in, tt.want, tt.set, tt.ok)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in      any
		want    time.Duration
		set, ok bool
	}{
		{absent, 0, false, true},
		{nil, 0, false, true},
		{float64(90), 90 * time.Second, true, true},
		{json.Number("60"), time.Minute, true, true},
		{"90", 90 * time.Second, true, true},
		{"", 0, true, true},
		{"1h30m", 90 * time.Minute, true, true},
		{"1.5h", 90 * time.Minute, true, true},
		{"1.9s", time.Second, true, true},
		{"7d", 7 * 24 * time.Hour, true, true},
		{"-1", -time.Second, true, true},
		{"-2d", -48 * time.Hour, true, true},
		{"1.5d", 0, false, false},
		{"abc", 0, false, false},
		{1e30, 0, false, false},
		{"9223372036854775807", 0, false, false},
		{"106752d", 0, false, false},
		{2.5, 0, false, false},
		{true, 0, false, false},
	}
	for _, tt := range tests {
		runCase(t, "Duration", field.Duration, tt.in, tt.want, tt.set, tt.ok)
	}
}

func TestStringList(t *testing.T) {
	tooMany := strings.Repeat("a,", field.MaxListItems) + "a"
	atLimit := strings.Repeat("a,", field.MaxListItems-1) + "a"
	tests := []struct {
		name    string
		in      any
		want    []string
		set, ok bool
	}{
		{"absent", absent, nil, false, true},
		{"null", nil, nil, false, true},
		{"comma string", " a, B ,,c ", []string{"a", "B", "c"}, true, true},
		{"empty string clears", "", []string{}, true, true},
		{"json array", []any{"x", " y ", ""}, []string{"x", "y"}, true, true},
		{"string slice", []string{"p", "q"}, []string{"p", "q"}, true, true},
		{"at the limit", atLimit, slicesRepeat("a", field.MaxListItems), true, true},
		{"over the limit", tooMany, nil, false, false},
		{"array of numbers", []any{"a", 1.0}, nil, false, false},
		{"number", 5.0, nil, false, false},
		{"object", map[string]any{"a": "b"}, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, set, err := field.StringList(data(tt.in), "f")
			if !tt.ok {
				checkErr(t, err, tt.in)
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) || set != tt.set {
				t.Fatalf("StringList(%v) = %q, %v, %v; want %q, %v, nil", tt.name, got, set, err, tt.want, tt.set)
			}
		})
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestPresent(t *testing.T) {
	d := map[string]any{"a": "", "b": nil, "c": false}
	for name, want := range map[string]bool{"a": true, "b": false, "c": true, "d": false} {
		if got := field.Present(d, name); got != want {
			t.Errorf("Present(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSecondsAndNonNil(t *testing.T) {
	if got := field.Seconds(90*time.Second + 999*time.Millisecond); got != 90 {
		t.Errorf("Seconds(90.999s) = %d, want 90", got)
	}
	if got := field.NonNil(nil); got == nil || len(got) != 0 {
		t.Errorf("NonNil(nil) = %#v, want []string{}", got)
	}
	in := []string{"a"}
	if got := field.NonNil(in); !reflect.DeepEqual(got, in) {
		t.Errorf("NonNil(%q) = %q", in, got)
	}
	b, err := json.Marshal(field.NonNil(nil))
	if err != nil || string(b) != "[]" {
		t.Errorf("NonNil(nil) marshals as %s, %v; want []", b, err)
	}
}

// FuzzFields runs every reader over arbitrary JSON values and strings
// (the two ways a field arrives): no panic; either a value or a 400 that
// never echoes the input.
func FuzzFields(f *testing.F) {
	for _, s := range []string{`"1h"`, `"7d"`, `3.5`, `1e400`, `"a, b,,c"`, `["x",1]`, `true`, `null`, `"-9223372036854775808"`, `{"a":1}`, `"truE"`} {
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
		if json.Unmarshal([]byte(body), &v) == nil {
			inputs = append(inputs, v)
		}
		for _, in := range inputs {
			d := map[string]any{"f": in}
			if _, _, err := field.String(d, "f"); err != nil {
				checkErr(t, err, in)
			}
			if n, set, err := field.Int(d, "f"); err != nil {
				checkErr(t, err, in)
			} else if set && (n > math.MaxInt32 || n < math.MinInt32) {
				t.Fatalf("Int(%v) = %d, outside int32", in, n)
			}
			if _, _, err := field.Bool(d, "f"); err != nil {
				checkErr(t, err, in)
			}
			if dur, set, err := field.Duration(d, "f"); err != nil {
				checkErr(t, err, in)
			} else if set && dur%time.Second != 0 {
				t.Fatalf("Duration(%v) = %v, not whole seconds", in, dur)
			}
			if list, _, err := field.StringList(d, "f"); err != nil {
				checkErr(t, err, in)
			} else {
				for _, s := range list {
					if s == "" || s != strings.TrimSpace(s) {
						t.Fatalf("StringList(%v) has item %q", in, s)
					}
				}
			}
		}
	})
}
