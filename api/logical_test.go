package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

var envelopeKeys = []string{"request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings", "auth", "mount_type"}

func TestEnvelopeGolden(t *testing.T) {
	tests := []struct {
		name string
		resp *core.Response
	}{
		{"envelope_read.golden", &core.Response{
			Data:          map[string]any{"foo": "bar", "n": json.Number("12345678901234567890"), "nested": map[string]any{"a": []any{"x", true}}},
			LeaseID:       "secret/creds/abc",
			LeaseDuration: 3600,
			Renewable:     true,
			MountType:     "kv",
		}},
		{"envelope_auth.golden", &core.Response{Auth: &core.ResponseAuth{
			ClientToken: "hvs.test", Accessor: "acc", Policies: []string{"default", "root"},
			TokenPolicies: []string{"default", "root"}, Metadata: map[string]string{"user": "alice"},
			LeaseDuration: 60, Renewable: true, TokenType: "service", NumUses: 2,
		}}},
		{"envelope_wrap.golden", &core.Response{WrapInfo: &core.WrapInfo{
			Token: "hvs.wrap", Accessor: "wacc", TTL: 300, CreationTime: "2026-01-02T03:04:05Z",
			CreationPath: "secret/data/x",
		}}},
		{"envelope_warnings.golden", &core.Response{Warnings: []string{"only a warning"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			srv := newServer(t, api.Config{}, echoCore(rec, tc.resp))
			r := do(t, srv, http.MethodGet, "/v1/secret/foo", nil, nil)
			if r.code != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", r.code, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(r.body, &m); err != nil {
				t.Fatalf("body: %v", err)
			}
			for _, k := range envelopeKeys {
				if _, ok := m[k]; !ok {
					t.Errorf("envelope lacks %q: %s", k, r.body)
				}
			}
			if len(m) != len(envelopeKeys) {
				t.Errorf("envelope has %d keys, want %d: %s", len(m), len(envelopeKeys), r.body)
			}
			var id string
			if err := json.Unmarshal(m["request_id"], &id); err != nil {
				t.Fatal(err)
			}
			if _, err := uuid.Parse(id); err != nil {
				t.Errorf("request_id %q is not a UUID", id)
			}
			if got := rec.take(t).ID; got != id {
				t.Errorf("core saw request ID %q, envelope says %q", got, id)
			}
			golden(t, tc.name, r.body)
		})
	}
}

// The official client must understand the envelope.
func TestEnvelopeOfficialClient(t *testing.T) {
	resp := &core.Response{
		Data: map[string]any{"foo": "bar"}, LeaseID: "l1", LeaseDuration: 42, Renewable: true,
		Warnings: []string{"w"}, MountType: "kv",
	}
	srv := newServer(t, api.Config{}, echoCore(&recorder{}, resp))
	s, err := newClient(t, srv).Logical().Read("secret/foo")
	if err != nil {
		t.Fatal(err)
	}
	if s == nil || s.Data["foo"] != "bar" || s.LeaseID != "l1" || s.LeaseDuration != 42 || !s.Renewable ||
		!reflect.DeepEqual(s.Warnings, []string{"w"}) || s.MountType != "kv" || s.RequestID == "" {
		t.Fatalf("secret %+v", s)
	}

	resp = &core.Response{Auth: &core.ResponseAuth{ClientToken: "hvs.x", Accessor: "a", Policies: []string{"p"}, LeaseDuration: 5}}
	srv = newServer(t, api.Config{}, echoCore(&recorder{}, resp))
	s, err = newClient(t, srv).Logical().Write("auth/userpass/login/u", map[string]any{"password": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Auth == nil || s.Auth.ClientToken != "hvs.x" || s.Auth.Accessor != "a" || s.Auth.LeaseDuration != 5 {
		t.Fatalf("auth %+v", s.Auth)
	}

	resp = &core.Response{WrapInfo: &core.WrapInfo{Token: "hvs.w", TTL: 30, CreationTime: "2026-01-02T03:04:05Z"}}
	srv = newServer(t, api.Config{}, echoCore(&recorder{}, resp))
	s, err = newClient(t, srv).Logical().Read("secret/foo")
	if err != nil {
		t.Fatal(err)
	}
	if s.WrapInfo == nil || s.WrapInfo.Token != "hvs.w" || s.WrapInfo.TTL != 30 {
		t.Fatalf("wrap info %+v", s.WrapInfo)
	}
}

func TestResponseStatus(t *testing.T) {
	tests := []struct {
		name     string
		resp     *core.Response
		wantCode int
		wantBody bool
	}{
		{"empty is 204", &core.Response{}, http.StatusNoContent, false},
		{"explicit 204", &core.Response{StatusCode: http.StatusNoContent}, http.StatusNoContent, false},
		{"empty data map is 200", &core.Response{Data: map[string]any{}}, http.StatusOK, true},
		{"warnings only is 200", &core.Response{Warnings: []string{"careful"}}, http.StatusOK, true},
		{"auth only is 200", &core.Response{Auth: &core.ResponseAuth{ClientToken: "t"}}, http.StatusOK, true},
		{"wrap only is 200", &core.Response{WrapInfo: &core.WrapInfo{Token: "w"}}, http.StatusOK, true},
		{"status override without data", &core.Response{StatusCode: http.StatusAccepted}, http.StatusAccepted, true},
		{"status override with data", &core.Response{StatusCode: http.StatusAccepted, Data: map[string]any{"a": "b"}}, http.StatusAccepted, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, api.Config{}, echoCore(&recorder{}, tc.resp))
			for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
				r := do(t, srv, m, "/v1/secret/foo", nil, nil)
				if r.code != tc.wantCode {
					t.Fatalf("%s: status %d, want %d", m, r.code, tc.wantCode)
				}
				if !tc.wantBody {
					if len(r.body) != 0 {
						t.Fatalf("%s: body %q, want none", m, r.body)
					}
					continue
				}
				var m map[string]any
				if err := json.Unmarshal(r.body, &m); err != nil {
					t.Fatalf("body %q: %v", r.body, err)
				}
				for _, k := range envelopeKeys {
					if _, ok := m[k]; !ok {
						t.Fatalf("envelope lacks %q: %s", k, r.body)
					}
				}
			}
		})
	}
}

func TestRawResponses(t *testing.T) {
	t.Run("raw JSON without envelope", func(t *testing.T) {
		raw := map[string]any{"secret/": map[string]any{"type": "kv"}, "data": map[string]any{"secret/": map[string]any{"type": "kv"}}}
		srv := newServer(t, api.Config{}, echoCore(&recorder{}, &core.Response{Raw: raw}))
		r := do(t, srv, http.MethodGet, "/v1/sys/mounts", nil, nil)
		if r.code != http.StatusOK {
			t.Fatalf("status %d", r.code)
		}
		if want := `{"data":{"secret/":{"type":"kv"}},"secret/":{"type":"kv"}}` + "\n"; string(r.body) != want {
			t.Fatalf("body %q, want %q", r.body, want)
		}
	})
	t.Run("raw bytes", func(t *testing.T) {
		payload := []byte{0x00, 0x01, 0xff, 'x'}
		fc := &fakeCore{HandleRequestFunc: func(context.Context, *core.Request) (*core.Response, error) {
			return &core.Response{RawBody: bytes.NewReader(payload), ContentType: "application/gzip"}, nil
		}}
		srv := newServer(t, api.Config{}, fc)
		r := do(t, srv, http.MethodGet, "/v1/sys/storage/raft/snapshot", nil, nil)
		if r.code != http.StatusOK || !bytes.Equal(r.body, payload) || r.header.Get("Content-Type") != "application/gzip" {
			t.Fatalf("got %d %q %q", r.code, r.header.Get("Content-Type"), r.body)
		}
	})
}

func TestErrorStatus(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantMsgs []string // nil: check only that there is one message
	}{
		{"invalid request", secrets.Errorf(secrets.ErrInvalidRequest, "missing field %q", "x"), 400, []string{`missing field "x"`}},
		{"cas mismatch", secrets.Errorf(secrets.ErrCASMismatch, "check-and-set parameter did not match the current version"), 400, []string{"check-and-set parameter did not match the current version"}},
		{"invalid key", core.ErrInvalidKey, 400, nil},
		{"invalid share", fmt.Errorf("unseal: %w", core.ErrInvalidShare), 400, nil},
		{"already initialized", core.ErrAlreadyInitialized, 400, []string{"Vault is already initialized"}},
		{"storage invalid key", fmt.Errorf("put: %w", storage.ErrInvalidKey), 400, nil},
		{"permission denied", secrets.Errorf(secrets.ErrPermissionDenied, "permission denied"), 403, []string{"permission denied"}},
		{"bare permission denied", secrets.ErrPermissionDenied, 403, []string{"permission denied"}},
		{"not found bare", secrets.ErrNotFound, 404, []string{}},
		{"not found with message", secrets.Errorf(secrets.ErrNotFound, "no secret at secret/foo"), 404, []string{}},
		{"not found wrapped", fmt.Errorf("kv: %w", secrets.ErrNotFound), 404, []string{}},
		{"unsupported path", secrets.Errorf(secrets.ErrUnsupportedPath, "no handler for route \"nope/\""), 404, []string{`no handler for route "nope/"`}},
		{"unsupported operation", secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation"), 405, []string{"unsupported operation"}},
		{"body too large from core", &http.MaxBytesError{Limit: 10}, 413, []string{"request body too large"}},
		{"sealed", core.ErrSealed, 503, []string{"Vault is sealed"}},
		{"sealed wrapped hides inner text", fmt.Errorf("barrier get core/keyring: %w", core.ErrSealed), 503, []string{"Vault is sealed"}},
		{"not initialized", core.ErrNotInitialized, 503, []string{"Vault is not initialized"}},
		{"standby", core.ErrStandby, 503, []string{"node is in standby mode and could not forward the request"}},
		{"no active node", fmt.Errorf("forward: %w", core.ErrNoActiveNode), 503, []string{"no active node is known; retry after the cluster has elected one"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeCore{HandleRequestFunc: func(context.Context, *core.Request) (*core.Response, error) {
				return nil, tc.err
			}}
			srv := newServer(t, api.Config{}, fc)
			r := do(t, srv, http.MethodGet, "/v1/secret/foo", nil, nil)
			if r.code != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", r.code, tc.wantCode, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			msgs := errorsOf(t, r.body)
			if tc.wantMsgs == nil {
				if len(msgs) != 1 || msgs[0] == "" {
					t.Fatalf("errors %q, want one message", msgs)
				}
				return
			}
			if !reflect.DeepEqual(msgs, tc.wantMsgs) {
				t.Fatalf("errors %q, want %q", msgs, tc.wantMsgs)
			}
		})
	}
}

func TestErrorGolden(t *testing.T) {
	for name, err := range map[string]error{
		"errors_not_found.golden": secrets.ErrNotFound,
		"errors_sealed.golden":    core.ErrSealed,
		"errors_internal.golden":  errors.New("boom"),
		"errors_forbidden.golden": secrets.Errorf(secrets.ErrPermissionDenied, "permission denied"),
	} {
		t.Run(name, func(t *testing.T) {
			fc := &fakeCore{HandleRequestFunc: func(context.Context, *core.Request) (*core.Response, error) { return nil, err }}
			r := do(t, newServer(t, api.Config{}, fc), http.MethodGet, "/v1/secret/foo", nil, nil)
			golden(t, name, r.body)
		})
	}
}

// A 500 names the request ID (which the log carries with the real error) and
// never the internal error text.
func TestInternalErrorDoesNotLeak(t *testing.T) {
	const secretText = "open /var/lib/vaultd/raft.db: token hvs.SUPERSECRET"
	for _, err := range []error{
		errors.New(secretText),
		fmt.Errorf("wrapped: %w", errors.New(secretText)),
		&secrets.Error{Kind: errors.New("kind unknown to api"), Msg: secretText},
	} {
		logs := &lockedBuffer{}
		log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))
		fc := &fakeCore{HandleRequestFunc: func(context.Context, *core.Request) (*core.Response, error) { return nil, err }}
		srv := newServer(t, api.Config{Logger: log}, fc)
		r := do(t, srv, http.MethodPut, "/v1/secret/foo", strings.NewReader(`{"a":"b"}`), nil)
		if r.code != http.StatusInternalServerError {
			t.Fatalf("status %d, want 500", r.code)
		}
		if containsAny(string(r.body), "SUPERSECRET", "raft.db", "wrapped", "unknown") {
			t.Fatalf("500 body leaks the internal error: %s", r.body)
		}
		msgs := errorsOf(t, r.body)
		if len(msgs) != 1 || !strings.HasPrefix(msgs[0], "internal error; request_id ") {
			t.Fatalf("errors %q", msgs)
		}
		id := strings.TrimPrefix(msgs[0], "internal error; request_id ")
		if _, err := uuid.Parse(id); err != nil {
			t.Fatalf("request id %q: %v", id, err)
		}
		if l := logs.String(); !strings.Contains(l, id) || !strings.Contains(l, "request failed") {
			t.Fatalf("the log does not link request %s to the error: %s", id, l)
		}
	}
}

func TestPanicRecovered(t *testing.T) {
	const panicText = "panic-secret-material"
	fc := &fakeCore{
		HandleRequestFunc: func(context.Context, *core.Request) (*core.Response, error) { panic(panicText) },
		StatusFunc:        func(context.Context) core.Status { panic(errors.New(panicText)) },
	}
	srv := newServer(t, api.Config{}, fc)
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/v1/secret/foo"},
		{http.MethodPut, "/v1/secret/foo"},
		{http.MethodGet, "/v1/sys/health"},
		{http.MethodGet, "/v1/sys/seal-status"},
	} {
		r := do(t, srv, tc.method, tc.path, nil, nil)
		if r.code != http.StatusInternalServerError {
			t.Fatalf("%s %s: status %d, want 500", tc.method, tc.path, r.code)
		}
		msgs := errorsOf(t, r.body)
		if len(msgs) != 1 || !strings.Contains(msgs[0], "internal error") || strings.Contains(msgs[0], panicText) {
			t.Fatalf("%s %s: errors %q", tc.method, tc.path, msgs)
		}
	}
	// The server keeps serving after a panic.
	if r := do(t, srv, http.MethodGet, "/v1/secret/foo", nil, nil); r.code != http.StatusInternalServerError {
		t.Fatalf("status %d after recovered panic", r.code)
	}
}

func TestOfficialClientErrors(t *testing.T) {
	var nextErr error
	fc := &fakeCore{HandleRequestFunc: func(context.Context, *core.Request) (*core.Response, error) { return nil, nextErr }}
	c := newClient(t, newServer(t, api.Config{}, fc))

	nextErr = secrets.ErrNotFound
	s, err := c.Logical().Read("secret/missing")
	if err != nil || s != nil {
		t.Fatalf("404 read: got %v, %v; want nil, nil", s, err)
	}
	s, err = c.Logical().List("secret/missing")
	if err != nil || s != nil {
		t.Fatalf("404 list: got %v, %v; want nil, nil", s, err)
	}

	nextErr = secrets.Errorf(secrets.ErrPermissionDenied, "permission denied")
	_, err = c.Logical().Read("secret/x")
	var re *vaultapi.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 403 || !reflect.DeepEqual(re.Errors, []string{"permission denied"}) {
		t.Fatalf("403: %v", err)
	}

	nextErr = core.ErrSealed
	_, err = c.Logical().Write("secret/x", map[string]any{"a": 1})
	if !errors.As(err, &re) || re.StatusCode != 503 || !reflect.DeepEqual(re.Errors, []string{"Vault is sealed"}) {
		t.Fatalf("503: %v", err)
	}
}

func TestTokenExtraction(t *testing.T) {
	tests := []struct {
		name string
		hdr  map[string]string
		want string
	}{
		{"none", nil, ""},
		{"x-vault-token", map[string]string{"X-Vault-Token": "hvs.a"}, "hvs.a"},
		{"bearer", map[string]string{"Authorization": "Bearer hvs.b"}, "hvs.b"},
		{"bearer lower case", map[string]string{"Authorization": "bearer hvs.b"}, "hvs.b"},
		{"bearer upper case", map[string]string{"Authorization": "BEARER hvs.b"}, "hvs.b"},
		{"bearer padded", map[string]string{"Authorization": "Bearer   hvs.b  "}, "hvs.b"},
		{"x-vault-token wins", map[string]string{"X-Vault-Token": "hvs.a", "Authorization": "Bearer hvs.b"}, "hvs.a"},
		{"basic is ignored", map[string]string{"Authorization": "Basic dXNlcjpwdw=="}, ""},
		{"bare bearer", map[string]string{"Authorization": "Bearer"}, ""},
		{"bearer without token", map[string]string{"Authorization": "Bearer "}, ""},
		{"bearer prefix of a word", map[string]string{"Authorization": "Bearerhvs.b"}, ""},
	}
	rec := &recorder{}
	srv := newServer(t, api.Config{}, echoCore(rec, nil))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			do(t, srv, http.MethodGet, "/v1/secret/foo", nil, tc.hdr)
			if got := rec.take(t).ClientToken; got != tc.want {
				t.Fatalf("token %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("official client", func(t *testing.T) {
		c := newClient(t, srv)
		c.SetToken("hvs.client")
		if _, err := c.Logical().Read("secret/foo"); err != nil {
			t.Fatal(err)
		}
		if got := rec.take(t).ClientToken; got != "hvs.client" {
			t.Fatalf("token %q", got)
		}
	})
	t.Run("api.Token", func(t *testing.T) {
		r, _ := http.NewRequest(http.MethodGet, "http://x/v1/a", nil)
		r.Header.Set("Authorization", "bEaReR tok")
		if got := api.Token(r); got != "tok" {
			t.Fatalf("Token = %q", got)
		}
	})
}

// The debug request log never holds the token or the body.
func TestRequestLogHasNoSecrets(t *testing.T) {
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newServer(t, api.Config{Logger: log}, echoCore(&recorder{}, &core.Response{Data: map[string]any{"v": "RESPSECRET"}}))
	r := do(t, srv, http.MethodPut, "/v1/secret/foo", strings.NewReader(`{"password":"BODYSECRET"}`),
		map[string]string{"X-Vault-Token": "hvs.TOKENSECRET", "Authorization": "Bearer hvs.BEARERSECRET"})
	if r.code != http.StatusOK {
		t.Fatalf("status %d", r.code)
	}
	// The log line is written after the response; wait for it, bounded.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"request"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no request log line: %s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if l := logs.String(); containsAny(l, "TOKENSECRET", "BEARERSECRET", "BODYSECRET", "RESPSECRET") {
		t.Fatalf("log leaks a secret: %s", l)
	}
}

func TestMethodMapping(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		path     string
		body     string
		wantOp   secrets.Operation
		wantPath string
		wantData map[string]any
	}{
		{"GET is read", "GET", "/v1/secret/foo", "", secrets.OpRead, "secret/foo", map[string]any{}},
		{"GET query to data", "GET", "/v1/secret/foo?version=2&x=a&x=b", "", secrets.OpRead, "secret/foo",
			map[string]any{"version": "2", "x": []string{"a", "b"}}},
		{"GET list=true", "GET", "/v1/secret/?list=true", "", secrets.OpList, "secret/", map[string]any{}},
		{"GET list=true adds slash", "GET", "/v1/secret/dir?list=true", "", secrets.OpList, "secret/dir/", map[string]any{}},
		{"GET list=1", "GET", "/v1/secret/dir?list=1&after=k", "", secrets.OpList, "secret/dir/", map[string]any{"after": "k"}},
		{"GET list=false is read", "GET", "/v1/secret/dir?list=false", "", secrets.OpRead, "secret/dir", map[string]any{}},
		{"GET list=True", "GET", "/v1/secret/dir?list=True", "", secrets.OpList, "secret/dir/", map[string]any{}},
		{"GET list=TRUE", "GET", "/v1/secret/dir?list=TRUE", "", secrets.OpList, "secret/dir/", map[string]any{}},
		{"GET list=t", "GET", "/v1/secret/dir?list=t", "", secrets.OpList, "secret/dir/", map[string]any{}},
		{"GET list=False is read", "GET", "/v1/secret/dir?list=False", "", secrets.OpRead, "secret/dir", map[string]any{}},
		{"GET list=0 is read", "GET", "/v1/secret/dir?list=0", "", secrets.OpRead, "secret/dir", map[string]any{}},
		{"LIST", "LIST", "/v1/secret/dir", "", secrets.OpList, "secret/dir/", map[string]any{}},
		{"LIST keeps slash", "LIST", "/v1/secret/dir/", "", secrets.OpList, "secret/dir/", map[string]any{}},
		{"PUT is update", "PUT", "/v1/secret/foo", `{"a":"b"}`, secrets.OpUpdate, "secret/foo", map[string]any{"a": "b"}},
		{"POST is update", "POST", "/v1/secret/foo", `{"a":1}`, secrets.OpUpdate, "secret/foo", map[string]any{"a": json.Number("1")}},
		{"PUT empty body", "PUT", "/v1/secret/foo", "", secrets.OpUpdate, "secret/foo", map[string]any{}},
		{"PUT whitespace body", "PUT", "/v1/secret/foo", " \n\t", secrets.OpUpdate, "secret/foo", map[string]any{}},
		{"PUT ignores query", "PUT", "/v1/secret/foo?q=1", `{"a":"b"}`, secrets.OpUpdate, "secret/foo", map[string]any{"a": "b"}},
		{"PUT keeps big numbers exact", "PUT", "/v1/secret/foo", `{"n":12345678901234567890,"f":1.5}`, secrets.OpUpdate, "secret/foo",
			map[string]any{"n": json.Number("12345678901234567890"), "f": json.Number("1.5")}},
		{"PATCH is patch", "PATCH", "/v1/secret/foo", `{"a":null}`, secrets.OpPatch, "secret/foo", map[string]any{"a": nil}},
		{"DELETE", "DELETE", "/v1/secret/foo", "", secrets.OpDelete, "secret/foo", map[string]any{}},
		{"DELETE with query", "DELETE", "/v1/secret/foo?versions=1", "", secrets.OpDelete, "secret/foo", map[string]any{"versions": "1"}},
		{"DELETE with JSON body", "DELETE", "/v1/secret/foo", `{"versions":[1,2]}`, secrets.OpDelete, "secret/foo",
			map[string]any{"versions": []any{json.Number("1"), json.Number("2")}}},
		{"DELETE query and body merge", "DELETE", "/v1/secret/foo?a=q", `{"b":"body"}`, secrets.OpDelete, "secret/foo",
			map[string]any{"a": "q", "b": "body"}},
		{"escaped path", "GET", "/v1/secret/a%20b", "", secrets.OpRead, "secret/a b", map[string]any{}},
	}
	rec := &recorder{}
	srv := newServer(t, api.Config{}, echoCore(rec, nil))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			r := do(t, srv, tc.method, tc.path, body, nil)
			if r.code != http.StatusNoContent {
				t.Fatalf("status %d: %s", r.code, r.body)
			}
			req := rec.take(t)
			if req.Operation != tc.wantOp || req.Path != tc.wantPath {
				t.Errorf("op %q path %q, want %q %q", req.Operation, req.Path, tc.wantOp, tc.wantPath)
			}
			if !reflect.DeepEqual(req.Data, tc.wantData) {
				t.Errorf("data %#v, want %#v", req.Data, tc.wantData)
			}
			if req.RemoteAddr != "127.0.0.1" {
				t.Errorf("remote addr %q", req.RemoteAddr)
			}
			if _, err := uuid.Parse(req.ID); err != nil {
				t.Errorf("request ID %q: %v", req.ID, err)
			}
		})
	}
}

func TestListQueryParamInvalid(t *testing.T) {
	srv := newServer(t, api.Config{}, echoCore(&recorder{}, nil))
	r := do(t, srv, http.MethodGet, "/v1/secret/dir?list=maybe", nil, nil)
	if r.code != http.StatusBadRequest || !strings.Contains(string(r.body), "list") {
		t.Fatalf("status %d body %s, want 400 naming the parameter", r.code, r.body)
	}
}

func TestMethodMappingOfficialClient(t *testing.T) {
	rec := &recorder{}
	c := newClient(t, newServer(t, api.Config{}, echoCore(rec, nil)))
	ctx := context.Background()
	check := func(t *testing.T, op secrets.Operation, path string, data map[string]any) {
		t.Helper()
		req := rec.take(t)
		if req.Operation != op || req.Path != path || !reflect.DeepEqual(req.Data, data) {
			t.Fatalf("got %q %q %#v, want %q %q %#v", req.Operation, req.Path, req.Data, op, path, data)
		}
	}
	if _, err := c.Logical().Write("secret/foo", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	check(t, secrets.OpUpdate, "secret/foo", map[string]any{"k": "v"})
	if _, err := c.Logical().ReadWithData("secret/foo", map[string][]string{"version": {"3"}}); err != nil {
		t.Fatal(err)
	}
	check(t, secrets.OpRead, "secret/foo", map[string]any{"version": "3"})
	if _, err := c.Logical().List("secret/dir"); err != nil {
		t.Fatal(err)
	}
	check(t, secrets.OpList, "secret/dir/", map[string]any{})
	if _, err := c.Logical().DeleteWithData("secret/foo", map[string][]string{"versions": {"1", "2"}}); err != nil {
		t.Fatal(err)
	}
	check(t, secrets.OpDelete, "secret/foo", map[string]any{"versions": []string{"1", "2"}})
	if _, err := c.Logical().JSONMergePatch(ctx, "secret/data/foo", map[string]any{"data": map[string]any{"a": "b"}}); err != nil {
		t.Fatal(err)
	}
	check(t, secrets.OpPatch, "secret/data/foo", map[string]any{"data": map[string]any{"a": "b"}})
}

func TestBadJSONBody(t *testing.T) {
	bodies := map[string]string{
		"truncated":           `{"a":`,
		"not an object":       `[1,2]`,
		"string":              `"x"`,
		"garbage":             `hello`,
		"trailing garbage":    `{"a":1} x`,
		"second object":       `{"a":1}{"b":2}`,
		"trailing brace":      `{"a":1}}`,
		"trailing bracket":    `{"a":1}]`,
		"trailing comma":      `{"a":1},`,
		"trailing after null": `null x`,
	}
	rec := &recorder{}
	srv := newServer(t, api.Config{}, echoCore(rec, nil))
	for name, body := range bodies {
		for _, m := range []string{http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete} {
			t.Run(name+"/"+m, func(t *testing.T) {
				r := do(t, srv, m, "/v1/secret/foo", strings.NewReader(body), nil)
				if r.code != http.StatusBadRequest {
					t.Fatalf("status %d, want 400: %s", r.code, r.body)
				}
				msgs := errorsOf(t, r.body)
				if len(msgs) != 1 || !strings.HasPrefix(msgs[0], "failed to parse JSON input") {
					t.Fatalf("errors %q", msgs)
				}
			})
		}
	}
	if n := rec.count(); n != 0 {
		t.Fatalf("core saw %d requests with bad bodies", n)
	}
	// Trailing whitespace is fine.
	if r := do(t, srv, http.MethodPut, "/v1/secret/foo", strings.NewReader("{\"a\":1}\n\r\t "), nil); r.code != http.StatusNoContent {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
}

// chunked hides the length so the request goes out chunked.
type chunked struct{ io.Reader }

func TestBodyLimit(t *testing.T) {
	const limit = 64
	big := `{"k":"` + strings.Repeat("x", 2*limit) + `"}`
	fits := `{"k":"` + strings.Repeat("x", limit-len(`{"k":""}`)) + `"}`
	if len(fits) != limit {
		t.Fatalf("fits is %d bytes", len(fits))
	}
	send := func(t *testing.T, srv string, method, path, body string, isChunked bool) rawResp {
		t.Helper()
		var rd io.Reader = strings.NewReader(body)
		if isChunked {
			rd = chunked{rd}
		}
		req, err := http.NewRequest(method, srv+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if isChunked {
			req.ContentLength = -1
			req.TransferEncoding = []string{"chunked"}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return rawResp{code: resp.StatusCode, body: b}
	}
	paths := []struct{ method, path string }{
		{http.MethodPut, "/v1/secret/foo"},
		{http.MethodPost, "/v1/secret/foo"},
		{http.MethodPatch, "/v1/secret/foo"},
		{http.MethodDelete, "/v1/secret/foo"},
		{http.MethodPut, "/v1/sys/unseal"},
		{http.MethodPut, "/v1/sys/init"},
	}
	rec := &recorder{}
	fc := echoCore(rec, nil)
	fc.UnsealFunc = func(context.Context, []byte) (core.Status, error) { return core.Status{}, core.ErrInvalidKey }
	fc.InitFunc = func(context.Context, core.InitRequest, core.ShareEncrypter) (core.InitResult, error) {
		return core.InitResult{}, core.ErrAlreadyInitialized
	}
	srv := newServer(t, api.Config{MaxRequestSize: limit}, fc)
	for _, p := range paths {
		for _, isChunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s %s chunked=%v", p.method, p.path, isChunked), func(t *testing.T) {
				r := send(t, srv.URL, p.method, p.path, big, isChunked)
				if r.code != http.StatusRequestEntityTooLarge {
					t.Fatalf("status %d, want 413: %s", r.code, r.body)
				}
				if msgs := errorsOf(t, r.body); !reflect.DeepEqual(msgs, []string{"request body too large"}) {
					t.Fatalf("errors %q", msgs)
				}
				// Exactly the limit is accepted.
				r = send(t, srv.URL, p.method, p.path, fits, isChunked)
				if r.code == http.StatusRequestEntityTooLarge {
					t.Fatalf("a body of exactly the limit got 413")
				}
			})
		}
	}
	if n := rec.count(); n != 8 { // the "fits" requests on the 4 logical paths × 2
		t.Fatalf("core saw %d requests, want 8", n)
	}

	// Beyond-default sizes go straight to the handler (no network) and
	// through the raw snapshot path, so no 32 MiB JSON is decoded.
	over := int64(api.DefaultMaxRequestSize + 1)
	rawCore := func(n *int64) *fakeCore {
		return &fakeCore{HandleRequestFunc: func(_ context.Context, req *core.Request) (*core.Response, error) {
			c, err := io.Copy(io.Discard, req.Body)
			if err != nil {
				return nil, err
			}
			*n = c
			return &core.Response{}, nil
		}}
	}
	t.Run("negative disables the limit", func(t *testing.T) {
		for _, length := range []int64{over, -1} {
			var n int64
			h := api.New(api.Config{MaxRequestSize: -1}, rawCore(&n)).Handler()
			req := httptest.NewRequest(http.MethodPut, "/v1/sys/storage/raft/snapshot", io.LimitReader(zeros{}, over))
			req.ContentLength = length
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusNoContent || n != over {
				t.Fatalf("content length %d: status %d, core read %d bytes, want %d", length, w.Code, n, over)
			}
		}
	})
	t.Run("zero means the default", func(t *testing.T) {
		for _, length := range []int64{over, -1} {
			var n int64
			h := api.New(api.Config{}, rawCore(&n)).Handler()
			req := httptest.NewRequest(http.MethodPut, "/v1/sys/storage/raft/snapshot", io.LimitReader(zeros{}, over))
			req.ContentLength = length
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("content length %d: status %d, want 413", length, w.Code)
			}
			if msgs := errorsOf(t, w.Body.Bytes()); !reflect.DeepEqual(msgs, []string{"request body too large"}) {
				t.Fatalf("errors %q", msgs)
			}
		}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestWrapTTL(t *testing.T) {
	valid := map[string]time.Duration{
		"60":    60 * time.Second,
		"0":     0,
		"5m":    5 * time.Minute,
		"1h30m": 90 * time.Minute,
		"90s":   90 * time.Second,
		"1.5h":  90 * time.Minute,
	}
	invalid := []string{"abc", "5x", "1.5", "-5", "-5m", "5 m", "99999999999999999999", "9223372036854775807", "m"}
	rec := &recorder{}
	srv := newServer(t, api.Config{}, echoCore(rec, nil))
	for in, want := range valid {
		t.Run("valid "+in, func(t *testing.T) {
			r := do(t, srv, http.MethodGet, "/v1/secret/foo", nil, map[string]string{"X-Vault-Wrap-TTL": in})
			if r.code != http.StatusNoContent {
				t.Fatalf("status %d: %s", r.code, r.body)
			}
			if got := rec.take(t).WrapTTL; got != want {
				t.Fatalf("wrap TTL %v, want %v", got, want)
			}
		})
	}
	for _, in := range invalid {
		t.Run("invalid "+in, func(t *testing.T) {
			r := do(t, srv, http.MethodPut, "/v1/secret/foo", strings.NewReader(`{}`), map[string]string{"X-Vault-Wrap-TTL": in})
			if r.code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.code, r.body)
			}
			if msgs := errorsOf(t, r.body); len(msgs) != 1 || !strings.Contains(msgs[0], "X-Vault-Wrap-TTL") {
				t.Fatalf("errors %q", msgs)
			}
			if rec.count() != 0 {
				t.Fatal("core saw a request with an invalid wrap TTL")
			}
		})
	}
	t.Run("absent", func(t *testing.T) {
		do(t, srv, http.MethodGet, "/v1/secret/foo", nil, nil)
		if got := rec.take(t).WrapTTL; got != 0 {
			t.Fatalf("wrap TTL %v", got)
		}
	})
	t.Run("official client", func(t *testing.T) {
		c := newClient(t, srv)
		c.SetWrappingLookupFunc(func(string, string) string { return "2m" })
		if _, err := c.Logical().Read("secret/foo"); err != nil {
			t.Fatal(err)
		}
		if got := rec.take(t).WrapTTL; got != 2*time.Minute {
			t.Fatalf("wrap TTL %v", got)
		}
	})
}

func TestRoutingErrors(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, api.Config{}, echoCore(rec, nil))
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/v2/secret/foo", http.StatusNotFound},
		{http.MethodGet, "/", http.StatusNotFound},
		{"BREW", "/v1/secret/foo", http.StatusMethodNotAllowed},
	} {
		r := do(t, srv, tc.method, tc.path, nil, nil)
		if r.code != tc.want {
			t.Fatalf("%s %s: status %d, want %d", tc.method, tc.path, r.code, tc.want)
		}
		if msgs := errorsOf(t, r.body); len(msgs) != 1 {
			t.Fatalf("%s %s: errors %q", tc.method, tc.path, msgs)
		}
	}
	if rec.count() != 0 {
		t.Fatal("core saw an unrouted request")
	}
}

// Forward wraps only the routed handler; node-local endpoints never go
// through it.
func TestForwardWrapsOnlyLogical(t *testing.T) {
	rec := &recorder{}
	fwd := &recorder{}
	cfg := api.Config{Forward: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fwd.add(&core.Request{Path: r.URL.Path})
			next.ServeHTTP(w, r)
		})
	}}
	fc := echoCore(rec, nil)
	fc.StatusFunc = func(context.Context) core.Status { return core.Status{Initialized: true} }
	srv := newServer(t, cfg, fc)
	for _, p := range []string{"/v1/sys/health", "/v1/sys/seal-status", "/v1/sys/init", "/v1/sys/leader"} {
		if r := do(t, srv, http.MethodGet, p, nil, nil); r.code != http.StatusOK {
			t.Fatalf("%s: %d", p, r.code)
		}
	}
	if fwd.count() != 0 {
		t.Fatal("a node-local endpoint went through Forward")
	}
	do(t, srv, http.MethodGet, "/v1/secret/foo", nil, nil)
	if got := fwd.take(t).Path; got != "/v1/secret/foo" {
		t.Fatalf("forwarded %q", got)
	}
	rec.take(t)
}

func TestExtraRoutes(t *testing.T) {
	cfg := api.Config{MaxRequestSize: 8, Extra: []api.Route{{
		Method: http.MethodPost, Path: "/sys/storage/raft/bootstrap",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.ReadAll(r.Body); err != nil {
				w.WriteHeader(http.StatusTeapot)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}),
	}}}
	rec := &recorder{}
	srv := newServer(t, cfg, echoCore(rec, nil))
	if r := do(t, srv, http.MethodPost, "/v1/sys/storage/raft/bootstrap", strings.NewReader("{}"), nil); r.code != http.StatusNoContent {
		t.Fatalf("status %d", r.code)
	}
	if r := do(t, srv, http.MethodPost, "/v1/sys/storage/raft/bootstrap", strings.NewReader(strings.Repeat("x", 9)), nil); r.code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body to an extra route: status %d", r.code)
	}
	if rec.count() != 0 {
		t.Fatal("extra route reached core")
	}
}

// Issue 10 item 1: max_request_duration is a deadline on the request: a
// handler that would run forever is cut off with 503.
func TestMaxRequestDuration(t *testing.T) {
	fc := &fakeCore{HandleRequestFunc: func(ctx context.Context, req *core.Request) (*core.Response, error) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Second):
			return &core.Response{Data: map[string]any{"late": true}}, nil
		}
	}}
	srv := newServer(t, api.Config{MaxRequestDuration: 100 * time.Millisecond}, fc)
	start := time.Now()
	r := do(t, srv, "GET", "/v1/secret/x", nil, map[string]string{"X-Vault-Token": "t"})
	if r.code != 503 || time.Since(start) > 10*time.Second {
		t.Fatalf("slow handler: %d %s after %s, want 503 soon after 100ms", r.code, r.body, time.Since(start))
	}
	if errs := errorsOf(t, r.body); len(errs) != 1 || !strings.Contains(errs[0], "max_request_duration") {
		t.Fatalf("errors = %v", errs)
	}
}
