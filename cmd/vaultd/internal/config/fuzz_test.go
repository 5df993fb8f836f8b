package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

// FuzzParse checks that no input makes Parse (or anything downstream of
// it) panic, and that its results keep their contract: a config or an
// error, never both or neither, and every error a located *config.Error.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.*")
	dirFiles, _ := filepath.Glob("testdata/dir/*.*")
	for _, p := range append(files, dirFiles...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"",
		"{}",
		"[]",
		"{",
		"}",
		"a =",
		"a = ",
		"a = [",
		"a b c {}",
		"listener \"tcp\" {}",
		"listener {}",
		"listener = 1",
		"storage \"raft\" { retry_join = [{}, 1] }",
		"x = <<EOT\nhello\nEOT\n",
		"x = <<-EOT\n  hello\n  EOT\n",
		"x = <<EOT\n",
		"x = \"\\u00\"",
		"x = \"${foo(\"bar\")}\"",
		"x = 0x", "x = 1e999", "x = 99999999999999999999", "x = -", "x = 1.2.3",
		"max_lease_ttl = \"9999999999999999d\"",
		"/* unterminated",
		"# comment only",
		"\"\" = 1",
		"{\"listener\": [{\"tcp\": {\"address\": null}}], \"ui\": \"1\"}",
		"{\"a\": 1e400}",
		"{\"storage\": {\"raft\": {\"retry_join\": [[]]}}}",
		"{\"a\":1}garbage",
		"\xef\xbb\xbf{}",
		"\x00\xff",
		"seal \"transit\" { address = \"http://a:1\" token = 1 disabled = \"x\" }",
		"seal \"transit\" {}\nseal \"transit\" { disabled = true }\nseal \"awskms\" {}",
		"{\"seal\": {\"transit\": {\"namespace\": \"ns\", \"tls_skip_verify\": [1]}}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := config.Parse(src, "fuzz.hcl")
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned config=%v and err=%v", c != nil, err)
		}
		if err != nil {
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *config.Error", err, err)
			}
			if ce.File != "fuzz.hcl" || ce.Kind == nil {
				t.Fatalf("error %+v is not located in fuzz.hcl or has no kind", ce)
			}
			return
		}
		// Everything downstream of a parsed config must cope with it.
		_ = c.Validate()
		m := c.Merge(c)
		m.ApplyEnv(func(string) string { return "" })
		m.ApplyDefaults()
		_ = m.Validate()
		_ = m.LogValue().String()
		for i := range m.Listeners {
			_, _ = m.Listeners[i].ClusterListenAddress()
		}
	})
}
