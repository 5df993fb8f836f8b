package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// app is one CLI invocation: its streams, environment and the flags shared
// by the client commands. Every Run builds a new one.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	// HTTP flags (Vault's "HTTP Options"); empty means "from the
	// environment".
	address, caCert, caPath, clientCert, clientKey, tlsServerName, namespace string
	tlsSkipVerify                                                            bool
	// format is -format (default $VAULT_FORMAT, else "table"); field is -field.
	format, field string
	// nodes are the -node addresses of the ceremony commands.
	nodes []string
	// outputCurl and outputPolicy are -output-curl-string and
	// -output-policy; captured is the request they stopped (output.go).
	outputCurl, outputPolicy bool
	capturedMu               sync.Mutex
	captured                 *capturedRequest
	// wrapTTL is -wrap-ttl: response-wrap every response of the command.
	wrapTTL string
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
}

// usageError is a malformed command line: the message, then the usage,
// exit 1 (Vault's code for usage errors).
func usageError(cmd *cobra.Command, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &exitError{code: ExitError, err: fmt.Errorf("%s\n\n%s%w", msg, strings.TrimRight(cmd.UsageString(), "\n"), errSilentUsage)}
}

// errSilentUsage only marks usage errors for errors.Is; it prints nothing.
var errSilentUsage = silent{}

type silent struct{}

func (silent) Error() string { return "" }

// apiError is a failed request, exit 2 as in Vault.
func apiError(format string, args ...any) error {
	return &exitError{code: ExitSealed, err: fmt.Errorf(format, args...)}
}

// exitCode returns a bare exit code without a message.
func exitCode(code int) error { return &exitError{code: code, err: errors.New("")} }

// addHTTPFlags registers Vault's HTTP options on cmd (persistent, so a
// command group passes them to its subcommands).
func (a *app) addHTTPFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&a.address, "address", "", "address of the server (default $VAULT_ADDR, else https://127.0.0.1:8200)")
	f.StringVar(&a.caCert, "ca-cert", "", "PEM CA certificate file to verify the server (default $VAULT_CACERT)")
	f.StringVar(&a.caPath, "ca-path", "", "directory of PEM CA certificates (default $VAULT_CAPATH)")
	f.StringVar(&a.clientCert, "client-cert", "", "PEM client certificate for TLS authentication (default $VAULT_CLIENT_CERT)")
	f.StringVar(&a.clientKey, "client-key", "", "PEM private key of -client-cert (default $VAULT_CLIENT_KEY)")
	f.StringVar(&a.tlsServerName, "tls-server-name", "", "server name for SNI (default $VAULT_TLS_SERVER_NAME)")
	f.BoolVar(&a.tlsSkipVerify, "tls-skip-verify", false, "do not verify the server's certificate (insecure; default $VAULT_SKIP_VERIFY)")
	f.StringVar(&a.namespace, "namespace", "", "namespace (accepted for compatibility; vaultd has none)")
	f.StringVar(&a.namespace, "ns", "", "alias of -namespace")
	_ = f.MarkHidden("ns")
	f.StringVar(&a.wrapTTL, "wrap-ttl", "", "wrap the response in a single-use token with this TTL, e.g. 5m (default $VAULT_WRAP_TTL)")
	f.BoolVar(&a.outputCurl, "output-curl-string", false, "print the curl command equivalent to the request (the token reads $(vaultd print token)) instead of sending it")
	f.BoolVar(&a.outputPolicy, "output-policy", false, "print the HCL policy the request needs instead of sending it")
}

// addFormatFlag registers -format on cmd and its subcommands.
func (a *app) addFormatFlag(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&a.format, "format", "", `output format: "table", "json" or "yaml" (default $VAULT_FORMAT, else "table")`)
}

// addFieldFlag registers -field on cmd.
func (a *app) addFieldFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&a.field, "field", "", "print only this field, without a trailing newline unless stdout is a terminal")
}

// outFormat is the effective output format.
func (a *app) outFormat() string {
	f := a.format
	if f == "" {
		f = a.getenv("VAULT_FORMAT")
	}
	f = strings.ToLower(strings.TrimSpace(f))
	if f == "" {
		f = "table"
	}
	if f == "yml" {
		f = "yaml"
	}
	return f
}

// checkFormat validates -format before any request is made.
func (a *app) checkFormat(cmd *cobra.Command) error {
	switch a.outFormat() {
	case "table", "json", "yaml":
		return nil
	}
	return usageError(cmd, "Invalid output format: %s", a.outFormat())
}

// client builds an API client from the environment, the HTTP flags and the
// token helper file (~/.vault-token) when VAULT_TOKEN is unset.
func (a *app) client() (*vaultapi.Client, error) {
	cfg := vaultapi.DefaultConfig()
	if cfg.Error != nil {
		return nil, &exitError{code: ExitSealed, err: fmt.Errorf("Error reading the client configuration: %w", cfg.Error)}
	}
	if a.address != "" {
		cfg.Address = a.address
	}
	if a.caCert != "" || a.caPath != "" || a.clientCert != "" || a.clientKey != "" || a.tlsServerName != "" || a.tlsSkipVerify {
		t := &vaultapi.TLSConfig{
			CACert: pick(a.caCert, a.getenv("VAULT_CACERT")), CAPath: pick(a.caPath, a.getenv("VAULT_CAPATH")),
			ClientCert: pick(a.clientCert, a.getenv("VAULT_CLIENT_CERT")), ClientKey: pick(a.clientKey, a.getenv("VAULT_CLIENT_KEY")),
			TLSServerName: pick(a.tlsServerName, a.getenv("VAULT_TLS_SERVER_NAME")),
			Insecure:      a.tlsSkipVerify || envTrue(a.getenv("VAULT_SKIP_VERIFY")),
		}
		if err := cfg.ConfigureTLS(t); err != nil {
			return nil, &exitError{code: ExitSealed, err: fmt.Errorf("Error configuring TLS: %w", err)}
		}
	}
	a.captureRequests(cfg) // output.go
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, &exitError{code: ExitSealed, err: fmt.Errorf("Error creating the client: %w", err)}
	}
	c.SetWrappingLookupFunc(a.wrapLookup)
	if a.namespace != "" {
		c.SetNamespace(a.namespace) // vaultd has no namespaces; the header is ignored
	}
	if c.Token() == "" {
		if tok, err := a.readTokenHelper(); err == nil && tok != "" {
			c.SetToken(tok)
		}
	}
	return c, nil
}

// wrapLookup is the wrap TTL of a request: -wrap-ttl, else
// $VAULT_WRAP_TTL, else 5m for sys/wrapping/wrap (as Vault's CLI).
func (a *app) wrapLookup(operation, path string) string {
	if strings.HasPrefix(path, "sys/internal/ui/mounts/") {
		return "" // the CLI's own KV preflight is never wrapped
	}
	if a.wrapTTL != "" {
		return a.wrapTTL
	}
	if v := a.getenv("VAULT_WRAP_TTL"); v != "" {
		return v
	}
	if (operation == "PUT" || operation == "POST") && path == "sys/wrapping/wrap" {
		return "5m"
	}
	return ""
}

func pick(flag, env string) string {
	if flag != "" {
		return flag
	}
	return env
}

func envTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "t", "yes", "y":
		return true
	}
	return false
}

// tokenHelperPath is ~/.vault-token ($HOME honoured).
func (a *app) tokenHelperPath() (string, error) {
	home := a.getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding the home directory: %w", err)
		}
		home = h
	}
	return filepath.Join(home, ".vault-token"), nil
}

func (a *app) readTokenHelper() (string, error) {
	p, err := a.tokenHelperPath()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	defer clear(b)
	return strings.TrimSpace(string(b)), nil
}

// storeToken writes the token helper file with mode 0600.
func (a *app) storeToken(token string) error {
	p, err := a.tokenHelperPath()
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(token), 0o600); err != nil {
		return fmt.Errorf("writing the token helper file: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing the token helper file: %w", err)
	}
	return nil
}

// describe turns a client error into one clear line when the server could
// not be reached at all; API errors keep Vault's multi-line text.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		var oe *net.OpError
		reason := ue.Err.Error()
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			reason = "connection refused"
		case errors.As(err, &oe) && oe.Op == "dial":
			reason = oe.Err.Error()
		case errors.Is(err, context.DeadlineExceeded):
			reason = "timed out"
		}
		return fmt.Sprintf("cannot reach the server at %s: %s (is it running? check VAULT_ADDR or -address)", baseURL(ue.URL), reason)
	}
	return err.Error()
}

func baseURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Scheme + "://" + u.Host
}

// isTerminal reports whether r is a terminal.
func isTerminal(v any) bool {
	f, ok := v.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// hasFlag reports whether name was set on cmd's command line.
func hasFlag(cmd *cobra.Command, name string) bool {
	f := cmd.Flags().Lookup(name)
	return f != nil && f.Changed
}

// exactArgs is cobra.ExactArgs with Vault's wording and a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < n:
			return usageError(cmd, "Not enough arguments (expected %d, got %d)", n, len(args))
		case len(args) > n:
			return usageError(cmd, "Too many arguments (expected %d, got %d)", n, len(args))
		}
		return nil
	}
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < lo:
			return usageError(cmd, "Not enough arguments (expected %d-%d, got %d)", lo, hi, len(args))
		case len(args) > hi:
			return usageError(cmd, "Too many arguments (expected %d-%d, got %d)", lo, hi, len(args))
		}
		return nil
	}
}

func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError(cmd, "Not enough arguments (expected at least %d, got %d)", n, len(args))
		}
		return nil
	}
}
