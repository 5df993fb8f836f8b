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
