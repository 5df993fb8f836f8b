package importcheck

import "testing"

func TestAllowed(t *testing.T) {
	pats := []string{"storage", "auth/internal/...", "github.com/hashicorp/hcl/..."}
	for path, want := range map[string]bool{
		"fmt":                              true,
		"crypto/sha256":                    true,
		Module + "storage":                 true,
		Module + "storage/inmem":           false, // "storage" is exact
		Module + "auth/internal":           true,
		Module + "auth/internal/cidr":      true,
		Module + "auth/internalx":          false,
		Module + "core":                    false,
		"github.com/hashicorp/hcl":         true,
		"github.com/hashicorp/hcl/hcl/ast": true,
		"github.com/hashicorp/hcl2":        false,
		"golang.org/x/crypto/bcrypt":       false,
	} {
		if got := allowed(path, pats); got != want {
			t.Errorf("allowed(%q) = %v, want %v", path, got, want)
		}
	}
}
