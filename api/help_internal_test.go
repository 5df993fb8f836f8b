package api

import (
	"strings"
	"testing"

	"github.com/vaultd/vaultd/endpoint"
)

func FuzzMatchOpenAPIPath(f *testing.F) {
	paths := map[string]*endpoint.OpenAPIPathItem{
		"/secret/data/{path}": {}, "/secret/metadata/{path}": {}, "/secret/metadata/": {}, "/secret/config": {},
		"/sys/policies/acl/{name}": {}, "/": {}, "/auth/userpass/users/{username}": {},
	}
	for _, s := range []string{"", "/", "secret/data/a/b", "secret/metadata", "secret//x", "sys/policies/acl/", "{x}", "auth/userpass/users/{username}/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		key, item := matchOpenAPIPath(paths, p)
		if (key == "") != (item == nil) || (item != nil && paths[key] != item) {
			t.Fatalf("matchOpenAPIPath(%q) = %q, %v", p, key, item)
		}
		if item != nil {
			_ = helpText(p, key, item)
			lit := 0
			for _, s := range strings.Split(strings.Trim(key, "/"), "/") {
				if s != "" && !isParam(s) {
					lit++
				}
			}
			if lit > 0 && !strings.Contains(p, strings.Split(strings.Trim(key, "/"), "/")[0]) {
				t.Fatalf("%q matched %q, whose first segment it lacks", p, key)
			}
		}
	})
}

func TestLogPath_RedactsTokensInPaths(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/auth/token/lookup/hvs.SECRET":        "/v1/auth/token/lookup/<redacted>",
		"/v1/auth/token/revoke/hvs.SECRET/x":      "/v1/auth/token/revoke/<redacted>",
		"/v1/auth/token/renew/s.SECRET":           "/v1/auth/token/renew/<redacted>",
		"/v1/auth/token/revoke-orphan/hvs.SECRET": "/v1/auth/token/revoke-orphan/<redacted>",
		"/v1/auth/token/lookup":                   "/v1/auth/token/lookup",
		"/v1/auth/token/lookup-self":              "/v1/auth/token/lookup-self",
		"/v1/auth/token/lookup-accessor/abc":      "/v1/auth/token/lookup-accessor/abc",
		"/v1/secret/data/auth/token/lookup/x":     "/v1/secret/data/auth/token/lookup/x",
	} {
		if got := logPath(in); got != want {
			t.Errorf("logPath(%q) = %q, want %q", in, got, want)
		}
	}
}
