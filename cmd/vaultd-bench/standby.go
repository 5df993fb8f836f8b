package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// StandbyReads are the server-side counters of standby reads over a run,
// summed over the targets (read from their sys/metrics): how many reads
// the targets answered themselves after a read index, how many they
// forwarded to the active node, and how many read index requests they
// sent (concurrent reads share one).
type StandbyReads struct {
	Local             uint64 `json:"local_reads"`
	Declined          uint64 `json:"declined"`
	Forwarded         uint64 `json:"forwarded_requests"`
	ReadIndexRequests uint64 `json:"read_index_requests"`
}

// standbySeries are the series StandbyReads is made of.
var standbySeries = map[string]func(*StandbyReads) *uint64{
	"vaultd_standby_reads_local":                func(s *StandbyReads) *uint64 { return &s.Local },
	"vaultd_standby_reads_declined":             func(s *StandbyReads) *uint64 { return &s.Declined },
	"vaultd_standby_read_index_requests":        func(s *StandbyReads) *uint64 { return &s.ReadIndexRequests },
	"vault_ha_rpc_client_forward_count":         func(s *StandbyReads) *uint64 { return &s.Forwarded },
	"vault_ha_rpc_client_forward_seconds_count": func(s *StandbyReads) *uint64 { return &s.Forwarded },
}

// standbyCounters sums the standby read counters of addrs; ok is false
// when no target answered.
func standbyCounters(ctx context.Context, tr *http.Transport, token string, addrs []string) (StandbyReads, bool) {
	var out StandbyReads
	ok := false
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for _, a := range addrs {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, a+"/v1/sys/metrics?format=prometheus", nil)
		if err != nil {
			continue
		}
		req.Header.Set("X-Vault-Token", token)
		resp, err := hc.Do(req)
		if err != nil {
			continue
		}
		if resp.StatusCode == http.StatusOK {
			ok = true
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 64*1024), 1<<20)
			for sc.Scan() {
				name, val, found := strings.Cut(sc.Text(), " ")
				if !found {
					continue
				}
				if f := standbySeries[name]; f != nil {
					if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						*f(&out) += uint64(v)
					}
				}
			}
		}
		resp.Body.Close()
	}
	return out, ok
}

func (s StandbyReads) minus(b StandbyReads) StandbyReads {
	return StandbyReads{Local: s.Local - b.Local, Declined: s.Declined - b.Declined,
		Forwarded: s.Forwarded - b.Forwarded, ReadIndexRequests: s.ReadIndexRequests - b.ReadIndexRequests}
}

func (s StandbyReads) String() string {
	return fmt.Sprintf("%d answered locally, %d declined, %d requests forwarded, %d read index requests", s.Local, s.Declined, s.Forwarded, s.ReadIndexRequests)
}
