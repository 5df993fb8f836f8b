package pki

import (
	"context"
	"errors"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

type countingGate struct {
	acquired int
	refuse   error
}

func (g *countingGate) Acquire(context.Context) (func(), error) {
	if g.refuse != nil {
		return nil, g.refuse
	}
	g.acquired++
	return func() {}, nil
}

// Key generation and certificate signing run in the node's CPU pool, and
// a refusal reaches the client as is (api answers 429 with Retry-After).
func TestKeygenAndSigningUseTheCPUGate(t *testing.T) {
	h := newHarness(t)
	g := &countingGate{}
	ctx := secrets.WithCPUGate(context.Background(), g)
	do := func(path string, data map[string]any) error {
		_, err := h.e.HandleRequest(ctx, &secrets.Request{Operation: secrets.OpUpdate, Path: path, Data: data, Storage: h.s, MountPoint: "pki/", ClientToken: "test-token"})
		return err
	}
	if err := do("root/generate/internal", map[string]any{"common_name": "example.com", "key_type": "ec", "key_bits": 256}); err != nil {
		t.Fatal(err)
	}
	if err := do("roles/web", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true, "key_type": "ec", "key_bits": 256}); err != nil {
		t.Fatal(err)
	}
	before := g.acquired
	if err := do("issue/web", map[string]any{"common_name": "a.example.com"}); err != nil {
		t.Fatal(err)
	}
	if g.acquired-before != 2 { // the leaf's key, then its signature
		t.Fatalf("issue took %d gate slots, want 2", g.acquired-before)
	}
	busy := errors.New("busy")
	g.refuse = busy
	if err := do("issue/web", map[string]any{"common_name": "b.example.com"}); !errors.Is(err, busy) {
		t.Fatalf("issue with a refusing gate: %v", err)
	}
}
