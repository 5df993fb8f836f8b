package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/vaultd/vaultd/auth/internal/cidr"
	"github.com/vaultd/vaultd/auth/internal/jwtverify"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// defaultIssuer is the iss of legacy service-account token secrets.
const defaultIssuer = "kubernetes/serviceaccount"

// serviceAccount is who a service-account token names.
type serviceAccount struct {
	Name, Namespace, UID, SecretName string
}

// login serves POST login {role, jwt}.
func (e *engine) login(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	roleName := d.String("role")
	if roleName == "" {
		return nil, invalidf("missing role")
	}
	token := strings.TrimSpace(d.String("jwt"))
	if token == "" {
		return nil, invalidf("missing jwt")
	}
	c, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, invalidf("could not load backend configuration")
	}
	var r *role
	name, nameErr := canonicalRoleName(roleName)
	if nameErr == nil {
		if r, err = loadRole(ctx, req.Storage, name); err != nil {
			return nil, err
		}
	}
	if r == nil {
		return nil, invalidf("invalid role name %q", roleName)
	}
	if !cidr.Allowed(req.RemoteAddr, r.BoundCIDRs) {
		return nil, denied("permission denied")
	}
	sa, tok, err := e.parseToken(c, token)
	if err != nil {
		return nil, err
	}
	if !matchesAny(r.ServiceAccountNames, sa.Name) {
		return nil, denied("service account name not authorized")
	}
	if !matchesAny(r.ServiceAccountNamespaces, sa.Namespace) {
		return nil, denied("namespace not authorized")
	}
	if r.Audience != "" && !slices.Contains(tok.Std.Audience, r.Audience) {
		return nil, denied("invalid audience (aud) claim: audience claim does not match any expected audience")
	}
	if err := e.review(ctx, c, r, token, sa); err != nil {
		return nil, err
	}
	alias := sa.UID
	if r.AliasNameSource == aliasSourceName {
		alias = sa.Namespace + "/" + sa.Name
	}
	meta := map[string]string{
		"service_account_name":        sa.Name,
		"service_account_namespace":   sa.Namespace,
		"service_account_uid":         sa.UID,
		"service_account_secret_name": sa.SecretName,
		"role":                        name,
	}
	auth := r.Params.Auth(sa.Namespace+"-"+sa.Name, alias, meta)
	return &secrets.Response{Auth: auth}, nil
}

// matchesAny reports whether s matches one of the globs.
func matchesAny(globs []string, s string) bool {
	for _, g := range globs {
		if jwtverify.Glob(g, s) {
			return true
		}
	}
	return false
}

// parseToken decodes the service-account token. With pem_keys its
// signature is verified here; either way the TokenReview that follows is
// what authenticates it. Times are checked when the token has an exp
// (legacy secret tokens have none; the API server still vouches for them).
func (e *engine) parseToken(c *config, raw string) (*serviceAccount, *jwtverify.Token, error) {
	var (
		tok *jwtverify.Token
		err error
	)
	if len(c.PEMKeys) > 0 {
		keys := make([]jose.JSONWebKey, 0, len(c.PEMKeys))
		for _, p := range c.PEMKeys {
			k, perr := jwtverify.ParsePEMKey(p)
			if perr != nil {
				return nil, nil, fmt.Errorf("kubernetes: stored pem_keys: %w", perr)
			}
			keys = append(keys, jose.JSONWebKey{Key: k})
		}
		tok, err = jwtverify.Verify(raw, nil, keys)
	} else {
		tok, err = jwtverify.Unverified(raw, nil)
	}
	switch {
	case errors.Is(err, jwtverify.ErrAlgorithm):
		return nil, nil, denied("token signing algorithm is not allowed")
	case errors.Is(err, jwtverify.ErrMalformed):
		return nil, nil, invalidf("token is malformed")
	case err != nil:
		return nil, nil, denied("failed to validate JWT: %v", jwtverify.ErrSignature)
	}
	if !c.DisableISSValidation {
		want := c.Issuer
		if want == "" {
			want = defaultIssuer
		}
		if tok.Std.Issuer != want {
			return nil, nil, denied("invalid issuer (iss) claim")
		}
	}
	if tok.Std.Expiry != nil {
		if err := jwtverify.CheckTimes(tok.Std, e.now(), jwtverify.Leeways{Expiration: -1, NotBefore: -1}); err != nil {
			return nil, nil, denied("%v", err)
		}
	}
	sa, err := serviceAccountOf(tok.Claims)
	if err != nil {
		return nil, nil, denied("%v", err)
	}
	return sa, tok, nil
}

// serviceAccountOf reads the service account from a projected token
// ("kubernetes.io": {namespace, serviceaccount: {name, uid}}) or a legacy
// secret token ("kubernetes.io/serviceaccount/..." claims).
func serviceAccountOf(claims map[string]any) (*serviceAccount, error) {
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	sa := &serviceAccount{}
	if k8s, ok := claims["kubernetes.io"].(map[string]any); ok {
		sa.Namespace = str(k8s, "namespace")
		if acct, ok := k8s["serviceaccount"].(map[string]any); ok {
			sa.Name, sa.UID = str(acct, "name"), str(acct, "uid")
		}
	} else {
		sa.Namespace = str(claims, "kubernetes.io/serviceaccount/namespace")
		sa.Name = str(claims, "kubernetes.io/serviceaccount/service-account.name")
		sa.UID = str(claims, "kubernetes.io/serviceaccount/service-account.uid")
		sa.SecretName = str(claims, "kubernetes.io/serviceaccount/secret.name")
	}
	if sa.Namespace == "" || sa.Name == "" || sa.UID == "" {
		return nil, errors.New("the token does not name a service account (namespace, name and uid)")
	}
	return sa, nil
}

// readLocal reads an in-pod service-account file, "" when absent.
func readLocal(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
