package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/api/forward"
	"github.com/vaultd/vaultd/clusterport"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/raftstore"
	"github.com/vaultd/vaultd/replication"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/telemetry"
)

// The composition root's side of cross-cluster DR replication
// (core/replication.go, docs/replication.md): raftstore adapted to the
// stream's Source and Target, the cluster port's replication ALPN, the
// activation token's redemption at the primary, and the node-local
// replication routes.

// replSource adapts the raft store to replication.Source.
type replSource struct{ st *raftstore.Store }

func (a replSource) Changes(from uint64, limit int) ([]replication.Change, uint64, error) {
	cs, next, err := a.st.Changes(from, limit)
	if errors.Is(err, raftstore.ErrCompacted) {
		return nil, from, fmt.Errorf("%w: %v", replication.ErrCompacted, err)
	}
	out := make([]replication.Change, len(cs))
	for i, c := range cs {
		out[i] = replication.Change{Index: c.Index, Ops: c.Ops}
	}
	return out, next, err
}

func (a replSource) Applied() uint64 { applied, _ := a.st.Indexes(); return applied }

func (a replSource) Snapshot(ctx context.Context) (io.ReadCloser, uint64, error) {
	var buf bytes.Buffer
	if err := a.st.SaveSnapshot(ctx, &buf); err != nil {
		return nil, 0, err
	}
	info, err := raftstore.InspectSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, 0, err
	}
	return io.NopCloser(&buf), info.Index, nil
}

// replTarget adapts the raft store to replication.Target.
type replTarget struct{ *raftstore.Store }

func (t replTarget) Restore(ctx context.Context, r io.Reader) error { return t.RestoreSnapshot(ctx, r) }

// replicationConfig is core.Config.Replication (nil without raft).
func (n *Node) replicationConfig() *core.ReplicationConfig {
	if n.Store == nil || n.Port == nil {
		return nil
	}
	port := n.Port
	return &core.ReplicationConfig{
		Source: replSource{n.Store},
		Target: replTarget{n.Store},
		Serve:  port.SetReplicationHandler,
		Dial: func(ctx context.Context, addr string, m *clusterport.Material) (net.Conn, error) {
			return port.DialReplication(ctx, addr, m)
		},
		IssuePeer: clusterport.IssueReplicationPeer,
		Unwrap:    unwrapAt,
		SpoolDir:  n.dataDir,
	}
}

// unwrapAt redeems a wrapping token at a Vault-compatible API address.
func unwrapAt(ctx context.Context, apiAddr, token, caFile, caPath string) (map[string]any, error) {
	u := strings.TrimSuffix(apiAddr, "/")
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		u = "https://" + u
	}
	tr, err := primaryTransport(caFile, caPath)
	if err != nil {
		return nil, err
	}
	cl := &http.Client{Transport: tr, Timeout: 15 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u+"/v1/sys/wrapping/unwrap", strings.NewReader("{}"))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Vault-Token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := cl.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Errors []string `json:"errors"`
		}
		_ = json.Unmarshal(body, &e)
		return nil, fmt.Errorf("the primary answered %d: %s", resp.StatusCode, strings.Join(e.Errors, "; "))
	}
	var out struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("the primary's answer: %w", err)
	}
	return out.Data, nil
}

// primaryTransport is an HTTP transport to a primary's API, verifying its
// certificate with caFile and the files in caPath (neither: the system
// roots).
func primaryTransport(caFile, caPath string) (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if caFile == "" && caPath == "" {
		return tr, nil
	}
	pool := x509.NewCertPool()
	files := []string{}
	if caFile != "" {
		files = append(files, caFile)
	}
	if caPath != "" {
		ents, err := os.ReadDir(caPath)
		if err != nil {
			return nil, fmt.Errorf("ca_path: %w", err)
		}
		for _, e := range ents {
			if !e.IsDir() {
				files = append(files, filepath.Join(caPath, e.Name()))
			}
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading a CA file: %w", err)
		}
		pool.AppendCertsFromPEM(b)
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return tr, nil
}

// replActive is the forwarder's view of who serves the replication
// endpoints: the active node, or a DR secondary's raft leader.
type replActive struct{ c *core.Core }

func (a replActive) IsActive() bool { return a.c.ReplicationActive() }
func (a replActive) ActiveAddr(ctx context.Context) (string, string, error) {
	return a.c.ReplicationActiveAddr(ctx)
}

// leaderForwarder forwards to the node that serves the cluster's
// replication endpoints and joins: the active node, or a DR secondary's
// leader (replActive). On a cluster that is not a DR secondary it is the
// standby forwarder.
func (n *Node) leaderForwarder(c *core.Core, q *telemetry.Requests) *forward.Forwarder {
	if n.Port == nil {
		return nil
	}
	return forward.New(replActive{c}, n.Port.DialForward, c.NodeID(), n.log, forward.Options{Observe: q.ObserveForward, RequestID: api.RequestID})
}

// replicationRoutes are the node-local replication endpoints (declared in
// core/nodelocal.go): the status on every node; promote, update-primary
// and the operation-token ceremony forwarded to the leader.
func (n *Node) replicationRoutes(c *core.Core, fwd *forward.Forwarder) []api.Route {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.handleReplication(w, r, c) })
	var leader http.Handler = h
	if fwd != nil {
		leader = fwd.Wrap(h)
	}
	var rs []api.Route
	add := func(path string, h http.Handler, methods ...string) {
		for _, m := range methods {
			rs = append(rs, api.Route{Method: m, Path: path, Handler: h})
		}
	}
	add("/sys/replication/status", h, http.MethodGet)
	add("/sys/replication/dr/status", h, http.MethodGet)
	add("/sys/replication/performance/status", h, http.MethodGet)
	add("/sys/replication/dr/secondary/promote", leader, http.MethodPost, http.MethodPut)
	add("/sys/replication/dr/secondary/update-primary", leader, http.MethodPost, http.MethodPut)
	add("/sys/replication/dr/secondary/generate-operation-token/attempt", leader, http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete)
	add("/sys/replication/dr/secondary/generate-operation-token/update", leader, http.MethodPost, http.MethodPut)
	return rs
}

func (n *Node) handleReplication(w http.ResponseWriter, r *http.Request, c *core.Core) {
	op := secrets.OpUpdate
	switch r.Method {
	case http.MethodGet:
		op = secrets.OpRead
	case http.MethodDelete:
		op = secrets.OpDelete
	}
	data := map[string]any{}
	if r.Method != http.MethodGet {
		if err := decodeJSON(r, &data); err != nil {
			writeErr(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
			return
		}
		if data == nil {
			data = map[string]any{}
		}
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	resp, err := c.HandleReplication(r.Context(), &core.ReplicationRequest{Operation: op, Path: path, Data: data})
	switch {
	case err == nil:
	case errors.Is(err, secrets.ErrPermissionDenied):
		writeErr(w, http.StatusForbidden, "permission denied")
		return
	case errors.Is(err, secrets.ErrUnsupportedPath):
		writeErr(w, http.StatusNotFound, err.Error())
		return
	case errors.Is(err, secrets.ErrUnsupportedOperation):
		writeErr(w, http.StatusMethodNotAllowed, err.Error())
		return
	default:
		clusterErr(w, n.log, err)
		return
	}
	switch {
	case resp.Raw != nil:
		writeJSONResp(w, http.StatusOK, resp.Raw)
	case resp.Data != nil || len(resp.Warnings) > 0:
		writeJSONResp(w, http.StatusOK, map[string]any{
			"request_id": api.RequestID(r.Context()), "lease_id": "", "renewable": false, "lease_duration": 0,
			"data": resp.Data, "wrap_info": nil, "warnings": resp.Warnings, "auth": nil,
		})
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// drGate wraps the generic handler: a DR secondary refuses every client
// request locally (core.ReplicationRefusal), before a standby would
// forward it, but the raft operator endpoints it serves with a DR
// operation token (core.IsDRRaftPath), which go to drRaft.
func drGate(c *core.Core, drRaft, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.IsDRSecondary() && !c.Sealed() {
			if drRaft != nil && core.IsDRRaftPath(strings.TrimPrefix(r.URL.Path, "/v1/")) {
				drRaft.ServeHTTP(w, r)
				return
			}
			writeErr(w, http.StatusBadRequest, core.ErrDRSecondary.Error())
			return
		}
		next.ServeHTTP(w, r)
	})
}

// gatedForward is api.Config.Forward: the standby forwarder behind the DR
// secondary gate (and, on a performance secondary, the write proxy to the
// primary); lfwd forwards a DR secondary's raft operations to its leader.
func (n *Node) gatedForward(c *core.Core, f, lfwd *forward.Forwarder, p *primaryProxy) func(http.Handler) http.Handler {
	if f == nil {
		return nil
	}
	var drRaft http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.handleReplication(w, r, c) })
	if lfwd != nil {
		drRaft = lfwd.Wrap(drRaft)
	}
	return func(h http.Handler) http.Handler { return drGate(c, drRaft, perfGate(c, p, f.Wrap(h))) }
}
