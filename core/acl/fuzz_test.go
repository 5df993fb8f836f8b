package acl_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/core/acl"
)

// FuzzParse: Parse never panics and fails only with a *ParseError; a policy
// that parses compiles, and evaluating it on arbitrary paths never panics,
// stays consistent with Capabilities, and agrees with the reference
// evaluator.
func FuzzParse(f *testing.F) {
	seeds := []struct{ rules, path string }{
		{acl.DefaultPolicy, "cubbyhole/x"},
		{acl.ResponseWrappingPolicy, "cubbyhole/response"},
		{`path "secret/*" { capabilities = ["create", "read", "update", "patch", "delete", "list"] }
path "secret/super-secret" { capabilities = ["deny"] }`, "secret/super-secret"},
		{`path "secret/+/teamb" { capabilities = ["read"] }
path "secret/+/+/foo/*" { capabilities = ["list"] }
path "secret/zip-*" { policy = "write" }`, "secret/a/b/foo/c"},
		{`path "secret/foo" {
  capabilities = ["create"]
  allowed_parameters = { "bar" = ["zip", "zap*"], "*" = [] }
  denied_parameters = { "baz" = [1, 2.5, true] }
  required_parameters = ["bar"]
  min_wrapping_ttl = "1s"
  max_wrapping_ttl = 90
}`, "secret/foo"},
		{`{"path": {"a/*": {"capabilities": ["read"]}, "b": {"policy": "sudo"}}}`, "a/b"},
		{`path "identity/entity/id/{{identity.entity.id}}" { capabilities = ["read"] }`, "identity/entity/id/x"},
		{`path = { "x/+" = { capabilities = ["list"] } }`, "x/"},
		{"path \"a\" {\n capabilities = [\"reed\"]\n}", "a"},
		{`path "a" { max_wrapping_ttl = 99999999999999999999999 }`, "a"},
		{"path \"a\" { comment = <<EOT\nheredoc\nEOT\n}", "a"},
		{"path \"\\x\" {}", ""},
		{"path \"a\" { capabilities = [\"read\"", "a"},
		{"{", ""},
		{"", "/"},
	}
	for _, s := range seeds {
		f.Add(s.rules, s.path)
	}
	f.Fuzz(fuzzPolicy)
}

var fuzzOps = []string{"create", "read", "update", "patch", "delete", "list", "sudo", ""}

func fuzzPolicy(t *testing.T, rules, path string) {
	p, err := acl.Parse("fuzz", rules)
	if err != nil {
		var pe *acl.ParseError
		if !errors.As(err, &pe) || !errors.Is(err, acl.ErrInvalidPolicy) {
			t.Fatalf("Parse error %v (%T) is not a *ParseError wrapping ErrInvalidPolicy", err, err)
		}
		return
	}
	a, err := acl.New(p)
	if err != nil {
		t.Fatalf("New rejected a parsed policy: %v", err)
	}
	if _, err := acl.New(p, p, mustParse(t, "default", acl.DefaultPolicy)); err != nil {
		t.Fatalf("New rejected parsed policies: %v", err)
	}
	ref := newRef(p)

	paths := []string{path, path + "/", "/" + path}
	for _, pr := range p.Paths {
		if len(paths) > 64 {
			break
		}
		paths = append(paths, pr.Path,
			strings.TrimSuffix(pr.Path, "*")+path,
			strings.ReplaceAll(strings.TrimSuffix(pr.Path, "*"), "+", path))
	}
	data := map[string]any{path: path, "a": []any{path, 1.0}, "b": "x," + path}
	constrained := hasConstraints(p)
	for _, q := range paths {
		compareWithReference(t, a, ref, q)
		caps := a.Capabilities(q)
		if len(caps) == 0 || (slices.Contains(caps, "deny") && len(caps) != 1) {
			t.Fatalf("Capabilities(%q) = %q", q, caps)
		}
		for _, op := range fuzzOps {
			ok, _ := a.Allowed(op, q)
			if ok && !strings.HasSuffix(q, "/") && !slices.Contains(caps, op) {
				t.Fatalf("Allowed(%q, %q) but Capabilities = %q", op, q, caps)
			}
			res := a.Check(acl.Request{Operation: op, Path: q, Data: data, WrapTTL: time.Second})
			if !constrained && res.Allowed != ok {
				t.Fatalf("%s %q: Check.Allowed = %v but Allowed = %v without constraints", op, q, res.Allowed, ok)
			}
		}
	}
}

// hasConstraints reports whether any rule has parameter or wrapping
// constraints, which make the outcome depend on data and wrapping.
func hasConstraints(p *acl.Policy) bool {
	for _, pr := range p.Paths {
		if pr.RequiredParameters != nil || pr.MinWrappingTTL != 0 || pr.MaxWrappingTTL != 0 ||
			pr.AllowedParameters != nil || pr.DeniedParameters != nil {
			return true
		}
	}
	return false
}
