package server

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

func TestLoadServerConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	const storage = "storage \"raft\" {\n  path = \"/vault/data\"\n}\ncluster_addr = \"https://127.0.0.1:8201\"\n"
	const listener = "listener \"tcp\" {\n  address = \"127.0.0.1:8200\"\n  tls_disable = true\n}\n"
	full := write("full/vaultd.hcl", storage+listener)
	listenerOnly := write("listener/l.hcl", listener)
	split := filepath.Dir(write("split/10-storage.hcl", storage))
	write("split/20-listener.hcl", listener)
	noCert := write("nocert.hcl", storage+"listener \"tcp\" {\n  tls_cert_file = \""+dir+"/no.crt\"\n  tls_key_file = \""+dir+"/no.key\"\n}\n")

	tests := []struct {
		name      string
		paths     []string
		env       map[string]string
		wantErr   error  // errors.Is target, or nil
		wantMsg   string // substring of the error
		listeners int
	}{
		{name: "file", paths: []string{full}, listeners: 1},
		{name: "directory of two files", paths: []string{split}, listeners: 1},
		{name: "env only", env: map[string]string{config.EnvLocalConfig: storage + listener}, listeners: 1},
		{name: "empty directory with env (the image)", paths: []string{empty}, env: map[string]string{config.EnvLocalConfig: storage + listener}, listeners: 1},
		{name: "Vault's variable", paths: []string{empty}, env: map[string]string{config.EnvVaultLocalConfig: storage + listener}, listeners: 1},
		{name: "file and env merged", paths: []string{listenerOnly}, env: map[string]string{config.EnvLocalConfig: storage}, listeners: 1},
		{name: "env adds a listener", paths: []string{full}, env: map[string]string{config.EnvLocalConfig: "listener \"tcp\" {\n  address = \"127.0.0.1:8300\"\n  tls_disable = true\n}\n"}, listeners: 2},
		{name: "empty directory without env", paths: []string{empty}, wantErr: config.ErrNoConfigFiles, wantMsg: config.EnvLocalConfig},
		{name: "nothing", wantErr: errNoConfig},
		{name: "missing path", paths: []string{filepath.Join(dir, "none")}, wantErr: fs.ErrNotExist},
		{name: "storage in file and env", paths: []string{full}, env: map[string]string{config.EnvLocalConfig: storage}, wantErr: config.ErrInvalid, wantMsg: "define it once"},
		{name: "broken env", paths: []string{empty}, env: map[string]string{config.EnvLocalConfig: "storage {"}, wantErr: config.ErrSyntax},
		{name: "invalid", paths: []string{listenerOnly}, wantErr: config.ErrInvalid, wantMsg: "storage stanza is required"},
		{name: "missing certificate", paths: []string{noCert}, wantErr: fs.ErrNotExist, wantMsg: "loading TLS certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			cfg, err := loadServerConfig(tt.paths, getenv)
			if tt.wantErr != nil || tt.wantMsg != "" {
				if err == nil {
					t.Fatalf("loadServerConfig(%q) succeeded, want an error", tt.paths)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("error %v, want one matching %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("error %q, want it to mention %q", err, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadServerConfig(%q): %v", tt.paths, err)
			}
			if cfg.Storage == nil || cfg.Storage.Path != "/vault/data" || len(cfg.Listeners) != tt.listeners {
				t.Errorf("config: storage %+v, %d listeners; want raft at /vault/data and %d listeners", cfg.Storage, len(cfg.Listeners), tt.listeners)
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	if oneLine(nil) != nil {
		t.Error("oneLine(nil) != nil")
	}
	single := errors.New("one")
	if got := oneLine(single); got != single {
		t.Errorf("oneLine(single line) = %v, want it unchanged", got)
	}
	joined := errors.Join(config.ErrInvalid, errors.New("second\n\nthird"))
	got := oneLine(joined)
	if got.Error() != "invalid config; second; third" {
		t.Errorf("oneLine = %q", got.Error())
	}
	if !errors.Is(got, config.ErrInvalid) {
		t.Error("oneLine hides the wrapped error from errors.Is")
	}
}

func FuzzOneLine(f *testing.F) {
	for _, s := range []string{"", "a", "a\nb", "\n\n", " x \n y ", "a\r\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := oneLine(errors.New(s))
		if err == nil {
			t.Fatal("oneLine returned nil for an error")
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("oneLine(%q) = %q has a newline", s, err.Error())
		}
	})
}
