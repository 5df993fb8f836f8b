package core

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/vaultd/vaultd/core/acl"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// policyPrefix is where ACL policies live, behind the barrier:
// sys/policy/<name> → storedPolicy (JSON).
const policyPrefix = "sys/policy/"

// Built-in policy names.
const (
	rootPolicy             = acl.RootPolicyName
	defaultPolicy          = acl.DefaultPolicyName
	responseWrappingPolicy = acl.ResponseWrappingPolicyName
)

type storedPolicy struct {
	Name   string `json:"name"`
	Policy string `json:"policy"`
}

// authz is the compiled authorisation of one policy set: the ACL, plus the
// parsed policies (sys/internal/ui/mounts asks whether anything is granted
// below a mount). Immutable.
type authz struct {
	acl      *acl.ACL
	policies []*acl.Policy
}

// errPolicyNotFound: no policy by that name.
var errPolicyNotFound = errors.New("core: policy not found")

// policyStore reads policies through the barrier and caches them parsed,
// and caches compiled ACLs by policy set. Only the active node writes
// policies, so the caches are exact while it is active; they are purged
// whenever the node becomes active or steps down.
type policyStore struct {
	mu     sync.RWMutex // guards everything below
	b      storage.Backend
	gen    uint64                 // bumped on every write/delete
	parsed map[string]*acl.Policy // by name
	sets   map[string]*authz      // by sorted, comma-joined policy names
}

// reset points the store at b and empties the caches.
func (ps *policyStore) reset(b storage.Backend) {
	ps.mu.Lock()
	ps.b = b
	ps.gen++
	ps.parsed = map[string]*acl.Policy{}
	ps.sets = map[string]*authz{}
	ps.mu.Unlock()
}

func (ps *policyStore) invalidate(name string) {
	ps.mu.Lock()
	ps.gen++
	delete(ps.parsed, name)
	clear(ps.sets)
	ps.mu.Unlock()
}

// normalizePolicyName lower-cases and trims a name, as Vault does, and
// checks it is a usable storage key segment.
func normalizePolicyName(name string) (string, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return "", badRequest("policy name must not be empty")
	}
	if len(name) > 256 || !utf8.ValidString(name) || storage.ValidateKey(name) != nil || strings.HasSuffix(name, "/") ||
		strings.ContainsFunc(name, func(r rune) bool { return unicode.IsControl(r) || r == ',' }) {
		return "", badRequest("invalid policy name %q", name)
	}
	return name, nil
}

// get returns the parsed policy (errPolicyNotFound when absent). The
// response-wrapping policy is built in.
func (ps *policyStore) get(ctx context.Context, name string) (*acl.Policy, error) {
	ps.mu.RLock()
	p, ok := ps.parsed[name]
	b, gen := ps.b, ps.gen
	ps.mu.RUnlock()
	if ok {
		return p, nil
	}
	if b == nil {
		return nil, ErrStandby
	}
	var raw string
	if name == responseWrappingPolicy {
		raw = acl.ResponseWrappingPolicy
	} else {
		e, err := b.Get(ctx, policyPrefix+name)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, errPolicyNotFound
		}
		if err != nil {
			return nil, err
		}
		var sp storedPolicy
		if err := json.Unmarshal(e.Value, &sp); err != nil {
			return nil, fmt.Errorf("core: policy %q: %w", name, err)
		}
		raw = sp.Policy
	}
	p, err := acl.Parse(name, raw)
	if err != nil {
		return nil, fmt.Errorf("core: stored policy %q no longer parses: %w", name, err)
	}
	ps.mu.Lock()
	if ps.gen == gen {
		ps.parsed[name] = p
	}
	ps.mu.Unlock()
	return p, nil
}

// raw returns a policy's text.
func (ps *policyStore) raw(ctx context.Context, name string) (string, error) {
	p, err := ps.get(ctx, name)
	if err != nil {
		return "", err
	}
	return p.Raw, nil
}

// set parses and stores a policy. Parse errors are 400s naming the line.
func (ps *policyStore) set(ctx context.Context, name, raw string) error {
	switch name {
	case rootPolicy:
		return badRequest("cannot update %q policy", rootPolicy)
	case responseWrappingPolicy:
		return badRequest("cannot update %q policy", responseWrappingPolicy)
	}
	if _, err := acl.Parse(name, raw); err != nil {
		return badRequest("failed to parse policy: %v", err)
	}
	v, err := json.Marshal(storedPolicy{Name: name, Policy: raw})
	if err != nil {
		return err
	}
	ps.mu.RLock()
	b := ps.b
	ps.mu.RUnlock()
	if b == nil {
		return ErrStandby
	}
	defer ps.invalidate(name)
	return b.Put(ctx, &storage.Entry{Key: policyPrefix + name, Value: v})
}

// delete removes a policy. Deleting an absent policy succeeds.
func (ps *policyStore) delete(ctx context.Context, name string) error {
	switch name {
	case rootPolicy, defaultPolicy, responseWrappingPolicy:
		return badRequest("cannot delete %q policy", name)
	}
	ps.mu.RLock()
	b := ps.b
	ps.mu.RUnlock()
	if b == nil {
		return ErrStandby
	}
	defer ps.invalidate(name)
	return b.Delete(ctx, policyPrefix+name)
}

// list returns every policy name including the built-in root, sorted.
func (ps *policyStore) list(ctx context.Context) ([]string, error) {
	ps.mu.RLock()
	b := ps.b
	ps.mu.RUnlock()
	if b == nil {
		return nil, ErrStandby
	}
	keys, err := b.List(ctx, policyPrefix)
	if err != nil {
		return nil, err
	}
	out := []string{rootPolicy}
	for _, k := range keys {
		if !strings.HasSuffix(k, "/") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ensureDefault writes Vault's default policy if it does not exist yet.
func (ps *policyStore) ensureDefault(ctx context.Context) error {
	ps.mu.RLock()
	b := ps.b
	ps.mu.RUnlock()
	_, err := b.Get(ctx, policyPrefix+defaultPolicy)
	if err == nil {
		return nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return ps.set(ctx, defaultPolicy, acl.DefaultPolicy)
}

// authzFor compiles (or fetches from the cache) the authorisation of a
// policy set. Policies that no longer exist are skipped, as in Vault.
func (ps *policyStore) authzFor(ctx context.Context, names []string) (*authz, error) {
	if slices.Contains(names, rootPolicy) {
		return rootAuthz, nil
	}
	key := policySetKey(names)
	ps.mu.RLock()
	az, ok := ps.sets[key]
	gen := ps.gen
	ps.mu.RUnlock()
	if ok {
		return az, nil
	}
	pols := make([]*acl.Policy, 0, len(names))
	for _, n := range names {
		p, err := ps.get(ctx, n)
		if errors.Is(err, errPolicyNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		pols = append(pols, p)
	}
	a, err := acl.New(pols...)
	if err != nil {
		return nil, err
	}
	az = &authz{acl: a, policies: pols}
	ps.mu.Lock()
	if ps.gen == gen {
		if len(ps.sets) >= maxCachedPolicySets {
			clear(ps.sets) // bounded: rebuilt on demand
		}
		ps.sets[key] = az
	}
	ps.mu.Unlock()
	return az, nil
}

var rootAuthz = &authz{acl: acl.Root()}

// maxCachedPolicySets bounds the compiled-ACL cache.
const maxCachedPolicySets = 4096

// policySetKey is the cache key of a policy set: names sorted and joined
// (names cannot contain ",").
func policySetKey(names []string) string {
	if sort.StringsAreSorted(names) {
		return strings.Join(names, ",")
	}
	s := slices.Clone(names)
	sort.Strings(s)
	return strings.Join(s, ",")
}

// ---- sys/policy, sys/policies/acl ----

func (c *Core) sysPolicies(ctx context.Context, op secrets.Operation, path string, data map[string]any) (*Response, error) {
	ps := &c.ident.policies
	legacy := strings.HasPrefix(path, "sys/policy")
	var name string
	switch {
	case path == "sys/policy" || path == "sys/policies/acl":
	case strings.HasPrefix(path, "sys/policy/"):
		name = strings.TrimPrefix(path, "sys/policy/")
	case strings.HasPrefix(path, "sys/policies/acl/"):
		name = strings.TrimPrefix(path, "sys/policies/acl/")
	default:
		return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
	}
	if name == "" {
		if op != secrets.OpList && !(legacy && op == secrets.OpRead) {
			return nil, unsupportedOp()
		}
		names, err := ps.list(ctx)
		if err != nil {
			return nil, err
		}
		if legacy {
			return &Response{Data: map[string]any{"policies": names, "keys": names}}, nil
		}
		return &Response{Data: map[string]any{"keys": names}}, nil
	}
	name, err := normalizePolicyName(name)
	if err != nil {
		return nil, err
	}
	switch op {
	case secrets.OpRead:
		if name == rootPolicy {
			return nil, secrets.Errorf(secrets.ErrNotFound, "not found")
		}
		raw, err := ps.raw(ctx, name)
		if errors.Is(err, errPolicyNotFound) {
			return nil, secrets.Errorf(secrets.ErrNotFound, "not found")
		}
		if err != nil {
			return nil, err
		}
		if legacy {
			return &Response{Data: map[string]any{"name": name, "rules": raw}}, nil
		}
		return &Response{Data: map[string]any{"name": name, "policy": raw}}, nil
	case secrets.OpCreate, secrets.OpUpdate:
		raw, _ := data["policy"].(string)
		if raw == "" && legacy {
			raw, _ = data["rules"].(string)
		}
		if strings.TrimSpace(raw) == "" {
			return nil, badRequest("'policy' parameter not supplied or empty")
		}
		// Vault accepts a base64-encoded policy. HCL text always holds
		// characters outside the base64 alphabet, so this cannot misfire.
		if dec, err := base64.StdEncoding.DecodeString(raw); err == nil && utf8.Valid(dec) {
			raw = string(dec)
		}
		if err := ps.set(ctx, name, raw); err != nil {
			return nil, err
		}
		return &Response{}, nil
	case secrets.OpDelete:
		if err := ps.delete(ctx, name); err != nil {
			return nil, err
		}
		return &Response{}, nil
	}
	return nil, unsupportedOp()
}

// ---- sys/capabilities, -self, -accessor ----

func (c *Core) sysCapabilities(ctx context.Context, path string, op secrets.Operation, data map[string]any, te *TokenEntry) (*Response, error) {
	if op != secrets.OpUpdate && op != secrets.OpCreate {
		return nil, unsupportedOp()
	}
	paths, err := capabilityPaths(data)
	if err != nil {
		return nil, err
	}
	var target *TokenEntry
	switch path {
	case "sys/capabilities-self":
		target = te
	case "sys/capabilities":
		tok, _ := data["token"].(string)
		if tok == "" {
			return nil, badRequest("missing token")
		}
		if target, err = c.lookupBodyToken(ctx, tok); err != nil {
			if errors.Is(err, errTokenNotFound) {
				return nil, badRequest("invalid token")
			}
			return nil, err
		}
	case "sys/capabilities-accessor":
		a, _ := data["accessor"].(string)
		if a == "" {
			return nil, badRequest("missing accessor")
		}
		if target, err = c.tokens.lookupAccessor(ctx, a); err != nil {
			if errors.Is(err, errTokenNotFound) {
				return nil, badRequest("invalid accessor")
			}
			return nil, err
		}
	default:
		return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
	}
	az, err := c.ident.policies.authzFor(ctx, target.Policies)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, p := range paths {
		out[p] = az.acl.Capabilities(p)
	}
	if len(paths) == 1 {
		out["capabilities"] = out[paths[0]]
	}
	return &Response{Data: out}, nil
}

func capabilityPaths(data map[string]any) ([]string, error) {
	var paths []string
	for _, k := range []string{"paths", "path"} {
		l, _, err := strListField(data, k)
		if err != nil {
			return nil, err
		}
		paths = append(paths, l...)
	}
	if len(paths) == 0 {
		return nil, badRequest("missing paths")
	}
	for i, p := range paths {
		paths[i] = strings.TrimPrefix(p, "/")
	}
	return paths, nil
}

// ---- authorisation used by the request pipeline ----

// anyGrantUnder reports whether az grants anything at or below prefix
// (a mount path such as "secret/"): some non-deny rule could match a path
// that starts with prefix.
func (az *authz) anyGrantUnder(prefix string) bool {
	if az == nil {
		return false
	}
	if az.acl.IsRoot() {
		return true
	}
	for _, p := range az.policies {
		for i := range p.Paths {
			r := &p.Paths[i]
			if r.Templated || r.Caps == 0 || r.Caps&acl.Deny != 0 {
				continue
			}
			if ruleReachesUnder(r.Path, prefix) {
				return true
			}
		}
	}
	return false
}

// ruleReachesUnder reports whether pattern (with "+" segments and a
// trailing "*" glob) matches at least one path starting with prefix.
func ruleReachesUnder(pattern, prefix string) bool {
	glob := strings.HasSuffix(pattern, "*")
	pat := strings.TrimSuffix(pattern, "*")
	if !strings.Contains(pat, "+") {
		if glob {
			return strings.HasPrefix(prefix, pat) || strings.HasPrefix(pat, prefix)
		}
		return strings.HasPrefix(pat, prefix)
	}
	parts := strings.Split(pat, "/")
	segs := strings.Split(strings.TrimSuffix(prefix, "/"), "/")
	for i, seg := range segs {
		if i >= len(parts) {
			return false
		}
		part := parts[i]
		last := i == len(parts)-1
		switch {
		case last && glob:
			return part == "+" || strings.HasPrefix(seg, part)
		case part == "+" || part == seg:
		default:
			return false
		}
	}
	// Every prefix segment matched; the pattern must go deeper.
	return len(parts) > len(segs)
}
