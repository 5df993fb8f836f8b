package acl_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports enforces the package's import rule: the standard library and
// github.com/hashicorp/hcl only (tests may also use go-cmp).
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
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
			first, _, _ := strings.Cut(path, "/")
			switch {
			case !strings.Contains(first, "."): // standard library
			case path == "github.com/hashicorp/hcl" || strings.HasPrefix(path, "github.com/hashicorp/hcl/"):
			case isTest && (path == "github.com/vaultd/vaultd/core/acl" || path == "github.com/google/go-cmp/cmp"):
			default:
				t.Errorf("%s imports %q: core/acl may import only the standard library and github.com/hashicorp/hcl", name, path)
			}
		}
	}
}
