package server

import (
	"fmt"
	"net/http"
	"runtime/pprof"
	"sort"
	"strconv"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

// The support endpoints `vaultd debug` collects from every node. Each is
// node-local (a standby answers about itself) and needs a token with
// sudo on its path, as in Vault (checked by the active node).
//
//	(the log comes from GET sys/monitor, which api serves)
//	GET sys/pprof/<profile>         a runtime profile (debug=0 binary, 1 or 2 text)
//	GET sys/config/state/sanitized  the node's configuration without secrets
var pprofProfiles = []string{"goroutine", "heap", "allocs", "threadcreate", "block", "mutex"}

func (n *Node) supportRoutes() []api.Route {
	rs := []api.Route{
		{Method: http.MethodGet, Path: "/sys/config/state/sanitized", Handler: http.HandlerFunc(n.sanitizedConfig), Sudo: true},
	}
	for _, p := range pprofProfiles {
		rs = append(rs, api.Route{Method: http.MethodGet, Path: "/sys/pprof/" + p, Handler: n.profile(p), Sudo: true})
	}
	return rs
}

func (n *Node) profile(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		debug := 0
		if v := r.URL.Query().Get("debug"); v != "" {
			d, err := strconv.Atoi(v)
			if err != nil || d < 0 || d > 2 {
				writeErr(w, http.StatusBadRequest, fmt.Sprintf("invalid debug %q: 0 (binary), 1 or 2 (text)", v))
				return
			}
			debug = d
		}
		p := pprof.Lookup(name)
		if p == nil {
			writeErr(w, http.StatusNotFound, "unknown profile "+name)
			return
		}
		if debug == 0 {
			w.Header().Set("Content-Type", "application/octet-stream")
		} else {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		w.Header().Set("Cache-Control", "no-store")
		_ = p.WriteTo(w, debug)
	})
}

// sanitizedConfig answers with the node's configuration without secrets,
// as Vault's sys/config/state/sanitized: inline keys and the telemetry
// stanza's values (which may be sink credentials) are left out.
func (n *Node) sanitizedConfig(w http.ResponseWriter, r *http.Request) {
	writeJSONResp(w, http.StatusOK, map[string]any{"data": sanitize(n.cfg)})
}

func sanitize(c *config.Config) map[string]any {
	if c == nil {
		return map[string]any{}
	}
	out := map[string]any{
		"api_addr": c.APIAddr, "cluster_addr": c.ClusterAddr, "cluster_name": c.ClusterName,
		"ui": c.UI, "log_level": c.LogLevel, "log_format": c.LogFormat, "disable_mlock": c.DisableMlock,
		"default_lease_ttl": int64(c.DefaultLeaseTTL.Seconds()), "max_lease_ttl": int64(c.MaxLeaseTTL.Seconds()),
		"plugin_directory": c.PluginDirectory,
	}
	var ls []map[string]any
	for _, l := range c.Listeners {
		ls = append(ls, map[string]any{
			"type": l.Type, "address": l.Address, "cluster_address": l.ClusterAddress,
			"tls_disable": l.TLSDisable, "tls_cert_file": l.TLSCertFile, "tls_key_file": l.TLSKeyFile,
			"tls_client_ca_file": l.TLSClientCAFile, "tls_min_version": l.TLSMinVersion, "tls_max_version": l.TLSMaxVersion,
			"tls_require_and_verify_client_cert": l.TLSRequireAndVerifyClientCert,
			"max_request_size":                   l.MaxRequestSize, "max_request_duration": l.MaxRequestDuration.String(),
			"telemetry": map[string]any{"unauthenticated_metrics_access": l.UnauthenticatedMetricsAccess},
		})
	}
	out["listeners"] = ls
	if s := c.Storage; s != nil {
		st := map[string]any{"type": s.Type, "path": s.Path, "node_id": s.NodeID,
			"performance_multiplier": s.PerformanceMultiplier, "trailing_logs": s.TrailingLogs,
			"snapshot_threshold": s.SnapshotThreshold, "snapshot_interval": s.SnapshotInterval.String()}
		var rj []map[string]any
		for _, j := range s.RetryJoin {
			rj = append(rj, map[string]any{
				"leader_api_addr": j.LeaderAPIAddr, "leader_tls_servername": j.LeaderTLSServerName,
				"leader_ca_cert_file": j.LeaderCACertFile, "leader_client_cert_file": j.LeaderClientCertFile,
				"leader_client_key_file": j.LeaderClientKeyFile,
				"leader_ca_cert_inline":  j.LeaderCACert != "", "leader_client_cert_inline": j.LeaderClientCert != "",
				"leader_client_key_inline": len(j.LeaderClientKey) > 0, // the key itself never leaves the node
			})
		}
		st["retry_join"] = rj
		out["storage"] = st
	}
	if sr := c.ServiceRegistration; sr != nil {
		out["service_registration"] = map[string]any{"type": sr.Type, "namespace": sr.Namespace, "pod_name": sr.PodName}
	}
	ts := c.TelemetrySettings()
	keys := make([]string, 0, len(c.Telemetry))
	for k := range c.Telemetry {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out["telemetry"] = map[string]any{
		"prometheus_retention_time": ts.PrometheusRetention.String(),
		"enable_hostname_label":     ts.EnableHostnameLabel,
		"keys_set":                  keys, // names only: values may be sink credentials
	}
	return out
}
