package acl

import (
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"time"
)

// Names of the built-in policies.
const (
	RootPolicyName             = "root"
	DefaultPolicyName          = "default"
	ResponseWrappingPolicyName = "response-wrapping"
)

// Operations accepted by Check and Allowed. They are the capability names
// of the same operations, and the values of secrets.Operation.
const (
	OpCreate = "create"
	OpRead   = "read"
	OpUpdate = "update"
	OpPatch  = "patch"
	OpDelete = "delete"
	OpList   = "list"
)

// ACL is a compiled, immutable set of policies. It is safe for concurrent
// use. The zero value and a nil *ACL deny everything.
type ACL struct {
	root         bool
	rootGranting []string // ["root"], for Result.GrantingPolicies
	// exact holds rules without wildcards, keyed by path.
	exact map[string]*rule
	// prefix holds plain prefix globs ("secret/*"), keyed by the prefix
	// without the "*"; nil when there are none.
	prefix *radixNode
	// wc holds segment-wildcard rules ("secret/+/x", "secret/+/x*"), sorted
	// from the highest priority to the lowest.
	wc []*rule
}

// rule is the merge of every PathRule with the same path.
type rule struct {
	pattern  string // PathRule.Path: no leading "/", trailing "*" kept
	caps     Capability
	minWrap  time.Duration
	maxWrap  time.Duration
	allowed  map[string][]any
	denied   map[string][]any
	required []string
	// granting lists, per capability bit, the policies granting it.
	granting [capBits][]string

	// Priority inputs for non-exact rules (Vault's documented order).
	firstWC   int    // byte offset of the first "+" or of the glob
	isPrefix  bool   // ends in "*"
	wildcards int    // number of "+" segments
	wcPath    string // pattern without the trailing "*"
	parts     []string
	// lit is the pattern up to its first "+": every path a wildcard rule
	// matches starts with it, so it is a cheap filter.
	lit string
}

const capBits = 8 // bits used by Capability

// Request is what Check decides on.
type Request struct {
	// Operation is one of the Op constants; anything else is denied.
	Operation string
	// Path is the full request path ("secret/data/app"); leading slashes
	// are ignored. For OpList the path may end in "/".
	Path string
	// Data is the request's parameters, checked against allowed_parameters,
	// denied_parameters and required_parameters for read, create, update and
	// patch. Keys are matched case-insensitively, as in Vault.
	Data map[string]any
	// WrapTTL is the response-wrapping TTL the client asked for; 0 means the
	// response is not wrapped.
	WrapTTL time.Duration
}

// Result is Check's decision.
type Result struct {
	// Allowed is true when the request may proceed.
	Allowed bool
	// Sudo is true when the deciding rule grants sudo. Root-protected paths
	// (sys/seal, sys/raw, ...) need Allowed and Sudo.
	Sudo bool
	// Root is true for the root ACL.
	Root bool
	// Capabilities is the deciding rule's capability set (0 when no rule
	// matched; Deny when it denies).
	Capabilities Capability
	// Rule is the deciding rule's path pattern, or "" when none matched.
	Rule string
	// GrantingPolicies names the policies granting the operation when
	// Allowed (for audit). Shared with the ACL: do not modify.
	GrantingPolicies []string
}

// Root returns the built-in root ACL: every operation on every path,
// including sudo. It is the only way to obtain a root ACL; a policy named
// "root" cannot be parsed.
func Root() *ACL { return &ACL{root: true, rootGranting: []string{RootPolicyName}} }

// New compiles policies into an ACL. Nil policies are skipped (Vault does
// the same for policies that no longer exist). Rules with the same path are
// merged: their capabilities are unioned, and a deny in any of them makes
// the merged rule deny. Templated rules are skipped: they never match
// without an identity entity. New fails, wrapping ErrInvalidPolicy, only
// for a hand-built Policy with an invalid path or capability bits.
func New(policies ...*Policy) (*ACL, error) {
	b := builder{
		exact:  make(map[string]*rule),
		prefix: make(map[string]*rule),
		wc:     make(map[string]*rule),
	}
	for _, p := range policies {
		if p == nil {
			continue
		}
		for i := range p.Paths {
			if err := b.add(p.Name, &p.Paths[i]); err != nil {
				return nil, err
			}
		}
	}
	return b.build(), nil
}

type builder struct {
	exact, prefix, wc map[string]*rule
}

func (b *builder) add(policy string, pr *PathRule) error {
	info, msg := analyzePath(pr.Path)
	if msg != "" {
		return fmt.Errorf("acl: policy %q: path %q: %s: %w", policy, pr.Path, msg, ErrInvalidPolicy)
	}
	if pr.Caps&^knownCaps != 0 {
		return fmt.Errorf("acl: policy %q: path %q: unknown capability bits %#x: %w", policy, pr.Path, uint32(pr.Caps&^knownCaps), ErrInvalidPolicy)
	}
	if info.templated {
		return nil
	}
	m, key := b.exact, info.path
	switch {
	case info.hasWC:
		m = b.wc
	case info.isPrefix:
		m, key = b.prefix, strings.TrimSuffix(info.path, "*")
	}
	if r, ok := m[key]; ok {
		r.merge(policy, pr)
		return nil
	}
	r := &rule{pattern: info.path}
	r.merge(policy, pr)
	m[key] = r
	return nil
}

// merge folds pr into r following Vault's NewACL: deny is sticky; otherwise
// capabilities union, the smaller non-zero wrapping bounds win, parameter
// lists union (an empty list, meaning "any value", wins), required
// parameters union.
func (r *rule) merge(policy string, pr *PathRule) {
	c := pr.Caps.normalize()
	if r.caps&Deny != 0 {
		return
	}
	if c&Deny != 0 {
		r.caps = Deny
		r.allowed, r.denied = nil, nil
		return
	}
	r.caps |= c
	for i := 0; i < capBits; i++ {
		if c&(1<<i) != 0 && !slices.Contains(r.granting[i], policy) {
			r.granting[i] = append(r.granting[i], policy)
		}
	}
	if d := pr.MaxWrappingTTL; d > 0 && (r.maxWrap == 0 || d < r.maxWrap) {
		r.maxWrap = d
	}
	if d := pr.MinWrappingTTL; d > 0 && (r.minWrap == 0 || d < r.minWrap) {
		r.minWrap = d
	}
	r.allowed = mergeParams(r.allowed, pr.AllowedParameters)
	r.denied = mergeParams(r.denied, pr.DeniedParameters)
	for _, p := range pr.RequiredParameters {
		if !slices.Contains(r.required, p) {
			r.required = append(r.required, p)
		}
	}
}

// mergeParams merges src into dst (copying; src belongs to the Policy).
func mergeParams(dst, src map[string][]any) map[string][]any {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string][]any, len(src))
	}
	for k, v := range src {
		k = strings.ToLower(k)
		old, ok := dst[k]
		if len(v) == 0 || (ok && len(old) == 0) {
			dst[k] = []any{}
			continue
		}
		merged := make([]any, 0, len(v)+len(old))
		dst[k] = append(append(merged, v...), old...)
	}
	return dst
}

func (b *builder) build() *ACL {
	a := &ACL{exact: b.exact}
	if len(b.prefix) > 0 {
		a.prefix = &radixNode{}
		for key, r := range b.prefix {
			r.firstWC, r.isPrefix, r.wcPath = len(key), true, key
			a.prefix.insert(key, r)
		}
	}
	for _, r := range b.wc {
		r.wcPath = r.pattern
		if strings.HasSuffix(r.pattern, "*") {
			r.isPrefix = true
			r.wcPath = r.pattern[:len(r.pattern)-1]
		}
		r.firstWC = strings.IndexByte(r.wcPath, '+')
		r.lit = r.wcPath[:r.firstWC]
		r.parts = strings.Split(r.wcPath, "/")
		for _, p := range r.parts {
			if p == "+" {
				r.wildcards++
			}
		}
		a.wc = append(a.wc, r)
	}
	sort.Slice(a.wc, func(i, j int) bool { return lowerPriority(a.wc[j], a.wc[i]) })
	return a
}

// lowerPriority reports whether non-exact rule p1 loses to p2, applying the
// documented criteria in order:
//  1. if the first wildcard (+) or glob (*) occurs earlier in P1, P1 is lower;
//  2. if P1 ends in * and P2 doesn't, P1 is lower;
//  3. if P1 has more + (wildcard) segments, P1 is lower;
//  4. if P1 is shorter, it is lower;
//  5. if P1 is smaller lexicographically, it is lower.
func lowerPriority(p1, p2 *rule) bool {
	if p1.firstWC != p2.firstWC {
		return p1.firstWC < p2.firstWC
	}
	if p1.isPrefix != p2.isPrefix {
		return p1.isPrefix
	}
	if p1.wildcards != p2.wildcards {
		return p1.wildcards > p2.wildcards
	}
	if len(p1.wcPath) != len(p2.wcPath) {
		return len(p1.wcPath) < len(p2.wcPath)
	}
	return p1.wcPath < p2.wcPath
}

// IsRoot reports whether a is the root ACL.
func (a *ACL) IsRoot() bool { return a != nil && a.root }

// Allowed reports whether op on path is allowed for a request without data
// or wrapping, and whether the deciding rule grants sudo. Use Check for
// requests that carry data: parameter constraints can deny them.
func (a *ACL) Allowed(op, path string) (allowed, sudo bool) {
	r := a.Check(Request{Operation: op, Path: path})
	return r.Allowed, r.Sudo
}

// Capabilities returns the capabilities on path, sorted, as Vault's
// sys/capabilities reports them: ["root"] for the root ACL and ["deny"]
// when nothing is granted. The lookup is the one a LIST does (a trailing
// "/" may fall back to the path without it), as in Vault.
func (a *ACL) Capabilities(path string) []string {
	if a == nil {
		return []string{"deny"}
	}
	if a.root {
		return []string{RootCapability}
	}
	r := a.lookup(trimLeadingSlashes(path), true)
	if r == nil || r.caps&Deny != 0 || r.caps == 0 {
		return []string{"deny"}
	}
	return r.caps.Names()
}

// Check decides a request. It does not allocate.
func (a *ACL) Check(req Request) Result {
	if a == nil {
		return Result{}
	}
	if a.root {
		return Result{
			Allowed: true, Sudo: true, Root: true,
			Capabilities:     knownCaps &^ Deny,
			GrantingPolicies: a.rootGranting,
		}
	}
	var need Capability
	switch req.Operation {
	case OpRead:
		need = Read
	case OpList:
		need = List
	case OpCreate:
		need = Create
	case OpUpdate:
		need = Update
	case OpPatch:
		need = Patch
	case OpDelete:
		need = Delete
	default:
		return Result{}
	}
	r := a.lookup(trimLeadingSlashes(req.Path), need == List)
	if r == nil {
		return Result{}
	}
	res := Result{Capabilities: r.caps, Rule: r.pattern, Sudo: r.caps&Sudo != 0 && r.caps&Deny == 0}
	if r.caps&Deny != 0 || r.caps&need == 0 {
		return res
	}
	if !r.wrapOK(req.WrapTTL) {
		return res
	}
	if need != List && need != Delete && !r.paramsOK(req.Data) {
		return res
	}
	res.Allowed = true
	res.GrantingPolicies = r.granting[bits.TrailingZeros32(uint32(need))]
	return res
}

// wrapOK applies min_wrapping_ttl and max_wrapping_ttl: a bound makes
// wrapping mandatory, and the requested TTL must lie within the bounds.
func (r *rule) wrapOK(ttl time.Duration) bool {
	if r.maxWrap > 0 && (ttl <= 0 || ttl > r.maxWrap) {
		return false
	}
	if r.minWrap > 0 && (ttl <= 0 || ttl < r.minWrap) {
		return false
	}
	// Merging can produce min > max even though each stanza was valid.
	return r.minWrap == 0 || r.maxWrap == 0 || r.minWrap <= r.maxWrap
}

// lookup finds the deciding rule for path, with Vault's order: an exact
// rule; for a list, the exact rule without the trailing "/"; for a list of
// "x/", the best non-exact rule for "x"; then the best non-exact rule.
func (a *ACL) lookup(path string, list bool) *rule {
	if r := a.exact[path]; r != nil {
		return r
	}
	if list {
		trimmed := strings.TrimSuffix(path, "/")
		if len(trimmed) != len(path) {
			if r := a.exact[trimmed]; r != nil {
				return r
			}
			if r := a.nonExact(trimmed); r != nil {
				return r
			}
		}
	}
	return a.nonExact(path)
}

// nonExact returns the highest-priority prefix or segment-wildcard rule
// matching path. Among plain prefixes only the longest can win (its glob is
// the latest), so the radix tree's longest match is the only candidate from
// there; the wildcard rules are sorted, so the first match is their best.
func (a *ACL) nonExact(path string) *rule {
	var best *rule
	if a.prefix != nil {
		best = a.prefix.longest(path)
	}
	for _, r := range a.wc {
		if best != nil && lowerPriority(r, best) {
			break // every later rule is lower still
		}
		if strings.HasPrefix(path, r.lit) && r.matchWC(path) {
			return r
		}
	}
	return best
}

// matchWC matches a segment-wildcard rule against path the way Vault does:
// a "+" part matches any one segment (even an empty one); other parts match
// literally, except that the last part of a prefix rule ("a/+/b*") only has
// to prefix its segment, and the rest of the path is then ignored.
func (r *rule) matchWC(path string) bool {
	rest := path
	last := len(r.parts) - 1
	for i, part := range r.parts {
		seg, more := rest, false
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			seg, rest, more = rest[:j], rest[j+1:], true
		}
		if i == last {
			if r.isPrefix {
				return part == "+" || strings.HasPrefix(seg, part)
			}
			return !more && (part == "+" || seg == part)
		}
		if !more || (part != "+" && seg != part) {
			return false
		}
	}
	return false
}

func trimLeadingSlashes(p string) string {
	for len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	return p
}

// radixNode is a compressed trie over the plain prefix rules, built once by
// New and read-only afterwards.
type radixNode struct {
	label    string       // edge label from the parent
	children []*radixNode // distinct first bytes, unsorted (few per node)
	val      *rule
}

func (n *radixNode) child(b byte) *radixNode {
	for _, c := range n.children {
		if c.label[0] == b {
			return c
		}
	}
	return nil
}

func (n *radixNode) insert(key string, v *rule) {
	for {
		if key == "" {
			n.val = v
			return
		}
		c := n.child(key[0])
		if c == nil {
			n.children = append(n.children, &radixNode{label: key, val: v})
			return
		}
		l := commonPrefixLen(key, c.label)
		if l < len(c.label) {
			// Split c's edge at l: n -> mid(label[:l]) -> c(label[l:]).
			mid := &radixNode{label: c.label[:l], children: []*radixNode{c}}
			c.label = c.label[l:]
			for i := range n.children {
				if n.children[i] == c {
					n.children[i] = mid
				}
			}
			c = mid
		}
		n, key = c, key[l:]
	}
}

// longest returns the rule of the longest inserted key that prefixes s.
func (n *radixNode) longest(s string) *rule {
	var best *rule
	for {
		if n.val != nil {
			best = n.val
		}
		if s == "" {
			return best
		}
		c := n.child(s[0])
		if c == nil || !strings.HasPrefix(s, c.label) {
			return best
		}
		n, s = c, s[len(c.label):]
	}
}

func commonPrefixLen(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
