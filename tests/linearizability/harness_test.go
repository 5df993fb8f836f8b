package linearizability

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/vaultd/vaultd/tests/internal/proccluster"
)

var (
	chaosDuration  = flag.Duration("chaos.duration", 15*time.Second, "how long clients run under the nemesis (the soak test: -chaos.duration=10m)")
	chaosSeed      = flag.Uint64("chaos.seed", 1, "seed of the nemesis and the clients (0: time-based)")
	chaosNodes     = flag.Int("chaos.nodes", 3, "cluster size")
	chaosKeyEpoch  = flag.Duration("chaos.keyepoch", time.Minute, "how long the workload uses one set of four keys before moving to the next (bounds a key's version history in long runs)")
	chaosArtifacts = flag.String("chaos.artifacts", "", "directory for the history and visualisation of a failing run (default: t.ArtifactDir())")
)

// The cluster harness is shared with tests/faults
// (tests/internal/proccluster).
type (
	procCluster = proccluster.Cluster
	node        = proccluster.Node
	syncBuffer  = proccluster.SyncBuffer
)

var (
	waitFor    = proccluster.WaitFor
	waitForMsg = proccluster.WaitForMsg
	statusCode = proccluster.StatusCode
	freePort   = proccluster.FreePort
)

// binPath is the vaultd binary built once for the package (with buildTags).
var binPath string

// addrBase is the last octet of node 0's loopback address
// (127.77.<b>.11, .12, …; tests/faults uses .21 on).
const addrBase = 11

func TestMain(m *testing.M) {
	flag.Parse()
	bin, cleanup, err := proccluster.Build("vaultd-lin-bin", buildTags, "../../cmd/vaultd")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// nodeIP is node i's own loopback address (proccluster.NodeIP).
func nodeIP(i int) string { return proccluster.NodeIP(addrBase, i) }

func newProcCluster(t testing.TB, n int) *procCluster {
	t.Helper()
	return proccluster.New(t, proccluster.Options{Bin: binPath, N: n, AddrBase: addrBase})
}
