package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/vaultd/vaultd/secrets/enginetest"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/replication"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// memTarget is inmem storage as a replication target (no restore: these
// tests never stream).
type memTarget struct{ *inmem.Backend }

func (memTarget) Restore(context.Context, io.Reader) error { return errors.New("not supported") }

// memSource is a source with an empty log.
type memSource struct{}

func (memSource) Changes(from uint64, _ int) ([]replication.Change, uint64, error) {
	return nil, from, nil
}
func (memSource) Applied() uint64 { return 0 }
func (memSource) Snapshot(context.Context) (io.ReadCloser, uint64, error) {
	return nil, 0, errors.New("not supported")
}

// newReplNode is newNode with replication configured over inmem storage.
func newReplNode(t *testing.T) *node {
	t.Helper()
	n := &node{t: t, phys: inmem.New(), clock: enginetest.NewClock(time.Now())}
	c, err := core.New(core.Config{
		Storage: n.phys, Cluster: core.NewStandaloneCluster("n1"), Engines: testEngines(),
		Logger: slog.New(slog.DiscardHandler), Replication: &core.ReplicationConfig{Source: memSource{}, Target: memTarget{n.phys}},
	})
	if err != nil {
		t.Fatal(err)
	}
	n.c = c
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	res, err := c.Init(ctx, core.InitRequest{SecretShares: 1, SecretThreshold: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.root, n.key = res.RootToken, append([]byte(nil), res.Shares[0]...)
	n.unseal()
	return n
}

func setRole(t *testing.T, n *node, role map[string]any) {
	t.Helper()
	b, _ := json.Marshal(role)
	if err := n.phys.Put(context.Background(), &storage.Entry{Key: "replication-local/mode", Value: b}); err != nil {
		t.Fatal(err)
	}
}

// TestReplication_RoleGate: the one role check. A fenced primary refuses
// client writes (reads and sys/replication/ pass); a DR secondary steps
// down, refuses everything with Vault's message, and reports itself in
// the status sys/health uses.
func TestReplication_RoleGate(t *testing.T) {
	n := newReplNode(t)
	ctx := context.Background()
	do := func(op secrets.Operation, path string, data map[string]any) (*core.Response, error) {
		return n.c.HandleRequest(ctx, &core.Request{Operation: op, Path: path, Data: data, ClientToken: n.root})
	}
	if _, err := do(secrets.OpUpdate, "sys/mounts/secret", map[string]any{"type": "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := do(secrets.OpUpdate, "secret/a", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	if st := n.c.ReplicationStatus(ctx, true); st["mode"] != "disabled" {
		t.Fatalf("status without a role: %v", st)
	}

	setRole(t, n, map[string]any{"mode": "primary"})
	waitFor(t, 10*time.Second, "the primary role", func() bool { return n.c.ReplicationMode() == core.ModePrimary })
	for _, id := range []string{"../x", "a/b", ".", "", strings.Repeat("x", 129)} {
		_, err := do(secrets.OpUpdate, "sys/replication/dr/primary/secondary-token", map[string]any{"id": id})
		if !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Fatalf("secondary-token id %q: %v", id, err)
		}
	}
	if _, err := do(secrets.OpUpdate, "secret/a", map[string]any{"v": "1"}); err != nil {
		t.Fatalf("a write on an unfenced primary: %v", err)
	}

	setRole(t, n, map[string]any{"mode": "primary", "fenced_by": 2})
	waitFor(t, 10*time.Second, "the fenced role", func() bool { return n.c.ReplicationRefusal(secrets.OpUpdate, "secret/a") != nil })
	waitFor(t, 10*time.Second, "the fenced role", func() bool { return n.c.ReplicationMode() == core.ModePrimary })
	_, err := do(secrets.OpUpdate, "secret/a", map[string]any{"v": "2"})
	if !errors.Is(err, secrets.ErrInvalidRequest) || !strings.Contains(err.Error(), "demoted") {
		t.Fatalf("a write on a fenced primary: %v", err)
	}
	if r, err := do(secrets.OpRead, "secret/a", nil); err != nil || r.Data["v"] != "1" {
		t.Fatalf("a read on a fenced primary: %v %v", r, err)
	}
	// sys/replication/ passes the gate (the handler answers for itself).
	_, err = do(secrets.OpUpdate, "sys/replication/dr/primary/demote", nil)
	if err == nil || strings.Contains(err.Error(), "this cluster was demoted:") {
		t.Fatalf("sys/replication/ on a fenced primary: %v", err)
	}
	if st := n.c.ReplicationStatus(ctx, true); st["state"] != "demoted" {
		t.Fatalf("fenced status: %v", st)
	}

	setRole(t, n, map[string]any{"mode": "dr-secondary", "secondary_id": "s1", "primary_cluster_addrs": []string{"127.0.0.1:1"}})
	waitFor(t, 10*time.Second, "the DR secondary role", n.c.IsDRSecondary)
	waitFor(t, 10*time.Second, "the node to step down", func() bool { return !n.c.IsActive() })
	for _, op := range []secrets.Operation{secrets.OpRead, secrets.OpUpdate, secrets.OpList} {
		_, err := do(op, "secret/a", map[string]any{"v": "3"})
		if !errors.Is(err, secrets.ErrInvalidRequest) || err.Error() != "path disabled in replication DR secondary mode" {
			t.Fatalf("%v on a DR secondary: %v", op, err)
		}
	}
	if st := n.c.Status(ctx); st.DRMode != "secondary" {
		t.Fatalf("Status().DRMode = %q", st.DRMode)
	}
	st := n.c.ReplicationStatus(ctx, false)
	if dr, _ := st["dr"].(map[string]any); dr["mode"] != "secondary" || dr["secondary_id"] != "s1" {
		t.Fatalf("replication status: %v", st)
	}
	// The promotion endpoints need an operation token.
	_, err = n.c.HandleReplication(ctx, &core.ReplicationRequest{Operation: secrets.OpUpdate, Path: "sys/replication/dr/secondary/promote", Data: map[string]any{"dr_operation_token": "hvs.guess"}})
	if !errors.Is(err, secrets.ErrPermissionDenied) {
		t.Fatalf("promote with a guessed token: %v", err)
	}
	_, err = n.c.HandleReplication(ctx, &core.ReplicationRequest{Operation: secrets.OpUpdate, Path: "sys/replication/dr/secondary/promote", Data: map[string]any{}})
	if !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("promote without a token: %v", err)
	}
}

// FuzzActivationPayload: whatever an unwrap answers, parsing it never
// panics, and a payload it accepts names an ID, a token, TLS material and
// an address.
func FuzzActivationPayload(f *testing.F) {
	f.Add(`{"secondary_id":"a","token":"t","tls_material":"eA==","primary_cluster_addrs":["h:1"],"primary_api_addr":"http://h"}`)
	f.Add(`{"secondary_id":1,"token":null}`)
	f.Add(`{"primary_cluster_addrs":"x"}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, in string) {
		var d map[string]any
		if json.Unmarshal([]byte(in), &d) != nil {
			return
		}
		err := core.ParseActivationForTest(d)
		if err == nil {
			for _, k := range []string{"secondary_id", "token", "tls_material"} {
				if s, _ := d[k].(string); s == "" {
					t.Fatalf("accepted without %s: %s", k, in)
				}
			}
		} else if !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Fatalf("error of the wrong kind: %v", err)
		}
	})
}
