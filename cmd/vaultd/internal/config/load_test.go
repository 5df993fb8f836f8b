package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDir_MergesInNameOrder(t *testing.T) {
	got, err := config.LoadDir("testdata/dir")
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	// 00-storage.hcl then 10-listener.json; the hidden file, the
	// subdirectory and README.md are not read (each would add a storage
	// stanza or fail to parse).
	want := &config.Config{
		Storage:     raft("/vault/data", "dir-node", nil),
		Listeners:   []config.Listener{tcp("10.0.0.1:8200", func(l *config.Listener) { l.TLSDisable = true })},
		ClusterAddr: "https://10.0.0.1:8201",
		LogLevel:    "warn", // the later file wins
		UI:          false,  // an explicit false in the later file wins too
	}
	if diff := cmp.Diff(want, got, ignoreInternal, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("LoadDir mismatch (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if same, err := config.Load("testdata/dir"); err != nil || !cmp.Equal(same, got, ignoreInternal) {
		t.Errorf("Load(dir) differs from LoadDir: %v", err)
	}
}

func TestLoadDir_Errors(t *testing.T) {
	t.Run("storage in two files", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "a.hcl"), `storage "raft" { path = "/a" }`)
		writeFile(t, filepath.Join(dir, "b.json"), "{\n\"storage\": {\"raft\": {\"path\": \"/b\"}}}")
		_, err := config.LoadDir(dir)
		var ce *config.Error
		if !errors.As(err, &ce) || !errors.Is(err, config.ErrInvalid) {
			t.Fatalf("LoadDir error = %v, want a *config.Error matching ErrInvalid", err)
		}
		if !strings.HasSuffix(ce.File, "b.json") || ce.Line != 2 || !strings.Contains(ce.Msg, "a.hcl") {
			t.Errorf("error %q: want it at b.json:2, naming a.hcl", err)
		}
	})
	t.Run("no config files", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "notes.txt"), "storage")
		if _, err := config.LoadDir(dir); !errors.Is(err, config.ErrNoConfigFiles) {
			t.Errorf("LoadDir error = %v, want ErrNoConfigFiles", err)
		}
	})
	t.Run("bad file names its path", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "a.hcl"), "ui = true\n")
		writeFile(t, filepath.Join(dir, "b.hcl"), "ui = true\nlistener \"tcp\" {\n")
		_, err := config.LoadDir(dir)
		if !errors.Is(err, config.ErrSyntax) || !strings.Contains(err.Error(), filepath.Join(dir, "b.hcl")+":3") {
			t.Errorf("LoadDir error = %v, want a syntax error at b.hcl:3", err)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		if _, err := config.LoadDir(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("LoadDir error = %v, want fs.ErrNotExist", err)
		}
	})
}

// A Kubernetes ConfigMap volume holds symbolic links into a hidden
// ..data directory; they must be followed.
func TestLoadDir_ConfigMapSymlinks(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "..2026_01_01", "vault.hcl"), "storage \"raft\" { path = \"/vault/data\" }\n")
	if err := os.Symlink("..2026_01_01", filepath.Join(dir, "..data")); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	if err := os.Symlink(filepath.Join("..data", "vault.hcl"), filepath.Join(dir, "vault.hcl")); err != nil {
		t.Fatal(err)
	}
	c, err := config.LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	if c.Storage == nil || c.Storage.Path != "/vault/data" {
		t.Errorf("storage = %+v, want the symlinked file's", c.Storage)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	t.Run("json content in a .hcl file", func(t *testing.T) {
		p := filepath.Join(dir, "x.hcl")
		writeFile(t, p, `{"ui": true}`)
		if c, err := config.LoadFile(p); err != nil || !c.UI {
			t.Errorf("LoadFile = %+v, %v", c, err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := config.Load(filepath.Join(dir, "missing.hcl")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load error = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		p := filepath.Join(dir, "big.hcl")
		writeFile(t, p, "#"+strings.Repeat("x", config.MaxConfigSize+10))
		if _, err := config.LoadFile(p); !errors.Is(err, config.ErrInvalid) {
			t.Errorf("LoadFile error = %v, want ErrInvalid", err)
		}
	})
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	nodeFile := filepath.Join(dir, "node.hcl")
	writeFile(t, nodeFile, `
storage "raft" {
  path = "/vault/data"
}
listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = true
}
`)
	env := map[string]string{
		"VAULT_LOCAL_CONFIG": `{"ui": true, "max_lease_ttl": "1h"}`,
		"VAULT_CLUSTER_ADDR": "https://vault-0.vault-internal:8201",
		"VAULT_API_ADDR":     "https://vault-0.vault-internal:8200",
		"VAULT_RAFT_NODE_ID": "vault-0",
		"VAULT_LOG_LEVEL":    "debug",
	}
	getenv := func(k string) string { return env[k] }

	c, err := config.Resolve([]string{nodeFile}, getenv)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	want := &config.Config{
		Storage:         raft("/vault/data", "vault-0", nil),
		Listeners:       []config.Listener{tcp("0.0.0.0:8200", func(l *config.Listener) { l.TLSDisable = true })},
		APIAddr:         "https://vault-0.vault-internal:8200",
		ClusterAddr:     "https://vault-0.vault-internal:8201",
		UI:              true,
		LogLevel:        "debug",
		LogFormat:       "standard",
		MaxLeaseTTL:     3600e9,
		DefaultLeaseTTL: 3600e9, // clamped to max_lease_ttl
	}
	if diff := cmp.Diff(want, c, ignoreInternal, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Resolve mismatch (-want +got):\n%s", diff)
	}

	t.Run("environment document only", func(t *testing.T) {
		env := map[string]string{"VAULTD_LOCAL_CONFIG": `storage "inmem" {}
listener "tcp" { tls_disable = 1 }`}
		c, err := config.Resolve(nil, func(k string) string { return env[k] })
		if err != nil || c.Storage.Type != config.StorageInmem {
			t.Fatalf("Resolve = %+v, %v", c, err)
		}
	})
	t.Run("empty config directory with an environment document", func(t *testing.T) {
		env := map[string]string{"VAULT_LOCAL_CONFIG": `{"storage": {"inmem": {}}, "listener": {"tcp": {"tls_disable": true}}}`}
		c, err := config.Resolve([]string{t.TempDir()}, func(k string) string { return env[k] })
		if err != nil || c.Storage.Type != config.StorageInmem {
			t.Fatalf("Resolve = %+v, %v", c, err)
		}
	})
	t.Run("empty config directory alone", func(t *testing.T) {
		_, err := config.Resolve([]string{t.TempDir()}, func(string) string { return "" })
		if !errors.Is(err, config.ErrNoConfigFiles) {
			t.Errorf("Resolve error = %v, want ErrNoConfigFiles", err)
		}
	})
	t.Run("nothing at all", func(t *testing.T) {
		c, err := config.Resolve(nil, func(string) string { return "" })
		if c != nil || !errors.Is(err, config.ErrNoEnvConfig) {
			t.Errorf("Resolve = %v, %v; want ErrNoEnvConfig", c, err)
		}
	})
	t.Run("storage in file and environment", func(t *testing.T) {
		env := map[string]string{"VAULT_LOCAL_CONFIG": `{"storage": {"raft": {"path": "/other"}}}`}
		_, err := config.Resolve([]string{nodeFile}, func(k string) string { return env[k] })
		if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "$VAULT_LOCAL_CONFIG") || !strings.Contains(err.Error(), nodeFile) {
			t.Errorf("Resolve error = %v, want ErrInvalid naming both sources", err)
		}
	})
	t.Run("invalid result", func(t *testing.T) {
		_, err := config.Resolve([]string{nodeFile}, func(string) string { return "" })
		if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "cluster_addr is required") {
			t.Errorf("Resolve error = %v, want the missing cluster_addr", err)
		}
	})
	t.Run("bad environment document", func(t *testing.T) {
		env := map[string]string{"VAULT_LOCAL_CONFIG": "ui = maybe"}
		_, err := config.Resolve([]string{nodeFile}, func(k string) string { return env[k] })
		if !errors.Is(err, config.ErrSyntax) {
			t.Errorf("Resolve error = %v, want ErrSyntax", err)
		}
	})
}
