package cli

import (
	"fmt"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"
)

// The generic commands: read, write, delete, list on any API path.

func (a *app) clientCmd(cmd *cobra.Command) *cobra.Command {
	a.addHTTPFlags(cmd)
	a.addFormatFlag(cmd)
	return cmd
}

func (a *app) newReadCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "read PATH [K=V...]",
		Short: "Read data and retrieve secrets",
		Long: `Reads data from the given path: secrets, configuration, anything the API
serves with GET. Extra key=value pairs are sent as query parameters.`,
		Example: `  vaultd read secret/data/foo
  vaultd read -field=term sys/key-status
  vaultd read -format=json auth/token/lookup-self`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			data, err := parseKV(a.stdin, args[1:])
			if err != nil {
				return usageError(cmd, "Failed to parse K=V data: %v", err)
			}
			params := map[string][]string{}
			for k, v := range data {
				params[k] = []string{fmt.Sprint(v)}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			path := sanitizePath(args[0])
			s, err := c.Logical().ReadWithDataWithContext(cmd.Context(), path, params)
			if err != nil {
				return apiError("Error reading %s: %s", path, describe(err))
			}
			if s == nil {
				return apiError("No value found at %s", path)
			}
			if a.field != "" {
				return a.printer().rawField(s, a.field)
			}
			return a.printer().secret(s)
		},
	}
	a.addFieldFlag(cmd)
	return a.clientCmd(cmd)
}

func (a *app) newWriteCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "write PATH [DATA K=V...]",
		Short: "Write data, configuration, and secrets",
		Long: `Writes data to the given path. Data is key=value pairs; key=@file reads a
value from a file and key=- from stdin; @file.json or "-" alone read a JSON
object. -force writes with no data.`,
		Example: `  vaultd write sys/mounts/kv2 type=kv
  vaultd write auth/userpass/users/alice password=- policies=dev
  vaultd write -force sys/rotate`,
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
			s, err := c.Logical().WriteWithContext(cmd.Context(), path, data)
			if err != nil {
				return apiError("Error writing data to %s: %s", path, describe(err))
			}
			return a.printWritten(path, s)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "write even with no data")
	a.addFieldFlag(cmd)
	return a.clientCmd(cmd)
}

func (a *app) newDeleteCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "delete PATH",
		Short:   "Delete secrets and configuration",
		Long:    `Deletes the data at the given path (HTTP DELETE).`,
		Example: "  vaultd delete secret/foo\n  vaultd delete sys/mounts/kv2",
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			path := sanitizePath(args[0])
			if _, err := c.Logical().DeleteWithContext(cmd.Context(), path); err != nil {
				return apiError("Error deleting %s: %s", path, describe(err))
			}
			fmt.Fprintf(a.stdout, "Success! Data deleted (if it existed) at: %s\n", path)
			return nil
		},
	}
	return a.clientCmd(cmd)
}

func (a *app) newListCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list PATH",
		Short:   "List data or secrets",
		Long:    `Lists the keys under the given path (HTTP LIST). Keys ending in "/" are folders.`,
		Example: "  vaultd list secret/metadata/\n  vaultd list auth/token/accessors",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			path := sanitizePath(args[0])
			s, err := c.Logical().ListWithContext(cmd.Context(), path)
			if err != nil {
				return apiError("Error listing %s: %s", path, describe(err))
			}
			if s == nil || s.Data["keys"] == nil {
				return apiError("No value found at %s", path)
			}
			return a.printer().list(s)
		},
	}
	return a.clientCmd(cmd)
}

// printWritten prints the answer of a write to path: the secret (or its
// -field), or, when the server answered 204, "Success! Data written to".
func (a *app) printWritten(path string, s *vaultapi.Secret) error {
	p := a.printer()
	if s == nil {
		if p.format == "table" {
			p.line("Success! Data written to: " + path)
		}
		return nil
	}
	if a.field != "" {
		return p.rawField(s, a.field)
	}
	return p.secret(s)
}
