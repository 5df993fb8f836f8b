package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/vaultd/vaultd/core/internal/reqfield"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// tokenRole is a token role (auth/token/roles/:name), stored at
// sys/token/roles/<name>.
type tokenRole struct {
	Name                 string        `json:"name"`
	AllowedPolicies      []string      `json:"allowed_policies"`
	DisallowedPolicies   []string      `json:"disallowed_policies"`
	Orphan               bool          `json:"orphan"`
	Renewable            bool          `json:"renewable"`
	PathSuffix           string        `json:"path_suffix"`
	Period               time.Duration `json:"period"`
	ExplicitMaxTTL       time.Duration `json:"explicit_max_ttl"`
	TokenNumUses         int           `json:"token_num_uses"`
	TokenNoDefaultPolicy bool          `json:"token_no_default_policy"`
	// BoundCIDRs bind the role's tokens to these client addresses.
	BoundCIDRs []string `json:"token_bound_cidrs,omitempty"`
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }

// Host is what the token endpoints need from core.
type Host interface {
	// CheckACL decides op on path for te with the request's data and wrap
	// TTL; an error (403) when denied.
	CheckACL(te *Entry, op secrets.Operation, path string, data map[string]any, wrapTTL time.Duration) error
	// VerifyForRead confirms with a quorum that the node still leads
	// before a read is answered.
	VerifyForRead(ctx context.Context, op secrets.Operation) error
	// TokenMountTTLs: the default and max TTL of the auth/token/ mount
	// (the system's unless tuned); an error while the node is not active.
	TokenMountTTLs() (def, max time.Duration, err error)
	// IdentityPolicies are the policies te's identity entity adds (its
	// own and its groups'); nil without an entity.
	IdentityPolicies(te *Entry) []string
}

// Request is one auth/token/* request.
type Request struct {
	Operation secrets.Operation
	// Path is the full request path ("auth/token/create").
	Path    string
	Data    map[string]any
	WrapTTL time.Duration
}

// Response is what a token endpoint answers: Data, or an Auth block
// (create, renew), and warnings. Empty means 204.
type Response struct {
	Data     map[string]any
	Warnings []string
	Auth     *ResponseAuth
}

// Endpoints serves auth/token/*, the built-in token method, over a Store.
type Endpoints struct {
	ts   *Store
	host Host
	log  *slog.Logger

	once sync.Once
	ep   *endpoint.Backend // routes.go
}

// NewEndpoints builds the token endpoints over ts.
func NewEndpoints(ts *Store, host Host, log *slog.Logger) *Endpoints {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Endpoints{ts: ts, host: host, log: log}
}

// Handle serves auth/token/<sub> for the caller te (never nil: every token
// endpoint needs a token).
func (e *Endpoints) Handle(ctx context.Context, req *Request, te *Entry) (*Response, error) {
	sub := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(req.Path, "auth/"), "token"), "/")
	s := strings.TrimSuffix(sub, "/")
	op := req.Operation
	d := req.Data
	if d == nil {
		d = map[string]any{}
	}
	if name, ok := strings.CutPrefix(s, "roles/"); ok && op == secrets.OpUpdate {
		if _, err := e.getTokenRole(ctx, name); errors.Is(err, errRoleNotFound) {
			op = secrets.OpCreate
		}
	}
	if err := e.host.CheckACL(te, op, req.Path, d, req.WrapTTL); err != nil {
		return nil, err
	}
	if (s == "accessors" || s == "revoke-orphan") && !SudoOn(te, req.Path) {
		return nil, permissionDenied()
	}
	if err := e.host.VerifyForRead(ctx, op); err != nil {
		return nil, err
	}
	// The declarations (routes.go) route the request: 404 for a path
	// none matches, 405 for an operation the path does not serve.
	call := &tokenCall{path: req.Path, sub: s, data: d, te: te}
	if _, err := e.Backend().HandleRequest(context.WithValue(ctx, tokenCallKey{}, call), &secrets.Request{
		Operation: op, Path: s, Data: d, MountPoint: "auth/token/",
	}); err != nil {
		return nil, err
	}
	return call.resp, nil
}

// tokenCreate implements auth/token/create, create-orphan and
// create/:role with Vault's rules: a non-root caller without sudo can only
// hand out a subset of its own policies, never root, never an orphan
// (except through create-orphan or an orphan role), never a chosen ID.
func (e *Endpoints) tokenCreate(ctx context.Context, reqPath string, d map[string]any, parent *Entry, sub string) (*Response, error) {
	var role *tokenRole
	if rn, ok := strings.CutPrefix(sub, "create/"); ok {
		r, err := e.getTokenRole(ctx, rn)
		if errors.Is(err, errRoleNotFound) {
			return nil, badRequest("unknown role %s", rn)
		}
		if err != nil {
			return nil, err
		}
		role = r
	}
	id, err := reqfield.String(d, "id")
	if err != nil {
		return nil, err
	}
	policies, polSet, err := reqfield.Strings(d, "policies")
	if err != nil {
		return nil, err
	}
	meta, _, err := reqfield.StringMap(d, "meta")
	if err != nil {
		return nil, err
	}
	noParent, _, err := reqfield.Bool(d, "no_parent")
	if err != nil {
		return nil, err
	}
	noDefault, _, err := reqfield.Bool(d, "no_default_policy")
	if err != nil {
		return nil, err
	}
	renewable, renewSet, err := reqfield.Bool(d, "renewable")
	if err != nil {
		return nil, err
	}
	ttl, ttlSet, err := reqfield.Duration(d, "ttl")
	if err != nil {
		return nil, err
	}
	if !ttlSet {
		if ttl, _, err = reqfield.Duration(d, "lease"); err != nil {
			return nil, err
		}
	}
	explicitMax, _, err := reqfield.Duration(d, "explicit_max_ttl")
	if err != nil {
		return nil, err
	}
	period, _, err := reqfield.Duration(d, "period")
	if err != nil {
		return nil, err
	}
	displayName, err := reqfield.String(d, "display_name")
	if err != nil {
		return nil, err
	}
	numUses, _, err := reqfield.Int(d, "num_uses")
	if err != nil {
		return nil, err
	}
	typ, err := reqfield.String(d, "type")
	if err != nil {
		return nil, err
	}

	isRoot := parent.IsRoot()
	sudo := isRoot || SudoOn(parent, reqPath)
	batch := false
	switch typ {
	case "", "service", "default", "default-service":
	case "batch", "default-batch":
		batch = true
	default:
		return nil, badRequest("invalid 'type' value %q", typ)
	}
	if parent.Type == TypeBatch {
		return nil, badRequest("batch tokens cannot create more tokens")
	}
	if batch {
		switch {
		case id != "":
			return nil, badRequest("batch tokens cannot have a custom ID")
		case period > 0:
			return nil, badRequest("batch tokens cannot be periodic")
		case numUses > 0:
			return nil, badRequest("batch tokens cannot have a use limit")
		}
	}
	if IsBatch(id) {
		return nil, badRequest("custom token IDs cannot start with %q", BatchPrefix)
	}
	if numUses < 0 {
		return nil, badRequest("number of uses cannot be negative")
	}
	if id != "" {
		if !sudo {
			return nil, secrets.Errorf(secrets.ErrPermissionDenied, "root or sudo privileges required to specify token id")
		}
		if len(id) > 256 || strings.ContainsFunc(id, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
			return nil, badRequest("invalid token id")
		}
	}
	if period > 0 && !sudo {
		return nil, secrets.Errorf(secrets.ErrPermissionDenied, "root or sudo privileges required to create periodic token")
	}

	orphan := false
	path := "auth/token/create"
	switch {
	case sub == "create-orphan":
		orphan, path = true, "auth/token/create-orphan"
	case role != nil:
		orphan = role.Orphan
		path = "auth/token/create/" + role.Name
		if role.PathSuffix != "" {
			path += "/" + role.PathSuffix
		}
	}
	if noParent && !orphan {
		if !sudo {
			return nil, secrets.Errorf(secrets.ErrPermissionDenied, "root or sudo privileges required to create orphan token")
		}
		orphan = true
	}
	if !orphan && parent.LastUse {
		return nil, badRequest("a token on its last use cannot create child tokens")
	}

	addDefault := !noDefault && (role == nil || !role.TokenNoDefaultPolicy)
	parentPols := SanitizePolicies(parent.Policies, false)
	subsetOfParent := func(want []string) error {
		if sudo {
			return nil
		}
		for _, p := range want {
			if p != defaultPolicy && !slices.Contains(parentPols, p) {
				return secrets.Errorf(secrets.ErrPermissionDenied, "child policies must be subset of parent")
			}
		}
		return nil
	}
	switch {
	case role != nil:
		if !polSet || len(policies) == 0 {
			policies = role.AllowedPolicies
			if len(policies) == 0 {
				policies = parent.Policies
			}
		}
		want := SanitizePolicies(policies, false)
		if len(role.AllowedPolicies) > 0 {
			allowed := SanitizePolicies(role.AllowedPolicies, true)
			for _, p := range want {
				if !slices.Contains(allowed, p) {
					return nil, badRequest("token policies (%v) must be subset of the role's allowed policies (%v)", want, allowed)
				}
			}
		} else if err := subsetOfParent(want); err != nil {
			return nil, err
		}
		for _, p := range want {
			if slices.Contains(role.DisallowedPolicies, p) {
				return nil, badRequest("token policy %q is disallowed by this role", p)
			}
		}
		policies = want
	case !polSet || len(policies) == 0:
		policies = parent.Policies
	default:
		if err := subsetOfParent(SanitizePolicies(policies, false)); err != nil {
			return nil, err
		}
	}
	policies = SanitizePolicies(policies, addDefault)
	rootToken := slices.Contains(policies, rootPolicy)
	if rootToken && !isRoot {
		return nil, secrets.Errorf(secrets.ErrPermissionDenied, "root tokens may not be created without parent token being root")
	}
	if slices.Contains(policies, responseWrappingPolicy) {
		return nil, badRequest("cannot assign the %q policy", responseWrappingPolicy)
	}
	if batch && rootToken {
		return nil, badRequest("root tokens cannot be batch tokens")
	}

	def, sysMax, err := e.host.TokenMountTTLs()
	if err != nil {
		return nil, err
	}
	if role != nil {
		if role.Period > 0 && period == 0 {
			period = role.Period
		}
		if role.ExplicitMaxTTL > 0 && (explicitMax == 0 || role.ExplicitMaxTTL < explicitMax) {
			explicitMax = role.ExplicitMaxTTL
		}
		if role.TokenNumUses > 0 && (numUses == 0 || role.TokenNumUses < numUses) {
			numUses = role.TokenNumUses
		}
	}
	var warnings []string
	if period > 0 {
		ttl = period
		if explicitMax > 0 && ttl > explicitMax {
			ttl = explicitMax
		}
	} else {
		if ttl == 0 && !rootToken {
			ttl = def
		}
		if ttl > sysMax {
			warnings = append(warnings, fmt.Sprintf("TTL of %q exceeded the effective max_ttl of %q; TTL value is capped accordingly", ttl, sysMax))
			ttl = sysMax
		}
		if explicitMax > 0 && (ttl == 0 || ttl > explicitMax) {
			if ttl != 0 {
				warnings = append(warnings, fmt.Sprintf("TTL of %q exceeded the explicit max TTL of %q; TTL value is capped accordingly", ttl, explicitMax))
			}
			ttl = explicitMax
		}
	}
	if rootToken && ttl == 0 && !parent.ExpireTime.IsZero() {
		return nil, badRequest("expiring root tokens cannot create non-expiring root tokens")
	}
	renew := true
	if renewSet {
		renew = renewable
	}
	if role != nil && !role.Renewable {
		renew = false
	}
	if ttl == 0 {
		renew = false
	}
	display := "token"
	if displayName != "" {
		display = "token-" + displayName
	}
	te := &Entry{
		Policies: policies, Path: path, Meta: meta, DisplayName: display, NumUses: numUses,
		TTL: ttl, ExplicitMaxTTL: explicitMax, Period: period, Renewable: renew, Orphan: orphan,
	}
	if role != nil {
		te.Role = role.Name
		te.BoundCIDRs = slices.Clone(role.BoundCIDRs)
	} else {
		// Without a role a child keeps its parent's CIDR binding, as in
		// Vault: a bound token must not mint an unbound one (issue 10).
		te.BoundCIDRs = slices.Clone(parent.BoundCIDRs)
	}
	if !orphan {
		te.ParentHash = parent.IDHash
	}
	// A child token belongs to its parent's entity, as in Vault.
	te.EntityID = parent.EntityID
	if period == 0 && ttl > 0 {
		te.MaxTTL = sysMax
	}
	create := func() error { _, err := e.ts.Create(ctx, te, id); return err }
	if batch {
		te.Renewable = false
		create = func() error { _, err := e.ts.CreateBatch(ctx, te); return err }
	}
	if err := create(); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, badRequest("the parent token was revoked")
		}
		return nil, err
	}
	return &Response{Auth: AuthBlock(te, ttl), Warnings: warnings}, nil
}

// tokenLookupData is Vault's token lookup answer.
func (e *Endpoints) tokenLookupData(te *Entry, id string) map[string]any {
	now := e.ts.now()
	var expire any
	ttl := int64(0)
	if !te.ExpireTime.IsZero() {
		ttl = max(secs(te.ExpireTime.Sub(now)), 0)
		expire = te.ExpireTime.UTC().Format(time.RFC3339Nano)
	}
	var meta any
	if len(te.Meta) > 0 {
		meta = te.Meta
	}
	d := map[string]any{
		"accessor":         te.Accessor,
		"creation_time":    te.CreationTime.Unix(),
		"creation_ttl":     secs(te.TTL),
		"display_name":     te.DisplayName,
		"entity_id":        te.EntityID,
		"expire_time":      expire,
		"explicit_max_ttl": secs(te.ExplicitMaxTTL),
		"id":               id,
		"issue_time":       te.CreationTime.UTC().Format(time.RFC3339Nano),
		"meta":             meta,
		"num_uses":         max(te.NumUses, 0),
		"orphan":           te.ParentHash == "",
		"path":             te.Path,
		"policies":         te.Policies,
		"renewable":        te.Renewable,
		"ttl":              ttl,
		"type":             te.Type,
	}
	if te.Period > 0 {
		d["period"] = secs(te.Period)
	}
	if ip := e.host.IdentityPolicies(te); len(ip) > 0 {
		d["identity_policies"] = ip
	}
	if !te.LastRenewal.IsZero() {
		d["last_renewal"] = te.LastRenewal.UTC().Format(time.RFC3339Nano)
		d["last_renewal_time"] = te.LastRenewal.Unix()
	}
	if te.Role != "" {
		d["role"] = te.Role
	}
	if len(te.BoundCIDRs) > 0 {
		d["bound_cidrs"] = slices.Clone(te.BoundCIDRs)
	}
	return d
}

func (e *Endpoints) tokenLookup(ctx context.Context, s string, d map[string]any, te *Entry) (*Response, error) {
	switch s {
	case "lookup-self":
		return &Response{Data: e.tokenLookupData(te, te.ID)}, nil
	case "lookup":
		tok, err := reqfield.String(d, "token")
		if err != nil {
			return nil, err
		}
		if tok == "" {
			return nil, badRequest("missing token")
		}
		target, err := e.ts.LookupBody(ctx, tok)
		if errors.Is(err, ErrNotFound) {
			return nil, secrets.Errorf(secrets.ErrPermissionDenied, "bad token")
		}
		if err != nil {
			return nil, err
		}
		return &Response{Data: e.tokenLookupData(target, tok)}, nil
	default: // lookup-accessor
		target, err := e.targetByAccessor(ctx, d)
		if err != nil {
			return nil, err
		}
		return &Response{Data: e.tokenLookupData(target, "")}, nil
	}
}

func (e *Endpoints) targetByAccessor(ctx context.Context, d map[string]any) (*Entry, error) {
	acc, err := reqfield.String(d, "accessor")
	if err != nil {
		return nil, err
	}
	if acc == "" {
		return nil, badRequest("missing accessor")
	}
	target, err := e.ts.LookupAccessor(ctx, acc)
	if errors.Is(err, ErrNotFound) {
		return nil, badRequest("invalid accessor")
	}
	return target, err
}

func (e *Endpoints) tokenRenew(ctx context.Context, s string, d map[string]any, te *Entry) (*Response, error) {
	inc, _, err := reqfield.Duration(d, "increment")
	if err != nil {
		return nil, err
	}
	var target *Entry
	switch s {
	case "renew-self":
		target = te
	case "renew":
		tok, err := reqfield.String(d, "token")
		if err != nil {
			return nil, err
		}
		if tok == "" {
			return nil, badRequest("missing token")
		}
		if target, err = e.ts.LookupBody(ctx, tok); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, badRequest("token not found")
			}
			return nil, err
		}
	default: // renew-accessor
		if target, err = e.targetByAccessor(ctx, d); err != nil {
			return nil, err
		}
	}
	if target.Type == TypeBatch {
		return nil, badRequest("batch tokens cannot be renewed")
	}
	updated, ttl, warnings, err := e.ts.Renew(ctx, target.IDHash, inc)
	if errors.Is(err, ErrNotFound) {
		return nil, badRequest("token not found")
	}
	if err != nil {
		return nil, err
	}
	updated.ID = target.ID
	return &Response{Auth: AuthBlock(updated, ttl), Warnings: warnings}, nil
}

// Renew extends a token's TTL by increment (0: its creation TTL;
// periodic tokens: their period), never past its explicit max TTL or the
// max TTL it was created under.
func (ts *Store) Renew(ctx context.Context, idHash string, increment time.Duration) (*Entry, time.Duration, []string, error) {
	var ttl time.Duration
	var warnings []string
	te, err := ts.Update(ctx, idHash, func(cur *Entry) error {
		now := ts.now()
		if cur.Expired(now) || cur.NumUses < 0 {
			return ErrNotFound
		}
		if !cur.Renewable || cur.ExpireTime.IsZero() {
			return badRequest("lease is not renewable")
		}
		switch {
		case cur.Period > 0:
			ttl = cur.Period
		case increment > 0:
			ttl = increment
		default:
			ttl = cur.TTL
		}
		var limit time.Time
		if cur.ExplicitMaxTTL > 0 {
			limit = cur.CreationTime.Add(cur.ExplicitMaxTTL)
		}
		if cur.Period == 0 && cur.MaxTTL > 0 {
			if l := cur.CreationTime.Add(cur.MaxTTL); limit.IsZero() || l.Before(limit) {
				limit = l
			}
		}
		if !limit.IsZero() && now.Add(ttl).After(limit) {
			capped := max(limit.Sub(now), 0)
			warnings = append(warnings, fmt.Sprintf("TTL of %q exceeded the effective max_ttl of %q; TTL value is capped accordingly", ttl, capped.Truncate(time.Second)))
			ttl = capped
		}
		cur.ExpireTime = now.Add(ttl).UTC()
		cur.LastRenewal = now.UTC()
		return nil
	})
	if err != nil {
		return nil, 0, nil, err
	}
	return te, ttl, warnings, nil
}

func (e *Endpoints) tokenRevoke(ctx context.Context, s string, d map[string]any, te *Entry) (*Response, error) {
	var h string
	switch s {
	case "revoke-self":
		if te.Type == TypeBatch {
			return nil, badRequest("batch tokens cannot be revoked")
		}
		h = te.IDHash
	case "revoke-accessor":
		target, err := e.targetByAccessor(ctx, d)
		if err != nil {
			return nil, err
		}
		h = target.IDHash
	default: // revoke, revoke-orphan
		tok, err := reqfield.String(d, "token")
		if err != nil {
			return nil, err
		}
		if tok == "" {
			return nil, badRequest("missing token")
		}
		if IsBatch(tok) {
			return nil, badRequest("batch tokens cannot be revoked")
		}
		if h, err = e.ts.Hash(tok); err != nil {
			return nil, err
		}
	}
	revoke := e.ts.RevokeTree
	if s == "revoke-orphan" {
		revoke = e.ts.RevokeOrphan
	}
	if err := revoke(ctx, h); err != nil {
		return nil, err
	}
	return &Response{}, nil
}

// ---- token roles ----

var errRoleNotFound = errors.New("tokens: token role not found")

func validRoleName(name string) error {
	if name == "" || strings.Contains(name, "/") || storage.ValidateKey(name) != nil {
		return badRequest("invalid role name %q", name)
	}
	return nil
}

func (e *Endpoints) getTokenRole(ctx context.Context, name string) (*tokenRole, error) {
	if err := validRoleName(name); err != nil {
		return nil, err
	}
	ent, err := e.ts.b.Get(ctx, RolePrefix+name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errRoleNotFound
	}
	if err != nil {
		return nil, err
	}
	var r tokenRole
	if err := json.Unmarshal(ent.Value, &r); err != nil {
		return nil, fmt.Errorf("tokens: token role %q: %w", name, err)
	}
	return &r, nil
}

func roleOutput(r *tokenRole) map[string]any {
	return map[string]any{
		"name": r.Name, "allowed_policies": nonNil(r.AllowedPolicies), "disallowed_policies": nonNil(r.DisallowedPolicies),
		"orphan": r.Orphan, "renewable": r.Renewable, "path_suffix": r.PathSuffix,
		"period": secs(r.Period), "token_period": secs(r.Period),
		"explicit_max_ttl": secs(r.ExplicitMaxTTL), "token_explicit_max_ttl": secs(r.ExplicitMaxTTL),
		"token_num_uses": r.TokenNumUses, "token_no_default_policy": r.TokenNoDefaultPolicy,
		"token_type": "default-service", "token_bound_cidrs": nonNil(r.BoundCIDRs), "bound_cidrs": nonNil(r.BoundCIDRs),
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (e *Endpoints) tokenRoleOp(ctx context.Context, op secrets.Operation, name string, d map[string]any) (*Response, error) {
	if err := validRoleName(name); err != nil {
		return nil, err
	}
	switch op {
	case secrets.OpRead:
		r, err := e.getTokenRole(ctx, name)
		if errors.Is(err, errRoleNotFound) {
			return nil, secrets.Errorf(secrets.ErrNotFound, "not found")
		}
		if err != nil {
			return nil, err
		}
		return &Response{Data: roleOutput(r)}, nil
	case secrets.OpDelete:
		if err := e.ts.b.Delete(ctx, RolePrefix+name); err != nil {
			return nil, err
		}
		return &Response{}, nil
	case secrets.OpCreate, secrets.OpUpdate:
		r, err := e.getTokenRole(ctx, name)
		if errors.Is(err, errRoleNotFound) {
			r, err = &tokenRole{Name: name, Renewable: true}, nil
		}
		if err != nil {
			return nil, err
		}
		if err := applyRoleFields(r, d); err != nil {
			return nil, err
		}
		b, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		if err := e.ts.b.Put(ctx, &storage.Entry{Key: RolePrefix + name, Value: b}); err != nil {
			return nil, err
		}
		return &Response{}, nil
	}
	return nil, unsupportedOp()
}

func applyRoleFields(r *tokenRole, d map[string]any) error {
	if v, set, err := reqfield.Strings(d, "allowed_policies"); err != nil {
		return err
	} else if set {
		r.AllowedPolicies = SanitizePolicies(v, false)
	}
	if v, set, err := reqfield.Strings(d, "disallowed_policies"); err != nil {
		return err
	} else if set {
		r.DisallowedPolicies = SanitizePolicies(v, false)
	}
	if v, set, err := reqfield.Bool(d, "orphan"); err != nil {
		return err
	} else if set {
		r.Orphan = v
	}
	if v, set, err := reqfield.Bool(d, "renewable"); err != nil {
		return err
	} else if set {
		r.Renewable = v
	}
	if v, set, err := reqfield.Bool(d, "token_no_default_policy"); err != nil {
		return err
	} else if set {
		r.TokenNoDefaultPolicy = v
	}
	if v, err := reqfield.String(d, "path_suffix"); err != nil {
		return err
	} else if v != "" {
		if storage.ValidateKey(v) != nil || strings.ContainsFunc(v, unicode.IsSpace) {
			return badRequest("invalid path_suffix %q", v)
		}
		r.PathSuffix = v
	}
	for _, k := range []string{"token_period", "period"} {
		if v, set, err := reqfield.Duration(d, k); err != nil {
			return err
		} else if set {
			r.Period = v
			break
		}
	}
	for _, k := range []string{"token_explicit_max_ttl", "explicit_max_ttl"} {
		if v, set, err := reqfield.Duration(d, k); err != nil {
			return err
		} else if set {
			r.ExplicitMaxTTL = v
			break
		}
	}
	for _, k := range []string{"token_bound_cidrs", "bound_cidrs"} {
		if v, set, err := reqfield.Strings(d, k); err != nil {
			return err
		} else if set {
			cidrs, err := CanonicalCIDRs(k, v)
			if err != nil {
				return err
			}
			r.BoundCIDRs = cidrs
			break
		}
	}
	if v, set, err := reqfield.Int(d, "token_num_uses"); err != nil {
		return err
	} else if set {
		if v < 0 {
			return badRequest("token_num_uses cannot be negative")
		}
		r.TokenNumUses = v
	}
	if t, err := reqfield.String(d, "token_type"); err != nil {
		return err
	} else if t != "" && t != "service" && t != "default" && t != "default-service" {
		return badRequest("token_type %q is not supported (only service tokens)", t)
	}
	return nil
}

func permissionDenied() error {
	return &secrets.Error{Kind: secrets.ErrPermissionDenied, Msg: "permission denied"}
}

func unsupportedOp() error {
	return secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
}
