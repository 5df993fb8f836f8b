package kv

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Request fields arrive as decoded JSON (float64 or json.Number, bool,
// string, map[string]any, []any) for writes, and as strings for query
// parameters. These helpers accept both, as Vault's field types do (weak
// decoding). Their errors never echo the input value: it may be secret.

// fieldError is the 400 for a field that cannot be converted.
func fieldError(field, want string) error {
	return invalidf("error converting input for field %q: expected %s", field, want)
}

// toInt64 converts a weakly typed integer.
func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		return uintToInt64(uint64(n))
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return uintToInt64(n)
	case float32:
		return floatToInt64(float64(n))
	case float64:
		return floatToInt64(n)
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		f, err := n.Float64()
		if err != nil {
			return 0, false
		}
		return floatToInt64(f)
	case string:
		s := strings.TrimSpace(n)
		if s == "" {
			return 0, true
		}
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, true
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, false
		}
		return floatToInt64(f)
	default:
		return 0, false
	}
}

func uintToInt64(u uint64) (int64, bool) {
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

func floatToInt64(f float64) (int64, bool) {
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

// nullField reports whether the field is present with a JSON null: for a
// settable field that means "reset to the default" (in a patch, RFC 7386's
// "remove this member").
func nullField(data map[string]any, name string) bool {
	v, ok := data[name]
	return ok && v == nil
}

// intField reads an optional integer field.
func intField(data map[string]any, name string) (n int64, set bool, err error) {
	v, ok := data[name]
	if !ok || v == nil {
		return 0, false, nil
	}
	n, ok = toInt64(v)
	if !ok {
		return 0, false, fieldError(name, "an integer")
	}
	return n, true, nil
}

// boolField reads an optional boolean field.
func boolField(data map[string]any, name string) (b, set bool, err error) {
	v, ok := data[name]
	if !ok || v == nil {
		return false, false, nil
	}
	switch x := v.(type) {
	case bool:
		return x, true, nil
	case string:
		if strings.TrimSpace(x) == "" {
			return false, true, nil
		}
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			return false, false, fieldError(name, "a boolean")
		}
		return b, true, nil
	default:
		n, ok := toInt64(v)
		if !ok {
			return false, false, fieldError(name, "a boolean")
		}
		return n != 0, true, nil
	}
}

// durationField reads an optional duration given as seconds (a number or
// a numeric string) or as a Go duration string ("3h25m19s"; a "d" suffix
// counts days). Negative durations are returned as such.
func durationField(data map[string]any, name string) (d time.Duration, set bool, err error) {
	v, ok := data[name]
	if !ok || v == nil {
		return 0, false, nil
	}
	d, ok = parseDuration(v)
	if !ok {
		return 0, false, fieldError(name, "a duration")
	}
	return d, true, nil
}

// maxDurationSeconds keeps seconds*1e9 within an int64.
const maxDurationSeconds = math.MaxInt64 / int64(time.Second)

func parseDuration(v any) (time.Duration, bool) {
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, true
		}
		if days, ok := strings.CutSuffix(s, "d"); ok {
			n, err := strconv.ParseInt(days, 10, 64)
			if err != nil || n > maxDurationSeconds/86400 || n < -maxDurationSeconds/86400 {
				return 0, false
			}
			return time.Duration(n) * 24 * time.Hour, true
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return secondsToDuration(n)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, false
		}
		return d, true
	}
	n, ok := toInt64(v)
	if !ok {
		return 0, false
	}
	return secondsToDuration(n)
}

func secondsToDuration(n int64) (time.Duration, bool) {
	if n > maxDurationSeconds || n < -maxDurationSeconds {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// mapField reads an optional JSON object field.
func mapField(data map[string]any, name string) (m map[string]any, set bool, err error) {
	v, ok := data[name]
	if !ok || v == nil {
		return nil, false, nil
	}
	m, ok = v.(map[string]any)
	if !ok {
		return nil, false, fieldError(name, "a JSON object")
	}
	return m, true, nil
}

// versionsField reads the "versions" list of delete/undelete/destroy: a
// JSON array of integers, a comma-separated string ("1,2"), or a single
// integer. Non-positive entries are kept (they match no version).
func versionsField(data map[string]any) ([]int64, error) {
	v, ok := data["versions"]
	if !ok || v == nil {
		return nil, nil
	}
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case []int:
		for _, n := range x {
			items = append(items, n)
		}
	case []int64:
		for _, n := range x {
			items = append(items, n)
		}
	case []string:
		for _, s := range x {
			items = append(items, s)
		}
	case string:
		for _, s := range strings.Split(x, ",") {
			if strings.TrimSpace(s) != "" {
				items = append(items, s)
			}
		}
	default:
		items = []any{v}
	}
	out := make([]int64, 0, len(items))
	for _, it := range items {
		if s, ok := it.(string); ok && strings.TrimSpace(s) == "" {
			return nil, fieldError("versions", "a list of integers")
		}
		n, ok := toInt64(it)
		if !ok {
			return nil, fieldError("versions", "a list of integers")
		}
		out = append(out, n)
	}
	return out, nil
}

// stringify is mapstructure's weak decode of a scalar into a string, as
// Vault applies it to custom_metadata values.
func stringify(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case json.Number:
		return x.String(), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x), nil
	default:
		return "", fmt.Errorf("'' expected type 'string', got unconvertible type '%T'", v)
	}
}
