package acl_test

import (
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vaultd/vaultd/core/acl"
)

// refACL is a deliberately naive evaluator written straight from Vault's
// documentation (and the shape of Vault's code): merged rules in one map,
// every rule matched with strings.Split, every candidate sorted by the five
// documented priority rules. The compiled ACL (radix tree, pre-sorted
// wildcard list, early exit, allocation-free matching) must agree with it.
type refACL map[string]acl.Capability // PathRule.Path -> merged capabilities

func newRef(ps ...*acl.Policy) refACL {
	m := refACL{}
	for _, p := range ps {
		for _, pr := range p.Paths {
			if pr.Templated {
				continue
			}
			c := pr.Caps
			if c&acl.Deny != 0 {
				c = acl.Deny
			}
			old, ok := m[pr.Path]
			switch {
			case !ok:
				m[pr.Path] = c
			case old&acl.Deny != 0:
			case c&acl.Deny != 0:
				m[pr.Path] = acl.Deny
			default:
				m[pr.Path] = old | c
			}
		}
	}
	return m
}

func refIsWildcard(p string) bool {
	return p == "+" || strings.Contains(p, "/+") || strings.HasPrefix(p, "+/")
}

// lookup returns the deciding pattern for path ("" if none), with Vault's
// LIST fallbacks.
func (m refACL) lookup(path string, list bool) string {
	path = strings.TrimLeft(path, "/")
	if m.isExact(path) {
		return path
	}
	if list {
		if t := strings.TrimSuffix(path, "/"); t != path {
			if m.isExact(t) {
				return t
			}
			if p := m.nonExact(t); p != "" {
				return p
			}
		}
	}
	return m.nonExact(path)
}

func (m refACL) isExact(path string) bool {
	_, ok := m[path]
	return ok && !refIsWildcard(path) && !strings.HasSuffix(path, "*")
}

type refCand struct {
	firstWC   int
	isPrefix  bool
	wildcards int
	wcPath    string
	pattern   string
}

func (m refACL) nonExact(path string) string {
	var cands []refCand
	pathParts := strings.Split(path, "/")
	for p := range m {
		switch {
		case refIsWildcard(p):
			c := refCand{firstWC: strings.Index(p, "+"), wcPath: p, pattern: p}
			if strings.HasSuffix(p, "*") {
				c.isPrefix, c.wcPath = true, strings.TrimSuffix(p, "*")
			}
			parts := strings.Split(c.wcPath, "/")
			if len(pathParts) < len(parts) || (!c.isPrefix && len(pathParts) != len(parts)) {
				continue
			}
			matched := true
			for i, part := range parts {
				switch {
				case part == "+":
					c.wildcards++
				case part == pathParts[i]:
				case c.isPrefix && i == len(parts)-1 && strings.HasPrefix(pathParts[i], part):
				default:
					matched = false
				}
			}
			if matched {
				cands = append(cands, c)
			}
		case strings.HasSuffix(p, "*"):
			prefix := strings.TrimSuffix(p, "*")
			if strings.HasPrefix(path, prefix) {
				cands = append(cands, refCand{firstWC: len(prefix), isPrefix: true, wcPath: prefix, pattern: p})
			}
		}
	}
	if len(cands) == 0 {
		return ""
	}
	// "lower" is the documented list, verbatim in order.
	lower := func(p1, p2 refCand) bool {
		switch {
		case p1.firstWC != p2.firstWC: // 1. first wildcard/glob earlier: lower
			return p1.firstWC < p2.firstWC
		case p1.isPrefix != p2.isPrefix: // 2. ends in * and the other doesn't: lower
			return p1.isPrefix
		case p1.wildcards != p2.wildcards: // 3. more + segments: lower
			return p1.wildcards > p2.wildcards
		case len(p1.wcPath) != len(p2.wcPath): // 4. shorter: lower
			return len(p1.wcPath) < len(p2.wcPath)
		}
		return p1.wcPath < p2.wcPath // 5. lexicographically smaller: lower
	}
	sort.Slice(cands, func(i, j int) bool { return lower(cands[i], cands[j]) })
	return cands[len(cands)-1].pattern
}

// compareWithReference checks a against the reference on path for read,
// list and Capabilities.
func compareWithReference(t *testing.T, a *acl.ACL, ref refACL, path string) {
	t.Helper()
	for _, op := range []string{"read", "list"} {
		want := ref.lookup(path, op == "list")
		res := a.Check(acl.Request{Operation: op, Path: path})
		if res.Rule != want {
			t.Fatalf("%s %q: deciding rule %q, reference %q\nrules: %v", op, path, res.Rule, want, ref)
		}
		var wantCaps acl.Capability
		if want != "" {
			wantCaps = ref[want]
		}
		if res.Capabilities != wantCaps {
			t.Fatalf("%s %q: capabilities %v, reference %v (rule %q)", op, path, res.Capabilities, wantCaps, want)
		}
		need, _ := acl.ParseCapability(op)
		if wantAllowed := wantCaps&acl.Deny == 0 && wantCaps&need != 0; res.Allowed != wantAllowed {
			t.Fatalf("%s %q: Allowed %v, reference %v", op, path, res.Allowed, wantAllowed)
		}
	}
	wantNames := []string{"deny"}
	if r := ref.lookup(path, true); r != "" && ref[r]&acl.Deny == 0 && ref[r] != 0 {
		wantNames = ref[r].Names()
	}
	if got := a.Capabilities(path); !cmp.Equal(got, wantNames) {
		t.Fatalf("Capabilities(%q) = %q, reference %q", path, got, wantNames)
	}
}

// TestACL_MatchesReference evaluates random policies over a small alphabet
// (so that rules collide and overlap often) against the reference.
func TestACL_MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	segs := []string{"a", "b", "ab", "+", "a+", "+a", ""}
	reqSegs := []string{"a", "b", "ab", "abc", "", "a+", "+a", "x"}
	capSets := [][]string{{"read"}, {"list"}, {"read", "list"}, {"update", "sudo"}, {"deny"}, {"create", "read", "update", "patch", "delete", "list"}}

	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	randPattern := func() string {
		n := 1 + rng.IntN(4)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = pick(segs)
		}
		p := strings.Join(parts, "/")
		switch rng.IntN(3) {
		case 0:
			p += "*"
		case 1:
			p += "/*"
		}
		p = strings.ReplaceAll(p, "+*", "+/x*") // "+*" is forbidden
		if strings.TrimPrefix(p, "/") == "" {
			p = "q" // so is an empty path
		}
		return p
	}
	randPath := func() string {
		n := rng.IntN(6)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = pick(reqSegs)
		}
		p := strings.Join(parts, "/")
		if rng.IntN(4) == 0 {
			p += "/"
		}
		if rng.IntN(10) == 0 {
			p = "/" + p
		}
		return p
	}

	for iter := 0; iter < 500; iter++ {
		var policies []*acl.Policy
		for np := 1 + rng.IntN(3); np > 0; np-- {
			var b strings.Builder
			for nr := 1 + rng.IntN(8); nr > 0; nr-- {
				caps := pick2(rng, capSets)
				b.WriteString(`path "` + randPattern() + `" { capabilities = ["` + strings.Join(caps, `", "`) + `"] }` + "\n")
			}
			policies = append(policies, mustParse(t, "rand", b.String()))
		}
		a, err := acl.New(policies...)
		if err != nil {
			t.Fatal(err)
		}
		ref := newRef(policies...)
		for i := 0; i < 40; i++ {
			compareWithReference(t, a, ref, randPath())
		}
		// Also every rule's own pattern, with and without the glob.
		for p := range ref {
			compareWithReference(t, a, ref, p)
			compareWithReference(t, a, ref, strings.TrimSuffix(p, "*"))
		}
	}
}

func pick2(rng *rand.Rand, l [][]string) []string { return l[rng.IntN(len(l))] }
