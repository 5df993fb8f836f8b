package pki

import (
	"encoding/json"
	"fmt"
	"github.com/vaultd/vaultd/endpoint"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

// fieldData is one request's parameters: the body (or query) and the
// segments the route captured. Values arrive weakly typed (json.Number,
// float64, bool, string, slices) and are converted as Vault's framework
// converts them. The first conversion error is kept and returned by
// handlers through d.err(); messages never echo values (a CSR or key
// is not secret, but a pem_bundle carries a private key).
type fieldData struct {
	ed  *endpoint.Data
	bad error
}

func (d *fieldData) fail(name, want string) {
	if d.bad == nil {
		d.bad = secrets.Errorf(secrets.ErrInvalidRequest, "error converting input for field %q: expected %s", name, want)
	}
}

// err is the first conversion error, if any.
func (d *fieldData) err() error { return d.bad }

// get returns the value the endpoint package converted to the field's
// declared type (captures included).
func (d *fieldData) get(name string) (any, bool) {
	return d.ed.GetOk(name)
}

// has reports whether the request set name.
func (d *fieldData) has(name string) bool {
	_, ok := d.get(name)
	return ok
}

func (d *fieldData) str(name, def string) string {
	v, ok := d.get(name)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	default:
		d.fail(name, "a string")
		return def
	}
}

func (d *fieldData) boolean(name string, def bool) bool {
	v, ok := d.get(name)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case bool:
		return x
	case string:
		if strings.TrimSpace(x) == "" {
			return def
		}
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			d.fail(name, "a boolean")
			return def
		}
		return b
	case json.Number, float64, int:
		n, ok := toInt(x)
		if !ok || (n != 0 && n != 1) {
			d.fail(name, "a boolean")
			return def
		}
		return n == 1
	default:
		d.fail(name, "a boolean")
		return def
	}
}

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
		i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		return i, err == nil
	default:
		return 0, false
	}
}

func (d *fieldData) integer(name string, def int) int {
	v, ok := d.get(name)
	if !ok {
		return def
	}
	if s, isStr := v.(string); isStr && strings.TrimSpace(s) == "" {
		return def
	}
	n, ok := toInt(v)
	if !ok || n > math.MaxInt32 || n < math.MinInt32 {
		d.fail(name, "an integer")
		return def
	}
	return int(n)
}

// duration is Vault's TypeDurationSecond: an integer number of seconds,
// or a Go duration string, with a "d" (day) suffix also accepted.
func (d *fieldData) duration(name string, def time.Duration) time.Duration {
	v, ok := d.get(name)
	if !ok {
		return def
	}
	if dur, ok := v.(time.Duration); ok {
		if dur < 0 {
			d.fail(name, "a duration")
			return def
		}
		return dur
	}
	if s, isStr := v.(string); isStr {
		s = strings.TrimSpace(s)
		if s == "" {
			return def
		}
		dur, err := parseDuration(s)
		if err != nil {
			d.fail(name, "a duration")
			return def
		}
		return dur
	}
	n, ok := toInt(v)
	if !ok || n < 0 || n > int64(math.MaxInt64/time.Second) {
		d.fail(name, "a duration")
		return def
	}
	return time.Duration(n) * time.Second
}

func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > int64(math.MaxInt64/time.Second) {
			return 0, fmt.Errorf("out of range")
		}
		return time.Duration(n) * time.Second, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > int64(math.MaxInt64/(24*time.Hour)) {
			return 0, fmt.Errorf("invalid duration")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	dur, err := time.ParseDuration(s)
	if err != nil || dur < 0 {
		return 0, fmt.Errorf("invalid duration")
	}
	return dur, nil
}

// list is Vault's TypeCommaStringSlice: a JSON array of strings or one
// comma-separated string. Empty items are dropped.
func (d *fieldData) list(name string, def []string) []string {
	v, ok := d.get(name)
	if !ok {
		return def
	}
	var out []string
	add := func(s string) {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	switch x := v.(type) {
	case string:
		add(x)
	case []string:
		for _, s := range x {
			add(s)
		}
	case []any:
		for _, e := range x {
			switch s := e.(type) {
			case string:
				add(s)
			case json.Number:
				add(s.String())
			default:
				d.fail(name, "a list of strings")
				return def
			}
		}
	case json.Number:
		add(x.String())
	default:
		d.fail(name, "a list of strings")
		return def
	}
	if out == nil {
		out = []string{}
	}
	return out
}
