package jwt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vaultd/vaultd/auth/internal/cidr"
	"github.com/vaultd/vaultd/auth/internal/jwtverify"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// login serves POST login {role, jwt}.
func (e *engine) login(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	roleName, token := d.String("role"), strings.TrimSpace(d.String("jwt"))
	if token == "" {
		return nil, invalidf("missing token")
	}
	c, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, invalidf("could not load configuration")
	}
	if roleName == "" {
		roleName = c.DefaultRole
	}
	if roleName == "" {
		return nil, invalidf("missing role")
	}
	var r *role
	if checkRoleName(roleName) == nil {
		if r, err = loadRole(ctx, req.Storage, roleName); err != nil {
			return nil, err
		}
	}
	if r == nil {
		return nil, invalidf("role %q could not be found", roleName)
	}
	if !cidr.Allowed(req.RemoteAddr, r.BoundCIDRs) {
		return nil, secrets.Errorf(secrets.ErrPermissionDenied, "permission denied")
	}
	tok, err := e.verify(ctx, c, token)
	if err != nil {
		return nil, err
	}
	if err := e.validateClaims(c, r, tok); err != nil {
		return nil, invalidf("error validating claims: %v", err)
	}
	alias, err := userName(r, tok.Claims)
	if err != nil {
		return nil, invalidf("%v", err)
	}
	var groupAliases []string
	if r.GroupsClaim != "" {
		if groupAliases, err = groups(r.GroupsClaim, tok.Claims); err != nil {
			return nil, invalidf("%v", err)
		}
	}
	meta := map[string]string{"role": roleName}
	for claim, key := range r.ClaimMappings {
		v, ok := lookupClaim(tok.Claims, claim)
		if !ok {
			continue
		}
		s, ok := scalarString(v)
		if !ok {
			return nil, invalidf("error converting claim %q to string", claim)
		}
		meta[key] = s
	}
	auth := r.Params.Auth(alias, alias, meta)
	// The groups become group aliases: core makes the entity a member of
	// the external groups aliased by these names on this mount.
	auth.GroupAliases = groupAliases
	for _, p := range auth.Policies {
		if strings.EqualFold(p, "root") {
			return nil, invalidf("auth methods cannot create root tokens")
		}
	}
	return &secrets.Response{Auth: auth}, nil
}

// verify checks token's signature with c's keys. A failure with keys
// fetched from a URL is retried once with freshly fetched keys (the
// issuer may have rotated its key), at most every refetchAfter.
func (e *engine) verify(ctx context.Context, c *config, token string) (*jwtverify.Token, error) {
	set, err := e.keysFor(ctx, c, false)
	if err != nil {
		e.log.Warn("cannot load JWT verification keys", "error", err)
		return nil, invalidf("error validating token: cannot load the verification keys")
	}
	tok, err := jwtverify.Verify(token, c.SupportedAlgs, set.keys)
	if errors.Is(err, jwtverify.ErrSignature) && len(c.PubKeys) == 0 {
		if fresh, ferr := e.keysFor(ctx, c, true); ferr == nil && fresh != set {
			set = fresh
			tok, err = jwtverify.Verify(token, c.SupportedAlgs, set.keys)
		}
	}
	switch {
	case errors.Is(err, jwtverify.ErrAlgorithm):
		return nil, invalidf("error validating token: token signing algorithm is not allowed")
	case errors.Is(err, jwtverify.ErrMalformed):
		return nil, invalidf("error validating token: token is malformed")
	case err != nil:
		return nil, invalidf("error validating token: %v", jwtverify.ErrSignature)
	}
	if set.issuer != "" && tok.Std.Issuer != set.issuer {
		return nil, invalidf("error validating claims: iss claim does not match the OIDC issuer")
	}
	return tok, nil
}

// validateClaims applies the config's and role's bounds to a verified token.
func (e *engine) validateClaims(c *config, r *role, tok *jwtverify.Token) error {
	if c.BoundIssuer != "" && tok.Std.Issuer != c.BoundIssuer {
		return errors.New("iss claim does not match bound_issuer")
	}
	if err := jwtverify.CheckTimes(tok.Std, e.now(), jwtverify.Leeways{
		ClockSkew: r.ClockSkewLeeway, Expiration: r.ExpirationLeeway, NotBefore: r.NotBeforeLeeway,
	}); err != nil {
		return err
	}
	switch {
	case len(r.BoundAudiences) > 0:
		if !slices.ContainsFunc(r.BoundAudiences, func(a string) bool { return slices.Contains(tok.Std.Audience, a) }) {
			return errors.New("aud claim does not match any bound audience")
		}
	case len(tok.Std.Audience) > 0:
		return errors.New("audience claim found in JWT but no audiences bound to the role")
	}
	if r.BoundSubject != "" && tok.Std.Subject != r.BoundSubject {
		return errors.New("sub claim does not match bound subject")
	}
	return checkBoundClaims(r, tok.Claims)
}

// checkBoundClaims requires every bound claim to be present and to match
// one of its values (any element when the claim is a list).
func checkBoundClaims(r *role, claims map[string]any) error {
	for name, want := range r.BoundClaims {
		v, ok := lookupClaim(claims, name)
		if !ok {
			return fmt.Errorf("claim %q is missing", name)
		}
		var have []string
		switch x := v.(type) {
		case []any:
			for _, it := range x {
				if s, ok := scalarString(it); ok {
					have = append(have, s)
				}
			}
		default:
			if s, ok := scalarString(x); ok {
				have = []string{s}
			}
		}
		if !matchAny(r.BoundClaimsType == claimsTypeGlob, want, have) {
			return fmt.Errorf("claim %q does not match any associated bound claim values", name)
		}
	}
	return nil
}

func matchAny(glob bool, want, have []string) bool {
	for _, w := range want {
		for _, h := range have {
			if glob && jwtverify.Glob(w, h) || !glob && w == h {
				return true
			}
		}
	}
	return false
}

// lookupClaim finds a claim by name, or by JSON pointer (RFC 6901) when
// the name starts with "/".
func lookupClaim(claims map[string]any, name string) (any, bool) {
	if !strings.HasPrefix(name, "/") {
		v, ok := claims[name]
		return v, ok && v != nil
	}
	var cur any = claims
	for _, tok := range strings.Split(name[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

// userName is the role's user claim: the alias name of the login.
func userName(r *role, claims map[string]any) (string, error) {
	name := r.UserClaim
	if !r.UserClaimJSONPtr && strings.HasPrefix(name, "/") {
		// Only a JSON pointer when asked for: "/x" is a claim named "/x".
		v, ok := claims[name]
		if !ok || v == nil {
			return "", fmt.Errorf("claim %q not found in token", name)
		}
		return userNameValue(name, v)
	}
	v, ok := lookupClaim(claims, name)
	if !ok {
		return "", fmt.Errorf("claim %q not found in token", name)
	}
	return userNameValue(name, v)
}

func userNameValue(name string, v any) (string, error) {
	s, ok := scalarString(v)
	if _, isBool := v.(bool); !ok || isBool || s == "" {
		return "", fmt.Errorf("claim %q could not be converted to string", name)
	}
	return s, nil
}

// groups reads the groups claim: a string or a list of strings.
func groups(name string, claims map[string]any) ([]string, error) {
	v, ok := lookupClaim(claims, name)
	if !ok {
		return nil, fmt.Errorf("%q claim not found in token", name)
	}
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, it := range x {
			s, ok := it.(string)
			if !ok {
				return nil, fmt.Errorf("group claim %q contains a value that is not a string", name)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("group claim %q is not a string or a list of strings", name)
}
