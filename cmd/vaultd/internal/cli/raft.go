package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/vaultd/vaultd/core/clusterops"
	"github.com/vaultd/vaultd/raftstore"
)

func (a *app) newRaftCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "raft",
		Short: "Manage the raft cluster: join, peers, snapshots, autopilot",
		Long:  `Groups the commands that manage vaultd's integrated raft storage.`,
		Example: `  vaultd operator raft list-peers
  vaultd operator raft join http://10.0.0.1:8200
  vaultd operator raft snapshot save backup.snap`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	snap := &cobra.Command{
		Use:     "snapshot",
		Short:   "Save or restore a snapshot of the raft storage",
		Long:    `Saves the cluster's data (still encrypted by the barrier) to a file, or restores it.`,
		Example: "  vaultd operator raft snapshot save backup.snap\n  vaultd operator raft snapshot restore backup.snap",
		Args:    cobra.ArbitraryArgs,
		RunE:    groupRunE,
	}
	snap.AddCommand(a.newSnapshotSaveCmd(), a.newSnapshotRestoreCmd(), a.newSnapshotInspectCmd())
	ap := &cobra.Command{
		Use:     "autopilot",
		Short:   "Inspect raft autopilot",
		Long:    `Groups the autopilot commands.`,
		Example: "  vaultd operator raft autopilot state",
		Args:    cobra.ArbitraryArgs,
		RunE:    groupRunE,
	}
	ap.AddCommand(a.newAutopilotStateCmd())
	cmd.AddCommand(a.newRaftJoinCmd(), a.newListPeersCmd(), a.newRemovePeerCmd(), snap, ap)
	return cmd
}

func (a *app) newRaftJoinCmd() *cobra.Command {
	var caCert, clientCert, clientKey string
	var retry, nonVoter bool
	cmd := &cobra.Command{
		Use:   "join LEADER_API_ADDR",
		Short: "Join this node to a raft cluster",
		Long: `Asks the node at VAULT_ADDR (an uninitialised node) to join the raft cluster
led by LEADER_API_ADDR. The node then needs the cluster's unseal key shares:
run "vaultd operator unseal" (or "unseal -all") next.`,
		Example: `  vaultd operator raft join http://10.0.0.1:8200
  vaultd operator raft join -leader-ca-cert=@ca.pem https://vaultd-0.internal:8200`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			req := &vaultapi.RaftJoinRequest{LeaderAPIAddr: args[0], Retry: retry, NonVoter: nonVoter}
			for dst, src := range map[*string]string{&req.LeaderCACert: caCert, &req.LeaderClientCert: clientCert, &req.LeaderClientKey: clientKey} {
				v, err := flagFile(src)
				if err != nil {
					return usageError(cmd, "%v", err)
				}
				*dst = v
			}
			stop := a.spinner("Joining the cluster at " + args[0])
			resp, err := c.Sys().RaftJoinWithContext(cmd.Context(), req)
			stop()
			if err != nil {
				return apiError("Error joining the node to the Raft cluster: %s", describe(err))
			}
			p := a.printer()
			if ok, err := p.structured(resp); ok {
				return err
			}
			p.line(table([]string{"Key | Value", fmt.Sprintf("Joined | %t", resp.Joined)}, "|"))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&caCert, "leader-ca-cert", "", "CA certificate of the leader (PEM, or @file)")
	f.StringVar(&clientCert, "leader-client-cert", "", "client certificate for the leader (PEM, or @file)")
	f.StringVar(&clientKey, "leader-client-key", "", "client key for the leader (PEM, or @file)")
	f.BoolVar(&retry, "retry", false, "keep retrying the join until it succeeds")
	f.BoolVar(&nonVoter, "non-voter", false, "join as a non-voter")
	return cmd
}

// flagFile reads "@path" values; other values are returned as they are.
func flagFile(v string) (string, error) {
	if !strings.HasPrefix(v, "@") {
		return v, nil
	}
	b, err := os.ReadFile(v[1:])
	if err != nil {
		return "", fmt.Errorf("error reading file: %w", err)
	}
	return string(b), nil
}

func (a *app) newListPeersCmd() *cobra.Command {
	var drToken string
	cmd := &cobra.Command{
		Use:   "list-peers",
		Short: "List the raft peers",
		Long: `Lists the servers of the raft configuration: node ID, cluster address, state (leader or follower) and whether it votes.
On a DR secondary (no client token works there) pass a DR operation token with -dr-token.`,
		Example: "  vaultd operator raft list-peers\n  vaultd operator raft list-peers -dr-token=hvs.…   # on a DR secondary",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var s *vaultapi.Secret
			if drToken != "" {
				// As Vault: the token travels in a PUT body.
				s, err = c.Logical().WriteWithContext(cmd.Context(), "sys/storage/raft/configuration", map[string]any{"dr_operation_token": drToken})
			} else {
				s, err = c.Logical().ReadWithContext(cmd.Context(), "sys/storage/raft/configuration")
			}
			if err != nil {
				return apiError("Error reading the raft cluster configuration: %s", describe(err))
			}
			if s == nil {
				return apiError("No raft cluster configuration found")
			}
			p := a.printer()
			if ok, err := p.structured(s); ok {
				return err
			}
			cfg, _ := s.Data["config"].(map[string]any)
			servers, _ := cfg["servers"].([]any)
			rows := []string{"Node | Address | State | Voter"}
			for _, raw := range servers {
				sv, _ := raw.(map[string]any)
				state := "follower"
				if b, _ := sv["leader"].(bool); b {
					state = "leader"
				}
				rows = append(rows, fmt.Sprintf("%v | %v | %s | %v", sv["node_id"], sv["address"], state, sv["voter"]))
			}
			p.line(table(rows, "|"))
			return nil
		},
	}
	cmd.Flags().StringVar(&drToken, "dr-token", "", "a DR operation token (on a DR secondary)")
	return cmd
}

func (a *app) newRemovePeerCmd() *cobra.Command {
	var drToken string
	cmd := &cobra.Command{
		Use:   "remove-peer SERVER_ID",
		Short: "Remove a node from the raft cluster",
		Long: `Removes the server SERVER_ID from the raft configuration. Needs sudo on sys/storage/raft/remove-peer,
or on a DR secondary a DR operation token (-dr-token).`,
		Example: "  vaultd operator raft remove-peer node-3\n  vaultd operator raft remove-peer -dr-token=hvs.… node-3   # on a DR secondary",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			body := map[string]any{"server_id": args[0]}
			if drToken != "" {
				body["dr_operation_token"] = drToken
			}
			if _, err := c.Logical().WriteWithContext(cmd.Context(), "sys/storage/raft/remove-peer", body); err != nil {
				return apiError("Error removing the peer from raft cluster: %s", describe(err))
			}
			fmt.Fprintln(a.stdout, "Peer removed successfully!")
			return nil
		},
	}
	cmd.Flags().StringVar(&drToken, "dr-token", "", "a DR operation token (on a DR secondary)")
	return cmd
}

// countingWriter counts bytes for the progress line.
type countingWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// countingReader counts bytes for the progress line.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// snapshotInspection is what "snapshot inspect" prints.
type snapshotInspection struct {
	Index     uint64    `json:"index"`
	Term      uint64    `json:"term"`
	Size      int64     `json:"size"`
	StateSize int64     `json:"state_size"`
	Keys      uint64    `json:"keys"`
	CreatedAt time.Time `json:"created_at"`
	SHA256    string    `json:"sha256"`
	Verified  bool      `json:"verified"`
}

func (a *app) newSnapshotInspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect FILE",
		Short: "Verify a snapshot file and print what it holds",
		Long: `Reads a snapshot saved by "snapshot save" or by automated snapshots, verifies
its checksums (the archive's SHA256SUMS and the state's own SHA-256 trailer)
and prints the raft index and term it holds, its size and its number of
storage keys. It needs no server and no key: the data stays encrypted. The
sealed checksums, which only the cluster's keys open, are checked on restore.
Exits non-zero if the file is damaged.`,
		Example: "  vaultd operator raft snapshot inspect backup.snap\n  vaultd operator raft snapshot inspect -format=json backup.snap",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return apiError("Error opening snapshot file: %v", err)
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return apiError("Error reading snapshot file: %v", err)
			}
			cr := &countingReader{r: f}
			stop := a.progress(func() string {
				return fmt.Sprintf("Verifying snapshot: %s of %s", byteSize(cr.n.Load()), byteSize(fi.Size()))
			})
			arc, err := clusterops.InspectArchive(cr)
			var st raftstore.SnapshotInfo
			if err == nil {
				st, err = raftstore.InspectSnapshot(bytes.NewReader(arc.State))
			}
			stop()
			if err != nil {
				return apiError("Error: the snapshot file is not valid: %v", err)
			}
			out := snapshotInspection{
				Index: arc.Index, Term: arc.Term, Size: fi.Size(), StateSize: arc.StateSize, Keys: st.Keys,
				CreatedAt: arc.CreatedAt.UTC(), SHA256: arc.SHA256, Verified: true,
			}
			p := a.printer()
			if ok, err := p.structured(out); ok {
				return err
			}
			p.line(table([]string{
				"Key | Value",
				fmt.Sprintf("Index | %d", out.Index),
				fmt.Sprintf("Term | %d", out.Term),
				fmt.Sprintf("Size | %d", out.Size),
				fmt.Sprintf("State Size | %d", out.StateSize),
				fmt.Sprintf("Keys | %d", out.Keys),
				fmt.Sprintf("Created | %s", out.CreatedAt.Format(time.RFC3339)),
				fmt.Sprintf("State SHA256 | %s", out.SHA256),
				"Checksums | verified",
			}, "|"))
			return nil
		},
	}
}

func (a *app) newSnapshotSaveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "save FILE",
		Short: "Save a snapshot of the raft storage to FILE",
		Long: `Streams a snapshot of the cluster's data from the active node into FILE. The
data stays encrypted by the barrier: restoring it needs the same unseal keys.
The file is written to FILE.tmp first and renamed once complete.`,
		Example: `  vaultd operator raft snapshot save backup.snap`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			path := args[0]
			tmp := path + ".tmp"
			f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return apiError("Error creating snapshot file: %v", err)
			}
			cw := &countingWriter{w: f}
			stop := a.progress(func() string { return fmt.Sprintf("Saving snapshot: %s", byteSize(cw.n.Load())) })
			err = c.Sys().RaftSnapshotWithContext(cmd.Context(), cw)
			stop()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil && cw.n.Load() == 0 {
				err = errors.New("the server sent an empty snapshot")
			}
			if err != nil {
				_ = os.Remove(tmp)
				return apiError("Error taking the snapshot: %s", describe(err))
			}
			if err := os.Rename(tmp, path); err != nil {
				return apiError("Error writing snapshot file: %v", err)
			}
			return nil
		},
	}
}

func (a *app) newSnapshotRestoreCmd() *cobra.Command {
	var force, initNode bool
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Restore a snapshot of the raft storage from FILE",
		Long: `Restores the cluster's data from a snapshot saved by "snapshot save" (or an
automated snapshot). With -force, a snapshot from another cluster (other keys)
is accepted too.

With -init, VAULT_ADDR is a freshly started node that was never initialised
(and has no retry_join): the snapshot becomes its data without "operator
init" and without a token. The node stays sealed; unseal it with the unseal
key shares of the cluster the snapshot came from, then let the other nodes
join it. The old cluster's tokens and secrets are all there.`,
		Example: `  vaultd operator raft snapshot restore backup.snap
  vaultd operator raft snapshot restore -init backup.snap && vaultd operator unseal`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if initNode && force {
				return usageError(cmd, "-init and -force cannot be combined (an empty node has no keys to check)")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return apiError("Error opening snapshot file: %v", err)
			}
			defer f.Close()
			var total int64
			if fi, err := f.Stat(); err == nil {
				total = fi.Size()
			}
			cr := &countingReader{r: f}
			name := filepath.Base(args[0])
			stop := a.progress(func() string {
				return fmt.Sprintf("Restoring snapshot %s: %s of %s sent", name, byteSize(cr.n.Load()), byteSize(total))
			})
			if initNode {
				err = restoreInit(cmd.Context(), c, cr)
			} else {
				err = c.Sys().RaftSnapshotRestoreWithContext(cmd.Context(), cr, force)
			}
			stop()
			if err != nil {
				return apiError("Error installing the snapshot: %s", describe(err))
			}
			if initNode {
				fmt.Fprintln(a.stdout, "Snapshot installed. The node is sealed: unseal it with the unseal keys of the cluster the snapshot came from (vaultd operator unseal).")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "install a snapshot from a cluster with other keys")
	cmd.Flags().BoolVar(&initNode, "init", false, "initialise a new, never-initialised node from the snapshot (no token needed)")
	return cmd
}

// restoreInit posts the snapshot to the node-local snapshot-init endpoint.
func restoreInit(ctx context.Context, c *vaultapi.Client, body io.Reader) error {
	r := c.NewRequest(http.MethodPost, "/v1/sys/storage/raft/snapshot-init")
	r.Body = body
	resp, err := c.RawRequestWithContext(ctx, r) //nolint:staticcheck // unauthenticated node-local endpoint with a binary body
	if resp != nil {
		defer resp.Body.Close()
	}
	return err
}

func (a *app) newAutopilotStateCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "state",
		Short:   "Print the autopilot state of the cluster",
		Long:    `Prints autopilot's view of the cluster: health, failure tolerance, the leader, voters and each server's state.`,
		Example: `  vaultd operator raft autopilot state`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			st, err := c.Sys().RaftAutopilotStateWithContext(cmd.Context())
			if err != nil {
				return apiError("Error checking autopilot state: %s", describe(err))
			}
			if st == nil {
				return nil
			}
			p := a.printer()
			if ok, err := p.structured(st); ok {
				return err
			}
			p.line(autopilotText(st))
			return nil
		},
	}
}

// autopilotText is Vault's "pretty" autopilot state.
func autopilotText(st *vaultapi.AutopilotState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Healthy:                         %t\n", st.Healthy)
	fmt.Fprintf(&b, "Failure Tolerance:               %d\n", st.FailureTolerance)
	fmt.Fprintf(&b, "Leader:                          %s\n", st.Leader)
	b.WriteString("Voters:\n")
	for _, v := range st.Voters {
		fmt.Fprintf(&b, "   %s\n", v)
	}
	if len(st.NonVoters) > 0 {
		b.WriteString("Non Voters:\n")
		for _, v := range st.NonVoters {
			fmt.Fprintf(&b, "   %s\n", v)
		}
	}
	b.WriteString("Servers:\n")
	ids := make([]string, 0, len(st.Servers))
	for id := range st.Servers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s := st.Servers[id]
		fmt.Fprintf(&b, "   %s\n", s.ID)
		fmt.Fprintf(&b, "      Name:              %s\n", s.Name)
		fmt.Fprintf(&b, "      Address:           %s\n", s.Address)
		fmt.Fprintf(&b, "      Status:            %s\n", s.Status)
		fmt.Fprintf(&b, "      Node Status:       %s\n", s.NodeStatus)
		fmt.Fprintf(&b, "      Healthy:           %t\n", s.Healthy)
		fmt.Fprintf(&b, "      Last Contact:      %s\n", s.LastContact)
		fmt.Fprintf(&b, "      Last Term:         %d\n", s.LastTerm)
		fmt.Fprintf(&b, "      Last Index:        %d\n", s.LastIndex)
		fmt.Fprintf(&b, "      Version:           %s\n", s.Version)
	}
	return strings.TrimRight(b.String(), "\n")
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// spinner shows msg with a spinner on stderr while a command waits, when
// stderr is a terminal. The returned func stops it.
func (a *app) spinner(msg string) func() {
	return a.progress(func() string { return msg })
}

// progress redraws line() on stderr every 150 ms (terminal only).
func (a *app) progress(line func() string) func() {
	if !isTerminal(a.stderr) {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		frames := `|/-\`
		t := time.NewTicker(150 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(a.stderr, "\r%c %s\x1b[K", frames[i%len(frames)], line())
			select {
			case <-ctx.Done():
				fmt.Fprint(a.stderr, "\r\x1b[K")
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
