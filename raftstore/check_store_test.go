package raftstore_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vaultd/vaultd/raftstore"
	"github.com/vaultd/vaultd/storage"
)

// TestStore_ConditionalWritesOneWinner: writers that read the same
// revision and propose conditional Txns at once through raft: exactly one
// commits, every other is refused with ErrConflict and wrote nothing, and
// the change feed carries the winner's writes only, without the check.
func TestStore_ConditionalWritesOneWinner(t *testing.T) {
	ctx := ctxTimeout(t, time.Minute)
	s := bootstrapped(t, nodeConfig(t, "n1", t.TempDir()))
	if err := s.Put(ctx, &storage.Entry{Key: "race/k", Value: []byte("v0")}); err != nil {
		t.Fatal(err)
	}
	_, start, err := s.Changes(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.Get(ctx, "race/k")
	if err != nil {
		t.Fatal(err)
	}
	const writers = 8
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			errs[i] = s.Txn(ctx, []storage.Op{
				storage.CheckRev("race/k", e.Rev),
				{Kind: storage.OpPut, Key: "race/k", Value: []byte(fmt.Sprint("w", i))},
				{Kind: storage.OpPut, Key: fmt.Sprint("race/by/", i), Value: []byte("x")},
			})
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both committed on the same revision", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, storage.ErrConflict):
			t.Fatalf("writer %d: %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer committed")
	}
	got, err := s.Get(ctx, "race/k")
	if err != nil || string(got.Value) != fmt.Sprint("w", winner) {
		t.Fatalf("race/k = %v, %v; want w%d", got, err, winner)
	}
	if keys, _ := s.List(ctx, "race/by/"); len(keys) != 1 || keys[0] != fmt.Sprint(winner) {
		t.Fatalf("race/by/ = %v: a refused Txn wrote something", keys)
	}

	changes, _, err := s.Changes(start, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []raftstore.Change
	for _, c := range changes {
		if len(c.Ops) > 0 {
			cmds = append(cmds, c)
		}
	}
	if len(cmds) != 1 || len(cmds[0].Ops) != 2 {
		t.Fatalf("change feed = %+v; want the winner's two writes", cmds)
	}
	for _, op := range cmds[0].Ops {
		if op.Kind == storage.OpCheck {
			t.Fatalf("change feed carries a check: %+v", op)
		}
	}
}
