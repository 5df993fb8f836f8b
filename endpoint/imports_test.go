package endpoint_test

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

// TestImports enforces the package's import rule: the standard library,
// storage and secrets (tests may also use storage/inmem), so that every
// engine, auth method and core subsystem can use it.
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", build.ImportComment)
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/vaultd/vaultd/"
	allowed := func(path string, test bool) bool {
		first, _, _ := strings.Cut(path, "/")
		return !strings.Contains(first, ".") ||
			path == mod+"storage" || path == mod+"secrets" ||
			path == mod+"endpoint" && test ||
			test && path == mod+"storage/inmem"
	}
	for _, path := range pkg.Imports {
		if !allowed(path, false) {
			t.Errorf("endpoint imports %q: it may import only the standard library, storage and secrets", path)
		}
	}
	for _, path := range slices.Concat(pkg.TestImports, pkg.XTestImports) {
		if !allowed(path, true) {
			t.Errorf("endpoint tests import %q: they may also use storage/inmem, nothing else", path)
		}
	}
}
