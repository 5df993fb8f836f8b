package acl_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/core/acl"
)

// benchPolicies returns 20 policies of 5 rules each (100 rules): exact
// paths, prefix globs and segment wildcards, shaped like real KV v2, PKI,
// transit and sys policies, plus the default policy.
func benchPolicies(t testing.TB) []*acl.Policy {
	t.Helper()
	ps := []*acl.Policy{mustParse(t, acl.DefaultPolicyName, acl.DefaultPolicy)}
	for i := 0; i < 20; i++ {
		var b strings.Builder
		fmt.Fprintf(&b, "path \"secret/data/team%d/*\" { capabilities = [\"create\", \"read\", \"update\", \"delete\"] }\n", i)
		fmt.Fprintf(&b, "path \"secret/metadata/team%d/*\" { capabilities = [\"list\", \"read\"] }\n", i)
		fmt.Fprintf(&b, "path \"secret/data/+/shared/team%d\" { capabilities = [\"read\"] }\n", i)
		fmt.Fprintf(&b, "path \"transit/encrypt/key%d\" {\n capabilities = [\"update\"]\n allowed_parameters = { \"plaintext\" = [], \"bar\" = [\"zip\", \"zap\"] }\n}\n", i)
		fmt.Fprintf(&b, "path \"pki%d/issue/+\" { capabilities = [\"create\", \"update\"] }\n", i)
		ps = append(ps, mustParse(t, fmt.Sprintf("team%d", i), b.String()))
	}
	ps = append(ps, mustParse(t, "ops", `
path "sys/*"               { capabilities = ["read", "list"] }
path "sys/raw/*"           { capabilities = ["deny"] }
path "sys/seal"            { capabilities = ["update", "sudo"] }
path "secret/data/+/+/*"   { capabilities = ["read"] }
path "secret/data/shared*" { capabilities = ["read"] }`))
	return ps
}

func benchACL(t testing.TB) *acl.ACL {
	t.Helper()
	a, err := acl.New(benchPolicies(t)...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func benchPaths() []string {
	return []string{
		"secret/data/team7/app/config",     // prefix glob
		"secret/data/team19/db",            // prefix glob, longest of many
		"secret/data/x/shared/team3",       // segment wildcard
		"secret/data/nobody/has/this/path", // wildcard "+/+/*" vs prefixes
		"transit/encrypt/key4",             // exact
		"pki12/issue/web",                  // segment wildcard
		"sys/seal",                         // exact with sudo
		"sys/raw/core/keyring",             // deny
		"cubbyhole/token-secret",           // default policy prefix
		"auth/token/lookup-self",           // default policy exact
		"nothing/matches/here",             // default deny
	}
}

func BenchmarkACL_Allowed(b *testing.B) {
	a := benchACL(b)
	paths := benchPaths()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a.Allowed("read", paths[i%len(paths)])
		i++
	}
}

func BenchmarkACL_CheckWithData(b *testing.B) {
	a := benchACL(b)
	req := acl.Request{Operation: "update", Path: "transit/encrypt/key4", Data: map[string]any{"plaintext": "aGVsbG8=", "bar": "zap"}}
	b.ReportAllocs()
	for b.Loop() {
		if !a.Check(req).Allowed {
			b.Fatal("denied")
		}
	}
}

func BenchmarkNew(b *testing.B) {
	ps := benchPolicies(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := acl.New(ps...); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := acl.Parse(acl.DefaultPolicyName, acl.DefaultPolicy); err != nil {
			b.Fatal(err)
		}
	}
}
