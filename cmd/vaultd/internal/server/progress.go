package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/vaultd/vaultd/clusterport"
	"github.com/vaultd/vaultd/core/clusterops"
	"github.com/vaultd/vaultd/raftstore"
)

// Follower progress for autopilot: hashicorp/raft does not tell a leader
// its followers' log indexes, so the leader asks every member for its own
// (raftstore.Store.Progress) over the cluster port (mTLS under the cluster
// CA, the forwarding protocol), at most once per progressRefresh, and
// autopilot compares them with its own to decide health and promotions
// (core/clusterops/autopilot.go). Only cluster members reach the path;
// clients never do.

// progressPath is the cluster-port-only path of a member's progress.
const progressPath = "/vaultd/cluster/progress"

const (
	// progressRefresh: answers younger than this are reused.
	progressRefresh = 500 * time.Millisecond
	// progressTimeout bounds one round of asking the members.
	progressTimeout = time.Second
)

// progressAnswer is the body of a progress answer.
type progressAnswer struct {
	NodeID    string `json:"node_id"`
	LastIndex uint64 `json:"last_index"`
	LastTerm  uint64 `json:"last_term"`
	Applied   uint64 `json:"applied_index"`
}

// serveProgress answers a member's progress (any node, sealed or not: a
// joiner installing the snapshot must be able to say how far it got).
func serveProgress(w http.ResponseWriter, r *http.Request, nodeID string, st *raftstore.Store) {
	if r.Method != http.MethodGet {
		writeErr(w, http.StatusMethodNotAllowed, "progress: GET only")
		return
	}
	li, lt, ap := st.Progress()
	writeJSONResp(w, http.StatusOK, progressAnswer{NodeID: nodeID, LastIndex: li, LastTerm: lt, Applied: ap})
}

// peerProgress asks members for their progress and remembers the answers.
type peerProgress struct {
	client *http.Client
	// local is the leader's own position (raftstore.Store.Progress).
	local func() (lastIndex, lastTerm, applied uint64)

	refresh sync.Mutex // one round at a time
	mu      sync.Mutex
	known   map[string]clusterops.Progress // server ID → latest answer
	lastRun time.Time
}

func newPeerProgress(port *clusterport.Port, st *raftstore.Store) *peerProgress {
	return &peerProgress{client: clusterClient(port), local: st.Progress, known: map[string]clusterops.Progress{}}
}

// fill sets Progress on st's peers when the local node leads, asking the
// members first unless the latest round is recent. A member that does not
// answer keeps its previous answer (with its old time: autopilot treats an
// old answer as no contact).
func (pp *peerProgress) fill(ctx context.Context, st *clusterops.Status) {
	leading := false
	for _, p := range st.Peers {
		if p.Self && p.Leader {
			leading = true
		}
	}
	if !leading {
		pp.mu.Lock()
		clear(pp.known) // a later term starts afresh
		pp.lastRun = time.Time{}
		pp.mu.Unlock()
		return
	}
	pp.ask(ctx, st.Peers)
	pp.mu.Lock()
	defer pp.mu.Unlock()
	ids := map[string]bool{}
	for i := range st.Peers {
		ids[st.Peers[i].ID] = true
		if !st.Peers[i].Self {
			st.Peers[i].Progress = pp.known[st.Peers[i].ID]
		}
	}
	for id := range pp.known {
		if !ids[id] {
			delete(pp.known, id)
		}
	}
}

func (pp *peerProgress) ask(ctx context.Context, peers []clusterops.Peer) {
	if !pp.refresh.TryLock() {
		return // a round is running: use what is known
	}
	defer pp.refresh.Unlock()
	pp.mu.Lock()
	fresh := time.Since(pp.lastRun) < progressRefresh
	pp.mu.Unlock()
	if fresh {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, progressTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range peers {
		if p.Self || p.Address == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			refLast, _, refApplied := pp.local()
			a, err := pp.askOne(ctx, p.Address)
			if err != nil || a.NodeID != p.ID {
				return // unreachable, or another node now answers at that address
			}
			pp.mu.Lock()
			pp.known[p.ID] = clusterops.Progress{Known: true, At: time.Now(), LastIndex: a.LastIndex, LastTerm: a.LastTerm, Applied: a.Applied,
				RefLastIndex: refLast, RefApplied: refApplied}
			pp.mu.Unlock()
		}()
	}
	wg.Wait()
	pp.mu.Lock()
	pp.lastRun = time.Now()
	pp.mu.Unlock()
}

func (pp *peerProgress) askOne(ctx context.Context, addr string) (progressAnswer, error) {
	var a progressAnswer
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+progressPath, nil)
	if err != nil {
		return a, err
	}
	resp, err := pp.client.Do(req)
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return a, fmt.Errorf("progress: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&a); err != nil {
		return a, fmt.Errorf("progress: malformed answer: %w", err)
	}
	return a, nil
}
