package endpoint

import (
	"fmt"
	"strings"
)

// segKind is what one pattern segment matches.
type segKind int

const (
	segLiteral  segKind = iota
	segOne              // {name}
	segOptional         // {name?}
	segRest             // {name*}
	segLeaf             // {name+}
)

type segment struct {
	kind segKind
	text string // the literal, or the capture's name
}

// compiled is a parsed pattern.
type compiled struct {
	segs []segment
}

// compilePattern parses a pattern; errors are programming errors.
func compilePattern(p string) (*compiled, error) {
	if p != "" && (strings.HasPrefix(p, "/") || strings.Contains(p, "//")) {
		return nil, fmt.Errorf("endpoint: pattern %q: empty segment", p)
	}
	c := &compiled{}
	if p == "" {
		return c, nil
	}
	parts := strings.Split(p, "/")
	seen := map[string]bool{}
	optional := false
	for i, part := range parts {
		seg := segment{kind: segLiteral, text: part}
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
			name := part[1 : len(part)-1]
			switch {
			case strings.HasSuffix(name, "*") || strings.HasSuffix(name, "+"):
				seg.kind = segRest
				if strings.HasSuffix(name, "+") {
					seg.kind = segLeaf
				}
				name = name[:len(name)-1]
				if i != len(parts)-1 {
					return nil, fmt.Errorf("endpoint: pattern %q: {%s} must be the last segment", p, part[1:len(part)-1])
				}
			case strings.HasSuffix(name, "?"):
				seg.kind, name = segOptional, strings.TrimSuffix(name, "?")
			default:
				seg.kind = segOne
			}
			if name == "" || strings.ContainsAny(name, "{}*?") {
				return nil, fmt.Errorf("endpoint: pattern %q: bad capture %q", p, part)
			}
			if seen[name] {
				return nil, fmt.Errorf("endpoint: pattern %q: capture %q twice", p, name)
			}
			seen[name] = true
			seg.text = name
		} else if strings.ContainsAny(part, "{}") {
			return nil, fmt.Errorf("endpoint: pattern %q: bad segment %q", p, part)
		} else if part == "" && i != len(parts)-1 {
			return nil, fmt.Errorf("endpoint: pattern %q: empty segment", p)
		}
		if optional && seg.kind != segOptional {
			return nil, fmt.Errorf("endpoint: pattern %q: only optional segments may follow an optional one", p)
		}
		optional = optional || seg.kind == segOptional
		c.segs = append(c.segs, seg)
	}
	return c, nil
}

// captures lists the names the pattern captures, in order.
func (c *compiled) captures() []string {
	var out []string
	for _, s := range c.segs {
		if s.kind != segLiteral {
			out = append(out, s.text)
		}
	}
	return out
}

// match reports whether path matches, and the captured values (captures
// of optional segments that matched nothing are absent).
func (c *compiled) match(path string) (map[string]string, bool) {
	if len(c.segs) == 0 {
		return nil, path == ""
	}
	var caps map[string]string
	set := func(k, v string) {
		if caps == nil {
			caps = make(map[string]string, len(c.segs))
		}
		caps[k] = v
	}
	rest, atEnd := path, false
	for _, seg := range c.segs {
		if seg.kind == segRest || seg.kind == segLeaf {
			if atEnd || seg.kind == segLeaf && (rest == "" || strings.HasSuffix(rest, "/")) {
				return nil, false
			}
			set(seg.text, rest)
			return caps, true
		}
		if atEnd {
			if seg.kind == segOptional {
				continue
			}
			return nil, false
		}
		part, r, more := strings.Cut(rest, "/")
		switch seg.kind {
		case segLiteral:
			if part != seg.text {
				return nil, false
			}
		case segOne:
			if part == "" {
				return nil, false
			}
			set(seg.text, part)
		case segOptional:
			if part == "" && more {
				return nil, false
			}
			if part != "" {
				set(seg.text, part)
			}
		}
		rest, atEnd = r, !more
	}
	return caps, atEnd
}

// endsInRest reports whether the pattern ends in {x*} or {x+}.
func (c *compiled) endsInRest() bool {
	if len(c.segs) == 0 {
		return false
	}
	k := c.segs[len(c.segs)-1].kind
	return k == segRest || k == segLeaf
}

// String renders the pattern back.
func (c *compiled) String() string {
	parts := make([]string, len(c.segs))
	for i, s := range c.segs {
		switch s.kind {
		case segLiteral:
			parts[i] = s.text
		case segOne:
			parts[i] = "{" + s.text + "}"
		case segOptional:
			parts[i] = "{" + s.text + "?}"
		case segRest:
			parts[i] = "{" + s.text + "*}"
		case segLeaf:
			parts[i] = "{" + s.text + "+}"
		}
	}
	return strings.Join(parts, "/")
}
