package kv_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/kv"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// viewPrefix is where the test mount's view lives in the underlying store.
const viewPrefix = "logical/0b7e-test-mount/"

// outsideKey is a key outside the view that no request may touch.
const outsideKey = "core/keyring"

var t0 = time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)

// clock is an injectable, advanceable clock.
type clock struct {
	mu sync.Mutex // guards now
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

// fixture is one KV mount over inmem through a storage.View.
type fixture struct {
	t     testing.TB
	under *inmem.Backend
	view  *storage.View
	eng   secrets.Backend
	clock *clock
}

func newKV(t testing.TB, version string) *fixture {
	t.Helper()
	under := inmem.New()
	if err := under.Put(context.Background(), &storage.Entry{Key: outsideKey, Value: []byte("do-not-touch")}); err != nil {
		t.Fatal(err)
	}
	view := storage.NewView(under, viewPrefix)
	clk := &clock{t: t0}
	eng, err := kv.Factory(context.Background(), secrets.Config{
		Type:    "kv",
		Options: map[string]string{"version": version},
		Storage: view,
		Now:     clk.Now,
	})
	if err != nil {
		t.Fatalf("Factory(version %q): %v", version, err)
	}
	return &fixture{t: t, under: under, view: view, eng: eng, clock: clk}
}

// with returns the fixture bound to t (for subtests).
func (f *fixture) with(t testing.TB) *fixture {
	cp := *f
	cp.t = t
	return &cp
}

// do sends one request. An OpUpdate goes through the existence check
// first, as core does, and becomes OpCreate when the path is absent.
func (f *fixture) do(op secrets.Operation, path string, data map[string]any) (*secrets.Response, error) {
	f.t.Helper()
	ctx := context.Background()
	req := &secrets.Request{Operation: op, Path: path, Data: data, Storage: f.view, MountPoint: "secret/"}
	if op == secrets.OpUpdate {
		if ec, ok := f.eng.(secrets.ExistenceChecker); ok {
			exists, checked, err := ec.Exists(ctx, req)
			if err != nil {
				return nil, err
			}
			if checked && !exists {
				req.Operation = secrets.OpCreate
			}
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

// mustJSON sends a request that must succeed and returns its data as
// generic JSON (what a client would see).
func (f *fixture) mustJSON(op secrets.Operation, path string, data map[string]any) map[string]any {
	f.t.Helper()
	return asJSON(f.t, f.must(op, path, data).Data)
}

// fails sends a request that must fail with an *secrets.Error of kind.
func (f *fixture) fails(op secrets.Operation, path string, data map[string]any, kind error) *secrets.Error {
	f.t.Helper()
	resp, err := f.do(op, path, data)
	if err == nil {
		f.t.Fatalf("%s %s = %+v, want error %v", op, path, resp, kind)
	}
	var se *secrets.Error
	if !errors.As(err, &se) {
		f.t.Fatalf("%s %s: error %v (%T) is not a *secrets.Error", op, path, err, err)
	}
	if !errors.Is(err, kind) {
		f.t.Fatalf("%s %s: error kind %v (%q), want %v", op, path, se.Kind, se.Msg, kind)
	}
	return se
}

// write is a PUT of data/<path> with {"data": data}.
func (f *fixture) write(path string, data map[string]any) map[string]any {
	f.t.Helper()
	return f.mustJSON(secrets.OpUpdate, "data/"+path, map[string]any{"data": data})
}

// assertContained checks that every key of the underlying store is inside
// the view, apart from the sentinel, which must be unchanged.
func (f *fixture) assertContained() {
	f.t.Helper()
	for _, k := range allKeys(f.t, f.under, "") {
		if k == outsideKey {
			continue
		}
		if !strings.HasPrefix(k, viewPrefix) {
			f.t.Fatalf("key %q written outside the view %q", k, viewPrefix)
		}
	}
	e, err := f.under.Get(context.Background(), outsideKey)
	if err != nil || string(e.Value) != "do-not-touch" {
		f.t.Fatalf("sentinel %q changed: %v", outsideKey, err)
	}
}

// viewKeys lists every key below prefix inside the view, recursively.
func (f *fixture) viewKeys(prefix string) []string {
	f.t.Helper()
	return allKeys(f.t, f.view, prefix)
}

func allKeys(t testing.TB, b storage.Backend, prefix string) []string {
	t.Helper()
	children, err := b.List(context.Background(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	var out []string
	for _, c := range children {
		if strings.HasSuffix(c, "/") {
			out = append(out, allKeys(t, b, prefix+c)...)
			continue
		}
		out = append(out, prefix+c)
	}
	return out
}

// asJSON round-trips v through encoding/json into generic values.
func asJSON(t testing.TB, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return m
}

// jsonObj parses a JSON object literal for test inputs.
func jsonObj(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

func assertEqual(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Fatalf("%s = %s, want %s", what, gj, wj)
	}
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func TestFactory_Versions(t *testing.T) {
	for _, tc := range []struct {
		version string
		wantErr bool
	}{
		{"", false}, {"1", false}, {"2", false}, {"3", true}, {"v2", true}, {" 2", true},
	} {
		t.Run("version="+tc.version, func(t *testing.T) {
			b, err := kv.Factory(t.Context(), secrets.Config{
				Type: "kv", Options: map[string]string{"version": tc.version}, Now: time.Now,
			})
			if tc.wantErr {
				if err == nil || !errors.Is(err, secrets.ErrInvalidRequest) {
					t.Fatalf("Factory(%q) = %v, %v; want ErrInvalidRequest", tc.version, b, err)
				}
				return
			}
			if err != nil || b == nil {
				t.Fatalf("Factory(%q) = %v, %v", tc.version, b, err)
			}
		})
	}
}

func TestFactory_NoOptionsIsV1(t *testing.T) {
	b, err := kv.Factory(t.Context(), secrets.Config{Type: "kv", Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	view := storage.NewView(inmem.New(), "m/")
	req := &secrets.Request{Operation: secrets.OpCreate, Path: "data/x", Data: map[string]any{"a": "b"}, Storage: view}
	if _, err := b.HandleRequest(t.Context(), req); err != nil {
		t.Fatalf("v1 write to data/x: %v", err)
	}
	if _, err := view.Get(t.Context(), "data/x"); err != nil {
		t.Fatalf("v1 stores at the path itself: %v", err)
	}
}

func TestHandleRequest_NoStorage(t *testing.T) {
	f := newKV(t, "2")
	_, err := f.eng.HandleRequest(t.Context(), &secrets.Request{Operation: secrets.OpRead, Path: "config"})
	if !errors.Is(err, kv.ErrNoStorage) {
		t.Fatalf("err = %v, want ErrNoStorage", err)
	}
}
