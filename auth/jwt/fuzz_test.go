package jwt_test

import (
	"strings"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

// FuzzLogin: no token and no role name makes the login crash, and none
// but the one signed by the configured key logs in.
func FuzzLogin(f *testing.F) {
	s := newRSA(&testing.T{}, "")
	fx := newFixture(&testing.T{})
	setupPEM(&testing.T{}, fx, s, nil)
	good := s.sign(&testing.T{}, claims(fx.clock(), nil))
	f.Add("ci", good)
	f.Add("ci", "eyJhbGciOiJub25lIn0.e30.")
	f.Add("../x", "a.b.c")
	f.Fuzz(func(t *testing.T, role, tok string) {
		resp, err := fx.do(secrets.OpUpdate, "login", map[string]any{"role": role, "jwt": tok})
		if err == nil && (resp.Auth == nil || strings.TrimSpace(tok) != good) {
			t.Fatalf("login succeeded for role %q token %q", role, tok)
		}
	})
}
