package tokens

import (
	"context"
	"strings"
	"sync/atomic"
)

// counters are the store's cumulative operation counts (Stats).
type counters struct {
	created, lookups, revoked, expired atomic.Uint64
}

// Stats are the token store's counts since the process started, and the
// tokens the expiration manager tracks now (tokens with a TTL: Vault's
// leases of tokens). Tracked is 0 unless this node is active.
type Stats struct {
	Created, Lookups, Revoked, Expired uint64
	Tracked                            int
}

// Stats returns the store's counts.
func (ts *Store) Stats() Stats {
	ts.exp.mu.Lock()
	tracked := len(ts.exp.latest)
	ts.exp.mu.Unlock()
	return Stats{
		Created: ts.stats.created.Load(), Lookups: ts.stats.lookups.Load(),
		Revoked: ts.stats.revoked.Load(), Expired: ts.stats.expired.Load(),
		Tracked: tracked,
	}
}

// Count returns how many tokens are stored (one storage list).
func (ts *Store) Count(ctx context.Context) (int, error) {
	keys, err := ts.b.List(ctx, tokenIDPrefix)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		if k != "" && !strings.HasSuffix(k, "/") {
			n++
		}
	}
	return n, nil
}
