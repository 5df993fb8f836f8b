package raftstore_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/vaultd/vaultd/raftstore"
	"github.com/vaultd/vaultd/storage"
)

// TestJoinAfterRestore_NotRemoved: after an operator restore the leader's
// log is compacted into the restored snapshot, so a node that joins next
// installs a snapshot whose configuration lacks it before the entry that
// adds it arrives. It must never take that for a removal (issue 16: the
// peers of a cluster rebuilt from a snapshot join it this way). Detection
// of a real removal is covered by testcluster's TestRaftOps_ThreeNodes and
// e2e's TestRaftOps_Processes.
func TestJoinAfterRestore_NotRemoved(t *testing.T) {
	ctx := ctxTimeout(t, time.Minute)
	src := bootstrapped(t, nodeConfig(t, "src", t.TempDir()))
	waitLeader(t, 10*time.Second, src)
	for _, k := range []string{"a", "b", "c"} {
		if err := src.Put(ctx, &storage.Entry{Key: "k/" + k, Value: []byte("ct-" + k)}); err != nil {
			t.Fatal(err)
		}
	}
	var snap bytes.Buffer
	if err := src.SaveSnapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	info, err := raftstore.InspectSnapshot(bytes.NewReader(snap.Bytes()))
	if err != nil || info.Keys != 3 {
		t.Fatalf("InspectSnapshot: %+v %v", info, err)
	}
	if has, err := src.SnapshotHasKey(bytes.NewReader(snap.Bytes()), "k/b"); err != nil || !has {
		t.Fatalf("SnapshotHasKey(k/b) = %v %v", has, err)
	}
	if has, err := src.SnapshotHasKey(bytes.NewReader(snap.Bytes()), "core/seal-config"); err != nil || has {
		t.Fatalf("SnapshotHasKey(absent) = %v %v", has, err)
	}

	n1 := bootstrapped(t, nodeConfig(t, "n1", t.TempDir()))
	waitLeader(t, 10*time.Second, n1)
	if err := n1.Barrier(ctx); err != nil { // as core's bootstrap does
		t.Fatal(err)
	}
	if err := n1.RestoreSnapshot(ctx, bytes.NewReader(snap.Bytes())); err != nil {
		t.Fatal(err)
	}
	n2 := openStore(t, nodeConfig(t, "n2", t.TempDir()))
	if err := n1.AddVoter(ctx, n2.LocalID(), n2.Addr()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if n2.Removed() {
			t.Fatal("the joining node took the restored snapshot's configuration for a removal")
		}
		servers, err := n2.Configuration(ctx)
		if err == nil && len(servers) == 2 {
			if v, err := n2.Get(ctx, "k/c"); err == nil && string(v.Value) == "ct-c" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("n2 did not catch up")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if n2.Removed() {
		t.Fatal("n2 removed after joining")
	}
}
