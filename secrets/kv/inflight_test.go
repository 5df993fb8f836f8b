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
	// landFirst: the held entry lands just before the next Txn applies
	// (raft orders it first), after that Txn's writer read the state.
	landFirst bool
	txns      int // Txns that reached the backend
}

func (f *inFlight) Txn(ctx context.Context, ops []storage.Op) error {
	f.mu.Lock()
	f.txns++
	if f.arm {
		f.arm, f.held = false, ops
		f.mu.Unlock()
		return fmt.Errorf("test: entry in flight, outcome unknown: %w", storage.ErrUnavailable)
	}
	if f.landFirst {
		f.landFirst = false
		held := f.held
		f.held = nil
		if err := f.Backend.Txn(ctx, held); err != nil {
			f.mu.Unlock()
			return fmt.Errorf("test: the held entry did not apply: %w", err)
		}
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

// TestV2_ConflictingWriteIsRedone: write A is in flight (its client got
// "unknown"); write B reads the metadata without A, and A's entry lands
// just before B's applies. B's precondition fails, nothing of B is
// written, and KV runs B again from a fresh read: A keeps version 2, B
// gets version 3, and the client sees only B's success. With cas 1, B's
// rerun answers Vault's check-and-set mismatch instead.
func TestV2_ConflictingWriteIsRedone(t *testing.T) {
	for _, withCAS := range []bool{false, true} {
		t.Run(fmt.Sprint("cas=", withCAS), func(t *testing.T) {
			ctx := context.Background()
			fl := &inFlight{Backend: inmem.New()}
			view := storage.NewView(fl, viewPrefix)
			eng, err := kv.Factory(ctx, secrets.Config{Type: "kv", Options: map[string]string{"version": "2"}, Storage: view, Now: (&clock{t: t0}).Now})
			if err != nil {
				t.Fatal(err)
			}
			write := func(w string, opts map[string]any) (*secrets.Response, error) {
				data := map[string]any{"data": map[string]any{"w": w}}
				if opts != nil {
					data["options"] = opts
				}
				return eng.HandleRequest(ctx, &secrets.Request{Operation: secrets.OpUpdate, Path: "data/k", Data: data, Storage: view, MountPoint: "secret/"})
			}
			read := func(v int) string {
				resp, err := eng.HandleRequest(ctx, &secrets.Request{Operation: secrets.OpRead, Path: "data/k", Data: map[string]any{"version": v}, Storage: view, MountPoint: "secret/"})
				if err != nil {
					t.Fatalf("read version %d: %v", v, err)
				}
				data, _ := resp.Data["data"].(map[string]any)
				return fmt.Sprint(data["w"])
			}
			if _, err := write("1", nil); err != nil {
				t.Fatal(err)
			}
			fl.mu.Lock()
			fl.arm = true
			fl.mu.Unlock()
			if _, err := write("A", nil); !errors.Is(err, storage.ErrUnavailable) {
				t.Fatalf("write A = %v, want the in-flight ErrUnavailable", err)
			}
			fl.mu.Lock()
			fl.landFirst, fl.txns = true, 0
			fl.mu.Unlock()

			var opts map[string]any
			if withCAS {
				opts = map[string]any{"cas": 1}
			}
			resp, err := write("B", opts)
			fl.mu.Lock()
			txns := fl.txns
			fl.mu.Unlock()
			if txns != 2 && !withCAS || withCAS && txns != 1 {
				t.Errorf("B reached storage %d times", txns)
			}
			if read(2) != "A" {
				t.Fatalf("version 2 = %q, want A's entry that landed", read(2))
			}
			if withCAS {
				if !errors.Is(err, secrets.ErrCASMismatch) {
					t.Fatalf("B with cas 1 after A took version 2: %v, want a cas mismatch", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("write B: %v", err)
			}
			if v := fmt.Sprint(resp.Data["version"]); v != "3" || read(3) != "B" {
				t.Fatalf("B got version %s (data %q), want 3 holding B", v, read(3))
			}
		})
	}
}
