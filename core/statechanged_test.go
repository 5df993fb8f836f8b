package core_test

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/storage/inmem"
)

// TestStateChanged: Config.StateChanged is called after init, unseal,
// becoming active and sealing, so a watcher that reads Status then sees
// the new state.
func TestStateChanged(t *testing.T) {
	var calls atomic.Int64
	c, err := core.New(core.Config{
		Storage: inmem.New(), Cluster: core.NewStandaloneCluster("n1"), Engines: testEngines(),
		Logger: slog.New(slog.DiscardHandler), StateChanged: func() { calls.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := runCore(t, c)

	res, err := c.Init(ctx, core.InitRequest{SecretShares: 1, SecretThreshold: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() == 0 {
		t.Fatal("no StateChanged call after init")
	}
	n := calls.Load()
	if _, err := c.Unseal(ctx, res.Shares[0]); err != nil {
		t.Fatal(err)
	}
	if calls.Load() == n {
		t.Fatal("no StateChanged call after unseal")
	}
	waitFor(t, 10*time.Second, "active", c.IsActive)
	waitFor(t, 10*time.Second, "StateChanged after becoming active", func() bool { return calls.Load() >= n+2 })
	n = calls.Load()
	c.SealNode()
	if calls.Load() == n {
		t.Fatal("no StateChanged call after seal")
	}
	if st := c.Status(ctx); !st.Sealed || st.Active {
		t.Fatalf("status after seal: %+v", st)
	}
}
