package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/clusterport"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/raftstore"
)

// Standby reads: the read index travels over the cluster port's
// forwarding protocol (mTLS under the cluster CA, ALPN vaultd-fwd/1), as a
// request that only the cluster port serves; clients never reach it.

// readIndexPath is the cluster-port-only path of the read index.
const readIndexPath = "/vaultd/cluster/read-index"

// readIndexAnswer is the body of a read index answer.
type readIndexAnswer struct {
	Index uint64 `json:"index"`
}

// clusterMux serves the read index on the active node, the node's
// progress (progress.go) on every node, and everything else with the
// forwarded-request handler.
func clusterMux(fwd http.Handler, c *core.Core, st *raftstore.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == progressPath {
			serveProgress(w, r, c.NodeID(), st)
			return
		}
		if r.URL.Path != readIndexPath {
			fwd.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet {
			writeErr(w, http.StatusMethodNotAllowed, "read index: GET only")
			return
		}
		if !c.IsActive() {
			w.Header().Set("Retry-After", "1")
			writeErr(w, http.StatusServiceUnavailable, "read index: this node is not the active node")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		idx, err := st.ReadIndex(ctx)
		if err != nil || !c.IsActive() {
			w.Header().Set("Retry-After", "1")
			writeErr(w, http.StatusServiceUnavailable, "read index: leadership not confirmed")
			return
		}
		writeJSONResp(w, http.StatusOK, readIndexAnswer{Index: idx})
	})
}

// standbyReads is core.ReadIndexer over the cluster port and the local
// raft store.
type standbyReads struct {
	core   *core.Core // set once core exists
	st     *raftstore.Store
	client *http.Client
}

var _ core.ReadIndexer = (*standbyReads)(nil)

func newStandbyReads(st *raftstore.Store, port *clusterport.Port) *standbyReads {
	return &standbyReads{st: st, client: clusterClient(port)}
}

// clusterClient is an HTTP/2 client whose connections are this node's
// mTLS cluster-port dials (prior knowledge: the TLS is the port's), for the
// node-to-node calls of the read index and autopilot's progress.
func clusterClient(port *clusterport.Port) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return port.DialForward(ctx, addr)
		},
		IdleConnTimeout: 90 * time.Second,
		HTTP2:           &http.HTTP2Config{SendPingTimeout: 10 * time.Second, PingTimeout: 3 * time.Second},
	}
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true) // prior knowledge over the mTLS conn
	tr.Protocols = &protos
	return &http.Client{Transport: tr}
}

var errNoReadIndex = errors.New("read index: the active node did not give one")

func (s *standbyReads) ReadIndex(ctx context.Context) (uint64, error) {
	_, clusterAddr, err := s.core.ActiveAddr(ctx)
	if err != nil {
		return 0, err
	}
	if s.core.IsActive() {
		return 0, errNoReadIndex // this node became active: it reads for itself
	}
	host := clusterAddr
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+readIndexPath, nil)
	if err != nil {
		return 0, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errNoReadIndex, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return 0, fmt.Errorf("%w: status %d", errNoReadIndex, resp.StatusCode)
	}
	var a readIndexAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&a); err != nil || a.Index == 0 {
		return 0, fmt.Errorf("%w: malformed answer", errNoReadIndex)
	}
	return a.Index, nil
}

func (s *standbyReads) WaitApplied(ctx context.Context, index uint64) error {
	return s.st.WaitApplied(ctx, index)
}

func (s *standbyReads) AppliedIndex() uint64 { return s.st.AppliedIndex() }

// localReads is forward.Options.Local: the reads a standby tries itself.
func localReads(c *core.Core) func(*http.Request) bool {
	return func(r *http.Request) bool { return c.ServesLocalReads() && api.LocalReadCandidate(r) }
}
