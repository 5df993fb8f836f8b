package core_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/secrets"
)

// BenchmarkCore_TokenLookupACL measures what every request pays before it
// reaches an engine: salted-hash token lookup (num_uses and expiry
// checks), policy resolution and the ACL decision. The path has no mount,
// so after the ACL allows it the router answers 404 at once.
func BenchmarkCore_TokenLookupACL(b *testing.B) {
	n := newNode(b)
	for i := range 5 {
		n.policy(fmt.Sprintf("p%d", i), fmt.Sprintf(`
path "team%d/data/*" { capabilities = ["read", "list"] }
path "team%d/+/config" { capabilities = ["read"] }
path "nomount/app/*" { capabilities = ["read"] }
path "secret/data/team%d/admin" { capabilities = ["deny"] }
`, i, i, i))
	}
	tok := n.token(map[string]any{"policies": []any{"p0", "p1", "p2", "p3", "p4"}}).ClientToken
	req := core.Request{Operation: secrets.OpRead, Path: "nomount/app/x", ClientToken: tok}
	run := func(b *testing.B) {
		r := req
		_, err := n.c.HandleRequest(context.Background(), &r)
		if !errors.Is(err, secrets.ErrUnsupportedPath) {
			b.Fatalf("err = %v, want unsupported path (allowed by the ACL)", err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			run(b)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				run(b)
			}
		})
	})
}
