package testcluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/testcluster"
)

// apServer is one server of sys/storage/raft/autopilot/state.
type apServer struct {
	Healthy      bool
	Status       string
	LastIndex    uint64
	TrailingLogs uint64
}

// autopilotServers reads the autopilot state through the HTTP API.
func autopilotServers(cl *vaultapi.Client) (map[string]apServer, error) {
	s, err := cl.Logical().Read("sys/storage/raft/autopilot/state")
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("no autopilot state")
	}
	servers, _ := s.Data["servers"].(map[string]any)
	out := map[string]apServer{}
	num := func(v any) uint64 {
		n, _ := v.(json.Number).Int64()
		return uint64(n)
	}
	for id, v := range servers {
		m := v.(map[string]any)
		out[id] = apServer{Healthy: m["healthy"] == true, Status: fmt.Sprint(m["status"]),
			LastIndex: num(m["last_index"]), TrailingLogs: num(m["trailing_logs"])}
	}
	return out, nil
}

// TestAutopilot_TrailingFollowerUnhealthy: a standby whose FSM is paused
// keeps answering heartbeats but falls behind; autopilot reports it
// unhealthy with how far it trails once that exceeds max_trailing_logs,
// and healthy again after it has caught up.
func TestAutopilot_TrailingFollowerUnhealthy(t *testing.T) {
	const maxTrailing = 10
	c := testcluster.New(t, 3)
	c.InitAndUnseal(t)
	c.WaitMembers(t)
	act := c.Active(t)
	cl := c.Client(t, act.Index)
	mustWrite(t, cl, "sys/storage/raft/autopilot/configuration", map[string]any{"max_trailing_logs": maxTrailing})
	mustWrite(t, cl, "sys/mounts/kv", map[string]any{"type": "kv"})
	sb := c.Standbys(t)[0]
	waitFor(t, "every server healthy", func() bool {
		srv, err := autopilotServers(cl)
		if err != nil || len(srv) != 3 {
			return false
		}
		for _, s := range srv {
			if !s.Healthy {
				return false
			}
		}
		return true
	})

	resume := sb.Store.PauseApplyForTesting()
	defer resume()
	for i := range 3 * maxTrailing {
		mustWrite(t, cl, fmt.Sprintf("kv/lag-%d", i), map[string]any{"i": i})
	}
	var got apServer
	waitFor(t, "the paused standby to be reported unhealthy", func() bool {
		srv, err := autopilotServers(cl)
		got = srv[sb.ID]
		return err == nil && !got.Healthy && got.TrailingLogs > maxTrailing
	})
	t.Logf("paused %s: %+v", sb.ID, got)
	if other := c.Standbys(t)[1]; other.ID != sb.ID {
		srv, err := autopilotServers(cl)
		if err != nil || !srv[other.ID].Healthy || !srv[act.ID].Healthy {
			t.Fatalf("the other servers should stay healthy: %+v (%v)", srv, err)
		}
	}
	resume()
	waitFor(t, "the standby healthy again after it caught up", func() bool {
		srv, err := autopilotServers(cl)
		return err == nil && srv[sb.ID].Healthy && srv[sb.ID].TrailingLogs <= maxTrailing
	})
}

// TestAutopilot_JoinPromotedOnlyWhenCaughtUp: a node joins a one-node
// cluster that holds a few thousand entries while a writer keeps writing.
// It is a non-voter until it has applied everything written before it
// joined, so the writer never waits on it: writes keep committing during
// the catch-up window, and none fails.
func TestAutopilot_JoinPromotedOnlyWhenCaughtUp(t *testing.T) {
	const preload = 2000
	c := testcluster.New(t, 2)
	c.Stop(1)
	c.InitAndUnseal(t)
	act := c.Active(t)
	cl := c.Client(t, act.Index)
	mustWrite(t, cl, "sys/storage/raft/autopilot/configuration", map[string]any{"max_trailing_logs": 50, "server_stabilization_time": "1s"})
	mustWrite(t, cl, "sys/mounts/kv", map[string]any{"type": "kv"})
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < preload; i += 8 {
				if _, err := cl.Logical().Write(fmt.Sprintf("kv/pre-%d", i), map[string]any{"v": i}); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		t.Fatalf("preload: %v", err)
	}
	preIndex := act.Store.AppliedIndex()

	// The writer: one write at a time, each bounded, until told to stop.
	stop := make(chan struct{})
	var during atomic.Int64
	var writeErr atomic.Value
	writerDone := make(chan struct{})
	wcl := c.Client(t, act.Index)
	wcl.SetClientTimeout(10 * time.Second)
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := wcl.Logical().Write(fmt.Sprintf("kv/during-%d", i), map[string]any{"v": i}); err != nil {
				writeErr.Store(err)
				return
			}
			during.Add(1)
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-writerDone
	}()

	c.Start(t, 1)
	joiner := c.Node(1)
	// Watch from before the join: the first time the leader's
	// configuration lists the joiner as a voter, how much had it applied?
	promotedCh := make(chan uint64, 1)
	watchCtx, stopWatch := context.WithTimeout(context.Background(), time.Minute)
	defer stopWatch()
	go func() {
		for watchCtx.Err() == nil {
			applied := joiner.Store.AppliedIndex()
			if cfg, err := act.Store.Configuration(watchCtx); err == nil {
				for _, s := range cfg {
					if s.ID == joiner.ID && s.Voter {
						promotedCh <- applied
						return
					}
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	c.Unseal(t, 1)
	startWrites := during.Load()
	var appliedAtPromotion uint64
	waitFor(t, "autopilot to promote the joiner", func() bool {
		if err := writeErr.Load(); err != nil {
			t.Fatalf("a write failed while the node joined: %v", err)
		}
		select {
		case appliedAtPromotion = <-promotedCh:
			return true
		default:
			return false
		}
	})
	close(stop)
	<-writerDone
	if err := writeErr.Load(); err != nil {
		t.Fatalf("a write failed while the node joined: %v", err)
	}
	n := during.Load()
	t.Logf("joiner promoted having applied %d (pre-join index %d); %d writes committed, %d since the unseal", appliedAtPromotion, preIndex, n, n-startWrites)
	if appliedAtPromotion < preIndex {
		t.Fatalf("the joiner was a voter while it had applied only %d of the %d entries written before it joined", appliedAtPromotion, preIndex)
	}
	if n < 10 {
		t.Fatalf("only %d writes committed during the join: the writer stalled", n)
	}
	srv, err := autopilotServers(cl)
	if err != nil || srv[joiner.ID].Status != "voter" {
		t.Fatalf("autopilot state after the promotion: %+v (%v)", srv, err)
	}
}
