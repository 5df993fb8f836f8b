package raftstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vaultd/vaultd/raftstore"
	"github.com/vaultd/vaultd/storage"
)

// threeNodes starts a 3-voter cluster led by n1.
func threeNodes(t *testing.T) []*raftstore.Store {
	t.Helper()
	ctx := ctxTimeout(t, time.Minute)
	var nodes []*raftstore.Store
	for i := 1; i <= 3; i++ {
		nodes = append(nodes, openStore(t, nodeConfig(t, fmt.Sprintf("n%d", i), t.TempDir())))
	}
	if err := nodes[0].Bootstrap(ctx); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	for _, s := range nodes[1:] {
		if err := nodes[0].AddVoter(ctx, s.LocalID(), s.Addr()); err != nil {
			t.Fatalf("AddVoter(%s): %v", s.LocalID(), err)
		}
	}
	for _, s := range nodes {
		waitFor(t, 10*time.Second, s.LocalID()+" to know the leader", func() bool {
			id, _ := s.Leader()
			return id == "n1"
		})
	}
	return nodes
}

// A read that waits for the leader's read index on a follower sees every
// write acknowledged before the read index was asked for, and the change
// hook saw the keys before the wait returned.
func TestReadIndex_FollowerSeesAcknowledgedWrites(t *testing.T) {
	nodes := threeNodes(t)
	leader, follower := nodes[0], nodes[1]
	ctx := ctxTimeout(t, 30*time.Second)

	var mu sync.Mutex
	var hooked []string
	follower.SetChangeHook(func(keys []string, all bool) {
		mu.Lock()
		hooked = append(hooked, keys...)
		mu.Unlock()
	})

	for i := range 50 {
		key := fmt.Sprintf("k/%d", i)
		if err := leader.Put(ctx, &storage.Entry{Key: key, Value: []byte{byte(i)}}); err != nil {
			t.Fatalf("Put: %v", err)
		}
		idx, err := leader.ReadIndex(ctx)
		if err != nil {
			t.Fatalf("ReadIndex: %v", err)
		}
		if err := follower.WaitApplied(ctx, idx); err != nil {
			t.Fatalf("WaitApplied(%d): %v", idx, err)
		}
		mu.Lock()
		seen := slices.Contains(hooked, key)
		mu.Unlock()
		if !seen {
			t.Fatalf("the change hook had not seen %q when WaitApplied(%d) returned", key, idx)
		}
		e, err := follower.Get(ctx, key)
		if err != nil || len(e.Value) != 1 || e.Value[0] != byte(i) {
			t.Fatalf("follower read of %q after the read index: %v %v", key, e, err)
		}
	}
	// An idle cluster: the read index must still be reachable (it is an
	// index the FSM applies, never a trailing no-op or barrier entry).
	if err := leader.Barrier(ctx); err != nil {
		t.Fatalf("Barrier: %v", err)
	}
	idx, err := leader.ReadIndex(ctx)
	if err != nil {
		t.Fatalf("ReadIndex: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := follower.WaitApplied(wctx, idx); err != nil {
		t.Fatalf("WaitApplied(%d) after a barrier: %v", idx, err)
	}

	// After an operator restore, a read index covers the restore: the
	// follower answers with the restored state, not the one it had.
	if err := leader.Put(ctx, &storage.Entry{Key: "r", Value: []byte("old")}); err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if err := leader.SaveSnapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	for i := range 20 { // move every node's applied index well past the snapshot's
		if err := leader.Put(ctx, &storage.Entry{Key: "r", Value: []byte(fmt.Sprint("new", i))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := follower.WaitApplied(ctx, leader.AppliedIndex()); err != nil {
		t.Fatal(err)
	}
	if err := leader.RestoreSnapshot(ctx, &snap); err != nil {
		t.Fatalf("RestoreSnapshot: %v", err)
	}
	ri, err := leader.ReadIndex(ctx)
	if err != nil {
		t.Fatalf("ReadIndex after a restore: %v", err)
	}
	if err := follower.WaitApplied(ctx, ri); err != nil {
		t.Fatalf("WaitApplied after a restore: %v", err)
	}
	if e, err := follower.Get(ctx, "r"); err != nil || string(e.Value) != "old" {
		t.Fatalf("follower read after the restore's read index: %v %v, want \"old\"", e, err)
	}

	// Followers refuse to hand out read indexes.
	if _, err := follower.ReadIndex(ctx); !errors.Is(err, raftstore.ErrNotLeader) {
		t.Fatalf("ReadIndex on a follower = %v, want ErrNotLeader", err)
	}
	// A bounded wait for an index never reached ends with an error.
	wctx2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if err := follower.WaitApplied(wctx2, idx+1000); err == nil {
		t.Fatal("WaitApplied of a future index returned nil")
	}
}

// A snapshot restore tells the change hook that everything changed, and a
// write tells it its keys (deletes included), before WaitApplied returns.
func TestChangeHook_WritesAndRestore(t *testing.T) {
	s := bootstrapped(t, nodeConfig(t, "n1", t.TempDir()))
	ctx := ctxTimeout(t, 30*time.Second)
	waitLeader(t, 10*time.Second, s)
	type call struct {
		keys []string
		all  bool
	}
	var mu sync.Mutex
	var calls []call
	s.SetChangeHook(func(keys []string, all bool) {
		mu.Lock()
		calls = append(calls, call{slices.Clone(keys), all})
		mu.Unlock()
	})
	last := func() call {
		mu.Lock()
		defer mu.Unlock()
		if len(calls) == 0 {
			return call{}
		}
		return calls[len(calls)-1]
	}
	if err := s.Txn(ctx, []storage.Op{{Kind: storage.OpPut, Key: "a", Value: []byte("1")}, {Kind: storage.OpDelete, Key: "b"}}); err != nil {
		t.Fatal(err)
	}
	if c := last(); c.all || !slices.Equal(c.keys, []string{"a", "b"}) {
		t.Fatalf("hook after a txn: %+v", c)
	}
	var snap bytes.Buffer
	if err := s.SaveSnapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	if err := s.RestoreSnapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	// RestoreSnapshot returns after the restore and the entry committed
	// after it (readindex.go) were applied.
	mu.Lock()
	restored := slices.ContainsFunc(calls, func(c call) bool { return c.all })
	n := len(calls)
	mu.Unlock()
	if !restored {
		t.Fatalf("the hook did not see the restore: %+v", calls)
	}
	s.SetChangeHook(nil)
	if err := s.Put(ctx, &storage.Entry{Key: "c", Value: []byte("2")}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != n {
		t.Fatalf("a removed hook was called: %+v", calls[n:])
	}
}
