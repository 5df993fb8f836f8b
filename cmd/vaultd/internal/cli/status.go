package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"
)

// sealStatusOutput is what `status` prints: seal-status plus sys/leader,
// with Vault's JSON field names.
type sealStatusOutput struct {
	vaultapi.SealStatusResponse
	HAEnabled                bool      `json:"ha_enabled"`
	IsSelf                   bool      `json:"is_self,omitempty"`
	ActiveTime               time.Time `json:"active_time,omitempty"`
	LeaderAddress            string    `json:"leader_address,omitempty"`
	LeaderClusterAddress     string    `json:"leader_cluster_address,omitempty"`
	PerfStandby              bool      `json:"performance_standby,omitempty"`
	PerfStandbyLastRemoteWAL uint64    `json:"performance_standby_last_remote_wal,omitempty"`
	LastWAL                  uint64    `json:"last_wal,omitempty"`
	RaftCommittedIndex       uint64    `json:"raft_committed_index,omitempty"`
	RaftAppliedIndex         uint64    `json:"raft_applied_index,omitempty"`
}

// sealStatusRows is Vault's `status` table.
func sealStatusRows(s sealStatusOutput) []string {
	out := []string{
		"Key | Value",
		"Seal Type | " + s.Type,
	}
	if s.RecoverySeal {
		out = append(out, "Recovery Seal Type | shamir")
	}
	out = append(out,
		fmt.Sprintf("Initialized | %t", s.Initialized),
		fmt.Sprintf("Sealed | %t", s.Sealed),
		fmt.Sprintf("Total Shares | %d", s.N),
		fmt.Sprintf("Threshold | %d", s.T),
	)
	if s.Sealed {
		out = append(out, fmt.Sprintf("Unseal Progress | %d/%d", s.Progress, s.T), "Unseal Nonce | "+s.Nonce)
	}
	if s.Migration {
		out = append(out, "Seal Migration in Progress | true")
	}
	out = append(out, "Version | "+s.Version, "Build Date | "+s.BuildDate, "Storage Type | "+s.StorageType)
	if s.ClusterName != "" && s.ClusterID != "" {
		out = append(out, "Cluster Name | "+s.ClusterName, "Cluster ID | "+s.ClusterID)
	}
	out = append(out, fmt.Sprintf("HA Enabled | %t", s.HAEnabled))
	if s.HAEnabled && !s.Sealed {
		out = append(out, "HA Cluster | "+s.LeaderClusterAddress)
		if s.IsSelf {
			out = append(out, "HA Mode | active")
			if !s.ActiveTime.IsZero() {
				out = append(out, "Active Since | "+s.ActiveTime.Format(time.RFC3339Nano))
			}
		} else {
			addr := s.LeaderAddress
			if addr == "" {
				addr = "<none>"
			}
			out = append(out, "HA Mode | standby", "Active Node Address | "+addr)
		}
	}
	// A sealed Vault answers no sys/leader, so its table never shows the
	// raft indexes; vaultd keeps that shape (the JSON and the ceremony
	// table still carry them).
	if s.RaftCommittedIndex > 0 && !s.Sealed {
		out = append(out, fmt.Sprintf("Raft Committed Index | %d", s.RaftCommittedIndex))
	}
	if s.RaftAppliedIndex > 0 && !s.Sealed {
		out = append(out, fmt.Sprintf("Raft Applied Index | %d", s.RaftAppliedIndex))
	}
	if len(s.Warnings) > 0 {
		out = append(out, fmt.Sprintf("Warnings | %v", s.Warnings))
	}
	return out
}

// fetchStatus reads seal-status and sys/leader from c.
func fetchStatus(ctx context.Context, c *vaultapi.Client) (sealStatusOutput, error) {
	st, err := c.Sys().SealStatusWithContext(ctx)
	if err != nil {
		return sealStatusOutput{}, err
	}
	out := sealStatusOutput{SealStatusResponse: *st}
	ld, err := c.Sys().LeaderWithContext(ctx)
	if err != nil {
		if strings.Contains(err.Error(), "Vault is sealed") || isStatus(err, http.StatusServiceUnavailable) {
			out.HAEnabled = true
			return out, nil
		}
		return out, fmt.Errorf("Error checking leader status: %w", err)
	}
	out.HAEnabled, out.IsSelf, out.ActiveTime = ld.HAEnabled, ld.IsSelf, ld.ActiveTime
	out.LeaderAddress, out.LeaderClusterAddress = ld.LeaderAddress, ld.LeaderClusterAddress
	out.PerfStandby, out.PerfStandbyLastRemoteWAL, out.LastWAL = ld.PerfStandby, ld.PerfStandbyLastRemoteWAL, ld.LastWAL
	out.RaftCommittedIndex, out.RaftAppliedIndex = ld.RaftCommittedIndex, ld.RaftAppliedIndex
	return out, nil
}

func isStatus(err error, code int) bool {
	re, ok := err.(*vaultapi.ResponseError)
	return ok && re.StatusCode == code
}

// printSealStatus prints s in the chosen format.
func (p *printer) sealStatus(s sealStatusOutput) error {
	if ok, err := p.structured(s); ok {
		return err
	}
	p.line(table(sealStatusRows(s), "|"))
	return nil
}

func (a *app) newStatusCmd() *cobra.Command {
	var watch bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print seal and HA status",
		Long: `Prints the seal status of the server at VAULT_ADDR (or -address) and, when
it is unsealed, its HA state. The exit code reflects the seal status:

  0 - unsealed
  1 - error
  2 - sealed

With -watch, it shows a live table of every node of the cluster instead
(see "vaultd operator ceremony").`,
		Example: `  vaultd status
  vaultd status -format=json
  vaultd status -watch -node=http://10.0.0.2:8200 -node=http://10.0.0.3:8200`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			if watch {
				return a.runCeremony(cmd.Context(), ceremonyOpts{watch: true, interval: interval})
			}
			c, err := a.client()
			if err != nil {
				return exitCodeKeep(err, ExitError)
			}
			st, err := fetchStatus(cmd.Context(), c)
			if err != nil {
				return &exitError{code: ExitError, err: fmt.Errorf("Error checking seal status: %s", describe(err))}
			}
			if err := a.printer().sealStatus(st); err != nil {
				return &exitError{code: ExitError, err: err}
			}
			if st.Sealed {
				return exitCode(ExitSealed)
			}
			return nil
		},
	}
	a.addHTTPFlags(cmd)
	a.addFormatFlag(cmd)
	cmd.Flags().BoolVar(&watch, "watch", false, "show a live table of every node (see operator ceremony)")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "refresh interval of -watch")
	a.addNodeFlags(cmd)
	return cmd
}

// exitCodeKeep re-codes an exitError (status uses 1 where others use 2).
func exitCodeKeep(err error, code int) error {
	if ee, ok := err.(*exitError); ok {
		return &exitError{code: code, err: ee.err}
	}
	return &exitError{code: code, err: err}
}

// decodeJSON decodes a response body into v.
func decodeJSON(resp *vaultapi.Response, v any) error {
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	return dec.Decode(v)
}
