package kubernetes_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

const uid = "4d6c1b35-0000-4000-8000-000000000001"

func setup(t *testing.T, f *fixture, c *cluster, cfg, role map[string]any) {
	t.Helper()
	data := map[string]any{"kubernetes_host": c.srv.URL, "kubernetes_ca_cert": c.caPEM()}
	for k, v := range cfg {
		data[k] = v
	}
	f.must(secrets.OpUpdate, "config", data)
	rd := map[string]any{
		"bound_service_account_names":      "app,worker-*",
		"bound_service_account_namespaces": "prod-*",
		"token_policies":                   "app-read",
		"token_ttl":                        "20m",
	}
	for k, v := range role {
		rd[k] = v
	}
	f.must(secrets.OpUpdate, "role/App", rd)
}

func TestLogin_TokenReview(t *testing.T) {
	c := newCluster(t)
	reviewer := c.token("vault", "vault-auth", "r-uid", nil, time.Hour)
	c.reviewer = reviewer
	f := newFixture(t, "", "")
	setup(t, f, c, map[string]any{"token_reviewer_jwt": reviewer}, nil)
	jwt := c.token("prod-eu", "app", uid, []string{"https://kubernetes.default.svc"}, time.Hour)
	a, err := f.login("app", jwt)
	if err != nil {
		t.Fatal(err)
	}
	want := &secrets.Auth{
		Policies: []string{"app-read"},
		Metadata: map[string]string{
			"service_account_name": "app", "service_account_namespace": "prod-eu",
			"service_account_uid": uid, "service_account_secret_name": "", "role": "app",
		},
		DisplayName: "prod-eu-app",
		TTL:         20 * time.Minute,
		Renewable:   true,
		Alias:       uid,
	}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("auth = %+v\nwant %+v", a, want)
	}
	reqs := c.requests()
	if len(reqs) != 1 || reqs[0].Bearer != reviewer || reqs[0].Token != jwt || reqs[0].ContentType != "application/json" {
		t.Fatalf("TokenReview requests: %+v", reqs)
	}
	// alias_name_source=serviceaccount_name
	f.must(secrets.OpUpdate, "role/app", map[string]any{"alias_name_source": "serviceaccount_name"})
	if a, err := f.login("app", c.token("prod-us", "worker-7", uid, nil, time.Hour)); err != nil || a.Alias != "prod-us/worker-7" {
		t.Fatalf("login by name alias: %+v, %v", a, err)
	}
}

func TestLogin_Refusals(t *testing.T) {
	c := newCluster(t)
	f := newFixture(t, "", "")
	setup(t, f, c, nil, nil)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	revoked := c.token("prod-eu", "app", uid, nil, 2*time.Hour) // differs from good by its exp
	c.revoked[revoked] = true
	good := c.token("prod-eu", "app", uid, nil, time.Hour)
	parts := strings.Split(good, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
	cases := []struct {
		name, jwt string
		kind      error
		want      string
	}{
		{"wrong name", c.token("prod-eu", "intruder", uid, nil, time.Hour), secrets.ErrPermissionDenied, "service account name not authorized"},
		{"wrong namespace", c.token("dev", "app", uid, nil, time.Hour), secrets.ErrPermissionDenied, "namespace not authorized"},
		{"revoked", revoked, secrets.ErrPermissionDenied, "service account unauthorized"},
		{"forged (other key)", c.sign(other, "prod-eu", "app", uid, nil, time.Hour), secrets.ErrPermissionDenied, "lookup failed"},
		{"expired", c.token("prod-eu", "app", uid, nil, -time.Hour), secrets.ErrPermissionDenied, "expired"},
		{"alg none", none, secrets.ErrPermissionDenied, "algorithm is not allowed"},
		{"unsigned", parts[0] + "." + parts[1] + ".", secrets.ErrPermissionDenied, "lookup failed"},
		{"garbage", "garbage", secrets.ErrInvalidRequest, "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			f.loginErr("app", tc.jwt, tc.kind, tc.want)
		})
	}
	f.t = t
	// No reviewer JWT: the client's own token is the bearer.
	for _, r := range c.requests() {
		if r.Bearer != r.Token {
			t.Fatalf("without token_reviewer_jwt the bearer is not the client's JWT: %+v", r)
		}
	}
	f.loginErr("app", "", secrets.ErrInvalidRequest, "missing jwt")
	f.loginErr("", good, secrets.ErrInvalidRequest, "missing role")
	f.loginErr("nope", good, secrets.ErrInvalidRequest, `invalid role name "nope"`)
	if _, err := f.login("app", good); err != nil {
		t.Fatal(err)
	}
	// A reviewer JWT the API server refuses: 401 surfaces as a lookup failure.
	f.must(secrets.OpUpdate, "config", map[string]any{"token_reviewer_jwt": c.sign(other, "vault", "x", "u", nil, time.Hour)})
	f.loginErr("app", good, secrets.ErrPermissionDenied, "answered 401")
	// Without the CA the API server's certificate is not trusted.
	f.must(secrets.OpUpdate, "config", map[string]any{"token_reviewer_jwt": "", "kubernetes_ca_cert": ""})
	f.loginErr("app", good, secrets.ErrPermissionDenied, "cannot reach")
}

func TestLogin_PEMKeysVerifyLocally(t *testing.T) {
	c := newCluster(t)
	f := newFixture(t, "", "")
	setup(t, f, c, map[string]any{"pem_keys": []any{c.pubPEM()}}, nil)
	if _, err := f.login("app", c.token("prod-eu", "app", uid, nil, time.Hour)); err != nil {
		t.Fatal(err)
	}
	n := len(c.requests())
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	f.loginErr("app", c.sign(other, "prod-eu", "app", uid, nil, time.Hour), secrets.ErrPermissionDenied, "failed to validate JWT")
	if len(c.requests()) != n {
		t.Fatal("a token with a bad signature reached the TokenReview API")
	}
}

func TestLogin_Audience(t *testing.T) {
	c := newCluster(t)
	f := newFixture(t, "", "")
	setup(t, f, c, nil, map[string]any{"audience": "vaultd"})
	if _, err := f.login("app", c.token("prod-eu", "app", uid, []string{"vaultd"}, time.Hour)); err != nil {
		t.Fatal(err)
	}
	reqs := c.requests()
	if got := reqs[len(reqs)-1].Audiences; !reflect.DeepEqual(got, []string{"vaultd"}) {
		t.Fatalf("TokenReview audiences = %v", got)
	}
	f.loginErr("app", c.token("prod-eu", "app", uid, []string{"https://kubernetes.default.svc"}, time.Hour), secrets.ErrPermissionDenied, "audience")
}

func TestLogin_IssuerValidation(t *testing.T) {
	c := newCluster(t)
	f := newFixture(t, "", "")
	setup(t, f, c, map[string]any{"disable_iss_validation": false, "issuer": "https://kubernetes.default.svc.cluster.local"}, nil)
	if _, err := f.login("app", c.token("prod-eu", "app", uid, nil, time.Hour)); err != nil {
		t.Fatal(err)
	}
	f.must(secrets.OpUpdate, "config", map[string]any{"issuer": "https://other"})
	f.loginErr("app", c.token("prod-eu", "app", uid, nil, time.Hour), secrets.ErrPermissionDenied, "invalid issuer")
}

func TestLogin_LocalServiceAccountFiles(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	tokFile, caFile := filepath.Join(dir, "token"), filepath.Join(dir, "ca.crt")
	podToken := c.token("vault", "vault", "pod-uid", nil, time.Hour)
	if err := os.WriteFile(tokFile, []byte(podToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, []byte(c.caPEM()), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, tokFile, caFile)
	f.must(secrets.OpUpdate, "config", map[string]any{"kubernetes_host": c.srv.URL})
	f.must(secrets.OpUpdate, "role/app", map[string]any{"bound_service_account_names": "app", "bound_service_account_namespaces": "*"})
	jwt := c.token("anything", "app", uid, nil, time.Hour)
	if _, err := f.login("app", jwt); err != nil {
		t.Fatal(err)
	}
	if r := c.requests(); r[len(r)-1].Bearer != podToken {
		t.Fatal("the pod's own token was not used as the reviewer JWT")
	}
	// disable_local_ca_jwt: neither file is used, so the CA is unknown.
	f.must(secrets.OpUpdate, "config", map[string]any{"disable_local_ca_jwt": true})
	f.loginErr("app", jwt, secrets.ErrPermissionDenied, "cannot reach")
}

func TestConfigAndRoles(t *testing.T) {
	c := newCluster(t)
	f := newFixture(t, "", "")
	if _, err := f.do(secrets.OpUpdate, "config", map[string]any{}); err == nil || !strings.Contains(err.Error(), "no host provided") {
		t.Fatalf("config without host: %v", err)
	}
	if _, err := f.do(secrets.OpUpdate, "config", map[string]any{"kubernetes_host": "ftp://x"}); err == nil {
		t.Fatal("ftp host accepted")
	}
	if _, err := f.do(secrets.OpUpdate, "config", map[string]any{"kubernetes_host": c.srv.URL, "kubernetes_ca_cert": "nope"}); err == nil {
		t.Fatal("bad CA accepted")
	}
	reviewer := c.token("vault", "vault-auth", "r", nil, time.Hour)
	f.must(secrets.OpUpdate, "config", map[string]any{"kubernetes_host": c.srv.URL + "/", "token_reviewer_jwt": reviewer})
	d := f.must(secrets.OpRead, "config", nil).Data
	if d["token_reviewer_jwt_set"] != true || d["kubernetes_host"] != c.srv.URL || d["disable_iss_validation"] != true {
		t.Fatalf("config read: %v", d)
	}
	for k, v := range d {
		if s, ok := v.(string); ok && strings.Contains(s, reviewer) {
			t.Fatalf("config read shows the reviewer JWT in %q", k)
		}
	}
	if _, err := f.do(secrets.OpUpdate, "role/r", map[string]any{"bound_service_account_names": "*", "bound_service_account_namespaces": "*"}); err == nil {
		t.Fatal("role with both * accepted")
	}
	if _, err := f.do(secrets.OpUpdate, "role/r", map[string]any{"bound_service_account_names": "a"}); err == nil {
		t.Fatal("role without namespaces accepted")
	}
	f.must(secrets.OpUpdate, "role/R", map[string]any{"bound_service_account_names": "a", "bound_service_account_namespaces": "b", "audience": "x"})
	rd := f.must(secrets.OpRead, "role/r", nil).Data
	if rd["audience"] != "x" || rd["alias_name_source"] != "serviceaccount_uid" || !reflect.DeepEqual(rd["bound_service_account_names"], []string{"a"}) {
		t.Fatalf("role read: %v", rd)
	}
	if keys := f.must(secrets.OpList, "role/", nil).Data["keys"]; !reflect.DeepEqual(keys, []string{"r"}) {
		t.Fatalf("list: %v", keys)
	}
	f.must(secrets.OpDelete, "role/r", nil)
	if _, err := f.do(secrets.OpRead, "role/r", nil); err == nil {
		t.Fatal("deleted role read")
	}
}
