package transit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTransit speaks the transit encrypt/decrypt and token endpoints the
// way a vault does, with a reversible "encryption" (the test checks the
// client, not cryptography).
func fakeTransit(t *testing.T, renewals *atomic.Int32, down *atomic.Bool) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, `{"errors":["Vault is sealed"]}`, http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("X-Vault-Token") != "s.tok" {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"errors":["permission denied"]}`))
			return
		}
		var in map[string]string
		_ = json.NewDecoder(r.Body).Decode(&in)
		switch r.URL.Path {
		case "/v1/tr/encrypt/k":
			_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"ciphertext": "vault:v1:" + in["plaintext"]}})
		case "/v1/tr/decrypt/k":
			_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"plaintext": strings.TrimPrefix(in["ciphertext"], "vault:v1:")}})
		case "/v1/auth/token/lookup-self":
			_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"ttl": 2, "renewable": true}})
		case "/v1/auth/token/renew-self":
			renewals.Add(1)
			_ = json.NewEncoder(w).Encode(map[string]any{"auth": map[string]any{"lease_duration": 2, "renewable": true}})
		default:
			http.NotFound(w, r)
		}
	}))
}

func TestTransitSeal(t *testing.T) {
	var renewals atomic.Int32
	var down atomic.Bool
	srv := fakeTransit(t, &renewals, &down)
	defer srv.Close()
	if _, err := New(Config{Address: srv.URL, MountPath: "tr/", KeyName: "k"}); err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("New without token: %v", err)
	}
	s, err := New(Config{Address: srv.URL, Token: "s.tok", MountPath: "tr/", KeyName: "k"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	wrapped, err := s.Encrypt(ctx, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(wrapped), "0123456789abcdef") {
		t.Fatal("plaintext visible in the wrapped blob")
	}
	if !strings.Contains(string(wrapped), base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))) {
		t.Fatal("wrapped blob does not hold the remote's ciphertext")
	}
	pt, err := s.Decrypt(ctx, wrapped)
	if err != nil || string(pt) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("Decrypt = %q, %v", pt, err)
	}
	// Another key ID (key_id_prefix) is told apart.
	other, _ := New(Config{Address: srv.URL, Token: "s.tok", MountPath: "tr", KeyName: "k", KeyIDPrefix: "dc2-"})
	if _, err := other.Decrypt(ctx, wrapped); err == nil || !strings.Contains(err.Error(), "wrapped by") {
		t.Fatalf("Decrypt with another key ID: %v", err)
	}
	// A bad token is a refusal, and the token is not in the error.
	bad, _ := New(Config{Address: srv.URL, Token: "s.wrong", MountPath: "tr", KeyName: "k"})
	if _, err := bad.Decrypt(ctx, wrapped); err == nil || errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "s.wrong") {
		t.Fatalf("bad token: %v", err)
	}
	down.Store(true)
	if _, err := s.Decrypt(ctx, wrapped); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("remote down: %v", err)
	}
	down.Store(false)
	// Renewal at half the TTL.
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.RenewLoop(rctx); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for renewals.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	if renewals.Load() < 1 {
		t.Fatal("the token was never renewed")
	}
	// disable_renewal: RenewLoop returns at once.
	n := renewals.Load()
	nr, _ := New(Config{Address: srv.URL, Token: "s.tok", MountPath: "tr", KeyName: "k", DisableRenewal: true})
	nr.RenewLoop(ctx)
	if renewals.Load() != n {
		t.Fatal("renewed with disable_renewal")
	}
}

// FuzzDecryptBlob: a stored wrapped key of any shape is refused with an
// error (never a panic) before anything is sent to the remote.
func FuzzDecryptBlob(f *testing.F) {
	for _, s := range []string{`{"key_id":"tr/k","ciphertext":"vault:v1:AAAA"}`, `{}`, `null`, `[`, `{"key_id":1}`, "\x00"} {
		f.Add([]byte(s))
	}
	s, err := New(Config{Address: "http://127.0.0.1:1", Token: "t", MountPath: "tr", KeyName: "other"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := s.Decrypt(context.Background(), b); err == nil {
			t.Fatal("a blob for another key decrypted")
		}
	})
}
