package endpoint

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

// Type is a field's type: what its value is converted to before the
// handler runs, and how OpenAPI describes it.
type Type int

// The field types. The Go type each converts to is what Data.Get returns.
const (
	// TypeString is a string; numbers and booleans are formatted as
	// mapstructure's weak decoding does (true is "1").
	TypeString Type = iota + 1
	// TypeLowerCaseString is a TypeString, lower-cased.
	TypeLowerCaseString
	// TypeInt is an int within the int32 range (use counts, versions):
	// a number, or a string holding one; fractions are refused.
	TypeInt
	// TypeInt64 is an int64, converted as TypeInt.
	TypeInt64
	// TypeFloat is a float64.
	TypeFloat
	// TypeBool is a bool: true/false, strconv.ParseBool strings ("" is
	// false), or a number (non-zero is true).
	TypeBool
	// TypeDurationSecond is a time.Duration given as seconds (a number or
	// a numeric string) or as a duration string ("90m", "1h30m", "7d");
	// fractions of a second are truncated, as Vault keeps whole seconds.
	// Negative values are kept: the handler decides whether they mean
	// something.
	TypeDurationSecond
	// TypeCommaStringSlice is a []string given as a JSON array of strings
	// or a comma-separated string; items are trimmed and empty items
	// dropped, so "" clears a list. At most MaxListItems items.
	TypeCommaStringSlice
	// TypeStringSlice is a []string given as a JSON array of strings or
	// one string (one item, not split). At most MaxListItems items.
	TypeStringSlice
	// TypeCommaIntSlice is an []int64 given as a JSON array of integers,
	// a comma-separated string of them, or one integer.
	TypeCommaIntSlice
	// TypeMap is a JSON object, map[string]any.
	TypeMap
	// TypeKVPairs is a map[string]string given as a JSON object whose
	// values are scalars (weakly stringified), or as a list of "k=v".
	TypeKVPairs
	// TypeRaw is the value as decoded, unconverted.
	TypeRaw
	// TypeSlice is a JSON array, []any, of at most MaxListItems items
	// (transit's batch_input: convert each object item with NewData).
	TypeSlice
)

// MaxListItems bounds a list field (policies, CIDRs, versions).
const MaxListItems = 1024

var typeNames = map[Type]string{
	TypeString: "string", TypeLowerCaseString: "lowercase string",
	TypeInt: "int", TypeInt64: "int64", TypeFloat: "float", TypeBool: "bool",
	TypeDurationSecond: "duration", TypeCommaStringSlice: "comma string slice",
	TypeStringSlice: "string slice", TypeCommaIntSlice: "comma int slice",
	TypeMap: "map", TypeKVPairs: "kv pairs", TypeRaw: "raw", TypeSlice: "slice",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// expected is the noun of a conversion error ("expected a duration").
func (t Type) expected() string {
	switch t {
	case TypeString, TypeLowerCaseString:
		return "a string"
	case TypeInt, TypeInt64:
		return "an integer"
	case TypeFloat:
		return "a number"
	case TypeBool:
		return "a boolean"
	case TypeDurationSecond:
		return "a duration"
	case TypeCommaStringSlice:
		return "a list of strings or a comma-separated string"
	case TypeStringSlice:
		return "a list of strings"
	case TypeCommaIntSlice:
		return "a list of integers"
	case TypeMap:
		return "a JSON object"
	case TypeSlice:
		return "a JSON array"
	case TypeKVPairs:
		return "a map of strings or a list of key=value strings"
	default:
		return "a value"
	}
}

// scalar reports whether values of t are comparable scalars.
func (t Type) scalar() bool {
	switch t {
	case TypeString, TypeLowerCaseString, TypeInt, TypeInt64, TypeFloat, TypeBool, TypeDurationSecond:
		return true
	}
	return false
}

// zero is what Get returns for an absent field without a default.
func (t Type) zero() any {
	switch t {
	case TypeString, TypeLowerCaseString:
		return ""
	case TypeInt:
		return 0
	case TypeInt64:
		return int64(0)
	case TypeFloat:
		return float64(0)
	case TypeBool:
		return false
	case TypeDurationSecond:
		return time.Duration(0)
	case TypeCommaStringSlice, TypeStringSlice:
		return []string(nil)
	case TypeCommaIntSlice:
		return []int64(nil)
	case TypeMap:
		return map[string]any(nil)
	case TypeKVPairs:
		return map[string]string(nil)
	case TypeSlice:
		return []any(nil)
	default:
		return nil
	}
}

// Field declares one request field.
type Field struct {
	Type        Type
	Description string
	// Default is what Get returns when the request does not carry the
	// field. It is converted like a request value when the path is first
	// used; a default that does not convert is a programming error and
	// panics at that point (tests catch it).
	Default any
	// Required makes an absent or null field a 400.
	Required bool
	// Query marks a field read from the query string of a GET or DELETE
	// (KV's ?version=): OpenAPI lists it as a query parameter.
	Query bool
	// Deprecated marks the field as such in OpenAPI.
	Deprecated bool
	// AllowedValues, when set, are the only values accepted (compared
	// after conversion; scalar types only): anything else is a 400 that
	// lists them. OpenAPI shows them as an enum.
	AllowedValues []any
}

// allowed checks v against f.AllowedValues.
func (f *Field) allowed(name string, v any) error {
	if len(f.AllowedValues) == 0 {
		return nil
	}
	if !f.Type.scalar() {
		return fmt.Errorf("endpoint: field %q: allowed values need a scalar type, not %s", name, f.Type)
	}
	for _, a := range f.AllowedValues {
		if c, err := Convert(name, f.Type, a); err == nil && c == v {
			return nil
		}
	}
	return secrets.Errorf(secrets.ErrInvalidRequest, "invalid value for field %q: must be one of %v", name, f.AllowedValues)
}

// FieldError is the 400 for a value that does not convert to a field's
// type. It never carries the value.
func FieldError(name string, t Type) error {
	return secrets.Errorf(secrets.ErrInvalidRequest,
		"error converting input for field %q: expected %s", name, t.expected())
}

// Convert converts v to t with Vault's weak decoding; the error is a
// FieldError naming name. A nil v converts to t's zero value.
func Convert(name string, t Type, v any) (any, error) {
	if v == nil {
		return t.zero(), nil
	}
	out, ok := convert(t, v)
	if !ok {
		return nil, FieldError(name, t)
	}
	if l, isList := out.([]string); isList && len(l) > MaxListItems {
		return nil, secrets.Errorf(secrets.ErrInvalidRequest, "%q has more than %d items", name, MaxListItems)
	}
	if l, isList := out.([]any); isList && len(l) > MaxListItems {
		return nil, secrets.Errorf(secrets.ErrInvalidRequest, "%q has more than %d items", name, MaxListItems)
	}
	if l, isList := out.([]int64); isList && len(l) > MaxListItems {
		return nil, secrets.Errorf(secrets.ErrInvalidRequest, "%q has more than %d items", name, MaxListItems)
	}
	return out, nil
}

func convert(t Type, v any) (any, bool) {
	switch t {
	case TypeString:
		return Stringify(v)
	case TypeLowerCaseString:
		s, ok := Stringify(v)
		return strings.ToLower(s), ok
	case TypeInt:
		n, ok := toInt64(v)
		if !ok || n > math.MaxInt32 || n < math.MinInt32 {
			return nil, false
		}
		return int(n), true
	case TypeInt64:
		n, ok := toInt64(v)
		return n, ok
	case TypeFloat:
		return toFloat(v)
	case TypeBool:
		return toBool(v)
	case TypeDurationSecond:
		return parseDuration(v)
	case TypeCommaStringSlice:
		return toCommaStrings(v)
	case TypeStringSlice:
		return toStrings(v)
	case TypeCommaIntSlice:
		return toInts(v)
	case TypeMap:
		m, ok := v.(map[string]any)
		return m, ok
	case TypeKVPairs:
		return toKVPairs(v)
	case TypeRaw:
		return v, true
	case TypeSlice:
		return toSlice(v)
	default:
		return nil, false
	}
}

func toSlice(v any) (any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []map[string]any:
		out := make([]any, len(x))
		for i, m := range x {
			out[i] = m
		}
		return out, true
	default:
		return nil, false
	}
}

// Stringify is mapstructure's weak decoding of a scalar into a string
// (booleans become "1" and "0", numbers their shortest form); ok is false
// for anything else.
func Stringify(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case bool:
		if x {
			return "1", true
		}
		return "0", true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x), true
	default:
		return "", false
	}
}

// toInt64 converts a weakly typed integer: a whole number of any numeric
// type, or a string holding one ("" is 0).
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
		return stringToInt64(string(n))
	case string:
		s := strings.TrimSpace(n)
		if s == "" {
			return 0, true
		}
		return stringToInt64(s)
	default:
		return 0, false
	}
}

func stringToInt64(s string) (int64, bool) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return floatToInt64(f)
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

func toFloat(v any) (any, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return nil, false
		}
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return float64(0), true
		}
		var err error
		if f, err = strconv.ParseFloat(s, 64); err != nil {
			return nil, false
		}
	default:
		n, ok := toInt64(v)
		if !ok {
			return nil, false
		}
		f = float64(n)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, false
	}
	return f, true
}

func toBool(v any) (any, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return false, true
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, false
		}
		return b, true
	default:
		n, ok := toInt64(v)
		if !ok {
			return nil, false
		}
		return n != 0, true
	}
}

// maxDurationSeconds keeps seconds*1e9 within an int64.
const maxDurationSeconds = math.MaxInt64 / int64(time.Second)

// ParseDuration converts seconds (a number or numeric string) or a
// duration string ("1h30m", "7d") as TypeDurationSecond does.
func ParseDuration(v any) (time.Duration, bool) {
	d, ok := parseDuration(v)
	if !ok {
		return 0, false
	}
	return d.(time.Duration), true
}

func parseDuration(v any) (any, bool) {
	s, isString := v.(string)
	if !isString {
		n, ok := toInt64(v)
		if !ok {
			return nil, false
		}
		return secondsToDuration(n)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Duration(0), true
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return secondsToDuration(n)
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n > maxDurationSeconds/86400 || n < -maxDurationSeconds/86400 {
			return nil, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, false
	}
	return d.Truncate(time.Second), true
}

func secondsToDuration(n int64) (any, bool) {
	if n > maxDurationSeconds || n < -maxDurationSeconds {
		return nil, false
	}
	return time.Duration(n) * time.Second, true
}

// stringItems is a JSON array (or []string) of strings.
func stringItems(v any) ([]string, bool) {
	switch x := v.(type) {
	case []string:
		return x, true
	case []any:
		out := make([]string, 0, len(x))
		for _, it := range x {
			s, ok := it.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	default:
		return nil, false
	}
}

func toCommaStrings(v any) (any, bool) {
	raw, ok := stringItems(v)
	if s, isString := v.(string); isString {
		raw, ok = strings.Split(s, ","), true
	}
	if !ok {
		return nil, false
	}
	if len(raw) > MaxListItems {
		return raw, true // Convert reports the length
	}
	out := make([]string, 0, len(raw))
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, true
}

func toStrings(v any) (any, bool) {
	if s, isString := v.(string); isString {
		return []string{s}, true
	}
	out, ok := stringItems(v)
	if !ok {
		return nil, false
	}
	return append([]string{}, out...), true
}

func toInts(v any) (any, bool) {
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case []string:
		for _, s := range x {
			items = append(items, s)
		}
	case []int:
		for _, n := range x {
			items = append(items, n)
		}
	case []int64:
		for _, n := range x {
			items = append(items, n)
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
	if len(items) > MaxListItems {
		return make([]int64, len(items)), true // Convert reports the length
	}
	out := make([]int64, 0, len(items))
	for _, it := range items {
		if s, ok := it.(string); ok && strings.TrimSpace(s) == "" {
			return nil, false
		}
		n, ok := toInt64(it)
		if !ok {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

func toKVPairs(v any) (any, bool) {
	switch x := v.(type) {
	case map[string]string:
		return x, true
	case map[string]any:
		out := make(map[string]string, len(x))
		for k, mv := range x {
			s, ok := Stringify(mv)
			if !ok {
				return nil, false
			}
			out[k] = s
		}
		return out, true
	default:
		items, ok := stringItems(v)
		if !ok {
			return nil, false
		}
		out := make(map[string]string, len(items))
		for _, it := range items {
			k, val, found := strings.Cut(it, "=")
			if !found || k == "" {
				return nil, false
			}
			out[k] = val
		}
		return out, true
	}
}
