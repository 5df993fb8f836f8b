package kv

// mergePatch applies an RFC 7386 JSON merge patch to target and returns the
// result. When patch is an object, each of its members is merged into
// target (an object, or a fresh one if target is not an object): a null
// member removes the key, any other member is merged recursively. When
// patch is not an object it replaces target. target may be modified in
// place; patch is never modified and never aliased by the result.
func mergePatch(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return cloneJSON(patch)
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = make(map[string]any, len(pm))
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = mergePatch(tm[k], v)
	}
	return tm
}

// cloneJSON deep-copies a decoded JSON value, so a merge result shares no
// maps or slices with the patch.
func cloneJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneJSON(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = cloneJSON(e)
		}
		return s
	default:
		return v
	}
}
