package core

import (
	"context"
	"time"

	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/secrets"
)

// TokenEntry is a token as the token store keeps it (core/tokens).
type TokenEntry = tokens.Entry

// ResponseAuth is the "auth" block of a login or token-create response.
type ResponseAuth = tokens.ResponseAuth

func secs(d time.Duration) int64 { return int64(d / time.Second) }

// tokenHost is what core gives the token endpoints (tokens.Host).
type tokenHost struct{ c *Core }

func (h tokenHost) CheckACL(te *TokenEntry, op secrets.Operation, path string, data map[string]any, wrapTTL time.Duration) error {
	_, err := h.c.checkACL(te, op, path, data, wrapTTL)
	return err
}

func (h tokenHost) VerifyForRead(ctx context.Context, op secrets.Operation) error {
	return h.c.verifyForRead(ctx, op)
}

func (h tokenHost) TokenMountTTLs() (def, max time.Duration, err error) {
	at := h.c.ident.auth.Current()
	if at == nil {
		return 0, 0, ErrStandby
	}
	def, max = h.c.authMountTTLs(at.Get("token/"))
	return def, max, nil
}

func (h tokenHost) IdentityPolicies(te *TokenEntry) []string {
	return h.c.identityPolicies(te) // identitystore.go
}
