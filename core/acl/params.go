package acl

import (
	"encoding/json"
	"math"
	"strings"
)

// paramsOK applies the rule's parameter constraints to request data, in
// Vault's order: required parameters must be present; a request without
// data is then allowed; a denied parameter (or value) denies; finally, if
// allowed_parameters is set, every parameter must be allowed (with one of
// the listed values, when values are listed) unless "*" allows the rest.
func (r *rule) paramsOK(data map[string]any) bool {
	for _, p := range r.required {
		if _, ok := data[strings.ToLower(p)]; !ok {
			return false
		}
	}
	if len(data) == 0 {
		return true
	}
	if len(r.denied) > 0 {
		if _, all := r.denied["*"]; all {
			return false
		}
		for k, v := range data {
			if vals, ok := r.denied[strings.ToLower(k)]; ok && deniedValue(v, vals) {
				return false
			}
		}
	}
	if len(r.allowed) == 0 {
		return true
	}
	_, allowAll := r.allowed["*"]
	if allowAll && len(r.allowed) == 1 {
		return true
	}
	for k, v := range data {
		vals, ok := r.allowed[strings.ToLower(k)]
		if !ok {
			if !allowAll {
				return false
			}
			continue
		}
		if !allowedValue(v, vals) {
			return false
		}
	}
	return true
}

// allowedValue reports whether request value v is allowed by list, as
// current Vault decides: an empty list allows anything; otherwise v must
// match an entry, or be a list (or a comma-separated string, since many
// fields accept one) whose every element matches an entry. Unlike Vault, an
// empty list or empty string is not vacuously allowed: it must match an
// entry itself.
func allowedValue(v any, list []any) bool {
	if len(list) == 0 || valueInList(v, list) {
		return true
	}
	switch x := v.(type) {
	case []any:
		for _, el := range x {
			if !valueInList(el, list) {
				return false
			}
		}
		return len(x) > 0
	case string:
		if !strings.Contains(x, ",") {
			return false
		}
		for rest := x; ; {
			el, tail, more := strings.Cut(rest, ",")
			if !valueInList(strings.TrimSpace(el), list) {
				return false
			}
			if !more {
				return true
			}
			rest = tail
		}
	}
	return false
}

// deniedValue reports whether request value v is denied by list: an empty
// list denies any value; otherwise v, any element of a list value, or any
// element of a comma-separated string matching an entry denies. Checking
// the elements closes the bypass of sending a denied value inside a list.
func deniedValue(v any, list []any) bool {
	if len(list) == 0 || valueInList(v, list) {
		return true
	}
	switch x := v.(type) {
	case []any:
		for _, el := range x {
			if valueInList(el, list) {
				return true
			}
		}
	case string:
		if !strings.Contains(x, ",") {
			return false
		}
		for rest := x; ; {
			el, tail, more := strings.Cut(rest, ",")
			if valueInList(strings.TrimSpace(el), list) {
				return true
			}
			if !more {
				return false
			}
			rest = tail
		}
	}
	return false
}

// valueInList reports whether v matches an entry of list. Strings match policy strings with Vault's globbing ("foo-*",
// "*-foo", "*foo*"); numbers compare by value whatever their Go type (JSON
// decoding gives float64 or json.Number, HCL gives int64 or float64); bools
// compare as bools. Anything else (nil, lists, objects) matches nothing.
func valueInList(v any, list []any) bool {
	for _, el := range list {
		switch want := el.(type) {
		case string:
			if s, ok := v.(string); ok && globMatch(want, s) {
				return true
			}
		case bool:
			if b, ok := v.(bool); ok && b == want {
				return true
			}
		case int64:
			if numEqual(v, float64(want), want, true) {
				return true
			}
		case float64:
			if numEqual(v, want, 0, false) {
				return true
			}
		}
	}
	return false
}

// globMatch is Vault's GlobbedStringsMatch: a leading and/or trailing "*"
// in pattern matches any suffix/prefix/substring; otherwise it is equality.
func globMatch(pattern, s string) bool {
	if len(pattern) < 2 {
		return pattern == s
	}
	pre, suf := pattern[0] == '*', pattern[len(pattern)-1] == '*'
	switch {
	case pre && suf:
		return strings.Contains(s, pattern[1:len(pattern)-1])
	case pre:
		return strings.HasSuffix(s, pattern[1:])
	case suf:
		return strings.HasPrefix(s, pattern[:len(pattern)-1])
	}
	return pattern == s
}

// numEqual compares a request value with a policy number. When the policy
// number is an integer (isInt), integer request values compare exactly.
func numEqual(v any, f float64, i int64, isInt bool) bool {
	switch x := v.(type) {
	case int:
		return isInt && int64(x) == i || !isInt && float64(x) == f
	case int64:
		return isInt && x == i || !isInt && float64(x) == f
	case int32:
		return isInt && int64(x) == i || !isInt && float64(x) == f
	case uint64:
		if isInt {
			return i >= 0 && x == uint64(i)
		}
		return float64(x) == f
	case float64:
		return !math.IsNaN(x) && x == f
	case float32:
		return float64(x) == f
	case json.Number:
		if isInt {
			if n, err := x.Int64(); err == nil {
				return n == i
			}
		}
		n, err := x.Float64()
		return err == nil && n == f
	}
	return false
}
