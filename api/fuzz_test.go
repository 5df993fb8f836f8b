package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/secrets"
)

// fuzzCore answers according to the path so the fuzzer reaches every
// response kind: errors of each kind, panics, data, warnings, 204.
func fuzzCore() *fakeCore {
	return &fakeCore{
		StatusFunc: func(context.Context) core.Status { return stStandby },
		UnsealFunc: func(context.Context, []byte) (core.Status, error) { return core.Status{}, core.ErrInvalidKey },
		InitFunc: func(context.Context, core.InitRequest, core.ShareEncrypter) (core.InitResult, error) {
			return core.InitResult{}, core.ErrAlreadyInitialized
		},
		HandleRequestFunc: func(_ context.Context, req *core.Request) (*core.Response, error) {
			p := req.Path
			switch {
			case strings.Contains(p, "panic"):
				panic("fuzz panic")
			case strings.Contains(p, "denied"):
				return nil, secrets.Errorf(secrets.ErrPermissionDenied, "permission denied")
			case strings.Contains(p, "missing"):
				return nil, secrets.ErrNotFound
			case strings.Contains(p, "sealed"):
				return nil, core.ErrSealed
			case strings.Contains(p, "boom"):
				return nil, io.ErrUnexpectedEOF
			case strings.Contains(p, "warn"):
				return &core.Response{Warnings: []string{"w"}}, nil
			case strings.Contains(p, "empty"):
				return &core.Response{}, nil
			}
			return &core.Response{Data: req.Data}, nil
		},
	}
}

func FuzzLogicalRequest(f *testing.F) {
	f.Add("GET", "secret/foo", []byte(nil), "", "", "")
	f.Add("PUT", "secret/foo", []byte(`{"a":"b"}`), "hvs.x", "", "")
	f.Add("POST", "secret/panic", []byte(`{}`), "", "", "")
	f.Add("PATCH", "secret/denied", []byte(`{"a":null}`), "", "Bearer t", "")
	f.Add("DELETE", "secret/missing?versions=1", []byte(`{"versions":[1]}`), "", "", "")
	f.Add("LIST", "secret/", []byte(nil), "", "", "5m")
	f.Add("GET", "secret/?list=true", []byte(nil), "", "", "x")
	f.Add("PUT", "secret/sealed", []byte(`{"a":1}}`), "", "", "")
	f.Add("PUT", "secret/boom", []byte(`[1]`), "", "", "-5")
	f.Add("GET", "sys/health?standbycode=299", []byte(nil), "", "", "")
	f.Add("HEAD", "sys/health?activecode=x", []byte(nil), "", "", "")
	f.Add("PUT", "sys/unseal", []byte(`{"key":"00ff"}`), "", "", "")
	f.Add("POST", "sys/init", []byte(`{"secret_shares":`), "", "", "")
	f.Add("BREW", "secret/warn", []byte("\xff\xfe"), "", "", "")
	f.Add("PUT", "secret/empty", bytes.Repeat([]byte("x"), 300), "", "", "")
	f.Add("GET", "sys/leader", []byte(nil), "", "", "")
	f.Add("GET", "sys/seal-status", []byte(nil), "", "", "")

	h := api.New(api.Config{Logger: discardLogger(), MaxRequestSize: 256}, fuzzCore()).Handler()
	f.Fuzz(func(t *testing.T, method, target string, body []byte, token, authz, wrapTTL string) {
		if method == "" {
			method = http.MethodGet
		}
		u, err := url.Parse("/v1/" + target)
		if err != nil {
			u = &url.URL{Path: "/v1/" + target}
		}
		req := &http.Request{
			Method: method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Host: "vaultd.test", RemoteAddr: "192.0.2.1:1234",
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		}
		req = req.WithContext(context.Background())
		if token != "" {
			req.Header["X-Vault-Token"] = []string{token}
		}
		if authz != "" {
			req.Header["Authorization"] = []string{authz}
		}
		if wrapTTL != "" {
			req.Header["X-Vault-Wrap-Ttl"] = []string{wrapTTL}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req) // a panic fails the fuzz run
		code := w.Code
		if code < 100 || code > 999 {
			t.Fatalf("status %d", code)
		}
		if method == http.MethodHead || code == http.StatusNoContent {
			return
		}
		if code >= 400 {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
				t.Fatalf("%s %q → %d with a non-JSON body %q", method, target, code, w.Body.Bytes())
			}
			_, hasErrs := m["errors"]
			_, hasData := m["data"]
			if !hasErrs && !hasData {
				t.Fatalf("%s %q → %d with neither errors nor data: %s", method, target, code, w.Body.Bytes())
			}
			if code >= 500 && strings.Contains(w.Body.String(), "fuzz panic") {
				t.Fatalf("panic text leaked: %s", w.Body.Bytes())
			}
			return
		}
		if w.Body.Len() > 0 && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %q → %d with a non-JSON body %q", method, target, code, w.Body.Bytes())
		}
	})
}

func FuzzUnsealKey(f *testing.F) {
	for _, s := range []string{"", "00", "0", "abcd", "ABCD", "AQID", "/w==", "+/8=", "zz", "!!", "a b", "AQID\n",
		strings.Repeat("f", 66), base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 33)), "\x00", "é"} {
		f.Add(s)
	}
	var (
		mu  sync.Mutex
		got []byte
	)
	fc := &fakeCore{UnsealFunc: func(_ context.Context, share []byte) (core.Status, error) {
		mu.Lock()
		defer mu.Unlock()
		got = bytes.Clone(share)
		return core.Status{Initialized: true, Sealed: true, Threshold: 2, Shares: 3, Progress: 1}, nil
	}}
	h := api.New(api.Config{Logger: discardLogger()}, fc).Handler()
	f.Fuzz(func(t *testing.T, key string) {
		mu.Lock()
		got = nil
		mu.Unlock()
		b, err := json.Marshal(map[string]string{"key": key})
		if err != nil {
			t.Skip()
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPut, "/v1/sys/unseal", bytes.NewReader(b)))
		mu.Lock()
		defer mu.Unlock()
		var want []byte
		ok := true
		// json.Marshal may have replaced invalid UTF-8; decode what the
		// server saw.
		var sent struct{ Key string }
		_ = json.Unmarshal(b, &sent)
		if want, err = hex.DecodeString(sent.Key); err != nil {
			want, err = base64.StdEncoding.DecodeString(sent.Key)
			ok = err == nil
		}
		switch {
		case sent.Key == "":
			if w.Code != http.StatusBadRequest || got != nil {
				t.Fatalf("empty key: status %d, core got %x", w.Code, got)
			}
		case !ok:
			if w.Code != http.StatusBadRequest || got != nil {
				t.Fatalf("key %q: status %d, core got %x", sent.Key, w.Code, got)
			}
			if !strings.Contains(w.Body.String(), "valid hex or base64") {
				t.Fatalf("key %q: body %s", sent.Key, w.Body.Bytes())
			}
		default:
			if w.Code != http.StatusOK || !bytes.Equal(got, want) {
				t.Fatalf("key %q: status %d, core got %x, want %x", sent.Key, w.Code, got, want)
			}
		}
		if len(sent.Key) > 16 && strings.Contains(w.Body.String(), sent.Key) {
			t.Fatalf("response echoes the key: %s", w.Body.Bytes())
		}
	})
}
