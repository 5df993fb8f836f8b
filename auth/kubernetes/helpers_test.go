package kubernetes_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/vaultd/vaultd/auth/kubernetes"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage/inmem"
)

type fixture struct {
	t  *testing.T
	b  secrets.Backend
	st *inmem.Backend
}

// newFixture makes an engine whose in-pod files do not exist (tests that
// need them write them and pass the paths).
func newFixture(t *testing.T, localToken, localCA string) *fixture {
	t.Helper()
	dir := t.TempDir()
	if localToken == "" {
		localToken = filepath.Join(dir, "no-token")
	}
	if localCA == "" {
		localCA = filepath.Join(dir, "no-ca")
	}
	return &fixture{t: t, st: inmem.New(), b: kubernetes.NewWithLocalFiles(secrets.Config{Type: "kubernetes"}, localToken, localCA)}
}

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

func (f *fixture) login(role, jwt string) (*secrets.Auth, error) {
	resp, err := f.do(secrets.OpUpdate, "login", map[string]any{"role": role, "jwt": jwt})
	if err != nil {
		return nil, err
	}
	return resp.Auth, nil
}

func (f *fixture) loginErr(role, jwt string, kind error, want string) {
	f.t.Helper()
	a, err := f.login(role, jwt)
	if err == nil {
		f.t.Fatalf("login succeeded (%+v), want %q", a, want)
	}
	if !errors.Is(err, kind) || !strings.Contains(err.Error(), want) {
		f.t.Fatalf("login error %v, want %v containing %q", err, kind, want)
	}
}

// cluster is a service-account token issuer and a TLS API server that
// answers TokenReviews the way kube-apiserver does.
type cluster struct {
	t        *testing.T
	key      *rsa.PrivateKey
	srv      *httptest.Server
	reviewer string // the bearer token TokenReview callers must present ("" = any valid SA token)

	mu      sync.Mutex
	revoked map[string]bool // tokens the API server no longer accepts
	reqs    []reviewReq
}

type reviewReq struct {
	Bearer, ContentType string
	Token               string
	Audiences           []string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, key: k, revoked: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/apis/authentication.k8s.io/v1/tokenreviews", c.serveReview)
	c.srv = httptest.NewTLSServer(mux)
	t.Cleanup(c.srv.Close)
	return c
}

func (c *cluster) status(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": msg, "reason": reason, "code": code,
	})
}

// verify checks one of this cluster's tokens; it returns its claims.
func (c *cluster) verify(tok string) (map[string]any, bool) {
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, false
	}
	payload, err := jws.Verify(&c.key.PublicKey)
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	if json.Unmarshal(payload, &claims) != nil {
		return nil, false
	}
	if exp, ok := claims["exp"].(float64); ok && time.Now().Unix() > int64(exp) {
		return nil, false
	}
	return claims, true
}

func (c *cluster) serveReview(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		c.status(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method")
		return
	}
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if _, ok := c.verify(bearer); !ok || (c.reviewer != "" && bearer != c.reviewer) {
		c.status(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	var tr struct {
		APIVersion, Kind string
		Spec             struct {
			Token     string   `json:"token"`
			Audiences []string `json:"audiences"`
		} `json:"spec"`
	}
	if err := json.NewDecoder(r.Body).Decode(&tr); err != nil || tr.Kind != "TokenReview" || tr.APIVersion != "authentication.k8s.io/v1" {
		c.status(w, http.StatusBadRequest, "BadRequest", "bad TokenReview")
		return
	}
	c.mu.Lock()
	c.reqs = append(c.reqs, reviewReq{Bearer: bearer, ContentType: r.Header.Get("Content-Type"), Token: tr.Spec.Token, Audiences: tr.Spec.Audiences})
	revoked := c.revoked[tr.Spec.Token]
	c.mu.Unlock()
	status := map[string]any{"authenticated": false}
	if claims, ok := c.verify(tr.Spec.Token); ok && !revoked {
		aud := audiences(claims["aud"])
		ok := true
		var got []string
		for _, want := range tr.Spec.Audiences {
			for _, a := range aud {
				if a == want {
					got = append(got, a)
				}
			}
		}
		if len(tr.Spec.Audiences) > 0 && len(got) == 0 {
			ok = false
		}
		if ok {
			k8s := claims["kubernetes.io"].(map[string]any)
			sa := k8s["serviceaccount"].(map[string]any)
			status = map[string]any{
				"authenticated": true,
				"user": map[string]any{
					"username": "system:serviceaccount:" + k8s["namespace"].(string) + ":" + sa["name"].(string),
					"uid":      sa["uid"],
					"groups":   []string{"system:serviceaccounts"},
				},
				"audiences": got,
			}
		} else {
			status["error"] = "token audiences are invalid"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
		"spec": tr.Spec, "status": status,
	})
}

func audiences(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, a := range x {
			if s, ok := a.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// token makes a projected service-account token for ns/name.
func (c *cluster) token(ns, name, uid string, aud []string, ttl time.Duration) string {
	return c.sign(c.key, ns, name, uid, aud, ttl)
}

func (c *cluster) sign(key *rsa.PrivateKey, ns, name, uid string, aud []string, ttl time.Duration) string {
	c.t.Helper()
	now := time.Now()
	claims := map[string]any{
		"iss": "https://kubernetes.default.svc.cluster.local",
		"sub": "system:serviceaccount:" + ns + ":" + name,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(),
		"kubernetes.io": map[string]any{
			"namespace":      ns,
			"serviceaccount": map[string]any{"name": name, "uid": uid},
		},
	}
	if aud != nil {
		claims["aud"] = aud
	}
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	obj, err := sg.Sign(b)
	if err != nil {
		c.t.Fatal(err)
	}
	s, _ := obj.CompactSerialize()
	return s
}

func (c *cluster) caPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.srv.Certificate().Raw}))
}

func (c *cluster) pubPEM() string {
	der, _ := x509.MarshalPKIXPublicKey(&c.key.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func (c *cluster) requests() []reviewReq {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]reviewReq(nil), c.reqs...)
}
