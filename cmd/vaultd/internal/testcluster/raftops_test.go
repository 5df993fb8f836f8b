package testcluster_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
	"github.com/vaultd/vaultd/cmd/vaultd/internal/testcluster"
)

func statusOf(err error) int {
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func mustWrite(t *testing.T, cl *vaultapi.Client, path string, data map[string]any) {
	t.Helper()
	if _, err := cl.Logical().Write(path, data); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func kvGet(t *testing.T, cl *vaultapi.Client, path string) string {
	t.Helper()
	s, err := cl.Logical().Read(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if s == nil {
		return ""
	}
	d, _ := s.Data["data"].(map[string]any)
	v, _ := d["v"].(string)
	return v
}

// TestRaftOps_SingleNode drives every sys/storage/raft operator endpoint on
// an in-process one-node cluster through the official client.
func TestRaftOps_SingleNode(t *testing.T) {
	c := testcluster.New(t, 1)
	c.InitAndUnseal(t)
	cl := c.Client(t, 0)
	mustWrite(t, cl, "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	mustWrite(t, cl, "secret/data/a", map[string]any{"data": map[string]any{"v": "one"}})

	t.Run("configuration", func(t *testing.T) {
		s, err := cl.Logical().Read("sys/storage/raft/configuration")
		if err != nil {
			t.Fatal(err)
		}
		cfg := s.Data["config"].(map[string]any)
		servers := cfg["servers"].([]any)
		sv := servers[0].(map[string]any)
		if len(servers) != 1 || sv["node_id"] != "node1" || sv["leader"] != true || sv["voter"] != true ||
			sv["protocol_version"] != "3" || sv["address"] == "" || cfg["index"] == nil {
			t.Fatalf("configuration = %v", s.Data)
		}
	})

	t.Run("remove-peer bad input", func(t *testing.T) {
		for _, tc := range []struct {
			body map[string]any
			want int
		}{
			{map[string]any{}, 400},
			{map[string]any{"server_id": "node1"}, 400}, // the active node itself
			{map[string]any{"server_id": "nope"}, 400},
			{map[string]any{"server_id": 12}, 400},
		} {
			if _, err := cl.Logical().Write("sys/storage/raft/remove-peer", tc.body); statusOf(err) != tc.want {
				t.Errorf("remove-peer %v: err = %v, want %d", tc.body, err, tc.want)
			}
		}
	})

	t.Run("autopilot", func(t *testing.T) {
		st, err := cl.Sys().RaftAutopilotState()
		if err != nil || st == nil {
			t.Fatalf("state: %v, %v", st, err)
		}
		srv := st.Servers["node1"]
		if st.Leader != "node1" || len(st.Voters) != 1 || srv == nil || srv.Status != "leader" || !srv.Healthy || srv.LastIndex == 0 {
			t.Fatalf("state = %s", st)
		}
		ac, err := cl.Sys().RaftAutopilotConfiguration()
		if err != nil || ac.LastContactThreshold != 10*time.Second || ac.DeadServerLastContactThreshold != 24*time.Hour ||
			ac.ServerStabilizationTime != 10*time.Second || ac.MaxTrailingLogs != 1000 || ac.CleanupDeadServers {
			t.Fatalf("default configuration = %+v, %v", ac, err)
		}
		// cleanup without min_quorum is refused; with it, stored behind the barrier.
		if _, err := cl.Logical().Write("sys/storage/raft/autopilot/configuration", map[string]any{"cleanup_dead_servers": true}); statusOf(err) != 400 {
			t.Fatalf("cleanup without min_quorum: %v", err)
		}
		if err := cl.Sys().PutRaftAutopilotConfiguration(&vaultapi.AutopilotConfig{
			CleanupDeadServers: true, MinQuorum: 3, LastContactThreshold: 5 * time.Second,
			DeadServerLastContactThreshold: time.Hour, ServerStabilizationTime: 2 * time.Second, MaxTrailingLogs: 500,
		}); err != nil {
			t.Fatal(err)
		}
		ac, err = cl.Sys().RaftAutopilotConfiguration()
		if err != nil || !ac.CleanupDeadServers || ac.MinQuorum != 3 || ac.LastContactThreshold != 5*time.Second ||
			ac.DeadServerLastContactThreshold != time.Hour || ac.ServerStabilizationTime != 2*time.Second || ac.MaxTrailingLogs != 500 {
			t.Fatalf("updated configuration = %+v, %v", ac, err)
		}
		// A partial update keeps the other fields.
		mustWrite(t, cl, "sys/storage/raft/autopilot/configuration", map[string]any{"max_trailing_logs": 700})
		if ac, err = cl.Sys().RaftAutopilotConfiguration(); err != nil || ac.MaxTrailingLogs != 700 || ac.MinQuorum != 3 {
			t.Fatalf("partial update = %+v, %v", ac, err)
		}
		if _, err := cl.Logical().Write("sys/storage/raft/autopilot/configuration", map[string]any{"last_contact_threshold": "soon"}); statusOf(err) != 400 {
			t.Fatalf("bad duration: %v", err)
		}
	})

	t.Run("acl and sudo", func(t *testing.T) {
		mustWrite(t, cl, "sys/policies/acl/raft-read", map[string]any{"policy": `
path "sys/storage/raft/*" { capabilities = ["read", "update"] }`})
		sec, err := cl.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{"raft-read"}})
		if err != nil {
			t.Fatal(err)
		}
		lim, _ := cl.Clone()
		lim.SetToken(sec.Auth.ClientToken)
		if _, err := lim.Logical().Read("sys/storage/raft/configuration"); err != nil {
			t.Fatalf("configuration without sudo: %v", err)
		}
		var buf bytes.Buffer
		if err := lim.Sys().RaftSnapshot(&buf); statusOf(err) != 403 {
			t.Fatalf("snapshot without sudo: err = %v, want 403", err)
		}
		if _, err := lim.Logical().Write("sys/storage/raft/remove-peer", map[string]any{"server_id": "x"}); statusOf(err) != 403 {
			t.Fatalf("remove-peer without sudo: err = %v, want 403", err)
		}
		anon, _ := cl.Clone()
		anon.SetToken("")
		if _, err := anon.Logical().Read("sys/storage/raft/configuration"); statusOf(err) != 403 {
			t.Fatalf("configuration without a token: err = %v, want 403", err)
		}
	})

	t.Run("snapshot save and restore", func(t *testing.T) {
		var snap bytes.Buffer
		if err := cl.Sys().RaftSnapshot(&snap); err != nil {
			t.Fatalf("save: %v", err)
		}
		if bytes.Contains(snap.Bytes(), []byte("one")) {
			// gzip would hide it anyway; the state inside is ciphertext.
			t.Log("snapshot bytes contain the plaintext marker by chance")
		}
		mustWrite(t, cl, "secret/data/a", map[string]any{"data": map[string]any{"v": "two"}})
		mustWrite(t, cl, "secret/data/b", map[string]any{"data": map[string]any{"v": "later"}})
		if err := cl.Sys().RaftSnapshotRestore(bytes.NewReader(snap.Bytes()), false); err != nil {
			t.Fatalf("restore: %v", err)
		}
		waitFor(t, "the restored data", func() bool {
			s, err := cl.Logical().Read("secret/data/a")
			if err != nil || s == nil {
				return false
			}
			return s.Data["data"].(map[string]any)["v"] == "one"
		})
		if v := kvGet(t, cl, "secret/data/b"); v != "" {
			t.Fatalf("secret/b written after the snapshot still reads %q", v)
		}
		// The node still works and survives a restart with the restored data
		// (the keyring was rewritten after the restore).
		mustWrite(t, cl, "secret/data/c", map[string]any{"data": map[string]any{"v": "after"}})
		c.Stop(0)
		c.Start(t, 0)
		c.Unseal(t, 0)
		c.Active(t)
		waitFor(t, "reads after restart", func() bool {
			s, err := cl.Logical().Read("secret/data/c")
			return err == nil && s != nil
		})
		if kvGet(t, cl, "secret/data/a") != "one" || kvGet(t, cl, "secret/data/c") != "after" {
			t.Fatal("data lost across restart after restore")
		}
		// Garbage is a 400 and changes nothing.
		err := cl.Sys().RaftSnapshotRestore(bytes.NewReader([]byte("not a snapshot")), true)
		if statusOf(err) != 400 {
			t.Fatalf("garbage restore: err = %v, want 400", err)
		}
	})

	t.Run("foreign snapshot", func(t *testing.T) {
		other := testcluster.New(t, 1)
		other.InitAndUnseal(t)
		ocl := other.Client(t, 0)
		mustWrite(t, ocl, "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
		mustWrite(t, ocl, "secret/data/a", map[string]any{"data": map[string]any{"v": "foreign"}})
		var snap bytes.Buffer
		if err := ocl.Sys().RaftSnapshot(&snap); err != nil {
			t.Fatal(err)
		}
		err := cl.Sys().RaftSnapshotRestore(bytes.NewReader(snap.Bytes()), false)
		if statusOf(err) != 400 {
			t.Fatalf("foreign restore without force: err = %v, want 400", err)
		}
		if kvGet(t, cl, "secret/data/a") != "one" {
			t.Fatal("a refused restore changed data")
		}
		// With force it is installed; the node seals itself and opens with
		// the other cluster's keys (and root token).
		if err := cl.Sys().RaftSnapshotRestore(bytes.NewReader(snap.Bytes()), true); err != nil {
			t.Fatalf("forced restore: %v", err)
		}
		waitFor(t, "the node to seal itself", func() bool { return c.Node(0).Core.Sealed() })
		if _, err := cl.Sys().Unseal(c.UnsealKeys()[0]); err == nil || statusOf(err) != http.StatusBadRequest {
			t.Fatalf("unseal with the old key: err = %v, want 400", err)
		}
		if _, err := cl.Sys().Unseal(other.UnsealKeys()[0]); err != nil {
			t.Fatalf("unseal with the snapshot's key: %v", err)
		}
		c.Active(t)
		cl2, _ := cl.Clone()
		cl2.SetToken(other.RootToken())
		waitFor(t, "the foreign data", func() bool {
			s, err := cl2.Logical().Read("secret/data/a")
			return err == nil && s != nil && s.Data["data"].(map[string]any)["v"] == "foreign"
		})
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRaftOps_RestoreBodyLimit: a snapshot larger than the listener's
// max_request_size is refused with 413 and changes nothing.
func TestRaftOps_RestoreBodyLimit(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.WithConfig(func(_ int, cfg *config.Config) {
		cfg.Listeners[0].MaxRequestSize = 1024
	}))
	c.InitAndUnseal(t)
	cl := c.Client(t, 0)
	mustWrite(t, cl, "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	for i := range 4 {
		mustWrite(t, cl, fmt.Sprintf("secret/data/big%d", i), map[string]any{"data": map[string]any{"v": strings.Repeat("x", 700)}})
	}
	var snap bytes.Buffer
	if err := cl.Sys().RaftSnapshot(&snap); err != nil {
		t.Fatal(err)
	}
	if snap.Len() <= 1024 {
		t.Fatalf("snapshot is only %d bytes", snap.Len())
	}
	if err := cl.Sys().RaftSnapshotRestore(bytes.NewReader(snap.Bytes()), false); statusOf(err) != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized restore: err = %v, want 413", err)
	}
	if v := kvGet(t, cl, "secret/data/big3"); len(v) != 700 {
		t.Fatal("data changed by a refused restore")
	}
}
