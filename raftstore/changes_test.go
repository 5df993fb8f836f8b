package raftstore_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/vaultd/vaultd/raftstore"
	"github.com/vaultd/vaultd/storage"
)

// TestChanges: the change feed returns the committed transactions in
// order with their ciphertext values, pages with next, says when there is
// nothing new, and reports ErrCompacted once an operator restore replaced
// the log, so a consumer knows it must resync from a snapshot.
func TestChanges(t *testing.T) {
	ctx := ctxTimeout(t, time.Minute)
	s := bootstrapped(t, nodeConfig(t, "n1", t.TempDir()))
	waitLeader(t, 10*time.Second, s)
	if err := s.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	_, start, err := s.Changes(0, 1000) // skip bootstrap entries
	if err != nil {
		t.Fatal(err)
	}
	txns := [][]storage.Op{
		{{Kind: storage.OpPut, Key: "k/a", Value: []byte("ct-a")}},
		{{Kind: storage.OpPut, Key: "k/b", Value: []byte("ct-b")}, {Kind: storage.OpDelete, Key: "k/a"}},
		{{Kind: storage.OpPut, Key: "k/c", Value: []byte("ct-c")}},
	}
	for _, ops := range txns {
		if err := s.Txn(ctx, ops); err != nil {
			t.Fatal(err)
		}
	}
	var got []raftstore.Change
	next := start
	for len(got) < len(txns) {
		ch, n, err := s.Changes(next, 1)
		if err != nil {
			t.Fatal(err)
		}
		if n == next {
			t.Fatalf("no progress at %d with %d of %d changes", next, len(got), len(txns))
		}
		got, next = append(got, ch...), n
	}
	for i, ops := range txns {
		c := got[i]
		if len(c.Ops) != len(ops) || c.Term == 0 || (i > 0 && c.Index <= got[i-1].Index) {
			t.Fatalf("change %d: %+v", i, c)
		}
		for j, op := range ops {
			if c.Ops[j].Kind != op.Kind || c.Ops[j].Key != op.Key || !bytes.Equal(c.Ops[j].Value, op.Value) {
				t.Fatalf("change %d op %d: %+v, want %+v", i, j, c.Ops[j], op)
			}
		}
	}
	if ch, n, err := s.Changes(next, 10); err != nil || len(ch) != 0 || n != next {
		t.Fatalf("nothing new: %v %d %v", ch, n, err)
	}

	var snap bytes.Buffer
	if err := s.SaveSnapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	if err := s.RestoreSnapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: "k/d", Value: []byte("ct-d")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Changes(start, 10); !errors.Is(err, raftstore.ErrCompacted) {
		t.Fatalf("after a restore: err = %v, want ErrCompacted", err)
	}
}
