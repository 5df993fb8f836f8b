package acl_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vaultd/vaultd/core/acl"
)

func mustParse(t testing.TB, name, rules string) *acl.Policy {
	t.Helper()
	p, err := acl.Parse(name, rules)
	if err != nil {
		t.Fatalf("Parse(%q) error: %v\nrules:\n%s", name, err, rules)
	}
	return p
}

func TestParse_DocExample(t *testing.T) {
	// The commented example from Vault's policy documentation.
	const rules = `
# This section grants all access on "secret/*". Further restrictions can be
# applied to this broad policy, as shown below.
path "secret/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}

# Even though we allowed secret/*, this line explicitly denies
# secret/super-secret. This takes precedence.
path "secret/super-secret" {
  capabilities = ["deny"]
}

# Policies can also specify allowed, disallowed, and required parameters. Here
# the key "secret/restricted" can only contain "foo" (any value) and "bar" (one
# of "zip" or "zap").
path "secret/restricted" {
  capabilities = ["create"]
  allowed_parameters = {
    "foo" = []
    "bar" = ["zip", "zap"]
  }
}

path "secret/+/teamb" {
  capabilities = ["read"]
}
`
	p := mustParse(t, "doc", rules)
	want := []acl.PathRule{
		{
			Path: "secret/*", Line: 4, IsPrefix: true,
			Capabilities: []string{"create", "delete", "list", "patch", "read", "update"},
			Caps:         acl.Create | acl.Read | acl.Update | acl.Patch | acl.Delete | acl.List,
		},
		{Path: "secret/super-secret", Line: 10, Capabilities: []string{"deny"}, Caps: acl.Deny},
		{
			Path: "secret/restricted", Line: 17,
			Capabilities:      []string{"create"},
			Caps:              acl.Create,
			AllowedParameters: map[string][]any{"foo": {}, "bar": {"zip", "zap"}},
		},
		{
			Path: "secret/+/teamb", Line: 25, HasSegmentWildcards: true,
			Capabilities: []string{"read"}, Caps: acl.Read,
		},
	}
	if diff := cmp.Diff(want, p.Paths); diff != "" {
		t.Errorf("Paths mismatch (-want +got):\n%s", diff)
	}
	if p.Name != "doc" || p.Raw != rules || p.Templated {
		t.Errorf("Name=%q Templated=%v, Raw preserved=%v", p.Name, p.Templated, p.Raw == rules)
	}
}

func TestParse_LegacyPolicy(t *testing.T) {
	tests := []struct {
		name  string
		rules string
		want  acl.Capability
	}{
		{"deny", `path "a" { policy = "deny" }`, acl.Deny},
		{"read", `path "a" { policy = "read" }`, acl.Read | acl.List},
		{"write", `path "a" { policy = "write" }`, acl.Create | acl.Read | acl.Update | acl.Delete | acl.List},
		{"sudo", `path "a" { policy = "sudo" }`, acl.Create | acl.Read | acl.Update | acl.Delete | acl.List | acl.Sudo},
		// From Vault's old docs: legacy and new forms combine.
		{"read plus capabilities", `path "a" {
  policy = "read"
  capabilities = ["create", "sudo"]
}`, acl.Read | acl.List | acl.Create | acl.Sudo},
		// deny overrides whatever else the stanza grants.
		{"deny overrides capabilities", `path "a" {
  policy = "deny"
  capabilities = ["read"]
}`, acl.Deny},
		{"capability deny overrides legacy", `path "a" {
  policy = "sudo"
  capabilities = ["deny"]
}`, acl.Deny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, "legacy", tt.rules)
			if got := p.Paths[0].Caps; got != tt.want {
				t.Errorf("Caps = %v, want %v", got, tt.want)
			}
			if got, want := p.Paths[0].Capabilities, tt.want.Names(); !cmp.Equal(got, want) {
				t.Errorf("Capabilities = %q, want %q", got, want)
			}
		})
	}
}

func TestParse_Errors(t *testing.T) {
	tests := []struct {
		name     string
		rules    string
		wantLine int
		wantMsg  string
	}{
		{"unknown capability", "path \"a\" {\n  capabilities = [\"read\"]\n}\npath \"b\" {\n  capabilities = [\"reed\"]\n}", 5, `path "b": invalid capability "reed"`},
		{"capability case-sensitive", "path \"a\" {\n capabilities = [\"Read\"]\n}", 2, `invalid capability "Read"`},
		{"empty path", "\n\npath \"\" {\n capabilities = [\"read\"]\n}", 3, "empty path"},
		{"slash only", `path "/" { capabilities = ["read"] }`, 1, "empty path"},
		{"glob in the middle", "# c\npath \"secret/*/foo\" {\n capabilities = [\"read\"]\n}", 2, "only allowed as the last character"},
		{"two globs", `path "secret/**" { capabilities = ["read"] }`, 1, "only allowed as the last character"},
		{"plus star", `path "secret/+*" { capabilities = ["read"] }`, 1, "'+*' is forbidden"},
		{"bad legacy policy", "path \"a\" {\n\n  policy = \"admin\"\n}", 3, `invalid policy "admin"`},
		{"unknown top-level key", "path \"a\" { capabilities = [] }\npaths \"b\" {}", 2, `invalid key "paths"`},
		{"unknown stanza key", "path \"a\" {\n  capabilites = [\"read\"]\n}", 2, `invalid key "capabilites"`},
		{"unsupported enterprise key", "path \"a\" {\n  capabilities = [\"read\"]\n  control_group = {}\n}", 3, `"control_group" is not supported`},
		{"duplicate key", "path \"a\" {\n  capabilities = [\"read\"]\n  capabilities = [\"list\"]\n}", 3, `duplicate key "capabilities"`},
		{"capabilities not a list", "path \"a\" {\n  capabilities = \"read\"\n}", 2, "expected a list of strings"},
		{"capability not a string", "path \"a\" {\n  capabilities = [1]\n}", 2, "expected a string"},
		{"path without name", "path {\n  capabilities = [\"read\"]\n}", 1, "path stanza needs a path"},
		{"path assigned a string", `path "a" = "read"`, 1, "nested object expected"},
		{"star parameter with values", "path \"a\" {\n capabilities = [\"create\"]\n allowed_parameters = {\n  \"*\" = [\"x\"]\n }\n}", 3, `the only value allowed for "*" is []`},
		{"parameter not a list", "path \"a\" {\n allowed_parameters = {\n  \"foo\" = \"bar\"\n }\n}", 2, "expected a list of values"},
		{"min greater than max", "path \"a\" {\n capabilities = [\"read\"]\n min_wrapping_ttl = \"2m\"\n max_wrapping_ttl = \"1m\"\n}", 1, "max_wrapping_ttl cannot be less than min_wrapping_ttl"},
		{"bad ttl", "path \"a\" {\n max_wrapping_ttl = \"soon\"\n}", 2, `invalid duration "soon"`},
		{"negative ttl", "path \"a\" {\n max_wrapping_ttl = -5\n}", 2, "out of range"},
		{"number out of range", "path \"a\" {\n max_wrapping_ttl = 99999999999999999999999\n}", 2, "malformed number literal"},
		{"unclosed template", `path "secret/{{identity.entity.id/*" { capabilities = ["read"] }`, 1, "unclosed '{{'"},
		{"bad template parameter", `path "secret/{{token.id}}" { capabilities = ["read"] }`, 1, "invalid template parameter"},
		{"syntax error", "path \"a\" {\n  capabilities = [\"read\"\n}", 3, ""},
		{"unterminated string", "path \"a {\n}", 1, ""},
		{"too deep", "path \"a\" {\n x = " + strings.Repeat("[", 100) + "\n}", 2, "nesting deeper than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := acl.Parse("bad", tt.rules)
			if err == nil {
				t.Fatalf("Parse succeeded with %d paths, want error", len(p.Paths))
			}
			var pe *acl.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if !errors.Is(err, acl.ErrInvalidPolicy) {
				t.Errorf("errors.Is(%v, ErrInvalidPolicy) = false", err)
			}
			if pe.Line != tt.wantLine {
				t.Errorf("Line = %d, want %d (error: %v)", pe.Line, tt.wantLine, err)
			}
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Errorf("Error() = %q, want a \"line N: \" prefix", err)
			}
			if !strings.Contains(pe.Msg, tt.wantMsg) {
				t.Errorf("Msg = %q, want it to contain %q", pe.Msg, tt.wantMsg)
			}
		})
	}
}

func TestParse_ReservedName(t *testing.T) {
	for _, name := range []string{"root", "ROOT", " root "} {
		_, err := acl.Parse(name, `path "*" { capabilities = ["sudo"] }`)
		if !errors.Is(err, acl.ErrReservedName) {
			t.Errorf("Parse(%q) error = %v, want ErrReservedName", name, err)
		}
	}
}

func TestParse_JSON(t *testing.T) {
	const rules = `{
  "path": {
    "secret/*": {"capabilities": ["read", "list"]},
    "secret/restricted": {
      "capabilities": ["create"],
      "allowed_parameters": {"Bar": ["zip", "zap"], "foo": []},
      "required_parameters": ["foo"],
      "max_wrapping_ttl": "90s"
    },
    "/sys/*": {"policy": "deny"}
  }
}`
	p := mustParse(t, "json", rules)
	got := map[string]acl.PathRule{}
	for _, pr := range p.Paths {
		got[pr.Path] = pr
	}
	if len(got) != 3 {
		t.Fatalf("parsed %d paths, want 3: %+v", len(p.Paths), p.Paths)
	}
	if c := got["secret/*"].Caps; c != acl.Read|acl.List || !got["secret/*"].IsPrefix {
		t.Errorf("secret/* = %+v", got["secret/*"])
	}
	r := got["secret/restricted"]
	wantAllowed := map[string][]any{"bar": {"zip", "zap"}, "foo": {}}
	if r.Caps != acl.Create || !cmp.Equal(r.AllowedParameters, wantAllowed) ||
		!cmp.Equal(r.RequiredParameters, []string{"foo"}) || r.MaxWrappingTTL != 90*time.Second {
		t.Errorf("secret/restricted = %+v", r)
	}
	if got["sys/*"].Caps != acl.Deny {
		t.Errorf("sys/* (leading slash stripped) = %+v", got["sys/*"])
	}

	// A JSON error names the path even though JSON carries no positions.
	_, err := acl.Parse("json", `{"path": {"a/b": {"capabilities": ["nope"]}}}`)
	if err == nil || !strings.Contains(err.Error(), `path "a/b": invalid capability "nope"`) {
		t.Errorf("JSON error = %v", err)
	}
	_, err = acl.Parse("json", `{"path": {"a/b": "read"}}`)
	if err == nil || !strings.Contains(err.Error(), `path "a/b": expected a block`) {
		t.Errorf("JSON non-block error = %v", err)
	}
}

func TestParse_Parameters(t *testing.T) {
	const rules = `
path "secret/foo" {
  capabilities = ["create", "update"]
  allowed_parameters = {
    "Bar" = ["zip", 3, 1.5, true]
    "*"   = []
  }
  denied_parameters {
    "baz" = []
  }
  required_parameters = ["bar", "qux"]
  min_wrapping_ttl = 1
  max_wrapping_ttl = "1h"
}`
	pr := mustParse(t, "params", rules).Paths[0]
	want := acl.PathRule{
		Path: "secret/foo", Line: 2,
		Capabilities:       []string{"create", "update"},
		Caps:               acl.Create | acl.Update,
		AllowedParameters:  map[string][]any{"bar": {"zip", int64(3), 1.5, true}, "*": {}},
		DeniedParameters:   map[string][]any{"baz": {}},
		RequiredParameters: []string{"bar", "qux"},
		MinWrappingTTL:     time.Second,
		MaxWrappingTTL:     time.Hour,
	}
	if diff := cmp.Diff(want, pr); diff != "" {
		t.Errorf("PathRule mismatch (-want +got):\n%s", diff)
	}
}

func TestParse_WrappingTTLForms(t *testing.T) {
	tests := []struct {
		val  string
		want time.Duration
	}{
		{`90`, 90 * time.Second},
		{`"90"`, 90 * time.Second},
		{`"90s"`, 90 * time.Second},
		{`"5m"`, 5 * time.Minute},
		{`"2h"`, 2 * time.Hour},
		{`"1d"`, 24 * time.Hour},
		{`1.5`, 1500 * time.Millisecond},
		{`""`, 0},
	}
	for _, tt := range tests {
		p := mustParse(t, "ttl", `path "a" { max_wrapping_ttl = `+tt.val+` }`)
		if got := p.Paths[0].MaxWrappingTTL; got != tt.want {
			t.Errorf("max_wrapping_ttl = %s: got %v, want %v", tt.val, got, tt.want)
		}
	}
}

func TestParse_Templated(t *testing.T) {
	p := mustParse(t, "tpl", `
path "secret/data/{{identity.entity.id}}/*" {
  capabilities = ["read"]
}
path "secret/other" {
  capabilities = ["read"]
}`)
	if !p.Templated || !p.Paths[0].Templated || p.Paths[1].Templated {
		t.Errorf("Templated = %v, paths = %v/%v", p.Templated, p.Paths[0].Templated, p.Paths[1].Templated)
	}
}

func TestParse_Empty(t *testing.T) {
	for _, rules := range []string{"", "   \n", "# only a comment\n", `{}`} {
		p := mustParse(t, "empty", rules)
		if len(p.Paths) != 0 {
			t.Errorf("Parse(%q) paths = %v, want none", rules, p.Paths)
		}
	}
}

func TestParse_BuiltinPolicies(t *testing.T) {
	def := mustParse(t, acl.DefaultPolicyName, acl.DefaultPolicy)
	if !def.Templated {
		t.Error("default policy: Templated = false, want true (identity paths)")
	}
	if len(def.Paths) != 18 {
		t.Errorf("default policy has %d paths, want 18", len(def.Paths))
	}
	rw := mustParse(t, acl.ResponseWrappingPolicyName, acl.ResponseWrappingPolicy)
	if len(rw.Paths) != 2 {
		t.Errorf("response-wrapping policy has %d paths, want 2", len(rw.Paths))
	}
}

func TestCapability_Names(t *testing.T) {
	tests := []struct {
		c    acl.Capability
		want []string
		str  string
	}{
		{0, []string{}, "none"},
		{acl.Deny | acl.Read, []string{"deny"}, "deny"},
		{acl.Update | acl.Read | acl.Sudo | acl.Create, []string{"create", "read", "sudo", "update"}, "create|read|sudo|update"},
	}
	for _, tt := range tests {
		if got := tt.c.Names(); !cmp.Equal(got, tt.want) {
			t.Errorf("(%d).Names() = %q, want %q", tt.c, got, tt.want)
		}
		if got := tt.c.String(); got != tt.str {
			t.Errorf("(%d).String() = %q, want %q", tt.c, got, tt.str)
		}
	}
	for _, name := range []string{"create", "read", "update", "patch", "delete", "list", "sudo", "deny"} {
		c, ok := acl.ParseCapability(name)
		if !ok || c.Names()[0] != name {
			t.Errorf("ParseCapability(%q) = %v, %v", name, c, ok)
		}
	}
	if _, ok := acl.ParseCapability("root"); ok {
		t.Error(`ParseCapability("root") ok, want false: root is not a policy capability`)
	}
}

func TestParse_AlternativeForms(t *testing.T) {
	// Forms HCL v1 accepts and Vault decodes: a top-level name (ignored),
	// the assignment form of path, an unquoted path key, and the block form
	// of a parameter map.
	p := mustParse(t, "alt", `
name = "ignored"
path = {
  "a/*" = { capabilities = ["read"] }
  "b"   = { policy = "write" }
}
path c {
  capabilities = ["list"]
  allowed_parameters {
    "x" = []
  }
}`)
	got := make(map[string]acl.Capability)
	for _, pr := range p.Paths {
		got[pr.Path] = pr.Caps
	}
	want := map[string]acl.Capability{
		"a/*": acl.Read,
		"b":   acl.Create | acl.Read | acl.Update | acl.Delete | acl.List,
		"c":   acl.List,
	}
	if !cmp.Equal(got, want) {
		t.Errorf("paths = %v, want %v", got, want)
	}
	if p.Name != "alt" {
		t.Errorf("Name = %q: the name inside the policy must not override the given one", p.Name)
	}
	if _, err := acl.Parse("alt", "\nname = [1]"); err == nil || !strings.HasPrefix(err.Error(), "line 2: ") {
		t.Errorf("bad name: error = %v, want a line-2 error", err)
	}
}
