package deploy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// imageCmd returns the final stage's CMD of the Dockerfile.
func imageCmd(t testing.TB) []string {
	t.Helper()
	df, err := readDockerfile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := df.stages()
	var cmd []string
	for _, in := range stages[len(stages)-1] {
		if in.Cmd == "CMD" {
			cmd = nil
			if err := json.Unmarshal([]byte(in.Args), &cmd); err != nil {
				t.Fatalf("CMD %s is not the exec form: %v", in.Args, err)
			}
		}
	}
	if len(cmd) == 0 {
		t.Fatal("the Dockerfile has no CMD")
	}
	return cmd
}

// withPath replaces the image path old in args by dir.
func withPath(args []string, old, dir string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, old, dir)
	}
	return out
}

// TestImage_ConfigDirectory runs the image's command on a config directory
// laid out like a mounted /vault/config with two files, then initialises and
// unseals the node through the API.
func TestImage_ConfigDirectory(t *testing.T) {
	root := t.TempDir()
	cfgDir := filepath.Join(root, "vault", "config")
	dataDir := filepath.Join(root, "vault", "data")
	for _, d := range []string{cfgDir, dataDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	api, cluster := freePort(t), freePort(t)
	files := map[string]string{
		"10-storage.hcl": fmt.Sprintf("storage \"raft\" {\n  path    = %q\n  node_id = \"image-test\"\n}\n", dataDir),
		"20-listener.hcl": fmt.Sprintf(`listener "tcp" {
  address         = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_disable     = true
}
api_addr     = "http://127.0.0.1:%d"
cluster_addr = "https://127.0.0.1:%d"
disable_mlock = true
`, api, cluster, api, cluster),
		"README.txt": "not configuration: ignored",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(cfgDir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := withPath(imageCmd(t), "/vault/config", cfgDir)
	p := startVaultd(t, "image", args, []string{"HOME=" + root})
	n := newVnode("image", fmt.Sprintf("http://127.0.0.1:%d", api), p, nil)
	n.waitUp(t)

	if code := n.status("/v1/sys/health"); code != http.StatusNotImplemented {
		t.Fatalf("sys/health before init = %d, want 501", code)
	}
	code, body, err := n.call(http.MethodPut, "/v1/sys/init", "", map[string]any{"secret_shares": 1, "secret_threshold": 1})
	if err != nil || code != http.StatusOK {
		t.Fatalf("sys/init = %d %v, %v", code, body, err)
	}
	keys, _ := body["keys_base64"].([]any)
	if len(keys) != 1 {
		t.Fatalf("sys/init returned %d keys, want 1", len(keys))
	}
	if code, body, err := n.call(http.MethodPut, "/v1/sys/unseal", "", map[string]any{"key": keys[0]}); err != nil || code != http.StatusOK {
		t.Fatalf("sys/unseal = %d %v, %v", code, body, err)
	}
	if !poll(20*time.Second, func() bool { return n.status("/v1/sys/health") == http.StatusOK }) {
		t.Fatalf("sys/health = %d after unseal, want 200 (active)", n.status("/v1/sys/health"))
	}
	p.stop()
	if p.err != nil {
		t.Errorf("vaultd exited with %v on SIGTERM, want a clean exit", p.err)
	}
}
