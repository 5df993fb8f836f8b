// Package cli is vaultd's command line: the `server` command and the
// Vault-compatible client commands. Flags follow Vault's single-dash style
// (`-dev`, `-key-shares=5`); double dashes work too.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/server"
	"github.com/vaultd/vaultd/version"
)

// Exit codes, as Vault's CLI uses them.
const (
	ExitOK     = 0
	ExitError  = 1
	ExitSealed = 2
)

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Run executes the command line args and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := newApp(stdin, stdout, stderr)
	root := buildRoot(a, stdout, stderr)
	root.SetArgs(NormalizeArgs(args))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if a.printCaptured() { // -output-curl-string, -output-policy (output.go)
		return ExitOK
	}
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, ee.err.Error())
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "Error:", err.Error())
	return ExitError
}

// NormalizeArgs turns Vault's single-dash long flags (-dev, -key-shares=3)
// into the double-dash form cobra parses. Single letters (-h), negative
// numbers, "-" (stdin) and everything after "--" are left alone.
func NormalizeArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && unicode.IsLetter(rune(a[1])) {
			name := a[1:]
			if eq := strings.IndexByte(name, '='); eq >= 0 {
				name = name[:eq]
			}
			if len(name) > 1 {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	return buildRoot(newApp(stdin, stdout, stderr), stdout, stderr)
}

func buildRoot(a *app, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "vaultd",
		Short: "vaultd: a highly available, Vault-compatible secrets vault",
		Long: `vaultd is a highly available, Vault-compatible secrets vault: the server
("vaultd server") and a command line that speaks Vault's HTTP API with the
same commands, flags, environment (VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT,
VAULT_FORMAT, ...) and output as Vault's CLI.

Exit codes: 0 success, 1 usage error (or local error), 2 request error
("status": 2 means sealed).`,
		Example: `  vaultd server -dev
  export VAULT_ADDR=http://127.0.0.1:8200
  vaultd status
  vaultd kv put -mount=secret hello foo=world
  vaultd completion bash > /etc/bash_completion.d/vaultd`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Get().String(),
	}
	// -version (and --version, -v) print the version line, as "vaultd version".
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError(cmd, "%s", vaultFlagError(err)) // commands.go
	})
	singleDashHelp(root)
	root.AddCommand(newServerCmd(stdout, stderr))
	addClientCommands(root, a) // commands.go
	return root
}

func newServerCmd(stdout, stderr io.Writer) *cobra.Command {
	var o server.Options
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Start a vaultd server",
		Long: `Start a vaultd server from a Vault-compatible HCL configuration file or
directory, or a development server held in memory.`,
		Example: `  vaultd server -config /etc/vaultd/node.hcl
  vaultd server -config /vault/config          # every *.hcl and *.json in the directory
  vaultd server -dev -dev-root-token-id=root
  vaultd server -dev -dev-cluster=3            # 3-node raft cluster on 127.0.0.1:8200, :8202, :8204`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := server.Run(cmd.Context(), o, stdout, stderr); err != nil {
				return &exitError{code: ExitError, err: fmt.Errorf("Error: %w", err)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.ConfigPaths, "config", nil, "path to a configuration file or directory (repeatable)")
	f.BoolVar(&o.Dev, "dev", false, "start a development server: in memory, initialised, unsealed, KV v2 at secret/")
	f.StringVar(&o.DevRootTokenID, "dev-root-token-id", "", "root token ID of the dev server (default: random)")
	f.StringVar(&o.DevListenAddress, "dev-listen-address", "127.0.0.1:8200", "address the dev server listens on")
	f.IntVar(&o.DevCluster, "dev-cluster", 0, "run an in-process dev cluster of N raft nodes (2..7; implies -dev); node i serves its API on the -dev-listen-address port + 2*(i-1) and its cluster port one above (port 0: free ports)")
	f.StringVar(&o.LogLevel, "log-level", "", "log level: trace, debug, info, warn, error")
	return cmd
}
