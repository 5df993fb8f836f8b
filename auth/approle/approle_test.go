package approle_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultd/vaultd/auth/approle"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/enginetest"
	"github.com/vaultd/vaultd/storage"
)

// viewPrefix is where the test mount's view lives in the underlying store.
const viewPrefix = "auth/5c1d-approle/"

// outsideKey is a key outside the view that no request may touch.
const outsideKey = "core/keyring"

var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

type clock = enginetest.Clock

// counting is a storage.Backend that counts the calls made through it.
type counting struct {
	storage.Backend
	gets, puts, lists, txns atomic.Int64
}

func (c *counting) Get(ctx context.Context, key string) (*storage.Entry, error) {
	c.gets.Add(1)
	return c.Backend.Get(ctx, key)
}

func (c *counting) Put(ctx context.Context, e *storage.Entry) error {
	c.puts.Add(1)
	return c.Backend.Put(ctx, e)
}

func (c *counting) List(ctx context.Context, prefix string) ([]string, error) {
	c.lists.Add(1)
	return c.Backend.List(ctx, prefix)
}

func (c *counting) Txn(ctx context.Context, ops []storage.Op) error {
	c.txns.Add(1)
	return c.Backend.Txn(ctx, ops)
}

// calls returns and resets the counters as [gets, puts, lists, txns].
func (c *counting) calls() [4]int64 {
	return [4]int64{c.gets.Swap(0), c.puts.Swap(0), c.lists.Swap(0), c.txns.Swap(0)}
}

// fixture is one AppRole mount over inmem through a storage.View
// (secrets/enginetest), counting the storage calls.
type fixture struct {
	*enginetest.Mount
	t     testing.TB
	view  *counting
	clock *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	clk := enginetest.NewClock(t0)
	var view *counting
	m := enginetest.New(t, enginetest.Options{ViewPrefix: viewPrefix, MountPoint: "auth/approle/",
		Wrap: func(v storage.Backend) storage.Backend { view = &counting{Backend: v}; return view },
		Engine: func(v storage.Backend) (secrets.Backend, error) {
			return approle.Factory(context.Background(), secrets.Config{Type: "approle", Storage: v, Now: clk.Now})
		}})
	return &fixture{Mount: m, t: t, view: view, clock: clk}
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

// role creates (or updates) a role and returns its role ID.
func (f *fixture) role(name string, data map[string]any) string {
	f.t.Helper()
	f.Must(secrets.OpUpdate, "role/"+name, data)
	return f.MustJSON(secrets.OpRead, "role/"+name+"/role-id", nil)["role_id"].(string)
}

// secretID generates a secret ID and returns it and its accessor.
func (f *fixture) secretID(name string, data map[string]any) (id, accessor string) {
	f.t.Helper()
	d := f.MustJSON(secrets.OpUpdate, "role/"+name+"/secret-id", data)
	return d["secret_id"].(string), d["secret_id_accessor"].(string)
}

// login logs in from remote.
func (f *fixture) login(remote, roleID, secretID string) (*secrets.Response, error) {
	f.t.Helper()
	data := map[string]any{"role_id": roleID}
	if secretID != "" {
		data["secret_id"] = secretID
	}
	return f.DoFrom(remote, secrets.OpUpdate, "login", data)
}

func (f *fixture) mustLogin(roleID, secretID string) *secrets.Auth {
	f.t.Helper()
	resp, err := f.login("127.0.0.1", roleID, secretID)
	if err != nil {
		f.t.Fatalf("login: %v", err)
	}
	if resp.Auth == nil {
		f.t.Fatalf("login: no auth in %+v", resp)
	}
	return resp.Auth
}

// failsLogin asserts the generic login failure.
func (f *fixture) failsLogin(roleID, secretID string) {
	f.t.Helper()
	resp, err := f.login("127.0.0.1", roleID, secretID)
	se := checkFails(f.t, secrets.OpUpdate, "login", resp, err, secrets.ErrInvalidRequest)
	if se.Msg != "invalid role or secret ID" {
		f.t.Fatalf("login error = %q, want %q", se.Msg, "invalid role or secret ID")
	}
}
