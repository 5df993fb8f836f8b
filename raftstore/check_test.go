package raftstore

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"

	"github.com/vaultd/vaultd/storage"
)

// TestFSM_CheckIsDeterministic: a conditional command applies or is
// refused by its preconditions against the FSM's state at that point of
// the log (after every earlier command, in the same batch too), so two
// replicas applying the same log, batched differently, agree on every
// outcome and on the state.
func TestFSM_CheckIsDeterministic(t *testing.T) {
	v1 := storage.RevOf([]byte("v1"))
	logs := func() []*raft.Log {
		return []*raft.Log{
			cmdLog(storage.CheckRev("k", storage.Rev{}), put("k", "v1")),     // applies: k absent
			cmdLog(storage.CheckRev("k", storage.Rev{}), put("k", "other")),  // refused: k present
			cmdLog(storage.CheckRev("k", v1), put("k", "v2"), put("j", "x")), // applies: k is v1
			cmdLog(storage.CheckRev("k", v1), put("k", "lost")),              // refused: k is v2 now
			cmdLog(put("k", "v1")),                      // unconditional
			cmdLog(storage.CheckRev("k", v1), del("j")), // applies: same bytes, same Rev
		}
	}
	wantErr := []bool{false, true, false, true, false, false}
	one, batched := newFSM(), newFSM()
	outOne := feed(one, logs()[:1], logs()[1:2], logs()[2:3], logs()[3:4], logs()[4:5], logs()[5:])
	outBatched := feed(batched, logs())
	for i, want := range wantErr {
		for name, out := range map[string][]any{"one by one": outOne, "one batch": outBatched} {
			err := out[i].(*applyResult).Err
			if want != errors.Is(err, storage.ErrConflict) || (!want && err != nil) {
				t.Errorf("%s: command %d: err = %v, want conflict %v", name, i+1, err, want)
			}
		}
	}
	want := map[string]string{"k": "v1"}
	if diff := cmp.Diff(want, dump(one)); diff != "" {
		t.Fatalf("state (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(dump(one), dump(batched)); diff != "" {
		t.Fatalf("replicas diverged (-one +batched):\n%s", diff)
	}
	for _, idx := range []uint64{2, 4} {
		if rej, known := one.wasRejected(idx); !rej || !known {
			t.Errorf("wasRejected(%d) = %v, %v; want true, true", idx, rej, known)
		}
	}
	if rej, known := one.wasRejected(3); rej || !known {
		t.Errorf("wasRejected(3) = %v, %v; want false, true", rej, known)
	}
}
