package jwt_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports enforces the engine's import rule (style.md section 3): the standard library, storage, secrets, endpoint, go-jose and auth/internal/...;
// tests may also use storage/inmem and the package itself.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/vaultd/vaultd/"
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
			case path == mod+"storage" || path == mod+"secrets" || path == mod+"endpoint":
			case strings.HasPrefix(path, "github.com/go-jose/go-jose/v4"): // JOSE: signature verification
			case strings.HasPrefix(path, mod+"auth/internal/"): // the auth methods' shared helpers
			case isTest && (path == mod+"storage/inmem" || path == mod+"auth/jwt"):
			default:
				t.Errorf("%s imports %q: auth/jwt may import only the standard library, storage, secrets, endpoint, go-jose and auth/internal/...", name, path)
			}
		}
	}
}
