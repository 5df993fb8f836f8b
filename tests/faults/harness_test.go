package faults

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/vaultd/vaultd/tests/internal/proccluster"
)

var faultNodes = flag.Int("faults.nodes", 3, "cluster size of TestPartition_MinorityWithActive (3 or 5)")

// The cluster harness is shared with tests/linearizability
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

// binPath is the vaultd binary built once for the package.
var binPath string

// addrBase is the last octet of node 0's loopback address
// (127.77.<b>.21, .22, …; tests/linearizability uses .11 on).
const addrBase = 21

func TestMain(m *testing.M) {
	flag.Parse()
	bin, cleanup, err := proccluster.Build("vaultd-faults-bin", "", "../../cmd/vaultd")
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
	return newProcClusterWith(t, n, nil, "")
}

// newProcClusterWith is newProcCluster with prep(i, raftDir) run before
// node i first starts (disk_test.go mounts a small file system there) and
// raftExtra added to every storage "raft" stanza.
func newProcClusterWith(t testing.TB, n int, prep func(i int, raftDir string), raftExtra string) *procCluster {
	t.Helper()
	return proccluster.New(t, proccluster.Options{Bin: binPath, N: n, AddrBase: addrBase, Prep: prep, RaftExtra: raftExtra})
}
