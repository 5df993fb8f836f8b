package clusterops

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

func TestHA_StatusMergesPeersAndRecords(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := NewHA(HAConfig{
		NodeID: "n1", ClusterAddr: "https://127.0.0.1:8201", Version: "1.2.3",
		Peers: func(context.Context) ([]Peer, error) {
			return []Peer{{ID: "n1", Address: "127.0.0.1:8201", Voter: true, Leader: true}, {ID: "n2", Address: "127.0.0.2:8201"}}, nil
		},
		NodeRecords: func(context.Context) ([]NodeAddrs, error) {
			return []NodeAddrs{{NodeID: "n1", APIAddr: "http://127.0.0.1:8200", ClusterAddr: "https://127.0.0.1:8201"}, {NodeID: "n2", Version: "1.2.2"}}, nil
		},
		IsLeader: func() bool { return true }, IsActive: func() bool { return true },
		LeaderChanges: func() uint64 { return 3 },
		Now:           func() time.Time { return now },
	})
	data, err := h.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	nodes := data["nodes"].([]map[string]any)
	if len(nodes) != 2 {
		t.Fatalf("nodes %v", nodes)
	}
	if nodes[0]["active_node"] != true || nodes[0]["api_address"] != "http://127.0.0.1:8200" || nodes[0]["last_echo"] != now.Format(time.RFC3339Nano) {
		t.Errorf("self: %v", nodes[0])
	}
	if nodes[0]["version"] != "1.2.3" || nodes[1]["version"] != "1.2.2" {
		t.Errorf("versions: %v, %v", nodes[0]["version"], nodes[1]["version"])
	}
	if nodes[1]["active_node"] != false || nodes[1]["cluster_address"] != "https://127.0.0.2:8201" || nodes[1]["last_echo"] != nil || nodes[1]["voter"] != false {
		t.Errorf("peer without a record: %v", nodes[1])
	}
	if data["leader_changes"] != uint64(3) {
		t.Errorf("data %v", data)
	}
}

func TestHA_StandaloneListsItself(t *testing.T) {
	h := NewHA(HAConfig{
		NodeID: "solo", ClusterAddr: "https://127.0.0.1:8201",
		NodeRecords: func(context.Context) ([]NodeAddrs, error) { return nil, nil },
		IsLeader:    func() bool { return true }, IsActive: func() bool { return false },
	})
	data, err := h.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	nodes := data["nodes"].([]map[string]any)
	if len(nodes) != 1 || nodes[0]["raft_address"] != "127.0.0.1:8201" || nodes[0]["active_node"] != false {
		t.Errorf("nodes %v", nodes)
	}
	if err := h.StepDown(context.Background()); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Errorf("step-down without raft: %v", err)
	}
}

func TestHA_StepDownRetriesWhileLeader(t *testing.T) {
	calls, stepped := 0, 0
	leader := true
	h := NewHA(HAConfig{
		NodeID: "n1",
		TransferLeadership: func(context.Context) error {
			calls++
			if calls < 2 {
				return errors.New("EOF")
			}
			leader = false
			return nil
		},
		IsLeader: func() bool { return leader }, IsActive: func() bool { return leader },
		Stepped: func() { stepped++ },
	})
	if err := h.StepDown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls != 2 || stepped != 1 {
		t.Errorf("calls %d, stepped %d", calls, stepped)
	}
	failing := NewHA(HAConfig{
		TransferLeadership: func(context.Context) error { return errors.New("no peer") },
		IsLeader:           func() bool { return true },
		Stepped:            func() { t.Error("stepped after a failed transfer") },
	})
	if err := failing.StepDown(context.Background()); err == nil {
		t.Error("a transfer that always fails while leading: no error")
	}
}
