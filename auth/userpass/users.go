package userpass

import (
	"context"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"github.com/vaultd/vaultd/auth/internal/entries"
	"github.com/vaultd/vaultd/auth/internal/tokenparams"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// maxPasswordBytes is bcrypt's limit: longer passwords would be silently
// truncated, so they are refused.
const maxPasswordBytes = 72

// legacyFields maps the deprecated user fields to their token_* successors.
var legacyFields = map[string]string{
	"policies":    "token_policies",
	"ttl":         "token_ttl",
	"max_ttl":     "token_max_ttl",
	"bound_cidrs": "token_bound_cidrs",
}

// usersList serves LIST users.
func (e *engine) usersList(ctx context.Context, req *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
	return entries.List(ctx, req.Storage, userPrefix, "userpass: users")
}

// userRead serves GET users/:username. The password hash is never shown.
func (e *engine) userRead(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	name := d.String("username")
	name, err := canonicalUsername(name)
	if err != nil {
		return nil, err
	}
	u, err := loadUser(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, notFound()
	}
	data := map[string]any{}
	u.Params.Populate(data)
	return &secrets.Response{Data: data}, nil
}

// userWrite serves POST users/:username: it creates the user (a password
// or password_hash is then required) or updates the fields given.
func (e *engine) userWrite(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	name := d.String("username")
	name, err := canonicalUsername(name)
	if err != nil {
		return nil, err
	}
	// Hash before taking the lock: bcrypt is slow on purpose.
	hash, hashSet, err := e.passwordFromRequest(ctx, d)
	if err != nil {
		return nil, err
	}
	mu := e.locks.ForKey(name)
	mu.Lock()
	defer mu.Unlock()
	u, err := loadUser(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if u == nil {
		if !hashSet {
			return nil, invalidf("missing password")
		}
		u = &userEntry{}
	}
	if err := u.Params.Parse(d, legacyFields); err != nil {
		return nil, err
	}
	if hashSet {
		u.PasswordHash = hash
	}
	if err := saveUser(ctx, req.Storage, name, u); err != nil {
		return nil, err
	}
	return noContent(), nil
}

// userDelete serves DELETE users/:username (idempotent).
func (e *engine) userDelete(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	name := d.String("username")
	name, err := canonicalUsername(name)
	if err != nil {
		return nil, err
	}
	mu := e.locks.ForKey(name)
	mu.Lock()
	defer mu.Unlock()
	if err := req.Storage.Delete(ctx, userKey(name)); err != nil {
		return nil, fmt.Errorf("userpass: delete user: %w", err)
	}
	return noContent(), nil
}

// userPassword serves POST users/:username/password {password}.
func (e *engine) userPassword(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	name := d.String("username")
	name, err := canonicalUsername(name)
	if err != nil {
		return nil, err
	}
	hash, hashSet, err := e.passwordFromRequest(ctx, d)
	if err != nil {
		return nil, err
	}
	if !hashSet {
		return nil, invalidf("missing password")
	}
	return e.updateUser(ctx, req, name, func(u *userEntry) error {
		u.PasswordHash = hash
		return nil
	})
}

// userPolicies serves POST users/:username/policies {token_policies}. As
// in Vault, a request without policies clears them.
func (e *engine) userPolicies(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	name := d.String("username")
	name, err := canonicalUsername(name)
	if err != nil {
		return nil, err
	}
	polField := "token_policies"
	if !d.Has(polField) && d.Has("policies") {
		polField = "policies"
	}
	policies := tokenparams.SanitizePolicies(d.Strings(polField))
	for _, p := range policies {
		if p == tokenparams.RootPolicy {
			return nil, invalidf("the %q policy cannot be assigned by an auth method", tokenparams.RootPolicy)
		}
	}
	return e.updateUser(ctx, req, name, func(u *userEntry) error {
		u.Policies = policies
		return nil
	})
}

// updateUser applies change to an existing user under its lock.
func (e *engine) updateUser(ctx context.Context, req *secrets.Request, name string, change func(*userEntry) error) (*secrets.Response, error) {
	mu := e.locks.ForKey(name)
	mu.Lock()
	defer mu.Unlock()
	u, err := loadUser(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, invalidf("username does not exist")
	}
	if err := change(u); err != nil {
		return nil, err
	}
	if err := saveUser(ctx, req.Storage, name, u); err != nil {
		return nil, err
	}
	return noContent(), nil
}

// passwordFromRequest returns the bcrypt hash for the request's password
// (hashed here) or password_hash (validated); set is false when neither
// is given.
func (e *engine) passwordFromRequest(ctx context.Context, d *endpoint.Data) (hash []byte, set bool, err error) {
	pw, pwSet := d.String("password"), d.Has("password")
	ph, phSet := d.String("password_hash"), d.Has("password_hash")
	switch {
	case pwSet && phSet:
		return nil, false, invalidf("'password' and 'password_hash' are mutually exclusive")
	case pwSet:
		if pw == "" {
			return nil, false, invalidf("missing password")
		}
		if len(pw) > maxPasswordBytes {
			return nil, false, invalidf("password is longer than %d bytes", maxPasswordBytes)
		}
		release, err := secrets.AcquireCPU(ctx) // bcrypt: the node's CPU pool (issue 11)
		if err != nil {
			return nil, false, err
		}
		h, err := bcrypt.GenerateFromPassword([]byte(pw), e.cost)
		release()
		if err != nil {
			return nil, false, fmt.Errorf("userpass: hash password: %w", err)
		}
		return h, true, nil
	case phSet:
		if _, err := bcrypt.Cost([]byte(ph)); err != nil {
			return nil, false, invalidf("'password_hash' is not a bcrypt hash")
		}
		return []byte(ph), true, nil
	}
	return nil, false, nil
}
