package jwt_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/vaultd/vaultd/auth/jwt"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage/inmem"
)

// fixture is a jwt engine on in-memory storage with a settable clock.
type fixture struct {
	t   *testing.T
	b   secrets.Backend
	st  *inmem.Backend
	now atomic.Int64 // unix seconds
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, st: inmem.New()}
	f.now.Store(time.Now().Unix())
	b, err := jwt.Factory(context.Background(), secrets.Config{
		Type: "jwt",
		Now:  func() time.Time { return time.Unix(f.now.Load(), 0) },
	})
	if err != nil {
		t.Fatal(err)
	}
	f.b = b
	return f
}

func (f *fixture) clock() time.Time { return time.Unix(f.now.Load(), 0) }

func (f *fixture) do(op secrets.Operation, path string, data map[string]any) (*secrets.Response, error) {
	return f.b.HandleRequest(context.Background(), &secrets.Request{
		Operation: op, Path: path, Data: data, Storage: f.st, RemoteAddr: "127.0.0.1",
	})
}

func (f *fixture) must(op secrets.Operation, path string, data map[string]any) *secrets.Response {
	f.t.Helper()
	resp, err := f.do(op, path, data)
	if err != nil {
		f.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// loginErr logs in and expects a 400 whose message contains want.
func (f *fixture) loginErr(role, token, want string) {
	f.t.Helper()
	resp, err := f.do(secrets.OpUpdate, "login", map[string]any{"role": role, "jwt": token})
	if err == nil {
		f.t.Fatalf("login succeeded (auth %+v), want error containing %q", resp.Auth, want)
	}
	if !errors.Is(err, secrets.ErrInvalidRequest) && !errors.Is(err, secrets.ErrPermissionDenied) {
		f.t.Fatalf("login error %v is not a 400/403", err)
	}
	if !strings.Contains(err.Error(), want) {
		f.t.Fatalf("login error %q, want it to contain %q", err, want)
	}
}

func (f *fixture) login(role, token string) *secrets.Auth {
	f.t.Helper()
	resp := f.must(secrets.OpUpdate, "login", map[string]any{"role": role, "jwt": token})
	if resp.Auth == nil {
		f.t.Fatal("login returned no auth")
	}
	return resp.Auth
}

// signer signs tokens with a key the test made.
type signer struct {
	priv crypto.Signer
	alg  jose.SignatureAlgorithm
	kid  string
}

func newRSA(t *testing.T, kid string) *signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{priv: k, alg: jose.RS256, kid: kid}
}

func newEC(t *testing.T, kid string) *signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{priv: k, alg: jose.ES256, kid: kid}
}

func (s *signer) pubPEM(t *testing.T) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(s.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func (s *signer) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: s.priv.Public(), KeyID: s.kid, Algorithm: string(s.alg), Use: "sig"}
}

// sign makes a compact JWS of claims.
func (s *signer) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if s.kid != "" {
		opts = opts.WithHeader("kid", s.kid)
	}
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: s.alg, Key: s.priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := sg.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// claims are standard claims valid at now.
func claims(now time.Time, extra map[string]any) map[string]any {
	c := map[string]any{
		"iss": "https://issuer.example",
		"sub": "repo:acme/app:ref:refs/heads/main",
		"aud": "vaultd",
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// keyServer is a TLS JWKS and OIDC discovery server on loopback.
type keyServer struct {
	srv   *httptest.Server
	mu    sync.Mutex
	keys  []jose.JSONWebKey
	hits  atomic.Int64
	issue string // issuer the discovery document names ("" = its own URL)
}

func newKeyServer(t *testing.T, keys ...jose.JSONWebKey) *keyServer {
	t.Helper()
	ks := &keyServer{keys: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		ks.hits.Add(1)
		ks.mu.Lock()
		set := jose.JSONWebKeySet{Keys: ks.keys}
		ks.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	})
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss := ks.issue
		if iss == "" {
			iss = ks.srv.URL
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "jwks_uri": ks.srv.URL + "/keys"})
	})
	ks.srv = httptest.NewTLSServer(mux)
	t.Cleanup(ks.srv.Close)
	return ks
}

func (ks *keyServer) setKeys(keys ...jose.JSONWebKey) {
	ks.mu.Lock()
	ks.keys = keys
	ks.mu.Unlock()
}

// caPEM is the PEM of the server's self-signed certificate.
func (ks *keyServer) caPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ks.srv.Certificate().Raw}))
}
