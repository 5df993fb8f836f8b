package userpass_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/vaultd/vaultd/auth/userpass"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// viewPrefix is where the test mount's view lives in the underlying store.
const viewPrefix = "auth/0b7e-userpass/"

// outsideKey is a key outside the view that no request may touch.
const outsideKey = "core/keyring"

// fixture is one userpass mount over inmem through a storage.View.
type fixture struct {
	t     testing.TB
	under *inmem.Backend
	view  *storage.View
	eng   secrets.Backend
	spy   *userpass.CompareSpy
}

// newFixture mounts userpass with bcrypt's minimum cost, to keep tests fast.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureCost(t, bcrypt.MinCost)
}

func newFixtureCost(t testing.TB, cost int) *fixture {
	t.Helper()
	under := inmem.New()
	if err := under.Put(context.Background(), &storage.Entry{Key: outsideKey, Value: []byte("do-not-touch")}); err != nil {
		t.Fatal(err)
	}
	view := storage.NewView(under, viewPrefix)
	eng, err := userpass.NewWithCost(secrets.Config{Type: "userpass", Storage: view}, cost)
	if err != nil {
		t.Fatalf("NewWithCost: %v", err)
	}
	return &fixture{t: t, under: under, view: view, eng: eng, spy: userpass.Spy(eng)}
}

// with returns the fixture bound to t (for subtests).
func (f *fixture) with(t testing.TB) *fixture {
	cp := *f
	cp.t = t
	return &cp
}

// req builds a request as core would.
func (f *fixture) req(op secrets.Operation, path string, data map[string]any, remote string) *secrets.Request {
	return &secrets.Request{Operation: op, Path: path, Data: data, Storage: f.view, MountPoint: "auth/userpass/", RemoteAddr: remote}
}

// do sends one request from 127.0.0.1. An OpUpdate goes through the
// existence check first, as core does, and becomes OpCreate when the path
// is absent.
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

// must sends a request that must succeed.
func (f *fixture) must(op secrets.Operation, path string, data map[string]any) *secrets.Response {
	f.t.Helper()
	resp, err := f.do(op, path, data)
	if err != nil {
		f.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// mustJSON sends a request that must succeed and returns its data as a
// client would see it.
func (f *fixture) mustJSON(op secrets.Operation, path string, data map[string]any) map[string]any {
	f.t.Helper()
	return asJSON(f.t, f.must(op, path, data).Data)
}

// fails sends a request that must fail with an *secrets.Error of kind.
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

// login logs in from remote and returns the response and error.
func (f *fixture) login(remote, user, password string) (*secrets.Response, error) {
	f.t.Helper()
	return f.doFrom(remote, secrets.OpUpdate, "login/"+user, map[string]any{"password": password})
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

// assertContained checks that every key of the underlying store is inside
// the view, apart from the sentinel, which must be unchanged.
func (f *fixture) assertContained() {
	f.t.Helper()
	ctx := context.Background()
	for _, k := range allKeys(f.t, f.under, "") {
		if k == outsideKey {
			continue
		}
		if !strings.HasPrefix(k, viewPrefix) {
			f.t.Fatalf("key %q is outside the view %q", k, viewPrefix)
		}
	}
	e, err := f.under.Get(ctx, outsideKey)
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

// allKeys walks the store recursively.
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

// asJSON round-trips v through JSON, as a client would see it.
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
