package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
	"github.com/vaultd/vaultd/core"
)

// Probe defaults (docs/observability.md, "Health views").
const (
	defaultMaxLag          = 1000             // entries committed but not applied
	defaultMaxLastContact  = 10 * time.Second // since the leader was last heard
	defaultAuditReadyAfter = 5 * time.Second  // an audit write pending longer: not ready
	defaultAuditLiveAfter  = 60 * time.Second // ...: not live
)

// healthCheck is one line of a probe's answer.
type healthCheck struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
}

type probeParams struct {
	sealedOK, uninitOK, standbyOK bool
	maxLag                        uint64
	maxLastContact, auditAfter    time.Duration
}

// parseProbeParams reads the probes' query parameters; a bad value is a 400.
func parseProbeParams(r *http.Request, auditDefault time.Duration) (probeParams, error) {
	q := r.URL.Query()
	p := probeParams{standbyOK: true, maxLag: defaultMaxLag, maxLastContact: defaultMaxLastContact, auditAfter: auditDefault}
	for name, dst := range map[string]*bool{"sealedok": &p.sealedOK, "uninitok": &p.uninitOK, "standbyok": &p.standbyOK} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return p, fmt.Errorf("invalid %s %q: must be a boolean", name, v)
			}
			*dst = b
		}
	}
	if v := q.Get("max_lag"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return p, fmt.Errorf("invalid max_lag %q: must be a number of entries", v)
		}
		p.maxLag = n
	}
	for name, dst := range map[string]*time.Duration{"max_last_contact": &p.maxLastContact, "audit_blocked_after": &p.auditAfter} {
		if v := q.Get(name); v != "" {
			d, err := config.ParseDuration(v)
			if err != nil || d <= 0 {
				return p, fmt.Errorf("invalid %s %q: must be a positive duration", name, v)
			}
			*dst = d
		}
	}
	return p, nil
}

// healthRoutes are the probes: /v1/sys/health/ready and /v1/sys/health/live
// (sys/health itself keeps Vault's contract; api serves it).
func (n *Node) healthRoutes(c *core.Core) []api.Route {
	var rs []api.Route
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		rs = append(rs,
			api.Route{Method: m, Path: "/sys/health/ready", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.probe(w, r, c, true) })},
			api.Route{Method: m, Path: "/sys/health/live", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.probe(w, r, c, false) })})
	}
	return rs
}

func (n *Node) probe(w http.ResponseWriter, r *http.Request, c *core.Core, ready bool) {
	auditDefault := defaultAuditLiveAfter
	if ready {
		auditDefault = defaultAuditReadyAfter
	}
	p, err := parseProbeParams(r, auditDefault)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	var checks []healthCheck
	if ready {
		checks = n.readyChecks(r.Context(), c, p)
	} else {
		checks = n.liveChecks(c, p)
	}
	ok := true
	for _, ch := range checks {
		ok = ok && ch.OK
	}
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	key := "live"
	if ready {
		key = "ready"
	}
	if r.Method == http.MethodHead {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		return
	}
	writeJSONResp(w, code, map[string]any{key: ok, "node_id": c.NodeID(), "checks": checks})
}

func (n *Node) removed() bool { return n.Store != nil && n.Store.Removed() }

func check(name string, ok bool, format string, args ...any) healthCheck {
	hc := healthCheck{Name: name, OK: ok}
	if !ok {
		hc.Message = fmt.Sprintf(format, args...)
	}
	return hc
}

// liveChecks: the process serves; it fails only when a restart is the
// way out or an operator must act: the node was removed from the
// cluster, or an audit write has been stuck for long.
func (n *Node) liveChecks(c *core.Core, p probeParams) []healthCheck {
	st := c.Stats()
	return []healthCheck{
		check("removed", !n.removed(), "this node was removed from the raft cluster; wipe its data directory and join it again"),
		check("audit", st.Audit.Blocked <= p.auditAfter, "an audit write has been pending for %s (limit %s): an audit device is blocked", st.Audit.Blocked.Round(time.Millisecond), p.auditAfter),
	}
}

// readyChecks: the node can serve requests now. A sealed or uninitialised
// node is ready only with sealedok/uninitok (Kubernetes must route the
// unseal and init requests to it); a standby unless standbyok=false.
func (n *Node) readyChecks(ctx context.Context, c *core.Core, p probeParams) []healthCheck {
	st := c.Status(ctx)
	stats := c.Stats()
	out := []healthCheck{check("removed", !n.removed(), "this node was removed from the raft cluster")}
	out = append(out, check("initialized", st.Initialized || p.uninitOK, "not initialized"))
	out = append(out, check("unsealed", !st.Sealed || p.sealedOK, "sealed"))
	if !st.Initialized || st.Sealed {
		return out // raft does not run across the cluster port before unseal
	}
	out = append(out, check("standby", st.Active || p.standbyOK, "standby (standbyok=false)"))
	out = append(out, check("audit", stats.Audit.Blocked <= p.auditAfter,
		"an audit write has been pending for %s (limit %s): an audit device is blocked", stats.Audit.Blocked.Round(time.Millisecond), p.auditAfter))
	if n.Store == nil {
		return out
	}
	rs, err := n.Store.RaftStatus(ctx)
	if err != nil {
		return append(out, check("quorum", false, "raft status: %v", err))
	}
	leaderID, _ := n.Store.Leader()
	switch {
	case leaderID == "":
		out = append(out, check("quorum", false, "no raft leader is known: the cluster has lost quorum or is electing"))
	case n.Store.IsLeader():
		voters, reachable := 0, 0
		for _, peer := range rs.Peers {
			if !peer.Voter {
				continue
			}
			voters++
			if peer.Self || !peer.Contact.Failing {
				reachable++
			}
		}
		out = append(out, check("quorum", reachable > voters/2, "the leader reaches %d of %d voters: quorum lost", reachable, voters))
	default:
		last := n.Store.LastContact()
		age := time.Since(last)
		out = append(out, check("quorum", !last.IsZero() && age <= p.maxLastContact,
			"the leader was last heard %s ago (limit %s)", age.Round(time.Millisecond), p.maxLastContact))
	}
	applied, committed := n.Store.Indexes()
	lag := uint64(0)
	if committed > applied {
		lag = committed - applied
	}
	out = append(out, check("raft_lag", lag <= p.maxLag, "%d committed entries not yet applied (limit %d)", lag, p.maxLag))
	return out
}
