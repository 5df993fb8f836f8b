package testcluster_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/testcluster"
)

// readyProbe asks nd's /v1/sys/health/ready with max_lag and returns the
// status and whether the raft_lag check passed.
func readyProbe(t *testing.T, nd *testcluster.Node, maxLag int) (code int, lagOK bool, msg string) {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/v1/sys/health/ready?max_lag=%d", nd.APIAddr, maxLag))
	if err != nil {
		return 0, false, err.Error()
	}
	defer resp.Body.Close()
	var body struct {
		Checks []struct {
			Name    string `json:"name"`
			OK      bool   `json:"ok"`
			Message string `json:"message"`
		} `json:"checks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return resp.StatusCode, false, err.Error()
	}
	for _, c := range body.Checks {
		if c.Name == "raft_lag" {
			return resp.StatusCode, c.OK, c.Message
		}
	}
	return resp.StatusCode, false, "no raft_lag check"
}

// TestReady_RaftLag forces apply lag on a standby: its FSM is paused (raft
// keeps replicating and committing to it), the active node takes writes,
// and the standby's readiness probe fails on raft_lag; once it applies
// again it catches up and is ready again.
func TestReady_RaftLag(t *testing.T) {
	const maxLag = 20
	c := testcluster.New(t, 3)
	c.InitAndUnseal(t)
	c.WaitMembers(t)
	act := c.Active(t)
	sb := c.Standbys(t)[0]
	mustWrite(t, c.Client(t, act.Index), "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	waitFor(t, "the standby to be ready", func() bool {
		code, ok, _ := readyProbe(t, sb, maxLag)
		return code == http.StatusOK && ok
	})

	resume := sb.Store.PauseApplyForTesting()
	defer resume()
	cl := c.Client(t, act.Index)
	for i := range 3 * maxLag {
		mustWrite(t, cl, fmt.Sprintf("secret/data/lag-%d", i), map[string]any{"data": map[string]any{"i": i}})
	}
	var msg string
	waitFor(t, "the lagging standby to report not ready on raft_lag", func() bool {
		code, ok, m := readyProbe(t, sb, maxLag)
		msg = m
		return code == http.StatusServiceUnavailable && !ok
	})
	t.Logf("lagging standby: %s", msg)
	if code, _, _ := readyProbe(t, act, maxLag); code != http.StatusOK {
		t.Fatalf("the active node is not ready (%d) while a standby lags", code)
	}

	resume()
	waitFor(t, "the standby to catch up and be ready again", func() bool {
		code, ok, _ := readyProbe(t, sb, maxLag)
		return code == http.StatusOK && ok
	})
}
