package raftstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vaultd/vaultd/storage"
)

// TestStore_CancelledWriteIsSettledOnReturn: when a write returns, its
// outcome on this (leader) node is settled — applied to the FSM, or never
// to be applied — even if the caller's context ended while raft had the
// entry. A caller that holds a lock across read-modify-write (kv's per-key
// lock around cas and version numbering) relies on it: if the write
// returned with the entry still in flight, the next writer would read an
// FSM without it and its blind Txn would overwrite it once both commit
// (the lost update of the seed-7 linearizability soak).
//
// The context is cancelled at a random moment while the write is being
// proposed and fsynced; a write that returned with its value absent must
// never appear later.
func TestStore_CancelledWriteIsSettledOnReturn(t *testing.T) {
	s := bootstrapped(t, nodeConfig(t, "n1", t.TempDir())) // bolt: fsync makes the commit take a while
	rng := rand.New(rand.NewPCG(1, 2))
	type absent struct {
		key string
		err error
	}
	var pending []absent
	failed := 0
	for i := 0; i < 300; i++ {
		key := fmt.Sprintf("inflight/%d", i)
		ctx, cancel := context.WithCancel(t.Context())
		delay := time.Duration(rng.IntN(1500)) * time.Microsecond
		timer := time.AfterFunc(delay, cancel)
		err := s.Put(ctx, &storage.Entry{Key: key, Value: []byte("v")})
		timer.Stop()
		cancel()
		_, gerr := s.Get(t.Context(), key)
		switch {
		case err == nil && gerr != nil:
			t.Fatalf("Put(%s) succeeded but Get right after = %v", key, gerr)
		case err != nil:
			failed++
			if gerr == nil {
				t.Fatalf("Put(%s) = %v, but the value is there", key, err)
			}
			pending = append(pending, absent{key, err})
		}
	}
	// Everything proposed so far is applied once a later write is.
	if err := s.Put(t.Context(), &storage.Entry{Key: "inflight/last", Value: []byte("v")}); err != nil {
		t.Fatalf("final Put: %v", err)
	}
	for _, a := range pending {
		if _, err := s.Get(t.Context(), a.key); err == nil {
			t.Errorf("Put(%s) returned %v with the value absent, and it was applied afterwards", a.key, a.err)
		}
	}
	t.Logf("%d of 300 writes returned an error (cancelled before raft took them)", failed)
}
