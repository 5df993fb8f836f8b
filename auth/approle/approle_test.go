package approle_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultd/vaultd/auth/approle"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// viewPrefix is where the test mount's view lives in the underlying store.
const viewPrefix = "auth/5c1d-approle/"

// outsideKey is a key outside the view that no request may touch.
const outsideKey = "core/keyring"

var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is an injectable, advanceable clock.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

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

// fixture is one AppRole mount over inmem through a storage.View.
type fixture struct {
	t     testing.TB
	under *inmem.Backend
	view  *counting
	eng   secrets.Backend
	clock *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	under := inmem.New()
	if err := under.Put(context.Background(), &storage.Entry{Key: outsideKey, Value: []byte("do-not-touch")}); err != nil {
		t.Fatal(err)
	}
	view := &counting{Backend: storage.NewView(under, viewPrefix)}
	clk := &clock{t: t0}
	eng, err := approle.Factory(context.Background(), secrets.Config{Type: "approle", Storage: view, Now: clk.Now})
	if err != nil {
		t.Fatalf("Factory: %v", err)
	}
	return &fixture{t: t, under: under, view: view, eng: eng, clock: clk}
}

// with returns the fixture bound to t (for subtests).
func (f *fixture) with(t testing.TB) *fixture {
	cp := *f
	cp.t = t
	return &cp
}

func (f *fixture) req(op secrets.Operation, path string, data map[string]any, remote string) *secrets.Request {
	return &secrets.Request{Operation: op, Path: path, Data: data, Storage: f.view, MountPoint: "auth/approle/", RemoteAddr: remote}
}

// do sends one request from 127.0.0.1, with core's existence check.
func (f *fixture) do(op secrets.Operation, path string, data map[string]any) (*secrets.Response, error) {
	f.t.Helper()
	return f.doFrom("127.0.0.1", op, path, data)
}

func (f *fixture) doFrom(remote string, op secrets.Operation, path string, data map[string]any) (*secrets.Response, error) {
	f.t.Helper()
	ctx := context.Background()
	req := f.req(op, path, data, remote)
	if op == secrets.OpUpdate {
		exists, checked, err := f.eng.(secrets.ExistenceChecker).Exists(ctx, req)
		if err != nil {
			return nil, err
		}
		if checked && !exists {
			req.Operation = secrets.OpCreate
		}
	}
	resp, err := f.eng.HandleRequest(ctx, req)
	if err == nil && resp == nil {
		f.t.Fatalf("%s %s: (nil, nil)", op, path)
	}
	return resp, err
}

func (f *fixture) must(op secrets.Operation, path string, data map[string]any) *secrets.Response {
	f.t.Helper()
	resp, err := f.do(op, path, data)
	if err != nil {
		f.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

func (f *fixture) mustJSON(op secrets.Operation, path string, data map[string]any) map[string]any {
	f.t.Helper()
	return asJSON(f.t, f.must(op, path, data).Data)
}

func (f *fixture) fails(op secrets.Operation, path string, data map[string]any, kind error) *secrets.Error {
	f.t.Helper()
	resp, err := f.do(op, path, data)
	return checkFails(f.t, op, path, resp, err, kind)
}

func checkFails(t testing.TB, op secrets.Operation, path string, resp *secrets.Response, err, kind error) *secrets.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("%s %s = %+v, want error %v", op, path, resp, kind)
	}
	var se *secrets.Error
	if !errors.As(err, &se) {
		t.Fatalf("%s %s: error %v (%T) is not a *secrets.Error", op, path, err, err)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("%s %s: error kind %v (%q), want %v", op, path, se.Kind, se.Msg, kind)
	}
	return se
}

// role creates (or updates) a role and returns its role ID.
func (f *fixture) role(name string, data map[string]any) string {
	f.t.Helper()
	f.must(secrets.OpUpdate, "role/"+name, data)
	return f.mustJSON(secrets.OpRead, "role/"+name+"/role-id", nil)["role_id"].(string)
}

// secretID generates a secret ID and returns it and its accessor.
func (f *fixture) secretID(name string, data map[string]any) (id, accessor string) {
	f.t.Helper()
	d := f.mustJSON(secrets.OpUpdate, "role/"+name+"/secret-id", data)
	return d["secret_id"].(string), d["secret_id_accessor"].(string)
}

// login logs in from remote.
func (f *fixture) login(remote, roleID, secretID string) (*secrets.Response, error) {
	f.t.Helper()
	data := map[string]any{"role_id": roleID}
	if secretID != "" {
		data["secret_id"] = secretID
	}
	return f.doFrom(remote, secrets.OpUpdate, "login", data)
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

// storedKeys lists every key of the view.
func (f *fixture) storedKeys() []string {
	f.t.Helper()
	var out []string
	for _, k := range allKeys(f.t, f.under, viewPrefix) {
		out = append(out, strings.TrimPrefix(k, viewPrefix))
	}
	return out
}

// assertContained checks that every key of the underlying store is inside
// the view, apart from the sentinel, which must be unchanged.
func (f *fixture) assertContained() {
	f.t.Helper()
	for _, k := range allKeys(f.t, f.under, "") {
		if k != outsideKey && !strings.HasPrefix(k, viewPrefix) {
			f.t.Fatalf("key %q is outside the view %q", k, viewPrefix)
		}
	}
	e, err := f.under.Get(context.Background(), outsideKey)
	if err != nil || string(e.Value) != "do-not-touch" {
		f.t.Fatalf("sentinel %q changed: %v", outsideKey, err)
	}
}

// assertNoPlaintext fails if any key or value of the underlying store
// contains secret, raw, base64- or hex-encoded.
func (f *fixture) assertNoPlaintext(secret string) {
	f.t.Helper()
	forms := [][]byte{
		[]byte(secret),
		[]byte(base64.StdEncoding.EncodeToString([]byte(secret))),
		[]byte(base64.RawURLEncoding.EncodeToString([]byte(secret))),
		[]byte(hex.EncodeToString([]byte(secret))),
	}
	ctx := context.Background()
	for _, k := range allKeys(f.t, f.under, "") {
		e, err := f.under.Get(ctx, k)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, form := range forms {
			if bytes.Contains([]byte(k), form) || bytes.Contains(e.Value, form) {
				f.t.Fatalf("stored entry %q contains the secret in plaintext", k)
			}
		}
	}
}

func allKeys(t testing.TB, b storage.Backend, prefix string) []string {
	t.Helper()
	children, err := b.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range children {
		if strings.HasSuffix(c, "/") {
			out = append(out, allKeys(t, b, prefix+c)...)
		} else {
			out = append(out, prefix+c)
		}
	}
	return out
}

func asJSON(t testing.TB, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("response is not JSON: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
