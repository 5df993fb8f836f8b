// Package reqfield decodes request parameters for core's own endpoints and
// its subsystems (core/clusterops, …). Values arrive from JSON bodies
// (string, float64, bool, []any, map[string]any) or from query strings
// (string); each helper accepts both forms as Vault does, and answers a 400
// naming the field for anything else.
//
// It is internal to core; it goes once core's endpoints are declared
// through the endpoint package.
package reqfield

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

// String reads a string field ("" when absent).
func String(d map[string]any, k string) (string, error) {
	switch v := d[k].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	}
	return "", badRequest("field %q must be a string", k)
}

// Bool reads a boolean field; set is false when absent or "".
func Bool(d map[string]any, k string) (val, set bool, err error) {
	switch v := d[k].(type) {
	case nil:
		return false, false, nil
	case bool:
		return v, true, nil
	case string:
		if v == "" {
			return false, false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, false, badRequest("field %q must be a boolean", k)
		}
		return b, true, nil
	}
	return false, false, badRequest("field %q must be a boolean", k)
}

// Int reads an integer field within int32; set is false when absent or "".
func Int(d map[string]any, k string) (val int, set bool, err error) {
	switch v := d[k].(type) {
	case nil:
		return 0, false, nil
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > math.MaxInt32 {
			return 0, false, badRequest("field %q must be an integer", k)
		}
		return int(v), true, nil
	case json.Number:
		n, err := v.Int64()
		if err != nil || n > math.MaxInt32 || n < math.MinInt32 {
			return 0, false, badRequest("field %q must be an integer", k)
		}
		return int(n), true, nil
	case string:
		if v == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n > math.MaxInt32 || n < math.MinInt32 {
			return 0, false, badRequest("field %q must be an integer", k)
		}
		return n, true, nil
	}
	return 0, false, badRequest("field %q must be an integer", k)
}

// MaxDuration bounds TTL-like fields (100 years) so arithmetic cannot overflow.
const MaxDuration = 100 * 365 * 24 * time.Hour

// Duration reads a TTL-like field (seconds or a Go duration string),
// bounded by MaxDuration.
func Duration(d map[string]any, k string) (val time.Duration, set bool, err error) {
	v, ok := d[k]
	if !ok || v == nil || v == "" {
		return 0, false, nil
	}
	secs, err := TTLSeconds(v)
	if err != nil {
		return 0, false, badRequest("field %q: invalid duration", k)
	}
	if secs < 0 || secs > int64(MaxDuration/time.Second) {
		return 0, false, badRequest("field %q: duration out of range", k)
	}
	return time.Duration(secs) * time.Second, true, nil
}

// Strings accepts a JSON list of strings or a comma-separated string.
func Strings(d map[string]any, k string) (val []string, set bool, err error) {
	switch v := d[k].(type) {
	case nil:
		return nil, false, nil
	case string:
		if v == "" {
			return nil, true, nil
		}
		parts := strings.Split(v, ",")
		out := make([]string, 0, len(parts))
		for _, p := range parts {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out, true, nil
	case []string:
		return v, true, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false, badRequest("field %q must be a list of strings", k)
			}
			out = append(out, s)
		}
		return out, true, nil
	}
	return nil, false, badRequest("field %q must be a list of strings", k)
}

// StringMap accepts a JSON object of strings.
func StringMap(d map[string]any, k string) (val map[string]string, set bool, err error) {
	switch v := d[k].(type) {
	case nil:
		return nil, false, nil
	case map[string]string:
		return v, true, nil
	case map[string]any:
		out := make(map[string]string, len(v))
		for mk, mv := range v {
			s, ok := mv.(string)
			if !ok {
				return nil, false, badRequest("field %q must map strings to strings", k)
			}
			out[mk] = s
		}
		return out, true, nil
	}
	return nil, false, badRequest("field %q must map strings to strings", k)
}

// TTLSeconds parses Vault's TTL forms: "1h", "30m", "3600", 3600.
func TTLSeconds(v any) (int64, error) {
	switch t := v.(type) {
	case nil:
		return 0, nil
	case float64:
		return int64(t), nil
	case json.Number:
		return t.Int64()
	case string:
		if t == "" || t == "system" {
			return 0, nil
		}
		if d, err := time.ParseDuration(t); err == nil {
			return int64(d / time.Second), nil
		}
		var n int64
		if _, err := fmt.Sscan(t, &n); err == nil {
			return n, nil
		}
		return 0, badRequest("invalid duration %q", t)
	}
	return 0, badRequest("invalid duration %v", v)
}

func badRequest(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}
