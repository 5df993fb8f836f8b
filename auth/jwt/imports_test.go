package jwt_test

import (
	"testing"

	"github.com/vaultd/vaultd/internal/importcheck"
)

// TestImports enforces the engine's import rule (style.md section 3):
// the standard library, storage, secrets, endpoint, go-jose and auth/internal/....
func TestImports(t *testing.T) {
	importcheck.Check(t, importcheck.Rule{
		Pkg:     "auth/jwt",
		Allowed: []string{"storage", "secrets", "endpoint", "github.com/go-jose/go-jose/v4/...", "auth/internal/..."},
		Tests:   []string{"storage/inmem"},
		Says:    "the standard library, storage, secrets, endpoint, go-jose and auth/internal/...",
	})
}
