package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// addClientCommands registers the Vault-compatible client commands.
func addClientCommands(root *cobra.Command, a *app) {
	root.AddCommand(
		a.newStatusCmd(),
		a.newOperatorCmd(),
		a.newKVCmd(),
		a.newSecretsCmd(),
		a.newAuthCmd(),
		a.newAuditCmd(),
		a.newPolicyCmd(),
		a.newTokenCmd(),
		a.newLoginCmd(),
		a.newReadCmd(),
		a.newWriteCmd(),
		a.newDeleteCmd(),
		a.newListCmd(),
		a.newPatchCmd(),
		a.newUnwrapCmd(),
		a.newPrintCmd(),
		a.newVersionCmd(),
		a.newLeaseCmd(),
		a.newMonitorCmd(),
		a.newPathHelpCmd(),
		a.newDebugCmd(),
	)
}

// singleDashHelp shows flags in Vault's single-dash style ("-address")
// in usage text; both forms are accepted on the command line.
func singleDashHelp(root *cobra.Command) {
	cobra.AddTemplateFunc("singleDash", singleDash)
	t := root.UsageTemplate()
	t = strings.ReplaceAll(t, "FlagUsages | trimTrailingWhitespaces", "FlagUsages | singleDash | trimTrailingWhitespaces")
	root.SetUsageTemplate(t)
}

func singleDash(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Replace(l, " --", " -", 1)
	}
	return strings.Join(lines, "\n")
}

// vaultFlagError rewrites pflag's wording into Vault's.
func vaultFlagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		return "flag provided but not defined: -" + name
	}
	if name, ok := strings.CutPrefix(msg, "unknown shorthand flag: "); ok {
		return "flag provided but not defined: " + name
	}
	return strings.ReplaceAll(msg, " --", " -")
}
