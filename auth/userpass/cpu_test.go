package userpass_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

// gate counts acquisitions and refuses when refuse is set.
type gate struct {
	acquired, released int
	refuse             error
}

func (g *gate) Acquire(context.Context) (func(), error) {
	if g.refuse != nil {
		return nil, g.refuse
	}
	g.acquired++
	return func() { g.released++ }, nil
}

// Every bcrypt call (hashing on user write, comparing on login) runs in a
// slot of the node's CPU gate, and a refusal reaches the client unchanged.
func TestBcryptRunsThroughCPUGate(t *testing.T) {
	f := newFixture(t)
	g := &gate{}
	ctx := secrets.WithCPUGate(context.Background(), g)
	if _, err := f.Eng.HandleRequest(ctx, f.Req(secrets.OpCreate, "users/alice", map[string]any{"password": "pw"}, "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Eng.HandleRequest(ctx, f.Req(secrets.OpUpdate, "login/alice", map[string]any{"password": "pw"}, "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if g.acquired != 2 || g.released != 2 {
		t.Fatalf("gate acquired %d released %d, want 2/2", g.acquired, g.released)
	}
	busy := errors.New("overloaded")
	g.refuse = busy
	_, err := f.Eng.HandleRequest(ctx, f.Req(secrets.OpUpdate, "login/alice", map[string]any{"password": "pw"}, "127.0.0.1"))
	if !errors.Is(err, busy) {
		t.Fatalf("login with a refusing gate: %v, want the refusal", err)
	}
}
