package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"
)

// The unseal ceremony, beyond Vault: one share typed once is submitted to
// every sealed node of the cluster (`operator unseal -all`), and
// `operator ceremony` shows every node's state live.
//
// Nodes are learnt from the addresses the operator lists (-node,
// VAULTD_NODES) and from GET /v1/sys/storage/raft/known-peers, which every
// node answers without a token, even while sealed, from the last raft
// configuration it knows. Only unauthenticated endpoints are used and no
// token is ever sent to the nodes found that way.

// maxNodes bounds discovery.
const maxNodes = 64

// node is one cluster member as the CLI sees it.
type node struct {
	ID   string `json:"node_id"`
	Addr string `json:"address"`
}

func (a *app) addNodeFlags(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&a.nodes, "node", nil, "address of a cluster node (repeatable; adds to $VAULTD_NODES and the nodes the cluster reports)")
}

// seedAddrs are VAULT_ADDR/-address, -node flags and VAULTD_NODES.
func (a *app) seedAddrs(base *vaultapi.Client) []string {
	seeds := []string{base.Address()}
	seeds = append(seeds, a.nodes...)
	for _, s := range strings.Split(a.getenv("VAULTD_NODES"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			seeds = append(seeds, s)
		}
	}
	return seeds
}

// normAddr canonicalises an API address for de-duplication.
func normAddr(s string) string {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

// anonClient returns a clone of base pointed at addr, without a token.
func anonClient(base *vaultapi.Client, addr string) (*vaultapi.Client, error) {
	c, err := base.Clone()
	if err != nil {
		return nil, err
	}
	if err := c.SetAddress(addr); err != nil {
		return nil, err
	}
	c.ClearToken()
	c.SetMaxRetries(0)
	return c, nil
}

type knownPeers struct {
	Data struct {
		Peers []struct {
			NodeID      string `json:"node_id"`
			APIAddr     string `json:"api_addr"`
			ClusterAddr string `json:"cluster_addr"`
		} `json:"peers"`
	} `json:"data"`
}

// fetchKnownPeers asks one node for the cluster's members.
func fetchKnownPeers(ctx context.Context, c *vaultapi.Client) (*knownPeers, error) {
	r := c.NewRequest(http.MethodGet, "/v1/sys/storage/raft/known-peers")
	resp, err := c.RawRequestWithContext(ctx, r) //nolint:staticcheck // unauthenticated node-local endpoint
	if err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		return nil, err
	}
	var kp knownPeers
	if err := decodeJSON(resp, &kp); err != nil {
		return nil, err
	}
	return &kp, nil
}

// discover returns the cluster's nodes: the seeds, plus every peer any
// reachable node reports, de-duplicated, seeds first.
func (a *app) discover(ctx context.Context, base *vaultapi.Client) []node {
	var out []node
	index := map[string]int{}
	add := func(id, addr string) bool {
		k := normAddr(addr)
		if i, ok := index[k]; ok {
			if out[i].ID == "" {
				out[i].ID = id
			}
			return false
		}
		if len(out) >= maxNodes {
			return false
		}
		index[k] = len(out)
		out = append(out, node{ID: id, Addr: strings.TrimRight(strings.TrimSpace(addr), "/")})
		return true
	}
	queue := []string{}
	for _, s := range a.seedAddrs(base) {
		if add("", s) {
			queue = append(queue, s)
		}
	}
	asked := map[string]bool{}
	for len(queue) > 0 {
		addr := queue[0]
		queue = queue[1:]
		if asked[normAddr(addr)] {
			continue
		}
		asked[normAddr(addr)] = true
		c, err := anonClient(base, addr)
		if err != nil {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		kp, err := fetchKnownPeers(cctx, c)
		cancel()
		if err != nil {
			continue // an older node, or unreachable: fall back to the listed addresses
		}
		for _, p := range kp.Data.Peers {
			if p.APIAddr == "" {
				continue
			}
			if add(p.NodeID, p.APIAddr) {
				queue = append(queue, p.APIAddr)
			}
		}
	}
	return out
}

// nodeResult is one node's line of `unseal -all`.
type nodeResult struct {
	node
	Reachable   bool   `json:"reachable"`
	Initialized bool   `json:"initialized"`
	Sealed      bool   `json:"sealed"`
	Progress    int    `json:"progress"`
	Threshold   int    `json:"threshold"`
	Result      string `json:"result"`
	Error       string `json:"error,omitempty"`
}

func (r nodeResult) progressCell() string {
	if !r.Reachable || !r.Sealed || !r.Initialized {
		return ""
	}
	return fmt.Sprintf("%d/%d", r.Progress, r.Threshold)
}

func (r nodeResult) nameCell() string {
	if r.ID == "" {
		return "?"
	}
	return r.ID
}

// unsealAll submits share to every sealed node it can find.
func (a *app) unsealAll(ctx context.Context, base *vaultapi.Client, share []byte) error {
	nodes := a.discover(ctx, base)
	fmt.Fprintf(a.stderr, "Submitting the share to the sealed nodes of %d known node(s)...\n", len(nodes))
	results := make([]nodeResult, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = unsealOne(ctx, base, n, share)
		}()
	}
	wg.Wait()
	clear(share)
	failed := false
	for _, r := range results {
		failed = failed || r.Error != ""
	}
	p := a.printer()
	if ok, err := p.structured(results); ok {
		if err != nil {
			return err
		}
	} else {
		rows := []string{"Node | Address | Sealed | Progress | Result"}
		for _, r := range results {
			sealed := fmt.Sprint(r.Sealed)
			if !r.Reachable {
				sealed = ""
			}
			res := r.Result
			if r.Error != "" {
				res = r.Result + ": " + r.Error
			}
			rows = append(rows, strings.Join([]string{r.nameCell(), r.Addr, sealed, r.progressCell(), res}, cellDelim))
		}
		rows[0] = strings.ReplaceAll(rows[0], " | ", cellDelim)
		p.line(table(rows, cellDelim))
	}
	if failed {
		return exitCode(ExitSealed)
	}
	return nil
}

func unsealOne(ctx context.Context, base *vaultapi.Client, n node, share []byte) nodeResult {
	r := nodeResult{node: n}
	c, err := anonClient(base, n.Addr)
	if err != nil {
		r.Result, r.Error = "error", err.Error()
		return r
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	st, err := c.Sys().SealStatusWithContext(cctx)
	if err != nil {
		r.Result, r.Error = "unreachable", describe(err)
		return r
	}
	r.Reachable, r.Initialized, r.Sealed, r.Progress, r.Threshold = true, st.Initialized, st.Sealed, st.Progress, st.T
	switch {
	case !st.Initialized:
		r.Result = "not initialized (join it to the cluster first)"
		return r
	case !st.Sealed:
		r.Result = "already unsealed"
		return r
	}
	st, err = submitShare(cctx, c, share)
	if err != nil {
		r.Result, r.Error = "refused", shortAPIError(err)
		if st2, serr := c.Sys().SealStatusWithContext(cctx); serr == nil {
			r.Sealed, r.Progress, r.Threshold = st2.Sealed, st2.Progress, st2.T
		}
		return r
	}
	r.Sealed, r.Progress, r.Threshold = st.Sealed, st.Progress, st.T
	if st.Sealed {
		r.Result = "share accepted"
	} else {
		r.Result = "unsealed"
	}
	return r
}

// shortAPIError is the server's error text without the URL block.
func shortAPIError(err error) string {
	var re *vaultapi.ResponseError
	if errors.As(err, &re) && len(re.Errors) > 0 {
		return strings.Join(re.Errors, "; ")
	}
	return describe(err)
}

// ---- operator ceremony ----

type ceremonyOpts struct {
	watch         bool
	untilUnsealed bool
	interval      time.Duration
	timeout       time.Duration
	// expect: with untilUnsealed, also wait until this many nodes are known.
	expect int
}

// nodeState is one node's line of the ceremony table.
type nodeState struct {
	node
	Reachable   bool   `json:"reachable"`
	Initialized bool   `json:"initialized"`
	Sealed      bool   `json:"sealed"`
	Progress    int    `json:"progress"`
	Threshold   int    `json:"threshold"`
	Shares      int    `json:"shares"`
	HAMode      string `json:"ha_mode"`
	RaftIndex   uint64 `json:"raft_applied_index"`
	Error       string `json:"error,omitempty"`
}

func probe(ctx context.Context, base *vaultapi.Client, n node) nodeState {
	s := nodeState{node: n}
	c, err := anonClient(base, n.Addr)
	if err != nil {
		s.HAMode, s.Error = "unreachable", err.Error()
		return s
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := fetchStatus(cctx, c)
	if err != nil {
		s.HAMode, s.Error = "unreachable", describe(err)
		return s
	}
	s.Reachable, s.Initialized, s.Sealed = true, st.Initialized, st.Sealed
	s.Progress, s.Threshold, s.Shares, s.RaftIndex = st.Progress, st.T, st.N, st.RaftAppliedIndex
	switch {
	case !st.Initialized:
		s.HAMode = "uninitialized"
	case st.Sealed:
		s.HAMode = "sealed"
	case st.IsSelf:
		s.HAMode = "active"
	default:
		s.HAMode = "standby"
	}
	return s
}

func ceremonyTable(states []nodeState) string {
	rows := []string{strings.Join([]string{"Node", "Address", "Sealed", "Progress", "HA Mode", "Raft Index"}, cellDelim)}
	for _, s := range states {
		name := s.ID
		if name == "" {
			name = "?"
		}
		sealed, progress, idx := "", "", ""
		if s.Reachable {
			sealed = fmt.Sprint(s.Sealed)
			if s.Sealed && s.Initialized {
				progress = fmt.Sprintf("%d/%d", s.Progress, s.Threshold)
			}
			if s.RaftIndex > 0 {
				idx = fmt.Sprint(s.RaftIndex)
			}
		}
		rows = append(rows, strings.Join([]string{name, s.Addr, sealed, progress, s.HAMode, idx}, cellDelim))
	}
	return table(rows, cellDelim)
}

func (a *app) newCeremonyCmd() *cobra.Command {
	var o ceremonyOpts
	cmd := &cobra.Command{
		Use:   "ceremony",
		Short: "Show every node's seal state: a live table during the unseal ceremony",
		Long: `Shows a table of every node of the cluster: sealed or not, unseal progress
t/n, active or standby, and its raft applied index. Nodes are found as for
"operator unseal -all" (-node, VAULTD_NODES and the cluster's own raft
configuration); no token is needed.

By default it prints the table once. With -watch it redraws it until you
press Ctrl-C; with -until-unsealed it waits until every node is unsealed
(bounded by -timeout). Exit code: 0 if every node is unsealed, 2 if any is
sealed or unreachable.`,
		Example: `  vaultd operator ceremony
  vaultd operator ceremony -watch
  vaultd operator ceremony -until-unsealed -expect=3 -timeout=30m -node=http://10.0.0.2:8200`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			return a.runCeremony(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.watch, "watch", false, "redraw the table until interrupted")
	f.BoolVar(&o.untilUnsealed, "until-unsealed", false, "wait until every node is unsealed")
	f.DurationVar(&o.interval, "interval", 2*time.Second, "refresh interval")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up waiting after this long (-until-unsealed)")
	f.IntVar(&o.expect, "expect", 0, "with -until-unsealed, also wait until this many nodes are known")
	a.addNodeFlags(cmd)
	return cmd
}

func (a *app) runCeremony(ctx context.Context, o ceremonyOpts) error {
	base, err := a.client()
	if err != nil {
		return err
	}
	if o.interval <= 0 {
		o.interval = 2 * time.Second
	}
	if o.untilUnsealed && o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	tty := isTerminal(a.stdout)
	p := a.printer()
	last := ""
	for {
		nodes := a.discover(ctx, base)
		states := make([]nodeState, len(nodes))
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				states[i] = probe(ctx, base, n)
			}()
		}
		wg.Wait()
		allUnsealed := len(states) >= o.expect
		for _, s := range states {
			allUnsealed = allUnsealed && s.Reachable && !s.Sealed
		}
		if ok, err := p.structured(states); ok {
			if err != nil {
				return err
			}
		} else {
			t := ceremonyTable(states)
			switch {
			case tty && o.watch:
				fmt.Fprint(a.stdout, "\x1b[H\x1b[2J")
				p.line(t)
				p.line("")
				p.line(fmt.Sprintf("Updated %s; refreshing every %s, Ctrl-C to stop.", time.Now().Format(time.TimeOnly), o.interval))
			case t != last:
				if last != "" {
					p.line("")
				}
				p.line(t)
			}
			last = t
		}
		if !o.watch && !o.untilUnsealed || o.untilUnsealed && allUnsealed {
			if allUnsealed {
				return nil
			}
			return exitCode(ExitSealed)
		}
		if o.untilUnsealed && !tty {
			sealed := 0
			for _, s := range states {
				if !s.Reachable || s.Sealed {
					sealed++
				}
			}
			fmt.Fprintf(a.stderr, "Waiting for %d sealed node(s)...\n", sealed)
		}
		select {
		case <-ctx.Done():
			if o.watch && errors.Is(ctx.Err(), context.Canceled) {
				return nil
			}
			return apiError("Gave up waiting for every node to be unsealed: %v", ctx.Err())
		case <-time.After(o.interval):
		}
	}
}
