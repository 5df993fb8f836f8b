package cli

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func captured(t *testing.T, method, raw string, hdr http.Header, body string) *capturedRequest {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return &capturedRequest{method: method, url: u, header: hdr, body: []byte(body)}
}

func TestCapturedRequest_CurlNeverHoldsTheToken(t *testing.T) {
	h := http.Header{}
	h.Set("X-Vault-Token", "hvs.SECRET")
	h.Set("X-Vault-Request", "true")
	h.Set("User-Agent", "x")
	h.Set("X-Vault-Wrap-Ttl", "5m")
	c := captured(t, http.MethodPut, "http://127.0.0.1:8200/v1/secret/data/a", h, `{"k":"it's"}`)
	got := c.curl()
	want := `curl -X PUT -H 'X-Vault-Request: true' -H 'X-Vault-Wrap-Ttl: 5m' -H "X-Vault-Token: $(vaultd print token)" -d '{"k":"it'"'"'s"}' 'http://127.0.0.1:8200/v1/secret/data/a'`
	if got != want {
		t.Fatalf("curl()\n got %s\nwant %s", got, want)
	}
	if strings.Contains(got, "SECRET") {
		t.Fatal("the token is in the curl string")
	}
	if got := captured(t, http.MethodGet, "http://h/v1/sys/health", http.Header{}, "").curl(); got != `curl 'http://h/v1/sys/health'` {
		t.Fatalf("bare GET: %s", got)
	}
}

func TestCapturedRequest_Policy(t *testing.T) {
	for _, tc := range []struct{ method, url, want string }{
		{"GET", "http://h/v1/secret/data/a", `path "secret/data/a" {` + "\n" + `  capabilities = ["read"]` + "\n}\n"},
		{"GET", "http://h/v1/secret/metadata?list=true", `path "secret/metadata/" {` + "\n" + `  capabilities = ["list"]` + "\n}\n"},
		{"LIST", "http://h/v1/auth/token/accessors", `path "auth/token/accessors/" {` + "\n" + `  capabilities = ["list", "sudo"]` + "\n}\n"},
		{"POST", "http://h/v1/sys/leases/revoke-prefix/auth/x", `path "sys/leases/revoke-prefix/auth/x" {` + "\n" + `  capabilities = ["create", "update", "sudo"]` + "\n}\n"},
		{"PATCH", "http://h/v1/secret/data/a", `path "secret/data/a" {` + "\n" + `  capabilities = ["patch"]` + "\n}\n"},
		{"DELETE", "http://h/v1/sys/mounts/kv%2Fx", `path "sys/mounts/kv/x" {` + "\n" + `  capabilities = ["delete"]` + "\n}\n"},
	} {
		if got := captured(t, tc.method, tc.url, http.Header{}, "").policy(); got != tc.want {
			t.Errorf("%s %s: policy()\n got %q\nwant %q", tc.method, tc.url, got, tc.want)
		}
	}
}

func TestParseIncrement(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "3600": time.Hour, "90m": 90 * time.Minute, " 1h ": time.Hour} {
		if got, err := parseIncrement(in); err != nil || got != want {
			t.Errorf("parseIncrement(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"-1", "-5m", "soon", "1x"} {
		if _, err := parseIncrement(in); err == nil {
			t.Errorf("parseIncrement(%q) accepted", in)
		}
	}
}

func FuzzParseIncrement(f *testing.F) {
	for _, s := range []string{"", "0", "3600", "1h30m", "-1", "9223372036854775807", "1e9", "soon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseIncrement(s)
		if err == nil && d < 0 {
			t.Fatalf("parseIncrement(%q) = %v, negative", s, d)
		}
	})
}
