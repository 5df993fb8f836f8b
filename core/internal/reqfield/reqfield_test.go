package reqfield

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

func TestFields(t *testing.T) {
	d := map[string]any{
		"s": "x", "n": json.Number("7"), "f": 3.0, "b": "true", "bb": true, "l": "a, b,,c", "la": []any{"x", "y"},
		"m": map[string]any{"k": "v"}, "d": "1h", "ds": float64(90), "bad": []any{1}, "half": 1.5,
	}
	if v, err := String(d, "s"); v != "x" || err != nil {
		t.Errorf("String = %q, %v", v, err)
	}
	if v, err := String(d, "n"); v != "7" || err != nil {
		t.Errorf("String(number) = %q, %v", v, err)
	}
	if v, set, err := Int(d, "f"); v != 3 || !set || err != nil {
		t.Errorf("Int = %d %v %v", v, set, err)
	}
	if _, _, err := Int(d, "half"); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Errorf("Int(1.5) = %v, want 400", err)
	}
	for _, k := range []string{"b", "bb"} {
		if v, set, err := Bool(d, k); !v || !set || err != nil {
			t.Errorf("Bool(%s) = %v %v %v", k, v, set, err)
		}
	}
	if v, _, err := Strings(d, "l"); !slices.Equal(v, []string{"a", "b", "c"}) || err != nil {
		t.Errorf("Strings(comma) = %q, %v", v, err)
	}
	if v, _, err := Strings(d, "la"); !slices.Equal(v, []string{"x", "y"}) || err != nil {
		t.Errorf("Strings(list) = %q, %v", v, err)
	}
	if _, _, err := Strings(d, "bad"); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Errorf("Strings([1]) = %v, want 400", err)
	}
	if v, _, err := StringMap(d, "m"); v["k"] != "v" || err != nil {
		t.Errorf("StringMap = %v, %v", v, err)
	}
	if v, _, err := Duration(d, "d"); v != time.Hour || err != nil {
		t.Errorf("Duration(1h) = %v, %v", v, err)
	}
	if v, _, err := Duration(d, "ds"); v != 90*time.Second || err != nil {
		t.Errorf("Duration(90) = %v, %v", v, err)
	}
	if _, _, err := Duration(map[string]any{"x": "1000000h"}, "x"); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Errorf("Duration beyond MaxDuration = %v, want 400", err)
	}
	if _, set, err := Bool(d, "absent"); set || err != nil {
		t.Errorf("an absent field is set=%v err=%v", set, err)
	}
}
