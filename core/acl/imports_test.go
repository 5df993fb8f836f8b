package acl_test

import (
	"testing"

	"github.com/vaultd/vaultd/internal/importcheck"
)

// TestImports enforces the package's import rule: the standard library and
// github.com/hashicorp/hcl only (tests may also use go-cmp).
func TestImports(t *testing.T) {
	importcheck.Check(t, importcheck.Rule{
		Pkg:     "core/acl",
		Allowed: []string{"github.com/hashicorp/hcl/..."},
		Tests:   []string{"github.com/google/go-cmp/cmp"},
		Says:    "the standard library and github.com/hashicorp/hcl",
	})
}
