package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) newPathHelpCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "path-help PATH",
		Short: "Retrieve API help for paths",
		Long: `Shows the documentation of the endpoint that serves PATH: its route, what
it does, its parameters and its operations. The server builds it from the
same endpoint declarations that serve the requests (GET PATH?help=1, from
sys/internal/specs/openapi), so it is never out of date. Engines are
documented under the path they are mounted at; help needs a valid token
and covers only mounts the token can reach.`,
		Example: `  vaultd path-help secret/data/my-app
  vaultd path-help auth/userpass/users/alice
  vaultd path-help -format=json sys/policies/acl/dev`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.formatClient(cmd)
			if err != nil {
				return err
			}
			path := sanitizePath(args[0])
			if strings.HasSuffix(args[0], "/") && path != "" {
				path += "/" // the LIST form of a folder
			}
			h, err := c.HelpWithContext(cmd.Context(), path)
			if err != nil {
				return apiError("Error retrieving help: %s", describe(err))
			}
			p := a.printer()
			if ok, err := p.structured(h); ok {
				return err
			}
			fmt.Fprint(a.stdout, h.Help)
			if !strings.HasSuffix(h.Help, "\n") {
				fmt.Fprintln(a.stdout)
			}
			return nil
		},
	}
	return a.clientCmd(cmd)
}
