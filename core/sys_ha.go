package core

import (
	"context"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

// handleSysHA serves sys/ha-status (read) and sys/step-down (update, sudo;
// checked by handleSys) on the active node.
func (c *Core) handleSysHA(ctx context.Context, path string, req *Request) (*Response, error) {
	switch path {
	case "sys/step-down":
		if req.Operation != secrets.OpUpdate && req.Operation != secrets.OpCreate {
			return nil, unsupportedOp()
		}
		if c.cfg.Members == nil {
			return nil, badRequest("step-down needs raft storage")
		}
		// A pooled raft connection to a peer that restarted fails once
		// (EOF); the next attempt dials afresh.
		var err error
		for range 3 {
			if err = c.cfg.Members.TransferLeadership(ctx); err == nil || !c.cluster.IsLeader() {
				break
			}
			c.log.Debug("leadership transfer failed; retrying", "error", err)
		}
		if err != nil && c.cluster.IsLeader() {
			return nil, err
		}
		c.poke()
		return &Response{}, nil
	default: // sys/ha-status
		if req.Operation != secrets.OpRead {
			return nil, unsupportedOp()
		}
		nodes, err := c.haNodes(ctx)
		if err != nil {
			return nil, err
		}
		resp := haStatusResponse(req.ID, nodes)
		if lc, ok := c.cluster.(interface{ LeaderChanges() uint64 }); ok {
			// vaultd extension (issue 11): leader elections this node has
			// observed since it started.
			n := lc.LeaderChanges()
			resp.Data["leader_changes"] = n
			resp.Raw["leader_changes"] = n
		}
		return resp, nil
	}
}

// haStatusResponse answers as Vault does: the usual envelope with the node
// list under "data", and a second copy at the top level, which is what
// vault/api's Sys().HAStatus() decodes.
func haStatusResponse(requestID string, nodes []map[string]any) *Response {
	return withTopLevelCopy(requestID, map[string]any{"nodes": nodes})
}

// withTopLevelCopy is the shape of Vault's legacy sys endpoints: the usual
// envelope with data under "data", and each data key repeated at the top
// level, where older clients look. Data is kept for the audit log.
func withTopLevelCopy(requestID string, data map[string]any) *Response {
	raw := map[string]any{
		"request_id":     requestID,
		"lease_id":       "",
		"renewable":      false,
		"lease_duration": 0,
		"data":           data,
		"wrap_info":      nil,
		"warnings":       nil,
		"auth":           nil,
		"mount_type":     "",
	}
	for k, v := range data {
		if _, clash := raw[k]; !clash {
			raw[k] = v
		}
	}
	return &Response{Data: data, Raw: raw}
}

// nodeVersions maps node IDs to their versions: this node's own, and
// the others' from the records they wrote when they were active.
func (c *Core) nodeVersions(ctx context.Context) map[string]string {
	out := map[string]string{c.cfg.NodeID: c.cfg.Version}
	recs, err := c.NodeRecords(ctx)
	if err != nil {
		return out
	}
	for _, r := range recs {
		if r.Version != "" && r.NodeID != c.cfg.NodeID {
			out[r.NodeID] = r.Version
		}
	}
	return out
}

// haNodes lists every raft member with its advertised addresses.
func (c *Core) haNodes(ctx context.Context) ([]map[string]any, error) {
	recs, err := c.NodeRecords(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]NodeRecord{}
	for _, r := range recs {
		byID[r.NodeID] = r
	}
	peers := []Peer{{ID: c.cfg.NodeID, Address: hostPortOf(c.cfg.ClusterAddr), Voter: true, Leader: true}}
	if c.cfg.Members != nil {
		if peers, err = c.cfg.Members.Peers(ctx); err != nil {
			return nil, err
		}
	}
	now := c.now().UTC().Format(time.RFC3339Nano)
	out := make([]map[string]any, 0, len(peers))
	for _, p := range peers {
		r := byID[p.ID]
		self := p.ID == c.cfg.NodeID
		n := map[string]any{
			"hostname":        p.ID,
			"node_id":         p.ID,
			"api_address":     r.APIAddr,
			"cluster_address": r.ClusterAddr,
			"raft_address":    p.Address,
			"active_node":     self && c.active.Load(),
			"voter":           p.Voter,
			"version":         r.Version,
			"last_echo":       nil,
		}
		if self {
			n["version"] = c.cfg.Version
		}
		if r.ClusterAddr == "" {
			n["cluster_address"] = "https://" + p.Address
		}
		if self {
			n["last_echo"] = now
		}
		out = append(out, n)
	}
	return out, nil
}
