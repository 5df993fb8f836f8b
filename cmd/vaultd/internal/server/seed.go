package server

import (
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

// isSeed reports whether this node is its cluster's designated seed: the
// node named by the FIRST retry_join leader_api_addr. Every node of a
// cluster normally carries the same retry_join list (a Helm chart, a
// compose file), so exactly one node may be initialised with sys/init;
// every other node refuses init and joins. That is how two fresh nodes
// that both receive sys/init can never form two clusters.
//
// The first address names this node when its host:port equals this node's
// api_addr, or when its host's first DNS label is this machine's hostname
// or the raft node_id (vaultd-0.vaultd-internal → pod vaultd-0).
func isSeed(cfg *config.Config, apiAddr string) bool {
	if cfg.Storage == nil || len(cfg.Storage.RetryJoin) == 0 {
		return true
	}
	first, err := url.Parse(cfg.Storage.RetryJoin[0].LeaderAPIAddr)
	if err != nil || first.Host == "" {
		return false
	}
	if self, err := url.Parse(apiAddr); err == nil && strings.EqualFold(self.Host, first.Host) {
		return true
	}
	host := first.Hostname()
	if net.ParseIP(host) != nil {
		return false
	}
	label, _, _ := strings.Cut(host, ".")
	if label == "" {
		return false
	}
	if hn, err := os.Hostname(); err == nil {
		if hl, _, _ := strings.Cut(hn, "."); strings.EqualFold(hl, label) {
			return true
		}
	}
	return strings.EqualFold(label, cfg.Storage.NodeID)
}
