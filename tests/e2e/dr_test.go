package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// autoSnapStatus reads sys/storage/raft/snapshot-auto/status/name.
func autoSnapStatus(t *testing.T, c *vaultapi.Client, name string) map[string]any {
	t.Helper()
	s, err := c.Logical().Read("sys/storage/raft/snapshot-auto/status/" + name)
	if err != nil || s == nil {
		return nil
	}
	return s.Data
}

// postSnapshotInit posts body to a node's sys/storage/raft/snapshot-init
// without a token and returns the status code and body.
func postSnapshotInit(t *testing.T, addr string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(addr+"/v1/sys/storage/raft/snapshot-init", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// TestDR_AutoSnapshotsAndRestoreIntoEmptyCluster (issue 16, items 1 and 2):
// a three-node cluster takes automated snapshots; a step-down hands the
// schedule to the new active node; the CLI inspects and verifies a
// snapshot file offline; then the whole cluster is lost, and three brand
// new nodes are rebuilt from that file and the old unseal key, without
// operator init: the old secrets and the old root token work.
func TestDR_AutoSnapshotsAndRestoreIntoEmptyCluster(t *testing.T) {
	nodes, key, root := raftCluster(t, 3)
	act := activeOf(t, nodes, -1)
	if act < 0 {
		t.Fatal("no active node")
	}
	ca := newClient(t, nodes[act].addr, root)
	if _, err := ca.Logical().Write("sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	kvPut(t, ca, "a", "first")
	child, err := ca.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{"default"}, TTL: "24h"})
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "snapshots")
	cfgPath := "sys/storage/raft/snapshot-auto/config/every-second"
	// Only local storage exists: another type is a clear 400.
	if _, err := ca.Logical().Write(cfgPath, map[string]any{"interval": "1s", "path_prefix": dir, "storage_type": "aws-s3"}); !isStatus(err, 400) || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("aws-s3: err = %v, want 400", err)
	}
	// A token without sudo may not point the server at a directory.
	if err := ca.Sys().PutPolicy("snap-rw", `path "sys/storage/raft/snapshot-auto/*" { capabilities = ["create", "update", "read", "list"] }`); err != nil {
		t.Fatal(err)
	}
	nosudo, err := ca.Auth().Token().Create(&vaultapi.TokenCreateRequest{Policies: []string{"snap-rw"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t, nodes[act].addr, nosudo.Auth.ClientToken).Logical().Write(cfgPath, map[string]any{"interval": "1s", "path_prefix": dir, "storage_type": "local"}); !isStatus(err, 403) {
		t.Fatalf("config without sudo: err = %v, want 403", err)
	}
	// The configuration is written with the CLI, as an operator would.
	if _, err := runCLI(t, nodes[act].addr, root, "write", cfgPath, "interval=1s", "path_prefix="+dir, "storage_type=local", "retain=2", "file_prefix=dr"); err != nil {
		t.Fatalf("vaultd write %s: %v", cfgPath, err)
	}
	if out, err := runCLI(t, nodes[act].addr, root, "read", "-format=json", cfgPath); err != nil || !strings.Contains(out, `"retain": 2`) || !strings.Contains(out, `"interval": 1`) {
		t.Fatalf("vaultd read %s: %q %v", cfgPath, out, err)
	}
	l, err := ca.Logical().List("sys/storage/raft/snapshot-auto/config")
	if err != nil || l == nil || fmt.Sprint(l.Data["keys"]) != "[every-second]" {
		t.Fatalf("list: %v %v", l, err)
	}
	waitFor(t, 30*time.Second, "a first automated snapshot", func() bool {
		st := autoSnapStatus(t, ca, "every-second")
		return st != nil && st["last_snapshot_path"] != "" && st["last_attempt_node"] == nodes[act].id
	})

	// Step down: the new active node takes the schedule over.
	if err := ca.Sys().StepDown(); err != nil {
		t.Fatal(err)
	}
	var na int
	waitFor(t, 30*time.Second, "a new active node", func() bool {
		na = activeOf(t, nodes, act)
		return na >= 0
	})
	cn := newClient(t, nodes[na].addr, root)
	kvPut(t, cn, "b", "second")
	wrote := time.Now()
	var st map[string]any
	waitFor(t, 30*time.Second, "a snapshot by the new active node after the write", func() bool {
		st = autoSnapStatus(t, cn, "every-second")
		if st == nil || st["last_attempt_node"] != nodes[na].id || st["last_snapshot_error"] != "" {
			return false
		}
		ts, err := time.Parse(time.RFC3339Nano, st["last_snapshot_start"].(string))
		return err == nil && ts.After(wrote)
	})
	// Stop the schedule, then look at the directory: retain 2, no
	// temporary files, and the status names the newest file.
	if _, err := cn.Logical().Delete(cfgPath); err != nil {
		t.Fatal(err)
	}
	if s, err := cn.Logical().Read(cfgPath); err != nil || s != nil {
		t.Fatalf("config after delete: %v %v", s, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var snaps []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".snap") && strings.HasPrefix(e.Name(), "dr-") {
			snaps = append(snaps, e.Name())
		}
	}
	if len(snaps) < 1 || len(snaps) > 3 { // retain 2, plus one racing the delete at most
		t.Fatalf("snapshot files: %v", snaps)
	}
	file := st["last_snapshot_path"].(string)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot file mode %v", fi.Mode())
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(root)) || bytes.Contains(raw, []byte(key)) || bytes.Contains(raw, []byte("second")) {
		t.Fatal("the snapshot file holds the root token, the unseal key or a secret in the clear")
	}

	// Offline inspection with the CLI: no server, no token.
	out, err := runCLI(t, "http://127.0.0.1:1", "", "operator", "raft", "snapshot", "inspect", "-format=json", file)
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	var ins struct {
		Index, Term, Keys uint64
		Size              int64
		Verified          bool
	}
	if err := json.Unmarshal([]byte(out), &ins); err != nil {
		t.Fatalf("inspect output %q: %v", out, err)
	}
	if !ins.Verified || ins.Keys < 10 || ins.Index == 0 || ins.Term == 0 || ins.Size != fi.Size() {
		t.Fatalf("inspect: %+v (file %d bytes)", ins, fi.Size())
	}
	if fmt.Sprint(st["last_snapshot_index"]) != fmt.Sprint(ins.Index) || fmt.Sprint(st["last_snapshot_size"]) != fmt.Sprint(ins.Size) {
		t.Fatalf("status %v vs inspect %+v", st, ins)
	}
	table, err := runCLI(t, "http://127.0.0.1:1", "", "operator", "raft", "snapshot", "inspect", file)
	if err != nil || !strings.Contains(table, "verified") || !strings.Contains(table, "Keys") {
		t.Fatalf("inspect table: %q %v", table, err)
	}
	bad := bytes.Clone(raw)
	bad[len(bad)/2] ^= 0x20
	badFile := filepath.Join(t.TempDir(), "bad.snap")
	if err := os.WriteFile(badFile, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "http://127.0.0.1:1", "", "operator", "raft", "snapshot", "inspect", badFile); err == nil {
		t.Fatal("inspect accepted a damaged file")
	}

	// snapshot-init is refused on an initialised node.
	if code, body := postSnapshotInit(t, nodes[na].addr, raw); code != 400 || !strings.Contains(body, "already initialized") {
		t.Fatalf("snapshot-init on an initialised node: %d %s", code, body)
	}

	// Lose the whole cluster.
	for _, n := range nodes {
		n.p.Kill()
	}

	// Three brand new nodes: node1 empty, node2 and node3 retry_join it.
	api, cl := make([]int, 3), make([]int, 3)
	for i := range api {
		api[i], cl[i] = freePort(t), freePort(t)
	}
	var fresh []*clusterNode
	for i := 0; i < 3; i++ {
		var joins []string
		if i > 0 {
			joins = []string{fmt.Sprintf("http://127.0.0.1:%d", api[0])}
		}
		fresh = append(fresh, startNode(t, fmt.Sprintf("new%d", i+1), api[i], cl[i], joins))
	}
	// A node configured to join a cluster refuses; so does a damaged file.
	if code, body := postSnapshotInit(t, fresh[1].addr, raw); code != 400 || !strings.Contains(body, "retry_join") {
		t.Fatalf("snapshot-init on a retry_join node: %d %s", code, body)
	}
	if code, _ := postSnapshotInit(t, fresh[0].addr, bad); code != 400 {
		t.Fatalf("snapshot-init of a damaged file: %d", code)
	}
	if st, err := newClient(t, fresh[0].addr, "").Sys().SealStatus(); err != nil || st.Initialized {
		t.Fatalf("after refused restores the node must still be empty: %+v %v", st, err)
	}
	// The CLI restores into the empty node: it is initialised and sealed.
	if out, err := runCLI(t, fresh[0].addr, "", "operator", "raft", "snapshot", "restore", "-init", file); err != nil || !strings.Contains(out, "unseal") {
		t.Fatalf("restore -init: %q %v", out, err)
	}
	c1 := newClient(t, fresh[0].addr, "")
	if st, err := c1.Sys().SealStatus(); err != nil || !st.Initialized || !st.Sealed || st.T != 1 {
		t.Fatalf("after restore -init: %+v %v", st, err)
	}
	if code, _ := postSnapshotInit(t, fresh[0].addr, raw); code != 400 {
		t.Fatalf("a second snapshot-init: %d, want 400", code)
	}
	// A wrong key does not open it; the old one does.
	if _, err := c1.Sys().Unseal("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="); err == nil {
		t.Fatal("a wrong key was accepted by the restored node")
	}
	if st, err := c1.Sys().SealStatus(); err != nil || !st.Sealed {
		t.Fatalf("after a wrong key: %+v %v", st, err)
	}
	unsealWith(t, c1, []string{key})
	unsealJoiners(t, fresh[1:], []string{key}, 1, 1)
	waitFor(t, 30*time.Second, "three voters in the rebuilt cluster", func() bool {
		return len(voters(t, newClient(t, fresh[0].addr, root))) == 3
	})
	// The old root token and child token work, and the data is there,
	// read through each node.
	for _, n := range fresh {
		c := newClient(t, n.addr, root)
		for k, want := range map[string]string{"a": "first", "b": "second"} {
			waitFor(t, 20*time.Second, "secret "+k+" on "+n.id, func() bool {
				v, err := kvValue(c, k)
				return err == nil && v == want
			})
		}
	}
	if s, err := newClient(t, fresh[2].addr, child.Auth.ClientToken).Auth().Token().LookupSelf(); err != nil || s == nil {
		t.Fatalf("the old child token: %v", err)
	}
	kvPut(t, newClient(t, fresh[1].addr, root), "c", "after the rebuild")
}
