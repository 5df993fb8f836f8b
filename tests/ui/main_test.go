package ui

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/tests/internal/vaultproc"
)

// binPath is the vaultd binary built once for the package.
var binPath string

func TestMain(m *testing.M) { vaultproc.Main(m, "vaultd-ui-bin", &binPath) }

// chromiumPath finds the browser, or skips (fails under CI=true).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("VAULTD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (install Debian's chromium package: apt-get install -y chromium, or set VAULTD_CHROMIUM)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI must run the browser tests")
	}
	t.Skip(msg)
	return ""
}

func freePort(t testing.TB) int {
	t.Helper()
	return vaultproc.FreePort(t, "127.0.0.1")
}

var waitFor = vaultproc.WaitFor

// node is one vaultd process.
type node struct {
	id   string
	addr string
	p    *vaultproc.Proc
}

// startCluster starts three raft nodes with ui = true. Every node lists
// every node in retry_join, node1 first, so node1 is the seed and each
// node knows the others' addresses before anything is unsealed.
func startCluster(t *testing.T) []*node {
	t.Helper()
	var api, cl [3]int
	var joins []string
	for i := range api {
		api[i], cl[i] = freePort(t), freePort(t)
		joins = append(joins, fmt.Sprintf("http://127.0.0.1:%d", api[i]))
	}
	var nodes []*node
	for i := range api {
		nc := vaultproc.Node{Dir: t.TempDir(), ID: fmt.Sprintf("node%d", i+1), APIPort: api[i], ClusterPort: cl[i],
			Joins: joins, Extra: "ui = true\n"}
		nodes = append(nodes, startNode(t, nc.ID, nc.Addr(), "server", "-config", nc.Write(t)))
	}
	return nodes
}

// soloConfig writes the configuration of a one-node raft cluster with the
// UI on and extra at the top level; it returns the path and the address.
func soloConfig(t *testing.T, extra string) (path, addr string) {
	t.Helper()
	nc := vaultproc.Node{Dir: t.TempDir(), ID: "solo", APIPort: freePort(t), ClusterPort: freePort(t),
		Extra: "ui = true\n" + extra}
	return nc.Write(t), nc.Addr()
}

func startNode(t *testing.T, id, addr string, args ...string) *node {
	t.Helper()
	p := vaultproc.Start(t, binPath, addr, vaultproc.Opts{}, args...)
	vaultproc.LogOnFailure(t, id, p, 40)
	return &node{id: id, addr: addr, p: p}
}

func newClient(t testing.TB, addr, token string) *vaultapi.Client {
	t.Helper()
	return vaultproc.NewClient(t, addr, token, 10*time.Second)
}
