package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestSpawnEndToEnd builds vaultd and runs the tool against a spawned dev
// server, a single raft node and (if VAULTD_BENCH_CLUSTER=1) a 3-node
// cluster with a failover measurement. It takes tens of seconds on a busy
// machine, so it only runs with VAULTD_LONG=1.
func TestSpawnEndToEnd(t *testing.T) {
	if os.Getenv("VAULTD_LONG") != "1" {
		t.Skip("set VAULTD_LONG=1 to build vaultd and run the tool against spawned nodes")
	}
	bin, err := buildVaultd(context.Background(), t.TempDir(), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	cases := [][]string{
		{"-spawn", "1", "-storage", "inmem", "-op", "mixed", "-client", "api"},
		{"-spawn", "1", "-storage", "raft", "-op", "cas"},
	}
	if os.Getenv("VAULTD_BENCH_CLUSTER") == "1" {
		cases = append(cases,
			[]string{"-spawn", "3", "-targets", "standbys", "-op", "write"},
			[]string{"-spawn", "3", "-failover"})
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out bytes.Buffer
			args := append([]string{"-vaultd", bin, "-workers", "4", "-keys", "20", "-duration", "1s", "-warmup", "200ms", "-json"}, args...)
			if err := run(context.Background(), args, &out, os.Stderr); err != nil {
				t.Fatal(err)
			}
			var rep Report
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatalf("%v: %s", err, out.String())
			}
			if rep.Failover != nil {
				if rep.Failover.Unavailable <= 0 || rep.Failover.NewActive == rep.Failover.Killed {
					t.Fatalf("failover = %+v", rep.Failover)
				}
				return
			}
			if len(rep.Results) == 0 || rep.TotalOps <= 0 {
				t.Fatalf("report = %s", out.String())
			}
			for _, r := range rep.Results {
				if r.Errors != 0 {
					t.Errorf("%s: %d errors: %v", r.Op, r.Errors, r.ByStatus)
				}
			}
		})
	}
}
