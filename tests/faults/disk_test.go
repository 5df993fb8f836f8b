package faults

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// mountTmpfs mounts a tmpfs of size at dir for the test (root only).
func mountTmpfs(t testing.TB, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk-full test needs root to mount a small tmpfs")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// fillReserve is the room fill leaves: less than one of the test's big
// writes needs (256 KiB), more than a re-elected node's own writes (the
// raft no-op, the leader advert and node record it writes on becoming
// active, a few KiB). Without it, whether the single node could become
// active again after its failed write depended on how many free pages
// bolt happened to hold, which moves with the size of every earlier raft
// entry.
const fillReserve = 128 << 10

// fill writes zeros into path until the file system is full, then gives
// fillReserve bytes back.
func fill(t testing.TB, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(max(st.Size()-fillReserve, 0)); err != nil {
		t.Fatal(err)
	}
}

func mountKV(t *testing.T, pc *procCluster) {
	t.Helper()
	admin := pc.Client(pc.WaitActive(30*time.Second), 10*time.Second)
	var err error
	waitForMsg(t, 20*time.Second, "the kv-v2 mount", func() bool {
		_, err = admin.Logical().Write("sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
		if statusCode(err) == 400 {
			err = nil
		}
		return err == nil
	}, func() string { return fmt.Sprint(err) })
}

// A full disk under raft's data directory: writes fail with a clear 5xx
// (not a hang, not a crash), reads go on, and once space returns writes
// succeed again and nothing acknowledged is lost, across a restart too.
func TestDisk_Full(t *testing.T) {
	var raftDir string
	pc := newProcClusterWith(t, 1, func(_ int, dir string) {
		mountTmpfs(t, dir, "24m")
		raftDir = dir
	}, "")
	pc.InitAndUnseal()
	mountKV(t, pc)
	nd := pc.Nodes[0]
	c := pc.Client(nd, 5*time.Second)
	var ack acks
	for i := range 5 {
		v := fmt.Sprint("before", i)
		if err := write(c, "k", v); err != nil {
			t.Fatal(err)
		}
		ack.add("k", v)
	}
	filler := filepath.Join(raftDir, "filler")
	fill(t, filler)
	t.Log("the raft file system is full")

	big := strings.Repeat("x", 256<<10)
	var failed *vaultapi.ResponseError
	for i := 0; i < 200 && failed == nil; i++ {
		err := write(c, fmt.Sprint("big", i), big)
		switch {
		case err == nil:
			ack.add(fmt.Sprint("big", i), big) // bolt reused free pages
		case errors.As(err, &failed):
		default:
			t.Fatalf("write on a full disk: %v (want an HTTP 5xx answer)", err)
		}
	}
	if failed == nil {
		t.Fatal("200 writes of 256 KiB succeeded on a full 24 MiB file system")
	}
	t.Logf("write on a full disk: HTTP %d %v", failed.StatusCode, failed.Errors)
	for _, l := range strings.Split(nd.Log.String(), "\n") {
		if strings.Contains(l, "request failed") || strings.Contains(l, "space") {
			t.Log(l)
		}
	}
	if failed.StatusCode < 500 || !strings.Contains(strings.Join(failed.Errors, " "), "space") {
		t.Errorf("write on a full disk answered %d %v; want a 5xx that says the disk is full", failed.StatusCode, failed.Errors)
	}
	var rerr error
	waitForMsg(t, 20*time.Second, "a read on the full disk", func() bool {
		var v string
		v, _, rerr = read(c, "k")
		return rerr == nil && v == "before4"
	}, func() string { return fmt.Sprint(rerr) })

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	t.Log("space is back")
	var werr error
	waitForMsg(t, 30*time.Second, "a write after space returned", func() bool {
		werr = write(c, "k", "after")
		return werr == nil
	}, func() string { return fmt.Sprint(werr) })
	ack.add("k", "after")
	ack.verify(t, c)

	nd.Kill9()
	pc.Start(nd)
	pc.Unseal(nd)
	pc.WaitActive(30 * time.Second)
	var verr error
	waitForMsg(t, 20*time.Second, "reads after the restart", func() bool {
		_, _, verr = read(c, "k")
		return verr == nil
	}, func() string { return fmt.Sprint(verr) })
	ack.verify(t, c)
}

// kill -9 at any moment of a snapshot restore leaves a node that restarts
// cleanly (no refusal, no crash), unseals, holds either the state before
// or the state after the restore (never a mix) and serves writes.
func TestDisk_KillDuringRestore(t *testing.T) {
	pc := newProcCluster(t, 1)
	pc.InitAndUnseal()
	mountKV(t, pc)
	nd := pc.Nodes[0]
	c := pc.Client(nd, 10*time.Second)
	for i := range 50 { // some bulk, so the restore takes a moment
		if err := write(c, fmt.Sprint("bulk", i), strings.Repeat("b", 4096)); err != nil {
			t.Fatal(err)
		}
	}
	if err := write(c, "k", "snap"); err != nil {
		t.Fatal(err)
	}
	var snap strings.Builder
	if err := c.Sys().RaftSnapshot(&snap); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	for round, delay := range []time.Duration{0, 2 * time.Millisecond, 10 * time.Millisecond, 40 * time.Millisecond, 150 * time.Millisecond} {
		c = pc.Client(nd, 10*time.Second)
		if err := write(c, "k", fmt.Sprint("after", round)); err != nil {
			t.Fatalf("round %d: write: %v", round, err)
		}
		go func() { _ = c.Sys().RaftSnapshotRestore(strings.NewReader(snap.String()), true) }()
		time.Sleep(delay)
		nd.Kill9()
		pc.Start(nd)
		pc.Unseal(nd)
		pc.WaitActive(30 * time.Second)
		c = pc.Client(nd, 10*time.Second)
		var v string
		var err error
		waitForMsg(t, 20*time.Second, "a read after the restart", func() bool {
			v, _, err = read(c, "k")
			return err == nil
		}, func() string { return fmt.Sprint(err) })
		if v != "snap" && v != fmt.Sprint("after", round) {
			t.Fatalf("round %d (kill after %s): k = %q, want the state before (%q) or after (%q) the restore", round, delay, v, fmt.Sprint("after", round), "snap")
		}
		b, _, err := read(c, "bulk49")
		if err != nil || len(b) != 4096 {
			t.Fatalf("round %d: bulk data after the restart: %d bytes, %v", round, len(b), err)
		}
		t.Logf("round %d: killed %s into the restore; restarted with k = %q", round, delay, v)
	}
	if err := write(c, "k", "final"); err != nil {
		t.Fatalf("write after the restore rounds: %v", err)
	}
}

// A follower that fell behind the leader's log gets a snapshot
// (InstallSnapshot); kill -9 while it installs leaves a node that
// restarts cleanly and catches up.
func TestDisk_KillDuringSnapshotInstall(t *testing.T) {
	pc := newProcClusterWith(t, 3, nil, "  trailing_logs = 10\n  snapshot_threshold = 20\n  snapshot_interval = \"1s\"\n")
	pc.InitAndUnseal()
	mountKV(t, pc)
	act := pc.WaitActive(30 * time.Second)
	victim := others(pc.Nodes, act)[0]
	c := pc.Client(act, 10*time.Second)
	for round, delay := range []time.Duration{0, 20 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond} {
		victim.Kill9()
		for i := range 150 { // far past trailing_logs: the victim needs a snapshot
			if err := write(c, fmt.Sprintf("r%d/k%d", round, i), strings.Repeat("s", 2048)); err != nil {
				t.Fatalf("round %d: write: %v", round, err)
			}
		}
		time.Sleep(1500 * time.Millisecond) // let the leader snapshot and compact its log
		pc.Start(victim)
		pc.Unseal(victim)
		time.Sleep(delay)
		victim.Kill9()
		t.Logf("round %d: killed %s %s after its unseal (snapshot install under way or done)", round, victim.ID, delay)
	}
	pc.Start(victim)
	pc.Unseal(victim)
	leaderIdx := func(nd *node) uint64 {
		li, err := pc.Client(nd, 2*time.Second).Sys().Leader()
		if err != nil {
			return 0
		}
		return li.RaftAppliedIndex
	}
	want := leaderIdx(act)
	waitFor(t, 30*time.Second, victim.ID+" to catch up with the leader", func() bool {
		return leaderIdx(victim) >= want
	})
	t.Logf("%s's log mentions snapshot installs %d times", victim.ID, strings.Count(victim.Log.String(), "snapshot"))
	cv := pc.Client(victim, 5*time.Second)
	for round := range 4 {
		var v string
		var err error
		waitForMsg(t, 30*time.Second, "the last key of each round through the caught-up node", func() bool {
			v, _, err = read(cv, fmt.Sprintf("r%d/k149", round))
			return err == nil && len(v) == 2048
		}, func() string { return fmt.Sprint(err) })
	}
}
