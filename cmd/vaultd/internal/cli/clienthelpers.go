package cli

import (
	vaultapi "github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"
)

// formatClient checks the -format flag of cmd and then builds the API
// client: the common start of every command that prints a response.
func (a *app) formatClient(cmd *cobra.Command) (*vaultapi.Client, error) {
	if err := a.checkFormat(cmd); err != nil {
		return nil, err
	}
	return a.client()
}

// apiGroup completes cmd as a group of commands that talk to the API: it
// takes any arguments (groupRunE reports unknown subcommands), carries the
// HTTP and -format flags for its subcommands, and holds subs.
func (a *app) apiGroup(cmd *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = groupRunE
	a.addHTTPFlags(cmd)
	a.addFormatFlag(cmd)
	cmd.AddCommand(subs...)
	return cmd
}

// printSecret prints s: only the value of -field when it is given,
// otherwise the whole response in the -format.
func (a *app) printSecret(s *vaultapi.Secret) error {
	if a.field != "" {
		return a.printer().rawField(s, a.field)
	}
	return a.printer().secret(s)
}
