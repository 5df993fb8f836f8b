package userpass_test

import (
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/vaultd/vaultd/auth/userpass"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/enginetest"
	"github.com/vaultd/vaultd/storage"
)

// viewPrefix is where the test mount's view lives in the underlying store.
const viewPrefix = "auth/0b7e-userpass/"

// outsideKey is a key outside the view that no request may touch.
const outsideKey = "core/keyring"

// fixture is one userpass mount over inmem through a storage.View
// (secrets/enginetest).
type fixture struct {
	*enginetest.Mount
	t   testing.TB
	spy *userpass.CompareSpy
}

// newFixture mounts userpass with bcrypt's minimum cost, to keep tests fast.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureCost(t, bcrypt.MinCost)
}

func newFixtureCost(t testing.TB, cost int) *fixture {
	t.Helper()
	m := enginetest.New(t, enginetest.Options{ViewPrefix: viewPrefix, MountPoint: "auth/userpass/",
		Engine: func(view storage.Backend) (secrets.Backend, error) {
			return userpass.NewWithCost(secrets.Config{Type: "userpass", Storage: view}, cost)
		}})
	return &fixture{Mount: m, t: t, spy: userpass.Spy(m.Eng)}
}

// with returns the fixture bound to t (for subtests).
func (f *fixture) with(t testing.TB) *fixture {
	cp := *f
	cp.t, cp.Mount = t, f.Mount.With(t)
	return &cp
}

var (
	checkFails = enginetest.CheckFails
	asJSON     = enginetest.AsJSON
	allKeys    = enginetest.AllKeys
)

// login logs in from remote and returns the response and error.
func (f *fixture) login(remote, user, password string) (*secrets.Response, error) {
	f.t.Helper()
	return f.DoFrom(remote, secrets.OpUpdate, "login/"+user, map[string]any{"password": password})
}

// mustLogin logs in from 127.0.0.1 and returns the Auth.
func (f *fixture) mustLogin(user, password string) *secrets.Auth {
	f.t.Helper()
	resp, err := f.login("127.0.0.1", user, password)
	if err != nil {
		f.t.Fatalf("login %s: %v", user, err)
	}
	if resp.Auth == nil {
		f.t.Fatalf("login %s: no auth in %+v", user, resp)
	}
	return resp.Auth
}
