package userpass

import (
	"context"
	"errors"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/vaultd/vaultd/auth/internal/cidr"
	"github.com/vaultd/vaultd/auth/internal/tokenparams"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// errInvalidCredentials is the one answer for an unknown user and for a
// wrong password, so a client cannot tell them apart (Vault's text, 400).
func errInvalidCredentials() error {
	return invalidf("invalid username or password")
}

// login serves POST login/:username {password}. Unknown users cost a
// bcrypt comparison against a dummy hash, so the answer's timing does not
// reveal whether the user exists.
func (e *engine) login(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	rawName := d.String("username")
	password := d.String("password")
	if password == "" {
		return nil, invalidf("missing password")
	}
	name, nameErr := canonicalUsername(rawName)
	var u *userEntry
	var err error
	if nameErr == nil {
		if u, err = loadUser(ctx, req.Storage, name); err != nil {
			return nil, err
		}
	}
	hash := e.dummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	release, err := secrets.AcquireCPU(ctx) // bcrypt: the node's CPU pool (issue 11)
	if err != nil {
		return nil, err
	}
	cmpErr := e.compare(hash, []byte(password))
	release()
	if cmpErr != nil && u != nil && !errors.Is(cmpErr, bcrypt.ErrMismatchedHashAndPassword) {
		e.log.Warn("stored password hash is unusable", "user", name, "error", cmpErr)
	}
	if u == nil || cmpErr != nil || len(password) > maxPasswordBytes {
		return nil, errInvalidCredentials()
	}
	if !cidr.Allowed(req.RemoteAddr, u.BoundCIDRs) {
		return nil, secrets.Errorf(secrets.ErrPermissionDenied, "permission denied")
	}
	meta := map[string]string{"username": name}
	auth := u.Params.Auth(name, name, meta)
	for _, p := range auth.Policies {
		if strings.EqualFold(p, tokenparams.RootPolicy) {
			return nil, invalidf("auth methods cannot create root tokens")
		}
	}
	return &secrets.Response{Auth: auth}, nil
}
