package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
)

// readBundle returns the archive's files by their path below the root
// directory.
func readBundle(t *testing.T, p string) map[string][]byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(h.Name, "/")
		if !ok || !strings.HasPrefix(h.Name, "vaultd-debug-") {
			t.Fatalf("archive entry %q is not under vaultd-debug-<time>/", h.Name)
		}
		b, _ := io.ReadAll(tr)
		out[rest] = b
	}
	return out
}

// TestDebug_BundleFromEveryNode runs `vaultd debug` against one node of a
// 3-node cluster: the archive holds every node's sanitized config, logs,
// metrics, goroutine dumps and status, the raft state, and no token; the
// support endpoints refuse a token without sudo.
func TestDebug_BundleFromEveryNode(t *testing.T) {
	nodes, root := startCluster(t)
	a := waitAgreedActive(t, nodes)
	standby := nodes[(a+1)%3]

	// The support endpoints need sudo, checked for a standby too.
	rc := newClient(t, nodes[a].addr, root)
	if err := rc.Sys().PutPolicy("reader", `path "sys/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	rt, err := rc.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{"reader"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v1/sys/pprof/goroutine", "/v1/sys/config/state/sanitized", "/v1/sys/monitor"} {
		if resp, body := rawDo(t, http.MethodGet, standby.addr+p, map[string]string{"X-Vault-Token": rt.Auth.ClientToken}); resp.StatusCode != 403 {
			t.Errorf("%s without sudo: %d %s", p, resp.StatusCode, body)
		}
	}
	resp, body := rawDo(t, http.MethodGet, standby.addr+"/v1/sys/config/state/sanitized", map[string]string{"X-Vault-Token": root})
	if resp.StatusCode != 200 || !strings.Contains(body, `"node_id":"`+standby.id+`"`) {
		t.Errorf("standby's sanitized config: %d %s", resp.StatusCode, body)
	}

	out := filepath.Join(t.TempDir(), "bundle.tar.gz")
	cmd := exec.Command(binPath, "debug", "-duration=3s", "-interval=1s", "-metrics-interval=1s", "-output="+out)
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+standby.addr, "VAULT_TOKEN="+root)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Traffic while it runs, so the logs have request lines.
	go func() {
		c := newClient(t, nodes[a].addr, root)
		for range 20 {
			_, _ = c.Sys().Health()
		}
	}()
	if err := cmd.Run(); err != nil {
		t.Fatalf("vaultd debug: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "Bundle written to: "+out) {
		t.Errorf("stdout %q", stdout.String())
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("bundle %v %v", st, err)
	}
	files := readBundle(t, out)
	var index struct {
		Nodes []struct {
			Name       string `json:"name"`
			APIAddress string `json:"api_address"`
		} `json:"nodes"`
		Errors  []string `json:"errors"`
		Targets []string `json:"targets"`
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	if len(index.Nodes) != 3 || len(index.Errors) != 0 || len(index.Targets) != 6 {
		t.Fatalf("index: %+v", index)
	}
	for _, f := range []string{"raft/configuration.json", "raft/state.json"} {
		if !json.Valid(files[f]) {
			t.Errorf("%s is missing or not JSON", f)
		}
	}
	for _, n := range index.Nodes {
		var id string
		for _, cn := range nodes {
			if cn.addr == n.APIAddress {
				id = cn.id
			}
		}
		d := n.Name + "/"
		if !strings.Contains(string(files[d+"config.json"]), `"node_id":"`+id+`"`) {
			t.Errorf("%s: config.json %s", n.Name, files[d+"config.json"])
		}
		if !bytes.Contains(files[d+"metrics/000.prom"], []byte("vault_core_unsealed 1")) {
			t.Errorf("%s: no metrics scrape", n.Name)
		}
		if !bytes.Contains(files[d+"pprof/000-goroutines.txt"], []byte("goroutine ")) || len(files[d+"pprof/000-heap.prof"]) == 0 {
			t.Errorf("%s: no goroutine dump or heap profile", n.Name)
		}
		if !bytes.Contains(files[d+"vaultd.log"], []byte("level=")) {
			t.Errorf("%s: empty log (%d bytes)", n.Name, len(files[d+"vaultd.log"]))
		}
		if !bytes.Contains(files[d+"server-status/000.json"], []byte(`"sys/seal-status"`)) {
			t.Errorf("%s: no server status", n.Name)
		}
	}
	for name, b := range files {
		if bytes.Contains(b, []byte(root)) {
			t.Errorf("%s holds the root token", name)
		}
	}
}
