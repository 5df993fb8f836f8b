// Package enginetest is the harness of the engines' and auth methods'
// unit tests: one engine mounted over an in-memory store through a
// storage.View, as core mounts it, with requests sent the way core sends
// them (an update goes through the existence check first and becomes a
// create when the path is absent), an advanceable clock, and the checks
// the tests share.
//
// It imports only the standard library, secrets, storage and
// storage/inmem, so every engine's tests may use it.
package enginetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// OutsideKey is a key of the underlying store outside the mount's view
// (with OutsideValue): no request may read or change it.
const (
	OutsideKey   = "core/keyring"
	OutsideValue = "do-not-touch"
)

// Clock is an injectable, advanceable clock.
type Clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

// NewClock is a clock that reads start until advanced.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Mount is one engine over inmem through a storage.View.
type Mount struct {
	T          testing.TB
	Under      *inmem.Backend
	View       storage.Backend // the view (or what Options.Wrap made of it)
	Eng        secrets.Backend
	MountPoint string // the request's MountPoint ("auth/userpass/")
	ViewPrefix string // where the view lives in Under
}

// Options say how New mounts the engine.
type Options struct {
	ViewPrefix string // where the view lives in the underlying store
	MountPoint string // the requests' MountPoint
	// Wrap, when set, wraps the view (a counting backend, say): the engine
	// and the requests use what it returns.
	Wrap func(storage.Backend) storage.Backend
	// Engine builds the engine on the view.
	Engine func(view storage.Backend) (secrets.Backend, error)
}

// New puts OutsideKey into a new in-memory store, makes a view of it at
// o.ViewPrefix and mounts the engine o.Engine builds on the view.
func New(t testing.TB, o Options) *Mount {
	t.Helper()
	under := inmem.New()
	if err := under.Put(context.Background(), &storage.Entry{Key: OutsideKey, Value: []byte(OutsideValue)}); err != nil {
		t.Fatal(err)
	}
	var view storage.Backend = storage.NewView(under, o.ViewPrefix)
	if o.Wrap != nil {
		view = o.Wrap(view)
	}
	eng, err := o.Engine(view)
	if err != nil {
		t.Fatalf("mounting the engine: %v", err)
	}
	return &Mount{T: t, Under: under, View: view, Eng: eng, MountPoint: o.MountPoint, ViewPrefix: o.ViewPrefix}
}

// With is a copy of m bound to t (for subtests).
func (m *Mount) With(t testing.TB) *Mount {
	cp := *m
	cp.T = t
	return &cp
}

// Req builds a request as core would.
func (m *Mount) Req(op secrets.Operation, path string, data map[string]any, remote string) *secrets.Request {
	return &secrets.Request{Operation: op, Path: path, Data: data, Storage: m.View, MountPoint: m.MountPoint, RemoteAddr: remote}
}

// Do sends one request from 127.0.0.1.
func (m *Mount) Do(op secrets.Operation, path string, data map[string]any) (*secrets.Response, error) {
	m.T.Helper()
	return m.DoFrom("127.0.0.1", op, path, data)
}

// DoFrom sends one request from remote. An OpUpdate goes through the
// existence check first, as core does, and becomes OpCreate when the path
// is absent. A handler answering (nil, nil) fails the test.
func (m *Mount) DoFrom(remote string, op secrets.Operation, path string, data map[string]any) (*secrets.Response, error) {
	m.T.Helper()
	ctx := context.Background()
	req := m.Req(op, path, data, remote)
	if op == secrets.OpUpdate {
		if ec, ok := m.Eng.(secrets.ExistenceChecker); ok {
			exists, checked, err := ec.Exists(ctx, req)
			if err != nil {
				return nil, err
			}
			if checked && !exists {
				req.Operation = secrets.OpCreate
			}
		}
	}
	resp, err := m.Eng.HandleRequest(ctx, req)
	if err == nil && resp == nil {
		m.T.Fatalf("%s %s: (nil, nil)", op, path)
	}
	return resp, err
}

// Must sends a request that must succeed.
func (m *Mount) Must(op secrets.Operation, path string, data map[string]any) *secrets.Response {
	m.T.Helper()
	resp, err := m.Do(op, path, data)
	if err != nil {
		m.T.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// Fails sends a request that must fail with a *secrets.Error of kind.
func (m *Mount) Fails(op secrets.Operation, path string, data map[string]any, kind error) *secrets.Error {
	m.T.Helper()
	resp, err := m.Do(op, path, data)
	return CheckFails(m.T, op, path, resp, err, kind)
}

// CheckFails checks that a request's outcome is a *secrets.Error of kind
// and returns it.
func CheckFails(t testing.TB, op secrets.Operation, path string, resp *secrets.Response, err, kind error) *secrets.Error {
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

// AsJSON is v as a client sees it: encoded to JSON and decoded into
// generic values.
func AsJSON(t testing.TB, v any) map[string]any {
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

// StoredKeys lists every key of the view (relative to it).
func (m *Mount) StoredKeys() []string {
	m.T.Helper()
	var out []string
	for _, k := range AllKeys(m.T, m.Under, m.ViewPrefix) {
		out = append(out, strings.TrimPrefix(k, m.ViewPrefix))
	}
	return out
}

// AssertContained checks that every key of the underlying store is inside
// the view, apart from OutsideKey, which must be unchanged.
func (m *Mount) AssertContained() {
	m.T.Helper()
	for _, k := range AllKeys(m.T, m.Under, "") {
		if k != OutsideKey && !strings.HasPrefix(k, m.ViewPrefix) {
			m.T.Fatalf("key %q is outside the view %q", k, m.ViewPrefix)
		}
	}
	e, err := m.Under.Get(context.Background(), OutsideKey)
	if err != nil || string(e.Value) != OutsideValue {
		m.T.Fatalf("sentinel %q changed: %v", OutsideKey, err)
	}
}

// AssertNoPlaintext fails if any key or value of the underlying store
// contains secret, raw, base64- or hex-encoded.
func (m *Mount) AssertNoPlaintext(secret string) {
	m.T.Helper()
	forms := [][]byte{
		[]byte(secret),
		[]byte(base64.StdEncoding.EncodeToString([]byte(secret))),
		[]byte(base64.RawURLEncoding.EncodeToString([]byte(secret))),
		[]byte(hex.EncodeToString([]byte(secret))),
	}
	ctx := context.Background()
	for _, k := range AllKeys(m.T, m.Under, "") {
		e, err := m.Under.Get(ctx, k)
		if err != nil {
			m.T.Fatal(err)
		}
		for _, form := range forms {
			if bytes.Contains([]byte(k), form) || bytes.Contains(e.Value, form) {
				m.T.Fatalf("stored entry %q contains the secret in plaintext", k)
			}
		}
	}
}

// AllKeys walks b recursively from prefix.
func AllKeys(t testing.TB, b storage.Backend, prefix string) []string {
	t.Helper()
	children, err := b.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range children {
		if strings.HasSuffix(c, "/") {
			out = append(out, AllKeys(t, b, prefix+c)...)
		} else {
			out = append(out, prefix+c)
		}
	}
	return out
}

// MustJSON sends a request that must succeed and returns its data as a
// client sees it.
func (m *Mount) MustJSON(op secrets.Operation, path string, data map[string]any) map[string]any {
	m.T.Helper()
	return AsJSON(m.T, m.Must(op, path, data).Data)
}

// CheckTyped fails unless exactly one of resp and err is set, err is a
// *secrets.Error and resp's data encodes as JSON (what a fuzz target
// checks of every answer).
func CheckTyped(t testing.TB, resp *secrets.Response, err error) {
	t.Helper()
	if err == nil && resp == nil {
		t.Fatal("(nil, nil)")
	}
	var se *secrets.Error
	if err != nil && !errors.As(err, &se) {
		t.Fatalf("untyped error %v (%T)", err, err)
	}
	if err == nil {
		if _, jerr := json.Marshal(resp.Data); jerr != nil {
			t.Fatalf("response is not JSON: %v", jerr)
		}
	}
}
