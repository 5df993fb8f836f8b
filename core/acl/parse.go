package acl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/hcl/ast"
	hclparser "github.com/hashicorp/hcl/hcl/parser"
	"github.com/hashicorp/hcl/hcl/token"
	jsonparser "github.com/hashicorp/hcl/json/parser"
)

// Sentinel errors. Every error from Parse wraps ErrInvalidPolicy; errors
// from New wrap ErrInvalidPolicy too (a hand-built Policy with a bad rule).
var (
	ErrInvalidPolicy = errors.New("invalid policy")
	ErrReservedName  = errors.New("reserved policy name")
)

// ParseError is a policy that could not be parsed. Line is 1-based; it is 0
// when the position is unknown (HCL's JSON parser records no positions, so
// JSON policies name the path instead).
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Unwrap makes errors.Is(err, ErrInvalidPolicy) hold for every ParseError.
func (e *ParseError) Unwrap() error { return ErrInvalidPolicy }

// Policy is a parsed ACL policy. Treat it as read-only once parsed: New
// copies what it needs, so later changes do not reach a compiled ACL, but
// they would make Paths disagree with Raw.
type Policy struct {
	// Name is the policy's name as given to Parse (the caller normalizes it;
	// Vault lower-cases and trims names).
	Name string
	// Raw is the policy text exactly as given.
	Raw string
	// Paths are the path stanzas in source order. The same path may appear
	// more than once; New merges them.
	Paths []PathRule
	// Templated is true when some path uses identity templating
	// ("{{identity.entity.id}}").
	Templated bool
}

// PathRule is one `path "..." { ... }` stanza.
type PathRule struct {
	// Path is the pattern with one leading "/" removed, as Vault does. A
	// trailing "*" (a prefix glob) is kept.
	Path string
	// Line is the stanza's line in Raw (0 for JSON policies).
	Line int
	// Capabilities are the capability names after mapping the legacy
	// `policy` value, sorted; ["deny"] when the rule denies. Informational:
	// New evaluates Caps.
	Capabilities []string
	// Caps is the capability set New compiles; Deny means deny.
	Caps Capability
	// Policy is the legacy `policy = "read|write|deny|sudo"` value, if any.
	Policy string
	// IsPrefix is true when Path ends in the glob "*".
	IsPrefix bool
	// HasSegmentWildcards is Vault's classification: true when a segment of
	// Path starts with "+". Only a segment that is exactly "+" matches any
	// segment; a "+" elsewhere is a literal character.
	HasSegmentWildcards bool
	// Templated is true when Path uses identity templating. Templated rules
	// never match until Policy.Render fills them in for a token's entity.
	Templated bool
	// AllowedParameters maps a lower-cased request parameter to the values
	// it may take (empty: any value; "*": any other parameter). Nil when
	// absent. Values are string, int64, float64 or bool.
	AllowedParameters map[string][]any
	// DeniedParameters maps a lower-cased parameter to the values it may not
	// take (empty: the parameter may not appear; "*": no parameters at all).
	DeniedParameters map[string][]any
	// RequiredParameters must all be present in the request data.
	RequiredParameters []string
	// MinWrappingTTL and MaxWrappingTTL bound the response-wrapping TTL a
	// client asks for; a non-zero bound makes wrapping mandatory.
	MinWrappingTTL time.Duration
	MaxWrappingTTL time.Duration
}

// maxNesting bounds bracket nesting before the input reaches the HCL parser,
// which recurses once per level: a deep enough input would otherwise exhaust
// the stack, which is fatal rather than a recoverable panic. Real policies
// nest 3 deep (4 with templating braces).
const maxNesting = 64

// Parse parses rules, Vault's HCL (or JSON) policy language, into a Policy.
// Every error is a *ParseError wrapping ErrInvalidPolicy, except a reserved
// name ("root", which only Root provides), which wraps ErrReservedName.
func Parse(name, rules string) (*Policy, error) {
	if strings.EqualFold(strings.TrimSpace(name), RootPolicyName) {
		return nil, fmt.Errorf("acl: policy %q: %w: the root policy is built in", name, ErrReservedName)
	}
	if line := nestingTooDeep(rules); line > 0 {
		return nil, &ParseError{Line: line, Msg: fmt.Sprintf("nesting deeper than %d levels", maxNesting)}
	}
	file, err := parseSyntax(rules)
	if err != nil {
		return nil, err
	}
	root, ok := file.Node.(*ast.ObjectList)
	if !ok {
		return nil, &ParseError{Msg: "policy does not contain a root object"}
	}
	p := &Policy{Name: name, Raw: rules}
	for _, item := range root.Items {
		key, err := itemKey(item)
		if err != nil {
			return nil, err
		}
		switch key {
		case "path":
			for _, it := range pathItems(item) {
				pr, err := parsePath(it)
				if err != nil {
					return nil, err
				}
				p.Templated = p.Templated || pr.Templated
				p.Paths = append(p.Paths, pr)
			}
		case "name":
			// Vault accepts and ignores a name inside the policy; the name
			// is the one it is stored under.
			if _, err := stringValue(itemValue(item), "name"); err != nil {
				return nil, &ParseError{Line: lineOf(item), Msg: err.Error()}
			}
		default:
			return nil, &ParseError{Line: lineOf(item), Msg: fmt.Sprintf("invalid key %q (expected \"path\")", key)}
		}
	}
	return p, nil
}

// nestingTooDeep returns the 1-based line where bracket nesting first
// exceeds maxNesting, or 0. It ignores string syntax on purpose: brackets
// inside strings only make the bound more conservative.
func nestingTooDeep(s string) int {
	depth, line := 0, 1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			line++
		case '{', '[':
			depth++
			if depth > maxNesting {
				return line
			}
		case '}', ']':
			if depth > 0 {
				depth--
			}
		}
	}
	return 0
}

// parseSyntax runs HCL's HCL or JSON parser, chosen the way hcl.Parse
// chooses (JSON when the first non-space character is "{"). The HCL parser
// is asked not to reject duplicate keys itself so that Parse can report
// them with a line number. A panic inside the third-party parser is turned
// into a ParseError: bad input must never crash the server.
func parseSyntax(rules string) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, &ParseError{Msg: "malformed policy"}
		}
	}()
	src := []byte(rules)
	if looksLikeJSON(src) {
		f, err = jsonparser.Parse(src)
	} else {
		f, err = hclparser.ParseDontErrorOnDuplicateKeys(src)
	}
	if err != nil {
		var pe *hclparser.PosError
		if errors.As(err, &pe) {
			return nil, &ParseError{Line: pe.Pos.Line, Msg: pe.Err.Error()}
		}
		return nil, &ParseError{Msg: err.Error()}
	}
	if f == nil || f.Node == nil {
		return nil, &ParseError{Msg: "policy does not contain a root object"}
	}
	return f, nil
}

func looksLikeJSON(src []byte) bool {
	for len(src) > 0 {
		r, w := utf8.DecodeRune(src)
		if !unicode.IsSpace(r) {
			return r == '{'
		}
		src = src[w:]
	}
	return false
}

// Keys that Vault or OpenBao accept in a path stanza but vaultd does not
// implement. Rejecting them is deliberate: silently ignoring a control group
// or an MFA requirement would grant more than the author meant.
var unsupportedKeys = map[string]bool{
	"mfa_methods":                         true,
	"control_group":                       true,
	"pagination_limit":                    true,
	"expiration":                          true,
	"list_scan_response_keys_filter_path": true,
	"subscribe_event_types":               true,
}

// pathItems expands `path = { "a" = {...}, "b" = {...} }` (HCL) and the
// JSON object form that HCL's JSON flattening leaves alone into one item
// per path, as if written `path "a" {...}`.
func pathItems(item *ast.ObjectItem) []*ast.ObjectItem {
	obj, ok := item.Val.(*ast.ObjectType)
	// Only the assignment form: a bare `path { ... }` is a missing path.
	if len(item.Keys) != 1 || !item.Assign.IsValid() || !ok || len(objectItems(obj)) == 0 {
		return []*ast.ObjectItem{item}
	}
	out := make([]*ast.ObjectItem, 0, len(obj.List.Items))
	for _, it := range obj.List.Items {
		keys := make([]*ast.ObjectKey, 0, 1+len(it.Keys))
		keys = append(append(keys, item.Keys[0]), it.Keys...)
		out = append(out, &ast.ObjectItem{Keys: keys, Val: it.Val})
	}
	return out
}

func parsePath(item *ast.ObjectItem) (PathRule, error) {
	line := lineOf(item)
	if len(item.Keys) < 2 {
		return PathRule{}, &ParseError{Line: line, Msg: `path stanza needs a path, as in path "secret/*" { ... }`}
	}
	raw, err := keyString(item.Keys[1])
	if err != nil {
		return PathRule{}, err
	}
	pr := PathRule{Line: line}
	ctx := fmt.Sprintf("path %q", raw)
	perr := func(l int, format string, args ...any) error {
		if l == 0 {
			l = line
		}
		return &ParseError{Line: l, Msg: ctx + ": " + fmt.Sprintf(format, args...)}
	}

	// Strip one leading "/", as Vault does: paths start after the API's "/v1/".
	info, msg := analyzePath(strings.TrimPrefix(raw, "/"))
	if msg != "" {
		return PathRule{}, perr(line, "%s", msg)
	}
	pr.Path, pr.IsPrefix, pr.HasSegmentWildcards, pr.Templated = info.path, info.isPrefix, info.hasWC, info.templated

	// `path "a" "b" {...}` (or JSON flattening) gives more than two keys:
	// treat the extra keys as nesting inside the stanza.
	var body ast.Node = item.Val
	if len(item.Keys) > 2 {
		body = nest(item.Keys[2:], item.Val)
	}
	obj, ok := body.(*ast.ObjectType)
	if !ok {
		return PathRule{}, perr(lineOf(body), "expected a block { ... }")
	}

	var caps Capability
	seen := map[string]bool{}
	for _, it := range objectItems(obj) {
		key, err := itemKey(it)
		if err != nil {
			return PathRule{}, err
		}
		kl := lineOf(it)
		if seen[key] {
			return PathRule{}, perr(kl, "duplicate key %q", key)
		}
		seen[key] = true
		val := itemValue(it)
		switch key {
		case "comment":
			// Free text; Vault ignores it too.
		case "capabilities":
			names, err := stringList(val, key)
			if err != nil {
				return PathRule{}, perr(kl, "%s", err)
			}
			for _, n := range names {
				c, ok := ParseCapability(n)
				if !ok {
					return PathRule{}, perr(kl, "invalid capability %q", n)
				}
				caps |= c
			}
		case "policy":
			s, err := stringValue(val, key)
			if err != nil {
				return PathRule{}, perr(kl, "%s", err)
			}
			c, ok := legacyPolicies[s]
			if !ok {
				return PathRule{}, perr(kl, "invalid policy %q (want deny, read, write or sudo)", s)
			}
			pr.Policy = s
			caps |= c
		case "allowed_parameters", "denied_parameters":
			m, err := parameterMap(val, key)
			if err != nil {
				return PathRule{}, perr(kl, "%s", err)
			}
			if key == "allowed_parameters" {
				pr.AllowedParameters = m
			} else {
				pr.DeniedParameters = m
			}
		case "required_parameters":
			names, err := stringList(val, key)
			if err != nil {
				return PathRule{}, perr(kl, "%s", err)
			}
			if len(names) > 0 {
				pr.RequiredParameters = names
			}
		case "min_wrapping_ttl", "max_wrapping_ttl":
			d, err := durationValue(val, key)
			if err != nil {
				return PathRule{}, perr(kl, "%s", err)
			}
			if key == "min_wrapping_ttl" {
				pr.MinWrappingTTL = d
			} else {
				pr.MaxWrappingTTL = d
			}
		default:
			if unsupportedKeys[key] {
				return PathRule{}, perr(kl, "%q is not supported by vaultd", key)
			}
			return PathRule{}, perr(kl, "invalid key %q", key)
		}
	}
	if pr.MinWrappingTTL != 0 && pr.MaxWrappingTTL != 0 && pr.MaxWrappingTTL < pr.MinWrappingTTL {
		return PathRule{}, perr(line, "max_wrapping_ttl cannot be less than min_wrapping_ttl")
	}
	pr.Caps = caps.normalize()
	pr.Capabilities = pr.Caps.Names()
	return pr, nil
}

// legacyPolicies maps Vault's pre-0.5 `policy` values to capabilities.
// "write" does not include patch, exactly as in Vault.
var legacyPolicies = map[string]Capability{
	"deny":  Deny,
	"read":  Read | List,
	"write": Create | Read | Update | Delete | List,
	"sudo":  Create | Read | Update | Delete | List | Sudo,
}

// pathInfo is what analyzePath derives from a policy path.
type pathInfo struct {
	path      string // trailing "*" kept
	isPrefix  bool
	hasWC     bool
	templated bool
}

// analyzePath validates a policy path (already without its leading "/")
// and classifies it the way Vault does. It returns a non-empty message when
// the path is invalid.
func analyzePath(p string) (pathInfo, string) {
	if p == "" {
		return pathInfo{}, "empty path"
	}
	if strings.Contains(p, "+*") {
		return pathInfo{}, "invalid use of wildcards ('+*' is forbidden)"
	}
	if i := strings.IndexByte(p, '*'); i >= 0 && i != len(p)-1 {
		return pathInfo{}, "the glob '*' is only allowed as the last character"
	}
	info := pathInfo{path: p, isPrefix: strings.HasSuffix(p, "*")}
	// Vault's test, kept verbatim in meaning: a "+" that starts a segment
	// makes this a segment-wildcard path; only a segment that is exactly
	// "+" matches any segment, any other "+" is literal.
	info.hasWC = p == "+" || strings.Contains(p, "/+") || strings.HasPrefix(p, "+/")
	if strings.Contains(p, "{{") || strings.Contains(p, "}}") {
		if msg := checkTemplate(p); msg != "" {
			return pathInfo{}, msg
		}
		info.templated = true
	}
	return info, ""
}

// checkTemplate validates identity templating in a path: every "{{" is
// closed, nothing nests, and each parameter is an identity.entity.* or
// identity.groups.* reference.
func checkTemplate(p string) string {
	for {
		open := strings.Index(p, "{{")
		closeAt := strings.Index(p, "}}")
		switch {
		case open < 0 && closeAt < 0:
			return ""
		case open < 0 || (closeAt >= 0 && closeAt < open):
			return "unbalanced '}}' in template"
		case closeAt < 0:
			return "unclosed '{{' in template"
		}
		param := strings.TrimSpace(p[open+2 : closeAt])
		if strings.Contains(param, "{{") {
			return "nested '{{' in template"
		}
		if !strings.HasPrefix(param, "identity.entity.") && !strings.HasPrefix(param, "identity.groups.") {
			return fmt.Sprintf("invalid template parameter %q (want identity.entity.* or identity.groups.*)", param)
		}
		p = p[closeAt+2:]
	}
}

// ---- AST helpers ----

// lineOf returns a node's 1-based line, or 0 if it has none (JSON).
func lineOf(n ast.Node) int {
	if n == nil {
		return 0
	}
	if it, ok := n.(*ast.ObjectItem); ok && len(it.Keys) == 0 {
		return lineOf(it.Val)
	}
	return n.Pos().Line
}

// nest turns keys k1..kn and a value v into { k1 k2 ... kn = v }.
func nest(keys []*ast.ObjectKey, v ast.Node) *ast.ObjectType {
	return &ast.ObjectType{List: &ast.ObjectList{Items: []*ast.ObjectItem{{Keys: keys, Val: v}}}}
}

// itemValue is an item's value with any keys after the first folded into
// nested objects, so `a "b" { ... }` reads as a = { b = { ... } }.
func itemValue(it *ast.ObjectItem) ast.Node {
	if len(it.Keys) > 1 {
		return nest(it.Keys[1:], it.Val)
	}
	return it.Val
}

func objectItems(o *ast.ObjectType) []*ast.ObjectItem {
	if o == nil || o.List == nil {
		return nil
	}
	return o.List.Items
}

func itemKey(it *ast.ObjectItem) (string, error) {
	if it == nil || len(it.Keys) == 0 {
		return "", &ParseError{Line: lineOf(it), Msg: "item without a key"}
	}
	return keyString(it.Keys[0])
}

func keyString(k *ast.ObjectKey) (string, error) {
	v, err := tokenValue(k.Token)
	if err != nil {
		return "", &ParseError{Line: k.Pos().Line, Msg: "invalid key: " + err.Error()}
	}
	s, ok := v.(string)
	if !ok {
		return "", &ParseError{Line: k.Pos().Line, Msg: fmt.Sprintf("invalid key %q", k.Token.Text)}
	}
	return s, nil
}

// tokenValue decodes a literal token. hcl's Token.Value panics on some
// malformed literals (an out-of-range number, a bad escape), so the call is
// guarded and the panic becomes an error.
func tokenValue(t token.Token) (v any, err error) {
	switch t.Type {
	case token.STRING, token.IDENT, token.HEREDOC, token.NUMBER, token.FLOAT, token.BOOL:
	default:
		return nil, fmt.Errorf("unexpected %s", t.Type)
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("malformed %s literal", strings.ToLower(t.Type.String()))
		}
	}()
	return t.Value(), nil
}

// literal returns the value of a literal node: string, int64, float64 or
// bool.
func literal(n ast.Node, what string) (any, error) {
	lit, ok := n.(*ast.LiteralType)
	if !ok {
		return nil, fmt.Errorf("%s: expected a literal value", what)
	}
	if lit.Token.Type == token.IDENT {
		return nil, fmt.Errorf("%s: expected a literal value, got %q", what, lit.Token.Text)
	}
	v, err := tokenValue(lit.Token)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

func stringValue(n ast.Node, what string) (string, error) {
	v, err := literal(n, what)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: expected a string", what)
	}
	return s, nil
}

func stringList(n ast.Node, what string) ([]string, error) {
	l, ok := n.(*ast.ListType)
	if !ok {
		return nil, fmt.Errorf("%s: expected a list of strings", what)
	}
	out := make([]string, 0, len(l.List))
	for _, el := range l.List {
		s, err := stringValue(el, what)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// parameterMap decodes allowed_parameters / denied_parameters:
// { "name" = [values...] }. Names are lower-cased, as Vault does.
func parameterMap(n ast.Node, what string) (map[string][]any, error) {
	o, ok := n.(*ast.ObjectType)
	if !ok {
		return nil, fmt.Errorf("%s: expected an object { name = [values] }", what)
	}
	m := make(map[string][]any)
	for _, it := range objectItems(o) {
		name, err := itemKey(it)
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%s: %s", what, pe.Msg)
			}
			return nil, err
		}
		name = strings.ToLower(name)
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("%s: duplicate parameter %q", what, name)
		}
		l, ok := itemValue(it).(*ast.ListType)
		if !ok {
			return nil, fmt.Errorf("%s: parameter %q: expected a list of values", what, name)
		}
		vals := make([]any, 0, len(l.List))
		for _, el := range l.List {
			v, err := literal(el, fmt.Sprintf("%s: parameter %q", what, name))
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
		}
		if name == "*" && len(vals) > 0 {
			return nil, fmt.Errorf("%s: the only value allowed for \"*\" is []", what)
		}
		m[name] = vals
	}
	return m, nil
}

// durationValue decodes a wrapping TTL the way Vault's ParseDurationSecond
// does: a number of seconds, a string of digits (seconds), or a duration
// string with an s, m, h (or d) suffix.
func durationValue(n ast.Node, what string) (time.Duration, error) {
	v, err := literal(n, what)
	if err != nil {
		return 0, err
	}
	const maxSeconds = int64(1<<63-1) / int64(time.Second)
	var d time.Duration
	switch x := v.(type) {
	case int64:
		if x < 0 || x > maxSeconds {
			return 0, fmt.Errorf("%s: %d seconds is out of range", what, x)
		}
		d = time.Duration(x) * time.Second
	case float64:
		if !(x >= 0 && x <= float64(maxSeconds)) {
			return 0, fmt.Errorf("%s: %v seconds is out of range", what, x)
		}
		d = time.Duration(x * float64(time.Second))
	case string:
		s := strings.TrimSpace(x)
		switch {
		case s == "":
			d = 0
		case isDigits(s):
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n > maxSeconds {
				return 0, fmt.Errorf("%s: %q is out of range", what, x)
			}
			d = time.Duration(n) * time.Second
		case strings.HasSuffix(s, "d") && isDigits(s[:len(s)-1]):
			n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
			if err != nil || n > maxSeconds/86400 {
				return 0, fmt.Errorf("%s: %q is out of range", what, x)
			}
			d = time.Duration(n) * 24 * time.Hour
		default:
			d, err = time.ParseDuration(s)
			if err != nil {
				return 0, fmt.Errorf("%s: invalid duration %q", what, x)
			}
		}
	default:
		return 0, fmt.Errorf("%s: expected a number of seconds or a duration string", what)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s: must not be negative", what)
	}
	return d, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
