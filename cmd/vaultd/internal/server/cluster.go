package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"time"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/api/forward"
	"github.com/vaultd/vaultd/clusterport"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/core/clusterops"
	"github.com/vaultd/vaultd/raftstore"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/telemetry"
)

// openClusterPort binds the cluster listener (ALPN raft + forwarding).
func (n *Node) openClusterPort(bind, advertise string) (*clusterport.Port, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	if advertise == "" {
		advertise = ln.Addr().String()
	}
	n.dialSrc = sourceIP(bind)
	if n.dialSrc != nil {
		n.log.Info("cluster connections leave from the cluster listener's address", "source_ip", n.dialSrc.String())
	}
	n.Port = clusterport.New(clusterport.Config{Listener: ln, Advertise: advertise, Logger: n.log, LocalIP: n.dialSrc})
	return n.Port, nil
}

// sourceIP is the address a node dials its peers from: the cluster
// listener's IP when it is bound to one address (a multi-homed host, or
// one loopback address per node in the fault tests), nil when it listens
// on all addresses (the kernel then picks by route).
func sourceIP(bind string) net.IP {
	host, _, err := net.SplitHostPort(bind)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		return nil
	}
	return ip
}

// clusterTLS is core.Config.ClusterTLS (nil without a cluster port).
func (n *Node) clusterTLS() func(*clusterport.Material) error {
	if n.Port == nil {
		return nil
	}
	return n.Port.SetMaterial
}

// members adapts the raft store to core.Members (nil with inmem storage).
func (n *Node) members() core.Members {
	if n.Store == nil {
		return nil
	}
	return storeMembers{n.Store}
}

type storeMembers struct{ st *raftstore.Store }

func (m storeMembers) Peers(ctx context.Context) ([]core.Peer, error) {
	srvs, err := m.st.Configuration(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]core.Peer, len(srvs))
	for i, s := range srvs {
		out[i] = core.Peer{ID: s.ID, Address: s.Address, Voter: s.Voter, Leader: s.Leader}
	}
	return out, nil
}

func (m storeMembers) AddNonvoter(ctx context.Context, id, addr string) error {
	return m.st.AddNonvoter(ctx, id, addr)
}

func (m storeMembers) AddVoter(ctx context.Context, id, addr string) error {
	return m.st.AddVoter(ctx, id, addr)
}

func (m storeMembers) TransferLeadership(ctx context.Context) error {
	return m.st.TransferLeadership(ctx)
}

// forwarder builds the standby → active forwarder (nil without a port).
func (n *Node) forwarder(c *core.Core, q *telemetry.Requests) *forward.Forwarder {
	if n.Port == nil {
		return nil
	}
	opts := forward.Options{Observe: q.ObserveForward, RequestID: api.RequestID}
	if n.Store != nil {
		opts.Local = localReads(c) // readindex.go
	}
	return forward.New(c, n.Port.DialForward, c.NodeID(), n.log, opts)
}

func forwardWrap(f *forward.Forwarder) func(http.Handler) http.Handler {
	if f == nil {
		return nil
	}
	return f.Wrap
}

// clusterRoutes are the node-local raft endpoints. The bootstrap
// challenge and answer must reach the active node (on a DR secondary, its
// raft leader: f is the leader forwarder), so a standby forwards them (as
// OpenBao 2.6 does; joins through a load balancer work).
func (n *Node) clusterRoutes(c *core.Core, f *forward.Forwarder) []api.Route {
	if n.Store == nil {
		return nil
	}
	wrap := func(h http.Handler) http.Handler {
		if f == nil {
			return h
		}
		return f.Wrap(h)
	}
	var rs []api.Route
	add := func(path string, h http.Handler, methods ...string) {
		for _, m := range methods {
			rs = append(rs, api.Route{Method: m, Path: path, Handler: h})
		}
	}
	add("/sys/storage/raft/join", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.handleJoin(w, r, c) }), http.MethodPost, http.MethodPut)
	add("/sys/storage/raft/bootstrap/challenge", wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.handleChallenge(w, r, c) })), http.MethodPost, http.MethodPut)
	add("/sys/storage/raft/bootstrap/answer", wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.handleAnswer(w, r, c) })), http.MethodPost, http.MethodPut)
	add("/sys/storage/raft/known-peers", http.HandlerFunc(n.handleKnownPeers), http.MethodGet)
	add("/sys/storage/raft/snapshot-init", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.handleSnapshotInit(w, r, c) }), http.MethodPost, http.MethodPut)
	return rs
}

func writeJSONResp(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, msg string) {
	writeJSONResp(w, code, map[string]any{"errors": []string{msg}})
}

// clusterErr maps core errors of the join endpoints onto statuses.
func clusterErr(w http.ResponseWriter, log *slog.Logger, err error) {
	switch {
	case errors.Is(err, secrets.ErrInvalidRequest), errors.Is(err, core.ErrAlreadyJoined), errors.Is(err, core.ErrJoinChallenge):
		writeErr(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, core.ErrJoinBusy):
		w.Header().Set("Retry-After", "5")
		writeErr(w, http.StatusTooManyRequests, err.Error())
	case errors.Is(err, core.ErrSealed):
		writeErr(w, http.StatusServiceUnavailable, "Vault is sealed")
	case errors.Is(err, core.ErrStandby), errors.Is(err, core.ErrNoActiveNode):
		writeErr(w, http.StatusServiceUnavailable, "no active node is known; retry after the cluster has elected one")
	case errors.Is(err, errLeaderUnreachable), errors.Is(err, errLeaderRefused):
		writeErr(w, http.StatusBadGateway, err.Error())
	default:
		log.Error("cluster endpoint failed", "error", err)
		writeErr(w, http.StatusInternalServerError, "internal error")
	}
}

func decodeJSON(r *http.Request, v any) error {
	if r.Body == nil {
		return nil
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// handleJoin is POST sys/storage/raft/join (node-local, unauthenticated
// like Vault's: it only works on a node that belongs to no cluster).
func (n *Node) handleJoin(w http.ResponseWriter, r *http.Request, c *core.Core) {
	var in struct {
		LeaderAPIAddr       string `json:"leader_api_addr"`
		LeaderCACert        string `json:"leader_ca_cert"`
		LeaderClientCert    string `json:"leader_client_cert"`
		LeaderClientKey     string `json:"leader_client_key"`
		LeaderTLSServerName string `json:"leader_tls_servername"`
		Retry               bool   `json:"retry"`
	}
	if err := decodeJSON(r, &in); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	if in.LeaderAPIAddr == "" {
		writeErr(w, http.StatusBadRequest, "leader_api_addr is required")
		return
	}
	l, err := newJoinLeader(in.LeaderAPIAddr, joinTLS{CACert: []byte(in.LeaderCACert), ClientCert: []byte(in.LeaderClientCert), ClientKey: []byte(in.LeaderClientKey), ServerName: in.LeaderTLSServerName}, n.dialSrc)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	if in.Retry {
		if st := c.Status(r.Context()); st.Initialized && !c.JoinPending() {
			clusterErr(w, n.log, core.ErrAlreadyJoined)
			return
		}
		if !n.startJoinLoop([]*joinLeader{l}) {
			writeErr(w, http.StatusBadRequest, "a join is already in progress on this node")
			return
		}
		writeJSONResp(w, http.StatusOK, map[string]any{"joined": true})
		return
	}
	if err := c.Join(r.Context(), l); err != nil {
		clusterErr(w, n.log, err)
		return
	}
	writeJSONResp(w, http.StatusOK, map[string]any{"joined": true})
}

// handleSnapshotInit is POST sys/storage/raft/snapshot-init (node-local,
// unauthenticated like sys/init): the body is an operator snapshot
// archive, installed into this empty node, which stays sealed until the
// old cluster's shares unseal it (core.RestoreInit says why that is safe).
// The body is bounded by the listener's max_request_size.
func (n *Node) handleSnapshotInit(w http.ResponseWriter, r *http.Request, c *core.Core) {
	if r.Body == nil {
		writeErr(w, http.StatusBadRequest, "the snapshot must be the request body")
		return
	}
	err := c.RestoreInit(r.Context(), r.Body)
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.As(err, &mbe):
		writeErr(w, http.StatusRequestEntityTooLarge, "the snapshot is larger than the listener's max_request_size")
	case errors.Is(err, core.ErrAlreadyInitialized):
		writeErr(w, http.StatusBadRequest, "Vault is already initialized: restore with sys/storage/raft/snapshot on the active node instead")
	default:
		clusterErr(w, n.log, err)
	}
}

func (n *Node) handleChallenge(w http.ResponseWriter, r *http.Request, c *core.Core) {
	var in struct {
		ServerID string `json:"server_id"`
	}
	if err := decodeJSON(r, &in); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	ch, err := c.RaftChallengeFrom(r.Context(), in.ServerID, api.ClientAddr(r.Context()))
	if err != nil {
		clusterErr(w, n.log, err)
		return
	}
	writeJSONResp(w, http.StatusOK, challengeWire{Challenge: ch.Challenge, SealConfig: ch.SealConfig, SealedRootKey: ch.SealedRootKey, Keyring: ch.Keyring, WrappedKey: ch.WrappedKey})
}

func (n *Node) handleAnswer(w http.ResponseWriter, r *http.Request, c *core.Core) {
	var in answerReqWire
	if err := decodeJSON(r, &in); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	res, err := c.RaftAnswerFrom(r.Context(), core.JoinAnswer{ServerID: in.ServerID, Answer: in.Answer, ClusterAddr: in.ClusterAddr, APIAddr: in.APIAddr, NonVoter: in.NonVoter}, api.ClientAddr(r.Context()))
	if err != nil {
		clusterErr(w, n.log, err)
		return
	}
	writeJSONResp(w, http.StatusOK, answerRespWire{TLS: res.TLS})
}

// ---- known peers (topology cache for `operator unseal -all`) ----

// knownPeer is one entry of the known-peers cache: topology only.
type knownPeer struct {
	NodeID      string `json:"node_id"`
	APIAddr     string `json:"api_addr"`
	ClusterAddr string `json:"cluster_addr"`
}

const knownPeersFile = "known-peers.json"

func (n *Node) knownPeersPath() string { return filepath.Join(n.dataDir, knownPeersFile) }

func (n *Node) readKnownPeers() []knownPeer {
	b, err := os.ReadFile(n.knownPeersPath())
	if err != nil {
		return nil
	}
	var ps []knownPeer
	if json.Unmarshal(b, &ps) != nil {
		return nil
	}
	return ps
}

// handleKnownPeers is GET sys/storage/raft/known-peers: node-local,
// unauthenticated, answered even while sealed.
func (n *Node) handleKnownPeers(w http.ResponseWriter, _ *http.Request) {
	ps := n.readKnownPeers()
	if ps == nil {
		ps = []knownPeer{}
	}
	writeJSONResp(w, http.StatusOK, map[string]any{"data": map[string]any{"peers": ps}})
}

// peersLoop keeps the known-peers cache file current: the raft
// configuration (known even while sealed) joined with every node's
// advertised addresses (core/nodes, readable once unsealed).
func (n *Node) peersLoop(ctx context.Context) {
	last := n.readKnownPeers()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if next := n.currentPeers(ctx, last); next != nil && !reflect.DeepEqual(next, last) {
			if err := writeFileAtomic(n.knownPeersPath(), next); err != nil {
				n.log.Warn("writing the known-peers cache", "error", err)
			} else {
				last = next
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Node) currentPeers(ctx context.Context, last []knownPeer) []knownPeer {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	srvs, err := n.Store.Configuration(cctx)
	if err != nil || len(srvs) == 0 {
		return nil
	}
	prev := map[string]knownPeer{}
	for _, p := range last {
		prev[p.NodeID] = p
	}
	if !n.Core.Sealed() {
		if recs, err := n.Core.NodeRecords(cctx); err == nil {
			for _, r := range recs {
				prev[r.NodeID] = knownPeer{NodeID: r.NodeID, APIAddr: r.APIAddr, ClusterAddr: r.ClusterAddr}
			}
		}
	}
	prev[n.Core.NodeID()] = knownPeer{NodeID: n.Core.NodeID(), APIAddr: n.APIAddr, ClusterAddr: n.ClusterAddr}
	out := make([]knownPeer, 0, len(srvs))
	for _, s := range srvs {
		p, ok := prev[s.ID]
		if !ok {
			p = knownPeer{NodeID: s.ID}
		}
		if p.ClusterAddr == "" {
			p.ClusterAddr = "https://" + s.Address
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out
}

func writeFileAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// raftCluster is the raft store as core sees it: every method of
// *raftstore.Store (core finds Bootstrapper, RaftOps and the rest by type
// assertion), with RaftStatus converted to core's own status type, because
// core and raftstore each declare theirs and import neither the other.
type raftCluster struct{ *raftstore.Store }

// RaftStatus implements clusterops.RaftOps.
func (r raftCluster) RaftStatus(ctx context.Context) (clusterops.Status, error) {
	st, err := r.Store.RaftStatus(ctx)
	if err != nil {
		return clusterops.Status{}, err
	}
	out := clusterops.Status{
		Index: st.Index, Term: st.Term, LastIndex: st.LastIndex, LastTerm: st.LastTerm,
		CommitIndex: st.CommitIndex, AppliedIndex: st.AppliedIndex,
		Peers: make([]clusterops.Peer, 0, len(st.Peers)),
	}
	for _, p := range st.Peers {
		out.Peers = append(out.Peers, clusterops.Peer{
			ID: p.ID, Address: p.Address, Voter: p.Voter, Leader: p.Leader, Self: p.Self,
			Contact: clusterops.Contact{Known: p.Contact.Known, LastContact: p.Contact.LastContact, Failing: p.Contact.Failing},
		})
	}
	return out, nil
}

var _ clusterops.RaftOps = raftCluster{}
