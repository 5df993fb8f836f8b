package cli

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/vaultd/vaultd/version"
)

// version, print token, unwrap and patch: small client-side commands.

func (a *app) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the vaultd version",
		Long: `Prints the version of this vaultd binary in Vault's format: the
Vault-compatible version servers report at sys/seal-status and sys/health
(the Vault API level, with vaultd's release as build metadata), the git
commit and the build date. "vaultd -version" prints the same line.`,
		Example: "  vaultd version\n  vaultd -version",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(a.stdout, version.Get().String())
			return nil
		},
	}
}

func (a *app) newPrintCmd() *cobra.Command {
	tok := &cobra.Command{
		Use:   "token",
		Short: "Print the token the CLI would use",
		Long: `Prints the token the CLI sends with its requests: VAULT_TOKEN when it is
set, else the one "vaultd login" stored in ~/.vault-token. Prints nothing
(exit 0) when there is none.`,
		Example: `  vaultd print token
  curl -H "X-Vault-Token: $(vaultd print token)" $VAULT_ADDR/v1/auth/token/lookup-self`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			t := strings.TrimSpace(a.getenv("VAULT_TOKEN"))
			if t == "" {
				t, _ = a.readTokenHelper() // no helper file: no token
			}
			if t != "" {
				fmt.Fprintln(a.stdout, t)
			}
			return nil
		},
	}
	cmd := &cobra.Command{
		Use:     "print",
		Short:   "Print runtime configuration of the CLI",
		Long:    `Prints values the CLI works with, such as the token it would send.`,
		Example: "  vaultd print token",
		Args:    cobra.ArbitraryArgs,
		RunE:    groupRunE,
	}
	cmd.AddCommand(tok)
	return cmd
}

func (a *app) newUnwrapCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "unwrap [TOKEN]",
		Short: "Unwrap a wrapped secret",
		Long: `Unwraps a response-wrapped secret: the data, or the token, that the
wrapping token stands for. With no argument the CLI's own token (VAULT_TOKEN
or ~/.vault-token) is the wrapping token. A wrapping token works once and
until its TTL ends; after that the server refuses it.`,
		Example: `  vaultd unwrap s.3pXkq…                      # the wrapping token as an argument
  VAULT_TOKEN=s.3pXkq… vaultd unwrap          # or as the CLI's token
  vaultd unwrap -field=password s.3pXkq…`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.formatClient(cmd)
			if err != nil {
				return err
			}
			wt := ""
			if len(args) == 1 {
				wt = strings.TrimSpace(args[0])
				if wt == "" {
					return usageError(cmd, "Empty wrapping token")
				}
			}
			if wt == "" && c.Token() == "" {
				return usageError(cmd, "No wrapping token: give it as the argument or in VAULT_TOKEN")
			}
			s, err := c.Logical().UnwrapWithContext(cmd.Context(), wt)
			if err != nil {
				return apiError("Error unwrapping: %s", describe(err))
			}
			if s == nil {
				return apiError("Could not find wrapped response")
			}
			return a.printSecret(s)
		},
	}
	a.addFieldFlag(cmd)
	return a.clientCmd(cmd)
}

func (a *app) newPatchCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "patch PATH [DATA K=V...]",
		Short: "Patch data, configuration, and secrets",
		Long: `Patches the data at the given path with a JSON merge patch (RFC 7386,
HTTP PATCH with Content-Type application/merge-patch+json): the keys given
are set, a key set to null is removed, the others are kept. The path's
endpoint must support PATCH (e.g. a KV v2 data/ path, with the "patch"
capability) and the data must exist. Data arguments are as for "write";
-force patches with no data.`,
		Example: `  vaultd patch auth/userpass/users/alice token_ttl=1h
  echo '{"data":{"password":"n3w","old":null}}' | vaultd patch secret/data/app -
  vaultd patch secret/data/app @patch.json`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			if len(args) == 1 && !force {
				return usageError(cmd, "Must supply data or use -force")
			}
			data, err := parseKV(a.stdin, args[1:])
			if err != nil {
				return usageError(cmd, "Failed to parse K=V data: %v", err)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			path := sanitizePath(args[0])
			s, err := c.Logical().JSONMergePatch(cmd.Context(), path, data)
			var re *vaultapi.ResponseError
			if errors.As(err, &re) && re.StatusCode == http.StatusNotFound && len(re.Errors) == 0 {
				return apiError("Error patching %s: no data at this path (PATCH needs existing data; create it with \"vaultd write\")", path)
			}
			if err != nil {
				return apiError("Error writing data to %s: %s", path, describe(err))
			}
			return a.printWritten(path, s)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "patch even with no data")
	a.addFieldFlag(cmd)
	return a.clientCmd(cmd)
}
