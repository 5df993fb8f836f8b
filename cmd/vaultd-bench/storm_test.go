package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestLoginStorm is issue 11's acceptance scenario, shortened: 150
// concurrent userpass logins (bcrypt) for 6 s against a 3-node cluster at
// default settings. The leader never changes, a KV write every 200 ms
// through the active node succeeds every time, and every login answer is
// 200 or a 429/503 carrying Retry-After. It builds vaultd and runs three
// processes, so -short skips it; the 30 s, 200-worker run is in
// docs/benchmarks.md.
func TestLoginStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds vaultd and runs a 3-node cluster under a login storm")
	}
	bin, err := buildVaultd(context.Background(), t.TempDir(), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	args := []string{"-vaultd", bin, "-spawn", "3", "-op", "login", "-workers", "150",
		"-duration", "6s", "-warmup", "1s", "-canary", "-json", "-server-log-level", "warn"}
	if err := run(context.Background(), args, &out, os.Stderr); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	t.Logf("report: %s", out.String())
	c := rep.Canary
	if c == nil {
		t.Fatal("no canary result")
	}
	// The leader-stability claim is about the storm on a machine it has to
	// itself. When other processes already keep the run queue far above
	// the CPUs (load 23 on 2 cores was seen on a shared box), they starve
	// raft's heartbeats, not the logins, and a re-election says nothing
	// about admission control: those checks are then reported, not
	// asserted. The login answers below are checked at any load.
	stability := t.Errorf
	if l := load1(rep.LoadBefore); l > 4*float64(runtime.NumCPU()) {
		t.Logf("load average %.1f before the storm on %d CPUs: leader stability is reported, not asserted", l, runtime.NumCPU())
		stability = t.Logf
	}
	if c.Writes < 20 || c.Failures != 0 {
		stability("canary: %d writes, %d failed (%v); want ≥ 20 and none failed", c.Writes, c.Failures, c.ByStatus)
	}
	if c.LeaderChanges != 0 {
		stability("the leader changed %d times under the storm", c.LeaderChanges)
	}
	if len(c.HALeaderChanges) != 2 {
		t.Errorf("sys/ha-status reported no leader_changes: %v", c.HALeaderChanges)
	} else if c.HALeaderChanges[0] == 0 || c.HALeaderChanges[1] != c.HALeaderChanges[0] {
		stability("sys/ha-status leader_changes before/after = %v, want equal and ≥ 1", c.HALeaderChanges)
	}
	var login *OpResult
	for i := range rep.Results {
		if rep.Results[i].Op == "login" {
			login = &rep.Results[i]
		}
	}
	if login == nil || login.OK == 0 {
		t.Fatalf("no successful login: %+v", rep.Results)
	}
	for st, n := range login.ByStatus {
		if st != "429" && st != "503" {
			t.Errorf("%d login answers with status %s; want only 200, or 429/503 with Retry-After", n, st)
		}
	}
	if strings.Contains(out.String(), "no-retry-after") {
		t.Error("a refusal without Retry-After")
	}
}

// load1 is the 1-minute load average of a "loadavg" report field, or 0.
func load1(s string) float64 {
	f, _, _ := strings.Cut(s, " ")
	v, _ := strconv.ParseFloat(f, 64)
	return v
}
