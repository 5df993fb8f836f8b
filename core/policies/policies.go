// Package policies owns vaultd's ACL policies: their storage behind the
// barrier (sys/policy/<name>), a parsed-policy cache, the compiled
// authorisation of a policy set (Authz) that the request pipeline checks,
// and the sys/policy and sys/policies/acl endpoints. core/acl is the pure
// parser and evaluator underneath; this package adds state.
//
// It imports storage, secrets and core/acl only.
package policies

import (
	"context"
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
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// storagePrefix is where ACL policies live, behind the barrier:
// sys/policy/<name> → storedPolicy (JSON).
const storagePrefix = "sys/policy/"

// Built-in policy names.
const (
	RootPolicy             = acl.RootPolicyName
	DefaultPolicy          = acl.DefaultPolicyName
	ResponseWrappingPolicy = acl.ResponseWrappingPolicyName
)

type storedPolicy struct {
	Name   string `json:"name"`
	Policy string `json:"policy"`
}

// Authz is the compiled authorisation of one policy set: the ACL, plus the
// parsed policies (sys/internal/ui/mounts asks whether anything is granted
// below a mount). Immutable.
type Authz struct {
	acl      *acl.ACL
	policies []*acl.Policy
}

// ACL is the compiled evaluator.
func (az *Authz) ACL() *acl.ACL { return az.acl }

// ErrNotFound: no policy by that name.
var ErrNotFound = errors.New("policies: policy not found")

// Store reads policies through the barrier and caches them parsed,
// and caches compiled ACLs by policy set. Only the active node writes
// policies, so the caches are exact while it is active; they are purged
// whenever the node becomes active or steps down.
type Store struct {
	// Inactive is returned while the store is not loaded (the node is
	// not active); core sets it to its ErrStandby. Set before first use.
	Inactive error

	epOnce sync.Once
	ep     *endpoint.Backend

	mu     sync.RWMutex // guards everything below
	b      storage.Backend
	gen    uint64                 // bumped on every write/delete
	parsed map[string]*acl.Policy // by name
	sets   map[string]*Authz      // by sorted, comma-joined policy names
}

// Reset points the store at b and empties the caches.
func (ps *Store) Reset(b storage.Backend) {
	ps.mu.Lock()
	ps.b = b
	ps.gen++
	ps.parsed = map[string]*acl.Policy{}
	ps.sets = map[string]*Authz{}
	ps.mu.Unlock()
}

// InvalidateKey drops the caches that depend on a storage key under
// sys/policy/ (a standby follows the active node's writes: core's change
// hook). Other keys are ignored.
func (ps *Store) InvalidateKey(key string) {
	if name, ok := strings.CutPrefix(key, storagePrefix); ok {
		ps.invalidate(name)
	}
}

func (ps *Store) invalidate(name string) {
	ps.mu.Lock()
	ps.gen++
	delete(ps.parsed, name)
	clear(ps.sets)
	ps.mu.Unlock()
}

// NormalizeName lower-cases and trims a name, as Vault does, and
// checks it is a usable storage key segment.
func NormalizeName(name string) (string, error) {
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

// Get returns the parsed policy (ErrNotFound when absent). The
// response-wrapping policy is built in.
func (ps *Store) Get(ctx context.Context, name string) (*acl.Policy, error) {
	ps.mu.RLock()
	p, ok := ps.parsed[name]
	b, gen := ps.b, ps.gen
	ps.mu.RUnlock()
	if ok {
		return p, nil
	}
	if b == nil {
		return nil, ps.inactive()
	}
	var raw string
	if name == ResponseWrappingPolicy {
		raw = acl.ResponseWrappingPolicy
	} else {
		e, err := b.Get(ctx, storagePrefix+name)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		var sp storedPolicy
		if err := json.Unmarshal(e.Value, &sp); err != nil {
			return nil, fmt.Errorf("policies: policy %q: %w", name, err)
		}
		raw = sp.Policy
	}
	p, err := acl.Parse(name, raw)
	if err != nil {
		return nil, fmt.Errorf("policies: stored policy %q no longer parses: %w", name, err)
	}
	ps.mu.Lock()
	if ps.gen == gen {
		ps.parsed[name] = p
	}
	ps.mu.Unlock()
	return p, nil
}

// Raw returns a policy's text.
func (ps *Store) Raw(ctx context.Context, name string) (string, error) {
	p, err := ps.Get(ctx, name)
	if err != nil {
		return "", err
	}
	return p.Raw, nil
}

// Set parses and stores a policy. Parse errors are 400s naming the line.
func (ps *Store) Set(ctx context.Context, name, raw string) error {
	switch name {
	case RootPolicy:
		return badRequest("cannot update %q policy", RootPolicy)
	case ResponseWrappingPolicy:
		return badRequest("cannot update %q policy", ResponseWrappingPolicy)
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
		return ps.inactive()
	}
	defer ps.invalidate(name)
	return b.Put(ctx, &storage.Entry{Key: storagePrefix + name, Value: v})
}

// Delete removes a policy. Deleting an absent policy succeeds.
func (ps *Store) Delete(ctx context.Context, name string) error {
	switch name {
	case RootPolicy, DefaultPolicy, ResponseWrappingPolicy:
		return badRequest("cannot delete %q policy", name)
	}
	ps.mu.RLock()
	b := ps.b
	ps.mu.RUnlock()
	if b == nil {
		return ps.inactive()
	}
	defer ps.invalidate(name)
	return b.Delete(ctx, storagePrefix+name)
}

// List returns every policy name including the built-in root, sorted.
func (ps *Store) List(ctx context.Context) ([]string, error) {
	ps.mu.RLock()
	b := ps.b
	ps.mu.RUnlock()
	if b == nil {
		return nil, ps.inactive()
	}
	keys, err := b.List(ctx, storagePrefix)
	if err != nil {
		return nil, err
	}
	out := []string{RootPolicy}
	for _, k := range keys {
		if !strings.HasSuffix(k, "/") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

// EnsureDefault writes Vault's default policy if it does not exist yet.
func (ps *Store) EnsureDefault(ctx context.Context) error {
	ps.mu.RLock()
	b := ps.b
	ps.mu.RUnlock()
	_, err := b.Get(ctx, storagePrefix+DefaultPolicy)
	if err == nil {
		return nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return ps.Set(ctx, DefaultPolicy, acl.DefaultPolicy)
}

// AuthzFor compiles (or fetches from the cache) the authorisation of a
// policy set. Policies that no longer exist are skipped, as in Vault.
func (ps *Store) AuthzFor(ctx context.Context, names []string) (*Authz, error) {
	if slices.Contains(names, RootPolicy) {
		return RootAuthz, nil
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
		p, err := ps.Get(ctx, n)
		if errors.Is(err, ErrNotFound) {
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
	az = &Authz{acl: a, policies: pols}
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

// AuthzForIdentity is AuthzFor for a token with an identity entity:
// templated paths of the set's policies are rendered with resolve (a path
// that does not resolve matches nothing). identityKey names the entity and
// the identity store's generation (it must change whenever resolve's
// answers may), so the compiled result is cached like any set. Without
// a resolver, or when no policy of the set is templated, it is AuthzFor.
func (ps *Store) AuthzForIdentity(ctx context.Context, names []string, resolve acl.Resolver, identityKey string) (*Authz, error) {
	if resolve == nil || slices.Contains(names, RootPolicy) {
		return ps.AuthzFor(ctx, names)
	}
	pols := make([]*acl.Policy, 0, len(names))
	templated := false
	for _, n := range names {
		p, err := ps.Get(ctx, n)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		templated = templated || p.Templated
		pols = append(pols, p)
	}
	if !templated {
		return ps.AuthzFor(ctx, names)
	}
	key := policySetKey(names) + "\x00" + identityKey
	ps.mu.RLock()
	az, ok := ps.sets[key]
	gen := ps.gen
	ps.mu.RUnlock()
	if ok {
		return az, nil
	}
	for i, p := range pols {
		pols[i] = p.Render(resolve)
	}
	a, err := acl.New(pols...)
	if err != nil {
		return nil, err
	}
	az = &Authz{acl: a, policies: pols}
	ps.mu.Lock()
	if ps.gen == gen {
		if len(ps.sets) >= maxCachedPolicySets {
			clear(ps.sets)
		}
		ps.sets[key] = az
	}
	ps.mu.Unlock()
	return az, nil
}

var RootAuthz = &Authz{acl: acl.Root()}

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

// ---- authorisation used by the request pipeline ----

// AnyGrantUnder reports whether az grants anything at or below prefix
// (a mount path such as "secret/"): some non-deny rule could match a path
// that starts with prefix.
func (az *Authz) AnyGrantUnder(prefix string) bool {
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

// ---- sys/policy, sys/policies/acl ----

func (ps *Store) inactive() error {
	if ps.Inactive != nil {
		return ps.Inactive
	}
	return errors.New("policies: the policy store is not loaded")
}

func badRequest(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

func unsupportedOp() error {
	return secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
}
