package endpoint

import (
	"sort"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

// Data is a request's fields, converted to their declared types. A Data
// is built per request and read by one handler; it is not safe for
// concurrent mutation but it is never mutated after NewData.
type Data struct {
	fields  map[string]*Field
	raw     map[string]any
	values  map[string]any // converted values of present, non-null fields
	nulls   map[string]bool
	unknown []string
}

// NewData converts raw with fields: every declared field present and not
// null is converted (an error is a FieldError), and a Required field that
// is absent or null is a 400. Keys of raw that fields does not declare are
// kept in Raw and reported by Unknown. raw is not modified.
func NewData(fields map[string]*Field, raw map[string]any) (*Data, error) {
	d := &Data{fields: fields, raw: raw}
	for name, v := range raw {
		f, ok := fields[name]
		if !ok || f == nil {
			d.unknown = append(d.unknown, name)
			continue
		}
		if v == nil {
			if d.nulls == nil {
				d.nulls = map[string]bool{}
			}
			d.nulls[name] = true
			continue
		}
		out, err := Convert(name, f.Type, v)
		if err != nil {
			return nil, err
		}
		if err := f.allowed(name, out); err != nil {
			return nil, err
		}
		if d.values == nil {
			d.values = make(map[string]any, len(raw))
		}
		d.values[name] = out
	}
	sort.Strings(d.unknown)
	for _, name := range sortedKeys(fields) {
		if f := fields[name]; f != nil && f.Required {
			if _, ok := d.values[name]; !ok {
				return nil, secrets.Errorf(secrets.ErrInvalidRequest, "missing required field %q", name)
			}
		}
	}
	return d, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// GetOk returns the field's converted value and true when the request
// carried it (not null); otherwise nil and false.
func (d *Data) GetOk(name string) (any, bool) {
	v, ok := d.values[name]
	return v, ok
}

// Get returns the field's converted value, else its converted default,
// else its type's zero value. An undeclared name returns nil.
func (d *Data) Get(name string) any {
	if v, ok := d.values[name]; ok {
		return v
	}
	f, ok := d.fields[name]
	if !ok || f == nil {
		return nil
	}
	if f.Default != nil {
		v, err := Convert(name, f.Type, f.Default)
		if err != nil {
			panic("endpoint: default of field " + name + " does not convert to " + f.Type.String())
		}
		return v
	}
	return f.Type.zero()
}

// Has reports whether the request carried the field with a non-null value.
func (d *Data) Has(name string) bool {
	_, ok := d.values[name]
	return ok
}

// IsNull reports whether the request carried the field as JSON null.
func (d *Data) IsNull(name string) bool { return d.nulls[name] }

// Raw is the request's data as decoded (with path captures), including
// undeclared keys. Handlers of paths that take arbitrary input read it;
// they must not modify it.
func (d *Data) Raw() map[string]any { return d.raw }

// Unknown lists, sorted, the request keys that are not declared fields.
func (d *Data) Unknown() []string { return d.unknown }

// String is Get for TypeString fields ("" for other types).
func (d *Data) String(name string) string { s, _ := d.Get(name).(string); return s }

// Int is Get for TypeInt fields.
func (d *Data) Int(name string) int { n, _ := d.Get(name).(int); return n }

// Int64 is Get for TypeInt64 fields.
func (d *Data) Int64(name string) int64 { n, _ := d.Get(name).(int64); return n }

// Float is Get for TypeFloat fields.
func (d *Data) Float(name string) float64 { f, _ := d.Get(name).(float64); return f }

// Bool is Get for TypeBool fields.
func (d *Data) Bool(name string) bool { b, _ := d.Get(name).(bool); return b }

// Duration is Get for TypeDurationSecond fields.
func (d *Data) Duration(name string) time.Duration {
	v, _ := d.Get(name).(time.Duration)
	return v
}

// Strings is Get for TypeCommaStringSlice and TypeStringSlice fields.
func (d *Data) Strings(name string) []string { s, _ := d.Get(name).([]string); return s }

// Ints is Get for TypeCommaIntSlice fields.
func (d *Data) Ints(name string) []int64 { s, _ := d.Get(name).([]int64); return s }

// Slice is Get for TypeSlice fields.
func (d *Data) Slice(name string) []any { s, _ := d.Get(name).([]any); return s }

// Map is Get for TypeMap fields.
func (d *Data) Map(name string) map[string]any { m, _ := d.Get(name).(map[string]any); return m }

// KVPairs is Get for TypeKVPairs fields.
func (d *Data) KVPairs(name string) map[string]string {
	m, _ := d.Get(name).(map[string]string)
	return m
}
