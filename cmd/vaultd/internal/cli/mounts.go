package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"
)

// secrets, auth and audit: the three mount tables.

func withSlash(p string) string { return sanitizePath(p) + "/" }

// kvOptions parses repeatable -options=k=v flags.
func kvOptions(cmd *cobra.Command, a *app, opts []string) (map[string]string, error) {
	if len(opts) == 0 {
		return nil, nil
	}
	raw, err := parseKV(a.stdin, opts)
	if err != nil {
		return nil, usageError(cmd, "Failed to parse -options: %v", err)
	}
	out := map[string]string{}
	for k, v := range raw {
		out[k] = fmt.Sprint(v)
	}
	return out, nil
}

func ttlFlag(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func (a *app) newSecretsCmd() *cobra.Command {
	return a.apiGroup(&cobra.Command{
		Use:   "secrets",
		Short: "Interact with secrets engines",
		Long:  `Enables, disables, lists, tunes and moves secrets engines.`,
		Example: `  vaultd secrets list
  vaultd secrets enable -path=kv2 -version=2 kv
  vaultd secrets tune -default-lease-ttl=1h kv2/`,
	}, a.newSecretsEnableCmd(), a.newSecretsDisableCmd(), a.newSecretsListCmd(), a.newSecretsTuneCmd(), a.newSecretsMoveCmd())
}

func (a *app) newSecretsEnableCmd() *cobra.Command {
	var path, desc string
	var version int
	var opts []string
	var defTTL, maxTTL time.Duration
	var local, sealWrap, forceNoCache bool
	cmd := &cobra.Command{
		Use:   "enable [-path=PATH] TYPE",
		Short: "Enable a secrets engine",
		Long:  `Mounts a secrets engine of TYPE at -path (default: the type's name).`,
		Example: `  vaultd secrets enable -path=kv2 -version=2 kv
  vaultd secrets enable -path=team -description="team secrets" -options=version=2 kv`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			typ := strings.TrimSpace(args[0])
			if path == "" {
				path = typ
			}
			o, err := kvOptions(cmd, a, opts)
			if err != nil {
				return err
			}
			if version > 0 {
				if o == nil {
					o = map[string]string{}
				}
				o["version"] = fmt.Sprint(version)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			mp := withSlash(path)
			in := &vaultapi.MountInput{Type: typ, Description: desc, Local: local, SealWrap: sealWrap, Options: o,
				Config: vaultapi.MountConfigInput{DefaultLeaseTTL: ttlFlag(defTTL), MaxLeaseTTL: ttlFlag(maxTTL), ForceNoCache: forceNoCache}}
			if err := c.Sys().MountWithContext(cmd.Context(), mp, in); err != nil {
				return apiError("Error enabling: %s", describe(err))
			}
			fmt.Fprintf(a.stdout, "Success! Enabled the %s secrets engine at: %s\n", typ, mp)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "path", "", "where to mount the engine (default: the type)")
	f.StringVar(&desc, "description", "", "human-friendly description")
	f.IntVar(&version, "version", 0, "version of the engine (kv: 1 or 2)")
	f.StringArrayVar(&opts, "options", nil, "key=value option of the engine (repeatable)")
	f.DurationVar(&defTTL, "default-lease-ttl", 0, "default lease TTL")
	f.DurationVar(&maxTTL, "max-lease-ttl", 0, "maximum lease TTL")
	f.BoolVar(&local, "local", false, "mark the mount local-only")
	f.BoolVar(&sealWrap, "seal-wrap", false, "accepted for compatibility")
	f.BoolVar(&forceNoCache, "force-no-cache", false, "never cache data of this engine")
	return cmd
}

func (a *app) newSecretsDisableCmd() *cobra.Command {
	return a.disableCmd(&cobra.Command{
		Short:   "Disable a secrets engine",
		Long:    `Unmounts the secrets engine at PATH. All of its data is deleted.`,
		Example: "  vaultd secrets disable kv2/",
	}, (*vaultapi.Sys).UnmountWithContext,
		func(mp string, err error) error {
			return apiError("Error disabling secrets engine at %s: %s", mp, describe(err))
		},
		"Success! Disabled the secrets engine (if it existed) at: %s\n")
}

func (a *app) newSecretsListCmd() *cobra.Command {
	var detailed bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List enabled secrets engines",
		Long:    `Lists the mounted secrets engines: path, type, accessor and description.`,
		Example: "  vaultd secrets list\n  vaultd secrets list -detailed",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.formatClient(cmd)
			if err != nil {
				return err
			}
			mounts, err := c.Sys().ListMountsWithContext(cmd.Context())
			if err != nil {
				return apiError("Error listing secrets engines: %s", describe(err))
			}
			p := a.printer()
			if ok, err := p.structured(mounts); ok {
				return err
			}
			paths := sortedKeys(mounts)
			var rows []string
			if detailed {
				rows = []string{"Path | Plugin | Accessor | Default TTL | Max TTL | Force No Cache | Replication | Seal Wrap | Options | Description | UUID"}
				for _, pth := range paths {
					m := mounts[pth]
					rows = append(rows, strings.Join([]string{pth, m.Type, m.Accessor, ttlCell(m.Type, m.Config.DefaultLeaseTTL),
						ttlCell(m.Type, m.Config.MaxLeaseTTL), fmt.Sprint(m.Config.ForceNoCache), replication(m.Local), fmt.Sprint(m.SealWrap),
						fmt.Sprint(m.Options), m.Description, m.UUID}, cellDelim))
				}
				rows[0] = strings.ReplaceAll(rows[0], " | ", cellDelim)
				p.line(table(rows, cellDelim))
				return nil
			}
			rows = []string{"Path" + cellDelim + "Type" + cellDelim + "Accessor" + cellDelim + "Description"}
			for _, pth := range paths {
				m := mounts[pth]
				rows = append(rows, strings.Join([]string{pth, m.Type, m.Accessor, m.Description}, cellDelim))
			}
			p.line(table(rows, cellDelim))
			return nil
		},
	}
	cmd.Flags().BoolVar(&detailed, "detailed", false, "print more information about each engine")
	return cmd
}

func ttlCell(typ string, ttl int) string {
	switch {
	case typ == "system" || typ == "cubbyhole":
		return ""
	case ttl != 0:
		return fmt.Sprint(ttl)
	}
	return "system"
}

func replication(local bool) string {
	if local {
		return "local"
	}
	return "replicated"
}

func (a *app) newSecretsTuneCmd() *cobra.Command {
	var desc string
	var opts []string
	var defTTL, maxTTL time.Duration
	cmd := &cobra.Command{
		Use:     "tune [options] PATH",
		Short:   "Tune a secrets engine configuration",
		Long:    `Changes the configuration of the secrets engine at PATH: lease TTLs, description and options.`,
		Example: "  vaultd secrets tune -default-lease-ttl=72h kv2/\n  vaultd secrets tune -description='team secrets' team/",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := kvOptions(cmd, a, opts)
			if err != nil {
				return err
			}
			body := map[string]any{}
			if hasFlag(cmd, "default-lease-ttl") {
				body["default_lease_ttl"] = defTTL.String()
			}
			if hasFlag(cmd, "max-lease-ttl") {
				body["max_lease_ttl"] = maxTTL.String()
			}
			if hasFlag(cmd, "description") {
				body["description"] = desc
			}
			if o != nil {
				body["options"] = o
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			mp := withSlash(args[0])
			if _, err := c.Logical().WriteWithContext(cmd.Context(), "sys/mounts/"+mp+"tune", body); err != nil {
				return apiError("Error tuning secrets engine %s: %s", mp, describe(err))
			}
			fmt.Fprintf(a.stdout, "Success! Tuned the secrets engine at: %s\n", mp)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&desc, "description", "", "new description")
	f.StringArrayVar(&opts, "options", nil, "key=value option (repeatable)")
	f.DurationVar(&defTTL, "default-lease-ttl", 0, "default lease TTL")
	f.DurationVar(&maxTTL, "max-lease-ttl", 0, "maximum lease TTL")
	return cmd
}

func (a *app) newSecretsMoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "move SOURCE DESTINATION",
		Short:   "Move a secrets engine to a new path",
		Long:    `Moves the secrets engine mounted at SOURCE, with its data, to DESTINATION, and waits until the move is done.`,
		Example: "  vaultd secrets move kv2/ team-kv/",
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			src, dst := withSlash(args[0]), withSlash(args[1])
			out, err := c.Sys().StartRemountWithContext(cmd.Context(), src, dst)
			if err != nil {
				return apiError("Error moving secrets engine %s to %s: %s", src, dst, describe(err))
			}
			if out == nil || out.MigrationID == "" {
				fmt.Fprintf(a.stdout, "Success! Finished moving secrets engine %s to %s\n", src, dst)
				return nil
			}
			fmt.Fprintf(a.stdout, "Started moving secrets engine %s to %s, with migration ID %s\n", src, dst, out.MigrationID)
			return a.waitRemount(cmd.Context(), c, "secrets engine", src, dst, out.MigrationID)
		},
	}
}

func (a *app) waitRemount(ctx context.Context, c *vaultapi.Client, kind, src, dst, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for {
		st, err := c.Sys().RemountStatusWithContext(ctx, id)
		if err != nil {
			return apiError("Error checking the move of %s: %s", src, describe(err))
		}
		switch st.MigrationInfo.MigrationStatus {
		case "success":
			fmt.Fprintf(a.stdout, "Success! Finished moving %s %s to %s, with migration ID %s\n", kind, src, dst, id)
			return nil
		case "failure":
			return apiError("Failure! Error encountered moving %s %s to %s, with migration ID %s", kind, src, dst, id)
		}
		select {
		case <-ctx.Done():
			return apiError("Gave up waiting for the move of %s: %v", src, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// ---- auth ----

func (a *app) newAuthCmd() *cobra.Command {
	return a.apiGroup(&cobra.Command{
		Use:     "auth",
		Short:   "Interact with auth methods",
		Long:    `Enables, disables and lists auth methods. To log in, use "vaultd login".`,
		Example: "  vaultd auth list\n  vaultd auth enable userpass\n  vaultd auth enable -path=apps approle",
	}, a.newAuthEnableCmd(), a.newAuthDisableCmd(), a.newAuthListCmd(), a.newAuthMoveCmd())
}

func (a *app) newAuthMoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "move SOURCE DESTINATION",
		Short: "Move an auth method to a new path",
		Long: `Moves the auth method mounted at SOURCE, with its configuration, to
DESTINATION (both under auth/; the prefix may be left out), and waits until
the move is done. Tokens issued through SOURCE are revoked, as in Vault.`,
		Example: "  vaultd auth move auth/approle auth/robots",
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			authPath := func(p string) string {
				p = strings.TrimPrefix(strings.TrimPrefix(p, "/"), "auth/")
				return "auth/" + withSlash(p)
			}
			src, dst := authPath(args[0]), authPath(args[1])
			out, err := c.Sys().StartRemountWithContext(cmd.Context(), src, dst)
			if err != nil {
				return apiError("Error moving auth method %s to %s: %s", src, dst, describe(err))
			}
			fmt.Fprintf(a.stdout, "Started moving auth method %s to %s, with migration ID %s\n", src, dst, out.MigrationID)
			return a.waitRemount(cmd.Context(), c, "auth method", src, dst, out.MigrationID)
		},
	}
}

func (a *app) newAuthEnableCmd() *cobra.Command {
	var path, desc string
	var defTTL, maxTTL time.Duration
	var local bool
	cmd := &cobra.Command{
		Use:     "enable [-path=PATH] TYPE",
		Short:   "Enable a new auth method",
		Long:    `Enables an auth method of TYPE at auth/PATH (default: the type's name).`,
		Example: "  vaultd auth enable userpass\n  vaultd auth enable -path=robots -description='CI robots' approle",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			typ := strings.TrimSpace(args[0])
			if path == "" {
				path = typ
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			mp := withSlash(path)
			err = c.Sys().EnableAuthWithOptionsWithContext(cmd.Context(), mp, &vaultapi.EnableAuthOptions{
				Type: typ, Description: desc, Local: local,
				Config: vaultapi.AuthConfigInput{DefaultLeaseTTL: ttlFlag(defTTL), MaxLeaseTTL: ttlFlag(maxTTL)},
			})
			if err != nil {
				return apiError("Error enabling %s auth: %s", typ, describe(err))
			}
			fmt.Fprintf(a.stdout, "Success! Enabled %s auth method at: %s\n", typ, mp)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "path", "", "where to enable the method, under auth/ (default: the type)")
	f.StringVar(&desc, "description", "", "human-friendly description")
	f.DurationVar(&defTTL, "default-lease-ttl", 0, "default token TTL")
	f.DurationVar(&maxTTL, "max-lease-ttl", 0, "maximum token TTL")
	f.BoolVar(&local, "local", false, "mark the mount local-only")
	return cmd
}

func (a *app) newAuthDisableCmd() *cobra.Command {
	return a.disableCmd(&cobra.Command{
		Short:   "Disable an auth method",
		Long:    `Disables the auth method at auth/PATH and revokes the tokens it issued.`,
		Example: "  vaultd auth disable userpass/",
	}, (*vaultapi.Sys).DisableAuthWithContext,
		func(mp string, err error) error {
			return apiError("Error disabling auth method at %s: %s", mp, describe(err))
		},
		"Success! Disabled the auth method (if it existed) at: %s\n")
}

func (a *app) newAuthListCmd() *cobra.Command {
	var detailed bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List enabled auth methods",
		Long:    `Lists the enabled auth methods: path, type, accessor, description and version.`,
		Example: "  vaultd auth list",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.formatClient(cmd)
			if err != nil {
				return err
			}
			auths, err := c.Sys().ListAuthWithContext(cmd.Context())
			if err != nil {
				return apiError("Error listing enabled authentications: %s", describe(err))
			}
			p := a.printer()
			if ok, err := p.structured(auths); ok {
				return err
			}
			rows := []string{strings.Join([]string{"Path", "Type", "Accessor", "Description", "Version"}, cellDelim)}
			if detailed {
				rows = []string{strings.Join([]string{"Path", "Plugin", "Accessor", "Default TTL", "Max TTL", "Token Type", "Replication", "Seal Wrap", "Description"}, cellDelim)}
			}
			for _, pth := range sortedKeys(auths) {
				m := auths[pth]
				if detailed {
					rows = append(rows, strings.Join([]string{pth, m.Type, m.Accessor, ttlCell(m.Type, m.Config.DefaultLeaseTTL),
						ttlCell(m.Type, m.Config.MaxLeaseTTL), m.Config.TokenType, replication(m.Local), fmt.Sprint(m.SealWrap), m.Description}, cellDelim))
					continue
				}
				rows = append(rows, strings.Join([]string{pth, m.Type, m.Accessor, m.Description, m.PluginVersion}, cellDelim))
			}
			p.line(table(rows, cellDelim))
			return nil
		},
	}
	cmd.Flags().BoolVar(&detailed, "detailed", false, "print more information about each method")
	return cmd
}

// ---- audit ----

func (a *app) newAuditCmd() *cobra.Command {
	return a.apiGroup(&cobra.Command{
		Use:     "audit",
		Short:   "Interact with audit devices",
		Long:    `Enables, disables and lists audit devices.`,
		Example: "  vaultd audit enable file file_path=/var/log/vaultd/audit.log\n  vaultd audit list",
	}, a.newAuditEnableCmd(), a.newAuditDisableCmd(), a.newAuditListCmd())
}

func (a *app) newAuditEnableCmd() *cobra.Command {
	var path, desc string
	var local bool
	cmd := &cobra.Command{
		Use:     "enable [-path=PATH] TYPE [K=V...]",
		Short:   "Enable an audit device",
		Long:    `Enables an audit device of TYPE at sys/audit/PATH (default: the type's name); key=value pairs are its options.`,
		Example: "  vaultd audit enable file file_path=/var/log/vaultd/audit.log\n  vaultd audit enable -path=stdout file file_path=stdout",
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			typ := strings.TrimSpace(args[0])
			if path == "" {
				path = typ
			}
			raw, err := parseKV(a.stdin, args[1:])
			if err != nil {
				return usageError(cmd, "Failed to parse K=V data: %v", err)
			}
			opts := map[string]string{}
			for k, v := range raw {
				opts[k] = fmt.Sprint(v)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			mp := withSlash(path)
			err = c.Sys().EnableAuditWithOptionsWithContext(cmd.Context(), mp, &vaultapi.EnableAuditOptions{Type: typ, Description: desc, Options: opts, Local: local})
			if err != nil {
				return apiError("Error enabling audit device: %s", describe(err))
			}
			fmt.Fprintf(a.stdout, "Success! Enabled the %s audit device at: %s\n", typ, mp)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "path", "", "where to enable the device (default: the type)")
	f.StringVar(&desc, "description", "", "human-friendly description")
	f.BoolVar(&local, "local", false, "mark the device local-only")
	return cmd
}

func (a *app) newAuditDisableCmd() *cobra.Command {
	return a.disableCmd(&cobra.Command{
		Short:   "Disable an audit device",
		Long:    `Disables the audit device at PATH.`,
		Example: "  vaultd audit disable file/",
	}, (*vaultapi.Sys).DisableAuditWithContext,
		func(mp string, err error) error { return apiError("Error disabling audit device: %s", describe(err)) },
		"Success! Disabled audit device (if it was enabled) at: %s\n")
}

func (a *app) newAuditListCmd() *cobra.Command {
	var detailed bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List enabled audit devices",
		Long:    `Lists the enabled audit devices. Exit code 2 when there are none (table format).`,
		Example: "  vaultd audit list -detailed",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.formatClient(cmd)
			if err != nil {
				return err
			}
			audits, err := c.Sys().ListAuditWithContext(cmd.Context())
			if err != nil {
				return apiError("Error listing audits: %s", describe(err))
			}
			p := a.printer()
			if ok, err := p.structured(audits); ok {
				return err
			}
			if len(audits) == 0 {
				p.line("No audit devices are enabled.")
				return exitCode(ExitSealed)
			}
			paths := sortedKeys(audits)
			sort.Strings(paths)
			rows := []string{strings.Join([]string{"Path", "Type", "Description"}, cellDelim)}
			if detailed {
				rows[0] = strings.Join([]string{"Path", "Type", "Description", "Replication", "Options"}, cellDelim)
			}
			for _, pth := range paths {
				d := audits[pth]
				row := []string{d.Path, d.Type, d.Description}
				if detailed {
					row = append(row, replication(d.Local), fmt.Sprint(d.Options))
				}
				rows = append(rows, strings.Join(row, cellDelim))
			}
			p.line(table(rows, cellDelim))
			return nil
		},
	}
	cmd.Flags().BoolVar(&detailed, "detailed", false, "print the options and replication of each device")
	return cmd
}

// disableCmd completes cmd as "disable PATH": it calls disable with the
// mount path, returns fail's error if that fails and prints done (a format
// with one %s, the mount path) if it succeeds.
func (a *app) disableCmd(cmd *cobra.Command, disable func(*vaultapi.Sys, context.Context, string) error,
	fail func(mp string, err error) error, done string,
) *cobra.Command {
	cmd.Use = "disable PATH"
	cmd.Args = exactArgs(1)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		mp := withSlash(args[0])
		if err := disable(c.Sys(), cmd.Context(), mp); err != nil {
			return fail(mp, err)
		}
		fmt.Fprintf(a.stdout, done, mp)
		return nil
	}
	return cmd
}
