package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
	"github.com/vaultd/vaultd/version"
)

// operator diagnose: checks a server configuration before a start, offline
// (it talks to no vaultd server), and prints a tree of checks like
// `vault operator diagnose`. A parent's status is the worst of its
// children's: failure over warning over success.

// Check statuses, as Vault's diagnose names them in JSON.
const (
	diagOK   = "ok"
	diagWarn = "warn"
	diagFail = "fail"
	diagSkip = "skip"
)

// diagResult is one check: a node of the results tree.
type diagResult struct {
	Name     string        `json:"name"`
	Status   string        `json:"status"`
	Message  string        `json:"message,omitempty"`
	Warnings []string      `json:"warnings,omitempty"`
	Children []*diagResult `json:"children,omitempty"`
}

func (r *diagResult) add(c *diagResult) *diagResult {
	r.Children = append(r.Children, c)
	return c
}

func diagRank(s string) int {
	switch s {
	case diagFail:
		return 3
	case diagWarn:
		return 2
	case diagOK:
		return 1
	}
	return 0
}

// finalize makes every parent's status the worst of its own and its
// children's.
func (r *diagResult) finalize() string {
	if r.Status == "" {
		r.Status = diagOK
	}
	if len(r.Warnings) > 0 && diagRank(r.Status) < diagRank(diagWarn) {
		r.Status = diagWarn
	}
	for _, c := range r.Children {
		if s := c.finalize(); diagRank(s) > diagRank(r.Status) {
			r.Status = s
		}
	}
	return r.Status
}

var diagLabel = map[string]string{diagOK: "success", diagWarn: "warning", diagFail: "failure", diagSkip: " skip  "}

func (r *diagResult) write(b *strings.Builder, depth int) {
	ind := strings.Repeat("  ", depth)
	fmt.Fprintf(b, "%s[ %s ] %s", ind, diagLabel[r.Status], r.Name)
	if r.Message != "" {
		fmt.Fprintf(b, ": %s", r.Message)
	}
	b.WriteByte('\n')
	for _, w := range r.Warnings {
		fmt.Fprintf(b, "%s  %s\n", ind, w)
	}
	for _, c := range r.Children {
		c.write(b, depth+1)
	}
}

func (a *app) newOperatorDiagnoseCmd() *cobra.Command {
	var paths, skips []string
	cmd := &cobra.Command{
		Use:   "diagnose -config=FILE",
		Short: "Check a server configuration before starting the server",
		Long: `Checks a vaultd server configuration offline, as "vault operator
diagnose" does, and prints a tree of passed, warned and failed checks:

  Parse Configuration   the files parse and validate; every unknown or
                        ignored key or stanza is a warning
  Check Listeners       each listener (and raft cluster) address can be
                        bound; TLS certificate and key load and match, are
                        not expired, the client CA file loads
  Check Storage         the raft data directory is writable and fsync is
                        honoured on its file system; free space;
                        api_addr and cluster_addr are this machine's;
                        every retry_join leader resolves (and answers)
  Check Seal            the seal is Shamir (vaultd's only seal); another
                        seal stanza would be ignored, a failure

Run it while the server is stopped: a running server holds the addresses.
Exit codes: 0 every check passed, 2 warnings, 4 a check failed, 3 no
-config given.`,
		Example: `  vaultd operator diagnose -config=/etc/vaultd/node.hcl
  vaultd operator diagnose -config=/vault/config -format=json
  vaultd operator diagnose -config=node.hcl -skip=listener`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			if a.outputCurl || a.outputPolicy {
				return usageError(cmd, "operator diagnose sends no request: -output-curl-string and -output-policy do not apply")
			}
			if len(paths) == 0 {
				return &exitError{code: 3, err: errors.New("Must specify a configuration file using -config.")}
			}
			for _, s := range skips {
				switch s {
				case "listener", "storage", "seal":
				default:
					return usageError(cmd, "Unknown check %q for -skip (listener, storage or seal)", s)
				}
			}
			root := runDiagnose(cmd.Context(), paths, skips, a.getenv)
			p := a.printer()
			if ok, err := p.structured(root); ok {
				if err != nil {
					return err
				}
			} else {
				var b strings.Builder
				root.write(&b, 0)
				fmt.Fprintf(a.stdout, "%s\n\nResults:\n%s", version.Get().String(), b.String())
			}
			switch root.Status {
			case diagFail:
				return exitCode(4)
			case diagWarn:
				return exitCode(2)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&paths, "config", nil, "server configuration file or directory (repeatable)")
	cmd.Flags().StringSliceVar(&skips, "skip", nil, "skip checks: listener, storage, seal (comma-separated or repeated)")
	return cmd // -format comes from "operator"
}

// runDiagnose runs every check and returns the finalized tree.
func runDiagnose(ctx context.Context, paths, skips []string, getenv func(string) string) *diagResult {
	root := &diagResult{Name: "vaultd Diagnose"}
	parse := root.add(&diagResult{Name: "Parse Configuration"})
	cfg := diagParse(parse, paths, getenv)
	if cfg == nil {
		root.finalize()
		return root
	}
	skipped := func(name string) bool { return slices.Contains(skips, name) }
	if skipped("listener") {
		root.add(&diagResult{Name: "Check Listeners", Status: diagSkip})
	} else {
		diagListeners(root.add(&diagResult{Name: "Check Listeners"}), cfg)
	}
	if skipped("storage") {
		root.add(&diagResult{Name: "Check Storage", Status: diagSkip})
	} else {
		diagStorage(ctx, root.add(&diagResult{Name: "Check Storage"}), cfg)
	}
	if skipped("seal") {
		root.add(&diagResult{Name: "Check Seal", Status: diagSkip})
	} else {
		diagSeal(root.add(&diagResult{Name: "Check Seal"}), cfg)
	}
	root.finalize()
	return root
}

// diagParse loads the configuration as the server does. When it does not
// validate, the errors are the failure and the checks that follow still
// run on what parsed; when it does not parse, it returns nil.
func diagParse(r *diagResult, paths []string, getenv func(string) string) *config.Config {
	cfg, err := config.Resolve(paths, getenv)
	if err == nil {
		r.Message = "the configuration parses and validates"
		r.Warnings = cfg.Warnings
		return cfg
	}
	r.Status = diagFail
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		r.add(&diagResult{Name: "Error", Status: diagFail, Message: e.Error()})
	}
	// Best effort: the files parse but do not validate.
	var merged *config.Config
	for _, p := range paths {
		c, err := config.Load(p)
		if err != nil {
			return nil
		}
		merged = merged.Merge(c)
	}
	if merged == nil {
		return nil
	}
	merged.ApplyEnv(getenv)
	merged.ApplyDefaults()
	r.Warnings = merged.Warnings
	return merged
}

func diagListeners(r *diagResult, cfg *config.Config) {
	if len(cfg.Listeners) == 0 {
		r.Status, r.Message = diagFail, "no listener"
		return
	}
	raft := cfg.Storage != nil && cfg.Storage.Type == config.StorageRaft
	for i := range cfg.Listeners {
		l := &cfg.Listeners[i]
		addr := l.Address
		if addr == "" {
			addr = config.DefaultListenerAddress
		}
		lr := r.add(&diagResult{Name: fmt.Sprintf("Listener %s", addr)})
		diagBind(lr, "Check Listener Bind", addr)
		if raft {
			if ca, err := l.ClusterListenAddress(); err != nil {
				lr.add(&diagResult{Name: "Check Cluster Address Bind", Status: diagFail, Message: err.Error()})
			} else {
				diagBind(lr, "Check Cluster Address Bind", ca)
			}
		}
		diagTLS(lr, l)
	}
}

// diagBind checks that addr can be bound now (it is released at once).
func diagBind(parent *diagResult, name, addr string) {
	r := parent.add(&diagResult{Name: name})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		r.Status = diagFail
		r.Message = fmt.Sprintf("%s cannot be bound: %v", addr, unwrapOpError(err))
		if errors.Is(err, errAddrInUse) {
			r.Message += " (is a server already running on it?)"
		}
		return
	}
	_ = ln.Close()
	r.Message = fmt.Sprintf("%s can be bound", addr)
}

func unwrapOpError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}

func diagTLS(parent *diagResult, l *config.Listener) {
	r := parent.add(&diagResult{Name: "Check Listener TLS"})
	if l.TLSDisable {
		r.Status = diagWarn
		r.Message = "TLS is disabled: tokens and secrets cross the network in plaintext"
		return
	}
	pair, err := tls.LoadX509KeyPair(l.TLSCertFile, l.TLSKeyFile)
	if err != nil {
		r.Status = diagFail
		r.Message = fmt.Sprintf("loading tls_cert_file %s and tls_key_file %s: %v", l.TLSCertFile, l.TLSKeyFile, err)
		return
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		r.Status, r.Message = diagFail, fmt.Sprintf("parsing %s: %v", l.TLSCertFile, err)
		return
	}
	now := time.Now()
	switch {
	case now.After(leaf.NotAfter):
		r.Status = diagFail
		r.Message = fmt.Sprintf("the certificate in %s expired on %s", l.TLSCertFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		r.Status = diagFail
		r.Message = fmt.Sprintf("the certificate in %s is not valid before %s", l.TLSCertFile, leaf.NotBefore.UTC().Format(time.RFC3339))
	case leaf.NotAfter.Sub(now) < 30*24*time.Hour:
		r.Status = diagWarn
		r.Message = fmt.Sprintf("the certificate in %s expires on %s, in less than 30 days", l.TLSCertFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	default:
		r.Message = fmt.Sprintf("certificate and key load and match; valid until %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if l.TLSClientCAFile != "" {
		cr := parent.add(&diagResult{Name: "Check Client CA"})
		if err := loadCAFile(l.TLSClientCAFile); err != nil {
			cr.Status, cr.Message = diagFail, err.Error()
		} else {
			cr.Message = l.TLSClientCAFile + " loads"
		}
	}
}

func loadCAFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return fmt.Errorf("%s holds no PEM certificate", path)
	}
	return nil
}

func diagStorage(ctx context.Context, r *diagResult, cfg *config.Config) {
	s := cfg.Storage
	if s == nil {
		r.Status, r.Message = diagFail, `no storage stanza (use storage "raft")`
		return
	}
	if s.Type != config.StorageRaft {
		r.Status = diagWarn
		r.Message = fmt.Sprintf("storage %q keeps nothing across a restart and has no HA; use raft", s.Type)
		return
	}
	r.Message = "raft at " + s.Path
	diagDataDir(r, s.Path)
	diagAdvertised(ctx, r, cfg)
	for i := range s.RetryJoin {
		diagRetryJoin(ctx, r, &s.RetryJoin[i], i+1)
	}
}

// diagDataDir checks the raft directory: it exists (or can be created),
// a file can be written and fsynced in it, and its file system.
func diagDataDir(parent *diagResult, path string) {
	r := parent.add(&diagResult{Name: "Check Raft Folder"})
	if path == "" {
		r.Status, r.Message = diagFail, "storage \"raft\" has no path"
		return
	}
	dir := path
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// The server creates it: check the nearest existing parent.
		p := filepath.Dir(filepath.Clean(path))
		for {
			if _, err := os.Stat(p); err == nil || p == filepath.Dir(p) {
				break
			}
			p = filepath.Dir(p)
		}
		dir = p
		r.Status = diagWarn
		r.Message = fmt.Sprintf("%s does not exist yet; the server will create it in %s", path, p)
	case err != nil:
		r.Status, r.Message = diagFail, err.Error()
		return
	case !st.IsDir():
		r.Status, r.Message = diagFail, path+" is not a directory"
		return
	default:
		r.Message = path + " exists"
		if st.Mode().Perm()&0o007 != 0 {
			r.Status = diagWarn
			r.Message = fmt.Sprintf("%s is accessible to other users (mode %v); use 0700", path, st.Mode().Perm())
		}
	}
	w := parent.add(&diagResult{Name: "Check Write and Fsync"})
	if err := writeSync(dir); err != nil {
		w.Status, w.Message = diagFail, err.Error()
	} else {
		w.Message = fmt.Sprintf("a file in %s was written and fsynced", dir)
	}
	diagFS(parent, dir) // diagnose_unix.go / diagnose_other.go
}

// writeSync writes, fsyncs and removes a file in dir, and fsyncs dir.
func writeSync(dir string) error {
	f, err := os.CreateTemp(dir, ".vaultd-diagnose-*")
	if err != nil {
		return fmt.Errorf("%s is not writable: %w", dir, err)
	}
	name := f.Name()
	defer os.Remove(name)
	if _, err := f.Write([]byte("vaultd diagnose\n")); err != nil {
		f.Close()
		return fmt.Errorf("writing in %s: %w", dir, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync is not honoured in %s: %w", dir, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing in %s: %w", dir, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errSyncUnsupportedOnDir) {
		return fmt.Errorf("fsync of the directory %s is not honoured: %w", dir, err)
	}
	return nil
}

// diagAdvertised checks api_addr and cluster_addr, the addresses peers and
// clients are told to use: they resolve, to an address of this machine
// (a warning otherwise: fine behind NAT or a proxy), and not to loopback
// when the node is meant to join others (retry_join).
func diagAdvertised(ctx context.Context, parent *diagResult, cfg *config.Config) {
	r := parent.add(&diagResult{Name: "Check Advertised Addresses"})
	local := map[string]bool{}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				local[ipn.IP.String()] = true
			}
		}
	}
	multi := cfg.Storage != nil && len(cfg.Storage.RetryJoin) > 0
	checked := 0
	for _, a := range []struct{ key, raw string }{{"api_addr", cfg.APIAddr}, {"cluster_addr", cfg.ClusterAddr}} {
		if a.raw == "" {
			continue
		}
		u, err := url.Parse(a.raw)
		if err != nil || u.Hostname() == "" {
			r.add(&diagResult{Name: "Check " + a.key, Status: diagFail, Message: fmt.Sprintf("%q is not a URL", a.raw)})
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ips, err := net.DefaultResolver.LookupHost(rctx, u.Hostname())
		cancel()
		if err != nil {
			r.add(&diagResult{Name: "Check " + a.key, Status: diagFail, Message: fmt.Sprintf("%s does not resolve: %v", u.Hostname(), err)})
			continue
		}
		c := r.add(&diagResult{Name: "Check " + a.key, Message: fmt.Sprintf("%s is this machine (%s)", a.raw, strings.Join(ips, ", "))})
		loopback, mine := true, false
		for _, ip := range ips {
			p := net.ParseIP(ip)
			loopback = loopback && p != nil && p.IsLoopback()
			mine = mine || local[ip] || (p != nil && p.IsLoopback())
		}
		switch {
		case loopback && multi:
			c.Status = diagWarn
			c.Message = fmt.Sprintf("%s is a loopback address: nodes on other machines cannot reach it (fine when every node runs here)", a.raw)
		case !mine:
			c.Status = diagWarn
			c.Message = fmt.Sprintf("%s resolves to %s, not an address of this machine (fine behind NAT, a load balancer or a Kubernetes service)", a.raw, strings.Join(ips, ", "))
		}
		checked++
	}
	if checked == 0 {
		r.Status, r.Message = diagWarn, "neither api_addr nor cluster_addr is set"
	}
}

func diagRetryJoin(ctx context.Context, parent *diagResult, rj *config.RetryJoin, n int) {
	r := parent.add(&diagResult{Name: fmt.Sprintf("Check Retry Join #%d", n)})
	if rj.LeaderAPIAddr == "" {
		r.Status, r.Message = diagWarn, "no leader_api_addr (auto_join is not supported)"
		return
	}
	u, err := url.Parse(rj.LeaderAPIAddr)
	if err != nil || u.Hostname() == "" {
		r.Status, r.Message = diagFail, fmt.Sprintf("leader_api_addr %q is not a URL", rj.LeaderAPIAddr)
		return
	}
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(rctx, host)
	if err != nil {
		r.Status, r.Message = diagFail, fmt.Sprintf("%s: %s does not resolve: %v", rj.LeaderAPIAddr, host, err)
		return
	}
	r.Message = fmt.Sprintf("%s resolves to %s", rj.LeaderAPIAddr, strings.Join(addrs, ", "))
	for _, f := range []struct{ key, path string }{
		{"leader_ca_cert_file", rj.LeaderCACertFile},
		{"leader_client_cert_file", rj.LeaderClientCertFile},
		{"leader_client_key_file", rj.LeaderClientKeyFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			r.add(&diagResult{Name: "Check " + f.key, Status: diagFail, Message: err.Error()})
		}
	}
	if rj.LeaderCACertFile != "" {
		if err := loadCAFile(rj.LeaderCACertFile); err != nil {
			r.add(&diagResult{Name: "Check leader_ca_cert_file", Status: diagFail, Message: err.Error()})
		}
	}
	if rj.LeaderClientCertFile != "" && rj.LeaderClientKeyFile != "" {
		if _, err := tls.LoadX509KeyPair(rj.LeaderClientCertFile, rj.LeaderClientKeyFile); err != nil {
			r.add(&diagResult{Name: "Check leader client certificate", Status: diagFail, Message: err.Error()})
		}
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	conn, err := d.DialContext(rctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		r.add(&diagResult{Name: "Check Leader Reachable", Status: diagWarn,
			Message: fmt.Sprintf("%s does not answer now (%v); fine if that node is not started yet", net.JoinHostPort(host, port), unwrapOpError(err))})
		return
	}
	_ = conn.Close()
	r.add(&diagResult{Name: "Check Leader Reachable", Message: net.JoinHostPort(host, port) + " accepts connections"})
}

func diagSeal(r *diagResult, cfg *config.Config) {
	sl, from := cfg.EnabledSeal(), cfg.DisabledSeal()
	switch {
	case sl == nil && from == nil:
		r.Message = "Shamir key shares: unsealed by operators, no seal service to reach"
		return
	case sl == nil:
		r.Status = diagWarn
		r.Message = fmt.Sprintf("seal %q is disabled: a migration back to Shamir is pending (operator unseal -migrate with the recovery shares, on the leader)", from.Type)
		return
	}
	t := sl.Transit
	r.Message = fmt.Sprintf("seal %q: the unseal key is wrapped by key %q of %s at %s", sl.Type, t.KeyName, strings.Trim(t.MountPath, "/"), t.Address)
	u, err := url.Parse(t.Address)
	if err != nil || u.Host == "" {
		r.Status, r.Message = diagFail, fmt.Sprintf("seal %q: address %q is not a URL", sl.Type, t.Address)
		return
	}
	host := u.Host
	if u.Port() == "" {
		port := "443"
		if u.Scheme == "http" {
			port = "80"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	conn, err := d.Dial("tcp", host)
	if err != nil {
		r.Status = diagWarn
		r.Message += fmt.Sprintf("; %s does not answer now (%v): the node stays sealed and retries until it does", host, unwrapOpError(err))
		return
	}
	_ = conn.Close()
	r.Message += "; it accepts connections"
}

// bytesHuman prints n bytes with a binary unit: "512 B", "3.2 GiB".
func bytesHuman(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
