package acl

import "strings"

// Resolver answers an identity template parameter ("identity.entity.id",
// "identity.groups.names.ops.id" ...) for one token's entity; ok is false
// when the parameter has no value for it.
type Resolver func(param string) (value string, ok bool)

// Render returns p with its identity-templated paths filled in by resolve,
// as Vault renders a policy for a token's entity. A path with a parameter
// that resolve cannot answer stays templated, so New skips it: it matches
// nothing. So does a path whose value would change its meaning: a value
// holding a glob "*", a "+", or template braces, or a result that is not
// a valid policy path. Policies without templates are returned as they
// are; p itself is never modified.
func (p *Policy) Render(resolve Resolver) *Policy {
	if p == nil || !p.Templated || resolve == nil {
		return p
	}
	out := *p
	out.Paths = make([]PathRule, len(p.Paths))
	copy(out.Paths, p.Paths)
	for i := range out.Paths {
		r := &out.Paths[i]
		if !r.Templated {
			continue
		}
		rendered, ok := renderPath(r.Path, resolve)
		if !ok {
			continue
		}
		info, msg := analyzePath(rendered)
		if msg != "" || info.templated {
			continue
		}
		r.Path, r.IsPrefix, r.HasSegmentWildcards, r.Templated = info.path, info.isPrefix, info.hasWC, false
	}
	return &out
}

// renderPath substitutes every {{param}} of path.
func renderPath(path string, resolve Resolver) (string, bool) {
	var b strings.Builder
	rest := path
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			b.WriteString(rest)
			return b.String(), true
		}
		closeAt := strings.Index(rest[open:], "}}")
		if closeAt < 0 {
			return "", false
		}
		closeAt += open
		v, ok := resolve(strings.TrimSpace(rest[open+2 : closeAt]))
		if !ok || v == "" || strings.ContainsAny(v, "*+{}") {
			return "", false
		}
		b.WriteString(rest[:open])
		b.WriteString(v)
		rest = rest[closeAt+2:]
	}
}
