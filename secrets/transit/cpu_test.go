package transit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vaultd/vaultd/admission"

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
		_, err := f.Eng.HandleRequest(ctx, &secrets.Request{Operation: op, Path: path, Data: data, Storage: f.View, MountPoint: "transit/"})
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

// RSA encryption, decryption, rewrap and data keys take a slot of the
// node's CPU pool: with the pool saturated they are refused with the
// pool's 429 kind of refusal (a *admission.Rejection that is not
// Unavailable), while the same operations on an AEAD key do not queue.
func TestRSAEncryptionUsesTheCPUPool(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/r", map[string]any{"type": "rsa-2048"})
	f.must(secrets.OpUpdate, "keys/a", nil)
	ct := func(key string) string {
		return f.must(secrets.OpUpdate, "encrypt/"+key, map[string]any{"plaintext": b64("x")})["ciphertext"].(string)
	}
	rsaCT, aeadCT := ct("r"), ct("a")

	pool := admission.NewPool(admission.PoolConfig{Size: 1, Queue: 1, MaxWait: time.Millisecond})
	hold, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	held := true
	defer func() {
		if held {
			hold()
		}
	}()
	ctx := secrets.WithCPUGate(context.Background(), pool)
	do := func(path string, data map[string]any) error {
		_, err := f.Eng.HandleRequest(ctx, &secrets.Request{Operation: secrets.OpUpdate, Path: path, Data: data, Storage: f.View, MountPoint: "transit/"})
		return err
	}
	for _, c := range []struct {
		path string
		data map[string]any
	}{
		{"encrypt/r", map[string]any{"plaintext": b64("x")}},
		{"encrypt/r", map[string]any{"batch_input": []any{map[string]any{"plaintext": b64("x")}}}},
		{"decrypt/r", map[string]any{"ciphertext": rsaCT}},
		{"rewrap/r", map[string]any{"ciphertext": rsaCT}},
		{"datakey/plaintext/r", nil},
		{"datakey/wrapped/r", nil},
	} {
		err := do(c.path, c.data)
		var rej *admission.Rejection
		if !errors.As(err, &rej) || rej.Unavailable {
			t.Errorf("%s with the CPU pool saturated: %v, want the pool's 429 refusal", c.path, err)
		}
	}
	for _, c := range []struct {
		path string
		data map[string]any
	}{
		{"encrypt/a", map[string]any{"plaintext": b64("x")}},
		{"decrypt/a", map[string]any{"ciphertext": aeadCT}},
		{"rewrap/a", map[string]any{"ciphertext": aeadCT}},
		{"datakey/wrapped/a", nil},
	} {
		if err := do(c.path, c.data); err != nil {
			t.Errorf("%s (AEAD key) queued behind the CPU pool: %v", c.path, err)
		}
	}
	hold()
	held = false
	if err := do("decrypt/r", map[string]any{"ciphertext": rsaCT}); err != nil {
		t.Fatalf("decrypt/r with the pool free: %v", err)
	}
}
