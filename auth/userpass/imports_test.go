package userpass_test

import (
	"testing"

	"github.com/vaultd/vaultd/internal/importcheck"
)

// TestImports enforces the engine's import rule (style.md section 3):
// the standard library, storage, secrets, endpoint, golang.org/x/crypto and auth/internal/....
func TestImports(t *testing.T) {
	importcheck.Check(t, importcheck.Rule{
		Pkg:     "auth/userpass",
		Allowed: []string{"storage", "secrets", "endpoint", "golang.org/x/crypto/...", "auth/internal/..."},
		Tests:   []string{"storage/inmem", "secrets/enginetest", "golang.org/x/crypto/bcrypt"},
		Says:    "the standard library, storage, secrets, endpoint, golang.org/x/crypto and auth/internal/...",
	})
}
