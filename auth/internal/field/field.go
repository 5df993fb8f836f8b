package field

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

// MaxListItems bounds a comma-string or list field (policies, CIDRs).
const MaxListItems = 1024

// invalidf is a 400.
func invalidf(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

// fieldError is the 400 for a field that cannot be converted.
func fieldError(field, want string) error {
	return invalidf("error converting input for field %q: expected %s", field, want)
}

// Present reports whether data carries a non-null value for name.
func Present(data map[string]any, name string) bool {
	v, ok := data[name]
	return ok && v != nil
}

// String reads an optional string field; numbers and booleans are
// converted as Vault's weak decoding does.
func String(data map[string]any, name string) (s string, set bool, err error) {
	v, ok := data[name]
	if !ok || v == nil {
		return "", false, nil
	}
	switch x := v.(type) {
	case string:
		return x, true, nil
	case json.Number:
		return x.String(), true, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true, nil
	case bool:
		return strconv.FormatBool(x), true, nil
	case int:
		return strconv.Itoa(x), true, nil
	case int64:
		return strconv.FormatInt(x, 10), true, nil
	default:
		return "", false, fieldError(name, "a string")
	}
}

// toInt64 converts a weakly typed integer.
func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
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

func floatToInt64(f float64) (int64, bool) {
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

// Int reads an optional integer field that must fit in an int32 (the use
// counts of Vault's API).
func Int(data map[string]any, name string) (n int, set bool, err error) {
	v, ok := data[name]
	if !ok || v == nil {
		return 0, false, nil
	}
	i, ok := toInt64(v)
	if !ok || i > math.MaxInt32 || i < math.MinInt32 {
		return 0, false, fieldError(name, "an integer")
	}
	return int(i), true, nil
}

// Bool reads an optional boolean field.
func Bool(data map[string]any, name string) (b, set bool, err error) {
	v, ok := data[name]
	if !ok || v == nil {
		return false, false, nil
	}
	switch x := v.(type) {
	case bool:
		return x, true, nil
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return false, true, nil
		}
		b, err := strconv.ParseBool(s)
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

// Duration reads an optional duration given as seconds (a number or a
// numeric string) or as a duration string ("90m", "1h30m"; a "d" suffix
// counts days), as Vault's TypeDurationSecond does. Negative values are
// returned as such: the caller decides whether they are allowed.
func Duration(data map[string]any, name string) (d time.Duration, set bool, err error) {
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

// parseDuration converts seconds or a duration string; fractions of a
// second are truncated, as Vault stores whole seconds.
func parseDuration(v any) (time.Duration, bool) {
	s, isString := v.(string)
	if !isString {
		n, ok := toInt64(v)
		if !ok {
			return 0, false
		}
		return secondsToDuration(n)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return secondsToDuration(n)
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n > maxDurationSeconds/86400 || n < -maxDurationSeconds/86400 {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, false
	}
	return d.Truncate(time.Second), true
}

func secondsToDuration(n int64) (time.Duration, bool) {
	if n > maxDurationSeconds || n < -maxDurationSeconds {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// StringList reads an optional list given as a JSON array of strings or
// as a comma-separated string (Vault's TypeCommaStringSlice). Items are
// trimmed and empty items dropped; set is true even when the list ends up
// empty, so a client can clear a list with "". More than MaxListItems
// items is an error.
func StringList(data map[string]any, name string) (list []string, set bool, err error) {
	v, ok := data[name]
	if !ok || v == nil {
		return nil, false, nil
	}
	var raw []string
	switch x := v.(type) {
	case string:
		raw = strings.Split(x, ",")
	case []string:
		raw = x
	case []any:
		raw = make([]string, 0, len(x))
		for _, it := range x {
			s, ok := it.(string)
			if !ok {
				return nil, false, fieldError(name, "a list of strings or a comma-separated string")
			}
			raw = append(raw, s)
		}
	default:
		return nil, false, fieldError(name, "a list of strings or a comma-separated string")
	}
	if len(raw) > MaxListItems {
		return nil, false, invalidf("%q has more than %d items", name, MaxListItems)
	}
	list = make([]string, 0, len(raw))
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	return list, true, nil
}

// Seconds is a duration as Vault shows it in a response: whole seconds.
func Seconds(d time.Duration) int64 { return int64(d / time.Second) }

// NonNil is s, or an empty list when s is nil, so that a response shows
// [] rather than null.
func NonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
