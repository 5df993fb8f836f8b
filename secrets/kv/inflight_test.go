package kv_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/kv"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// inFlight is a storage.Backend whose next Txn, once armed, goes "in
// flight": it answers storage.ErrUnavailable at once (the outcome is
// unknown), so KV returns and releases the key's lock, and it is applied
// only when the test calls land. That is what a raft entry does when its
// client's wait ended (a cancelled request, ApplyTimeout on a leader that
// kept quorum but committed nothing for a while, a deposed leader whose
// entry the next leader commits) while raft still had it.
type inFlight struct {
	storage.Backend
	mu   sync.Mutex
	arm  bool
	held []storage.Op
}

func (f *inFlight) Txn(ctx context.Context, ops []storage.Op) error {
	f.mu.Lock()
	if f.arm {
		f.arm, f.held = false, ops
		f.mu.Unlock()
		return fmt.Errorf("test: entry in flight, outcome unknown: %w", storage.ErrUnavailable)
	}
	f.mu.Unlock()
	return f.Backend.Txn(ctx, ops)
}

// land applies the held entry now, as raft would when it commits it.
func (f *inFlight) land() error {
	f.mu.Lock()
	held := f.held
	f.held = nil
	f.mu.Unlock()
	if held == nil {
		return errors.New("test: no entry was held")
	}
	return f.Backend.Txn(context.Background(), held)
}

// TestV2_InFlightWriteCannotOverwriteALaterOne is the lost update of the
// seed-7 linearizability soak, forced: write A's Txn is still in flight
// when A returns and releases the key's lock; write B reads the metadata
// without A, commits version 2 and is acknowledged; then A's entry lands.
// A was computed from the state B replaced, so it must apply nothing:
// every KV v2 write carries the precondition that the metadata record is
// the one it read (storage.OpCheck), checked where the write applies.
// Before that, A's entry overwrote B's acknowledged version 2 (or its
// metadata), for every kind of write below.
func TestV2_InFlightWriteCannotOverwriteALaterOne(t *testing.T) {
	type op struct {
		op   secrets.Operation
		path string
		data map[string]any
	}
	tests := []struct {
		name string
		a    op // held in flight
	}{
		{"data write", op{secrets.OpUpdate, "data/k", map[string]any{"data": map[string]any{"w": "A"}}}},
		{"cas write", op{secrets.OpUpdate, "data/k", map[string]any{"data": map[string]any{"w": "A"}, "options": map[string]any{"cas": 1}}}},
		{"patch", op{secrets.OpPatch, "data/k", map[string]any{"data": map[string]any{"w": "A"}}}},
		{"soft delete latest", op{secrets.OpDelete, "data/k", nil}},
		{"delete versions", op{secrets.OpUpdate, "delete/k", map[string]any{"versions": []any{1}}}},
		{"undelete", op{secrets.OpUpdate, "undelete/k", map[string]any{"versions": []any{1}}}},
		{"destroy", op{secrets.OpUpdate, "destroy/k", map[string]any{"versions": []any{1}}}},
		{"metadata write", op{secrets.OpUpdate, "metadata/k", map[string]any{"max_versions": 7}}},
		{"metadata patch", op{secrets.OpPatch, "metadata/k", map[string]any{"custom_metadata": map[string]any{"a": "b"}}}},
		{"metadata delete", op{secrets.OpDelete, "metadata/k", nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			fl := &inFlight{Backend: inmem.New()}
			view := storage.NewView(fl, viewPrefix)
			eng, err := kv.Factory(ctx, secrets.Config{Type: "kv", Options: map[string]string{"version": "2"}, Storage: view, Now: (&clock{t: t0}).Now})
			if err != nil {
				t.Fatal(err)
			}
			do := func(o op) (*secrets.Response, error) {
				return eng.HandleRequest(ctx, &secrets.Request{Operation: o.op, Path: o.path, Data: o.data, Storage: view, MountPoint: "secret/"})
			}
			if _, err := do(op{secrets.OpUpdate, "data/k", map[string]any{"data": map[string]any{"w": "1"}}}); err != nil {
				t.Fatal(err)
			}

			fl.mu.Lock()
			fl.arm = true
			fl.mu.Unlock()
			if _, err := do(tt.a); !errors.Is(err, storage.ErrUnavailable) {
				t.Fatalf("write A = %v, want the in-flight ErrUnavailable", err)
			}
			// B: acknowledged as version 2, with cas 1: it read the state without A.
			resp, err := do(op{secrets.OpUpdate, "data/k", map[string]any{"data": map[string]any{"w": "B"}, "options": map[string]any{"cas": 1}}})
			if err != nil {
				t.Fatalf("write B: %v", err)
			}
			if v := fmt.Sprint(resp.Data["version"]); v != "2" {
				t.Fatalf("write B got version %s, want 2", v)
			}

			if err := fl.land(); !errors.Is(err, storage.ErrConflict) {
				t.Fatalf("A's late entry applied (err %v): it was computed from a state B replaced", err)
			}
			resp, err = do(op{secrets.OpRead, "data/k", nil})
			if err != nil {
				t.Fatalf("read after A landed: %v", err)
			}
			data, _ := resp.Data["data"].(map[string]any)
			md, _ := resp.Data["metadata"].(map[string]any)
			if fmt.Sprint(md["version"]) != "2" || data == nil || data["w"] != "B" {
				t.Fatalf("read after A landed = %v: B's acknowledged version 2 was overwritten", resp.Data)
			}
		})
	}
}
