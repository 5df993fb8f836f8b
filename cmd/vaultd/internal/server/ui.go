package server

import (
	"context"
	"sync"
	"time"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/ui"
)

// clusterOrigins knows the api_addr origins of the cluster's nodes: this
// node's, the retry_join leaders' from the configuration, and, once the
// node has been unsealed, every node that advertised itself in storage
// (core/nodes/, the source of sys/ha-status). The web UI connects to these
// (CSP connect-src) and the API accepts cross-origin calls from them.
// The stored set is refreshed at most every few seconds and kept while
// the node is sealed again.
type clusterOrigins struct {
	static []string
	core   *core.Core

	mu      sync.Mutex
	learned []string
	at      time.Time
}

func newClusterOrigins(cfg *config.Config, apiAddr string, c *core.Core) *clusterOrigins {
	o := &clusterOrigins{core: c}
	o.static = append(o.static, apiAddr)
	if cfg.Storage != nil {
		for _, rj := range cfg.Storage.RetryJoin {
			o.static = append(o.static, rj.LeaderAPIAddr)
		}
	}
	return o
}

const originsRefresh = 3 * time.Second

// Addrs returns the known api_addrs (not yet normalised).
func (o *clusterOrigins) Addrs(ctx context.Context) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if time.Since(o.at) > originsRefresh && !o.core.Sealed() {
		if recs, err := o.core.NodeRecords(ctx); err == nil {
			o.learned = o.learned[:0]
			for _, r := range recs {
				o.learned = append(o.learned, r.APIAddr)
			}
		}
		o.at = time.Now() // on an error too: retried after originsRefresh, not per request
	}
	return append(append([]string(nil), o.static...), o.learned...)
}

// Origins returns the normalised origins (scheme://host:port, lower case).
func (o *clusterOrigins) Origins(ctx context.Context) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range o.Addrs(ctx) {
		if s := ui.Origin(a); s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
