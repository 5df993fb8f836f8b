package deploy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServer_BadConfig_OneLine: a container whose configuration is missing
// or broken must exit non-zero at once with one clear line on stderr (what
// `docker logs` and `kubectl logs` show), not a stack trace or a usage dump.
func TestServer_BadConfig_OneLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
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
	syntax := write("syntax/vaultd.hcl", "storage \"raft\" {\n  path = \"/vault/data\"\n")
	invalid := write("invalid/vaultd.hcl", "storage \"raft\" {\n  path = \"/vault/data\"\n}\nlistener \"tcp\" {\n  address = \"0.0.0.0:8200\"\n}\n")
	consul := write("consul.hcl", "storage \"consul\" {}\nlistener \"tcp\" { tls_disable = true }\n")
	twoStorage := write("two/a.hcl", "storage \"raft\" { path = \"/a\" }\n")
	write("two/b.hcl", "storage \"raft\" { path = \"/b\" }\n")
	missingCert := write("cert/vaultd.hcl", "storage \"inmem\" {}\nlistener \"tcp\" {\n  address = \"127.0.0.1:0\"\n  tls_cert_file = \""+dir+"/none.crt\"\n  tls_key_file = \""+dir+"/none.key\"\n}\n")

	tests := []struct {
		name string
		args []string
		env  []string
		want []string // substrings of the one line
	}{
		{"missing directory", []string{"server", "-config", filepath.Join(dir, "nonexistent")}, nil, []string{"nonexistent", "no such file"}},
		{"empty directory", []string{"server", "-config", empty}, nil, []string{"no *.hcl or *.json config files", "VAULTD_LOCAL_CONFIG"}},
		{"syntax error", []string{"server", "-config", filepath.Dir(syntax)}, nil, []string{"vaultd.hcl:"}},
		{"two problems", []string{"server", "-config", invalid}, nil, []string{"cluster_addr is required", "tls_cert_file"}},
		{"unsupported storage", []string{"server", "-config", consul}, nil, []string{`"consul" is not supported`}},
		{"storage twice", []string{"server", "-config", filepath.Dir(twoStorage)}, nil, []string{"storage is already defined"}},
		{"no config at all", []string{"server"}, nil, []string{"no configuration"}},
		{"broken env document", []string{"server", "-config", empty}, []string{"VAULTD_LOCAL_CONFIG=storage \"raft\" {"}, []string{"$VAULTD_LOCAL_CONFIG"}},
		{"env and file both define storage", []string{"server", "-config", twoStorage}, []string{"VAULTD_LOCAL_CONFIG=storage \"inmem\" {}"}, []string{"define it once"}},
		{"missing TLS certificate", []string{"server", "-config", missingCert}, nil, []string{"none.crt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, vaultdBin, tt.args...)
			cmd.Env = append(baseEnv(), tt.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			switch {
			case ctx.Err() != nil:
				t.Fatalf("vaultd %v still runs after 30 s; want a non-zero exit at once", tt.args)
			case err == nil:
				t.Fatalf("vaultd %v exited 0; want a non-zero exit", tt.args)
			case !errors.As(err, &ee):
				t.Fatalf("running vaultd: %v", err)
			}
			out := strings.TrimRight(stderr.String(), "\n")
			lines := strings.Split(out, "\n")
			if len(lines) != 1 || out == "" {
				t.Fatalf("stderr has %d lines, want exactly one:\n%s", len(lines), out)
			}
			line := lines[0]
			if !strings.HasPrefix(line, "Error: ") {
				t.Errorf("stderr = %q, want it to start with \"Error: \"", line)
			}
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("stderr = %q, want it to mention %q", line, w)
				}
			}
			for _, bad := range []string{"goroutine ", "panic", "Usage:", "Flags:"} {
				if strings.Contains(line, bad) {
					t.Errorf("stderr = %q contains %q", line, bad)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}
