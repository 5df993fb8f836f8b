package kubernetes_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

// FuzzLogin: no role name or token crashes the login, and only the
// cluster's genuine token for the bound service account logs in.
func FuzzLogin(f *testing.F) {
	t := &testing.T{}
	c := newCluster(t)
	fx := newFixture(t, "", "")
	setup(t, fx, c, nil, nil)
	good := c.token("prod-eu", "app", uid, nil, time.Hour)
	f.Cleanup(c.srv.Close)
	f.Add("app", good)
	f.Add("app", "eyJhbGciOiJub25lIn0.eyJrdWJlcm5ldGVzLmlvIjp7fX0.")
	f.Add("../x", "a.b.c")
	f.Fuzz(func(t *testing.T, role, tok string) {
		resp, err := fx.do(secrets.OpUpdate, "login", map[string]any{"role": role, "jwt": tok})
		if err == nil && (resp.Auth == nil || strings.TrimSpace(tok) != good) {
			t.Fatalf("login succeeded for role %q token %q", role, tok)
		}
	})
}
