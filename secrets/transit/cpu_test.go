package transit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

type refusingGate struct{ calls int }

var errBusy = errors.New("busy")

func (g *refusingGate) Acquire(context.Context) (func(), error) {
	g.calls++
	return nil, errBusy
}

// Key generation, rotation and signing take a slot of the node's CPU
// gate; cheap operations (reads, encryption) do not.
func TestCPUHeavyOperationsUseTheGate(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/ec", map[string]any{"type": "ecdsa-p256"})
	g := &refusingGate{}
	ctx := secrets.WithCPUGate(context.Background(), g)
	do := func(op secrets.Operation, path string, data map[string]any) error {
		_, err := f.eng.HandleRequest(ctx, &secrets.Request{Operation: op, Path: path, Data: data, Storage: f.view, MountPoint: "transit/"})
		return err
	}
	for _, c := range []struct {
		op   secrets.Operation
		path string
		data map[string]any
	}{
		{secrets.OpCreate, "keys/k2", map[string]any{"type": "ecdsa-p384"}},
		{secrets.OpUpdate, "keys/ec/rotate", nil},
		{secrets.OpUpdate, "sign/ec", map[string]any{"input": b64("x")}},
	} {
		if err := do(c.op, c.path, c.data); !errors.Is(err, errBusy) {
			t.Errorf("%s %s: %v, want the gate's refusal", c.op, c.path, err)
		}
	}
	if g.calls != 3 {
		t.Fatalf("gate called %d times, want 3", g.calls)
	}
	if err := do(secrets.OpRead, "keys/ec", nil); err != nil {
		t.Fatalf("key read went through the gate: %v", err)
	}
}
