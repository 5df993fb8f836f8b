package tokenparams_test

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestImports enforces the import rule of auth/* (style.md section 3) on
// every package under auth/internal, not only this one: the standard
// library, storage, secrets, endpoint, each other and go-jose (the JOSE
// library jwtverify verifies JWTs with); tests may also use storage/inmem.
func TestImports(t *testing.T) {
	dirs, err := filepath.Glob("../*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("Glob(../*) = %q, %v", dirs, err)
	}
	const mod = "github.com/vaultd/vaultd/"
	allowed := func(path string, test bool) bool {
		first, _, _ := strings.Cut(path, "/")
		return !strings.Contains(first, ".") || // standard library
			path == mod+"storage" || path == mod+"secrets" || path == mod+"endpoint" ||
			strings.HasPrefix(path, mod+"auth/internal/") ||
			strings.HasPrefix(path, "github.com/go-jose/go-jose/v4") || // JWT verification (jwtverify)
			test && path == mod+"storage/inmem"
	}
	for _, dir := range dirs {
		pkg, err := build.ImportDir(dir, build.ImportComment)
		if err != nil {
			t.Fatalf("ImportDir(%s): %v", dir, err)
		}
		for _, path := range pkg.Imports {
			if !allowed(path, false) {
				t.Errorf("auth/internal/%s imports %q: it may import only the standard library, storage, secrets, endpoint, go-jose and auth/internal/...", pkg.Name, path)
			}
		}
		for _, path := range slices.Concat(pkg.TestImports, pkg.XTestImports) {
			if !allowed(path, true) {
				t.Errorf("auth/internal/%s tests import %q: they may also use storage/inmem, nothing else", pkg.Name, path)
			}
		}
	}
}
