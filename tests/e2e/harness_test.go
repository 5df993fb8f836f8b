package e2e

import (
	"bufio"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/tests/internal/vaultproc"
)

// binPath is the vaultd binary built once for the whole package.
var binPath string

func TestMain(m *testing.M) { vaultproc.Main(m, "vaultd-e2e-bin", &binPath) }

// The process harness is shared with the other real-process suites
// (tests/internal/vaultproc).
type (
	proc = vaultproc.Proc
)

var (
	waitFor = vaultproc.WaitFor
	tail    = vaultproc.Tail
)

// freePort returns a loopback port that is free right now.
func freePort(t testing.TB) int {
	t.Helper()
	return vaultproc.FreePort(t, "127.0.0.1")
}

// nodeConfig writes a single-node raft config and returns its path.
func nodeConfig(t testing.TB, dir, nodeID string, apiPort, clusterPort int, extra string) string {
	t.Helper()
	return vaultproc.Node{Dir: dir, ID: nodeID, APIPort: apiPort, ClusterPort: clusterPort,
		Listener: "  max_request_size = 1048576\n", LogLevel: "debug", Extra: extra}.Write(t)
}

// startProc starts `vaultd args...` and waits until addr answers sys/health.
func startProc(t testing.TB, addr string, args ...string) *proc {
	t.Helper()
	return vaultproc.Start(t, binPath, addr, vaultproc.Opts{SplitStdout: true}, args...)
}

func newClient(t testing.TB, addr, token string) *vaultapi.Client {
	t.Helper()
	return vaultproc.NewClient(t, addr, token, 10*time.Second)
}

// unsealWith submits shares until the node is unsealed and active.
func unsealWith(t testing.TB, c *vaultapi.Client, keys []string) {
	t.Helper()
	for _, k := range keys {
		st, err := c.Sys().Unseal(k)
		if err != nil {
			t.Fatalf("unseal: %v", err)
		}
		if !st.Sealed {
			break
		}
	}
	waitFor(t, 15*time.Second, "node to become active", func() bool {
		h, err := c.Sys().Health()
		return err == nil && !h.Sealed && !h.Standby
	})
}

// devOutput parses "Root Token:" and "Unseal Key:" from dev server output.
func devOutput(out string) (root, key string) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		l := sc.Text()
		if v, ok := strings.CutPrefix(l, "Root Token: "); ok {
			root = v
		}
		if v, ok := strings.CutPrefix(l, "Unseal Key: "); ok {
			key = v
		}
	}
	return
}

// unsealedNode starts one raft node (singleNode), initialises it with one
// key share, unseals it and returns it with a client holding the root
// token.
func unsealedNode(t *testing.T) (*proc, *vaultapi.Client, string) {
	t.Helper()
	p, _ := singleNode(t)
	c := newClient(t, p.Addr, "")
	init, err := c.Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	unsealWith(t, c, init.Keys)
	c.SetToken(init.RootToken)
	return p, c, init.RootToken
}
