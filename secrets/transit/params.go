package transit

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// Request fields arrive as decoded JSON (json.Number or float64, bool,
// string, map, slice) for writes and as strings for query parameters.
// These helpers accept both (Vault's weak decoding). Their errors never
// echo the value: it may be secret.

func fieldError(field, want string) error {
	return invalidf("error converting input for field %q: expected %s", field, want)
}

// stringField reads an optional string field.
func stringField(data map[string]any, name string) (string, bool, error) {
	v, ok := data[name]
	if !ok || v == nil {
		return "", false, nil
	}
	switch x := v.(type) {
	case string:
		return x, true, nil
	case json.Number:
		return x.String(), true, nil
	case bool:
		return strconv.FormatBool(x), true, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true, nil
	default:
		return "", false, fieldError(name, "a string")
	}
}

// toInt converts a weakly typed integer.
func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if n != math.Trunc(n) || n < math.MinInt64 || n >= math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case string:
		s := strings.TrimSpace(n)
		if s == "" {
			return 0, true
		}
		i, err := strconv.ParseInt(s, 10, 64)
		return i, err == nil
	default:
		return 0, false
	}
}

// intField reads an optional integer field.
func intField(data map[string]any, name string) (int64, bool, error) {
	v, ok := data[name]
	if !ok || v == nil {
		return 0, false, nil
	}
	n, ok := toInt(v)
	if !ok {
		return 0, false, fieldError(name, "an integer")
	}
	return n, true, nil
}

// versionField reads an optional key version that must fit an int.
func versionField(data map[string]any, name string) (int, bool, error) {
	n, set, err := intField(data, name)
	if err != nil {
		return 0, false, err
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, false, fieldError(name, "an integer")
	}
	return int(n), set, nil
}

// boolField reads an optional boolean field.
func boolField(data map[string]any, name string) (bool, bool, error) {
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
		n, ok := toInt(v)
		if !ok {
			return false, false, fieldError(name, "a boolean")
		}
		return n != 0, true, nil
	}
}

// durationField reads an optional duration: seconds (number or numeric
// string) or a Go duration string, with a "d" suffix for days.
func durationField(data map[string]any, name string) (time.Duration, bool, error) {
	v, ok := data[name]
	if !ok || v == nil {
		return 0, false, nil
	}
	const maxSeconds = math.MaxInt64 / int64(time.Second)
	if s, isStr := v.(string); isStr {
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, true, nil
		}
		if days, ok := strings.CutSuffix(s, "d"); ok {
			n, err := strconv.ParseInt(days, 10, 64)
			if err != nil || n < 0 || n > maxSeconds/86400 {
				return 0, false, fieldError(name, "a duration")
			}
			return time.Duration(n) * 24 * time.Hour, true, nil
		}
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			d, err := time.ParseDuration(s)
			if err != nil {
				return 0, false, fieldError(name, "a duration")
			}
			return d, true, nil
		}
	}
	n, ok := toInt(v)
	if !ok || n > maxSeconds || n < -maxSeconds {
		return 0, false, fieldError(name, "a duration")
	}
	return time.Duration(n) * time.Second, true, nil
}

// b64Field reads an optional base64 (standard encoding) field. msg is
// Vault's error for a value that does not decode.
func b64Field(data map[string]any, name, msg string) ([]byte, bool, error) {
	s, set, err := stringField(data, name)
	if err != nil || !set {
		return nil, set, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, false, invalidf("%s", msg)
	}
	return b, true, nil
}
