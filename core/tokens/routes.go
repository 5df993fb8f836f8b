package tokens

import (
	"context"
	"fmt"
	"strings"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// tokenCall is one auth/token/* request on its way through the
// declarations: Handle has checked the ACL and sudo, the handler leaves
// its answer (which may carry an auth block, so it is a tokens Response,
// not a secrets.Response) in resp.
type tokenCall struct {
	path string // the full request path
	sub  string // the path below auth/token/, without a trailing slash
	data map[string]any
	te   *Entry
	resp *Response
}

type tokenCallKey struct{}

// handler adapts a token endpoint to an endpoint.Handler.
func handler(f func(ctx context.Context, op secrets.Operation, tc *tokenCall) (*Response, error)) endpoint.Handler {
	return func(ctx context.Context, req *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
		tc, ok := ctx.Value(tokenCallKey{}).(*tokenCall)
		if !ok {
			return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
		}
		r, err := f(ctx, req.Operation, tc)
		if err != nil {
			return nil, err
		}
		if r == nil {
			r = &Response{}
		}
		tc.resp = r
		return nil, nil
	}
}

func opsOf(h endpoint.Handler, os ...secrets.Operation) map[secrets.Operation]endpoint.Handler {
	m := make(map[secrets.Operation]endpoint.Handler, len(os))
	for _, o := range os {
		m[o] = h
	}
	return m
}

func field(t endpoint.Type, desc string) *endpoint.Field {
	return &endpoint.Field{Type: t, Description: desc}
}

// Backend declares the auth/token/* endpoints, relative to auth/token/.
// Handle routes every request through it (after the ACL checks), and the
// OpenAPI document and docs/api.md are generated from it. The handlers
// read the request body with the parsers they always used (Vault's weak
// forms, "system" TTLs), so the paths take arbitrary input; the fields
// document what they read.
func (e *Endpoints) Backend() *endpoint.Backend {
	e.once.Do(func() { e.ep = e.declare() })
	return e.ep
}

func (e *Endpoints) declare() *endpoint.Backend {
	const (
		rd, up, del, ls = secrets.OpRead, secrets.OpUpdate, secrets.OpDelete, secrets.OpList
	)
	raw, str := endpoint.TypeRaw, endpoint.TypeString
	create := handler(func(ctx context.Context, _ secrets.Operation, tc *tokenCall) (*Response, error) {
		return e.tokenCreate(ctx, tc.path, tc.data, tc.te, tc.sub)
	})
	lookup := handler(func(ctx context.Context, _ secrets.Operation, tc *tokenCall) (*Response, error) {
		return e.tokenLookup(ctx, tc.sub, tc.data, tc.te)
	})
	renew := handler(func(ctx context.Context, _ secrets.Operation, tc *tokenCall) (*Response, error) {
		return e.tokenRenew(ctx, tc.sub, tc.data, tc.te)
	})
	revoke := handler(func(ctx context.Context, _ secrets.Operation, tc *tokenCall) (*Response, error) {
		return e.tokenRevoke(ctx, tc.sub, tc.data, tc.te)
	})
	createFields := map[string]*endpoint.Field{
		"id":                field(str, "A chosen token ID (root or sudo only)."),
		"policies":          field(raw, "The token's policies (a list or a comma-separated string)."),
		"meta":              field(raw, "Metadata: a map of strings."),
		"no_parent":         field(raw, "Create an orphan (root or sudo only)."),
		"no_default_policy": field(raw, "Leave out the default policy."),
		"renewable":         field(raw, "Whether the token can be renewed."),
		"ttl":               field(raw, "The TTL (seconds or a duration string)."),
		"lease":             field(raw, "The TTL (deprecated name)."),
		"explicit_max_ttl":  field(raw, "A hard limit on the token's life."),
		"period":            field(raw, "Make a periodic token with this period."),
		"display_name":      field(str, "The token's display name."),
		"num_uses":          field(raw, "How many uses the token has (0: unlimited)."),
		"type":              field(str, "The token type (service)."),
	}
	token := map[string]*endpoint.Field{"token": field(str, "The token.")}
	accessor := map[string]*endpoint.Field{"accessor": field(str, "The token's accessor.")}
	withIncrement := func(m map[string]*endpoint.Field) map[string]*endpoint.Field {
		out := map[string]*endpoint.Field{"increment": field(raw, "The requested extension (seconds or a duration string).")}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	roleFields := map[string]*endpoint.Field{
		"allowed_policies":        field(raw, "Policies the role's tokens may have."),
		"disallowed_policies":     field(raw, "Policies the role's tokens may not have."),
		"orphan":                  field(raw, "The role's tokens are orphans."),
		"renewable":               field(raw, "The role's tokens can be renewed."),
		"path_suffix":             field(str, "A suffix of the tokens' creation path."),
		"period":                  field(raw, "Make periodic tokens with this period."),
		"token_period":            field(raw, "Make periodic tokens with this period."),
		"explicit_max_ttl":        field(raw, "A hard limit on the tokens' life."),
		"token_explicit_max_ttl":  field(raw, "A hard limit on the tokens' life."),
		"token_num_uses":          field(raw, "How many uses the role's tokens have."),
		"token_no_default_policy": field(raw, "Leave out the default policy."),
		"token_bound_cidrs":       field(raw, "CIDR blocks the tokens may be used from."),
		"token_type":              field(str, "The token type (service)."),
	}
	paths := []*endpoint.Path{
		{Pattern: "create", Fields: createFields, Summary: "Create a child token of the caller.", Operations: opsOf(create, up)},
		{Pattern: "create-orphan", Fields: createFields, Summary: "Create an orphan token.", Operations: opsOf(create, up)},
		{Pattern: "create/{role_name}", Fields: createFields, Summary: "Create a token under a role.", Operations: opsOf(create, up)},
		{Pattern: "lookup", Fields: token, Summary: "Look a token up.", Operations: opsOf(lookup, rd, up)},
		{Pattern: "lookup-self", Summary: "Look the calling token up.", Operations: opsOf(lookup, rd, up)},
		{Pattern: "lookup-accessor", Fields: accessor, Summary: "Look a token up by its accessor.", Operations: opsOf(lookup, rd, up)},
		{Pattern: "renew", Fields: withIncrement(token), Summary: "Renew a token.", Operations: opsOf(renew, up)},
		{Pattern: "renew-self", Fields: withIncrement(nil), Summary: "Renew the calling token.", Operations: opsOf(renew, up)},
		{Pattern: "renew-accessor", Fields: withIncrement(accessor), Summary: "Renew a token by its accessor.", Operations: opsOf(renew, up)},
		{Pattern: "revoke", Fields: token, Summary: "Revoke a token and its children.", Operations: opsOf(revoke, up)},
		{Pattern: "revoke-self", Summary: "Revoke the calling token and its children.", Operations: opsOf(revoke, up)},
		{Pattern: "revoke-accessor", Fields: accessor, Summary: "Revoke a token by its accessor.", Operations: opsOf(revoke, up)},
		{Pattern: "revoke-orphan", Fields: token, Summary: "Revoke a token and make its children orphans (sudo).", Operations: opsOf(revoke, up)},
		{
			Pattern: "accessors", Summary: "List the accessors of all tokens (sudo).",
			Operations: opsOf(handler(func(ctx context.Context, _ secrets.Operation, _ *tokenCall) (*Response, error) {
				accs, err := e.ts.ListAccessors(ctx)
				if err != nil {
					return nil, err
				}
				return &Response{Data: map[string]any{"keys": accs}}, nil
			}), ls),
		},
		{
			Pattern: "roles", Summary: "List the token roles.",
			Operations: opsOf(handler(func(ctx context.Context, _ secrets.Operation, _ *tokenCall) (*Response, error) {
				keys, err := e.ts.b.List(ctx, RolePrefix)
				if err != nil {
					return nil, err
				}
				if len(keys) == 0 {
					return nil, secrets.Errorf(secrets.ErrNotFound, "not found")
				}
				return &Response{Data: map[string]any{"keys": keys}}, nil
			}), ls),
		},
		{
			Pattern: "roles/{role_name+}", Fields: roleFields, Summary: "Read, write or delete a token role.",
			Operations: opsOf(handler(func(ctx context.Context, op secrets.Operation, tc *tokenCall) (*Response, error) {
				return e.tokenRoleOp(ctx, op, strings.TrimPrefix(tc.sub, "roles/"), tc.data)
			}), rd, secrets.OpCreate, up, del),
		},
		{
			Pattern: "tidy", Summary: "Remove expired tokens.",
			Operations: opsOf(handler(func(ctx context.Context, _ secrets.Operation, _ *tokenCall) (*Response, error) {
				n := e.ts.RevokeExpired(ctx, e.log)
				return &Response{Warnings: []string{fmt.Sprintf("tidy revoked %d expired token(s)", n)}}, nil
			}), up),
		},
	}
	for _, p := range paths {
		p.TakesArbitraryInput = true
	}
	return &endpoint.Backend{
		Help:            "The token store: create, look up, renew and revoke tokens; token roles.",
		StorageOptional: true,
		Paths:           paths,
	}
}
