// Package importcheck is the test helper behind the packages' own
// TestImports: it reads the import lines of every Go file in the current
// directory and fails the test on any import outside the package's rule
// (style.md §3). tests/layers checks the whole dependency graph; these
// per-package tests name the exact allowance next to the code it governs.
package importcheck

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Module is this module's import path, with the trailing slash.
const Module = "github.com/vaultd/vaultd/"

// Rule is what one package may import besides the standard library.
// A pattern is an import path ("github.com/hashicorp/hcl"), or a path
// ending in "/..." for that path and everything below it; a pattern
// without a dot in its first element is relative to the module
// ("storage", "auth/internal/...").
type Rule struct {
	Pkg     string   // the package, relative to the module ("auth/jwt")
	Allowed []string // what every file may import
	Tests   []string // what _test.go files may also import (the package itself is always allowed)
	Says    string   // the rule in words, for the error ("the standard library, storage, …")
}

// Check applies r to the Go files of the current directory (a test's
// working directory is its package's).
func Check(t *testing.T, r Rule) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no Go files in the working directory")
	}
	fset := token.NewFileSet()
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		isTest := strings.HasSuffix(name, "_test.go")
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if allowed(path, r.Allowed) || isTest && (path == Module+r.Pkg || path == Module+"internal/importcheck" || allowed(path, r.Tests)) {
				continue
			}
			t.Errorf("%s imports %q: %s may import only %s", name, path, r.Pkg, r.Says)
		}
	}
}

func allowed(path string, patterns []string) bool {
	if first, _, _ := strings.Cut(path, "/"); !strings.Contains(first, ".") {
		return true // the standard library
	}
	for _, p := range patterns {
		if first, _, _ := strings.Cut(p, "/"); !strings.Contains(first, ".") {
			p = Module + p
		}
		if base, ok := strings.CutSuffix(p, "/..."); ok {
			if path == base || strings.HasPrefix(path, base+"/") {
				return true
			}
		} else if path == p {
			return true
		}
	}
	return false
}
