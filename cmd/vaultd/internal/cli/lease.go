package cli

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"
)

// lease lookup|renew|revoke over sys/leases/*. In vaultd the leased
// objects are tokens: a lease ID is "<creation path>/<hash>", e.g.
// "auth/userpass/login/alice/3f9c…"; LIST sys/leases/lookup/<prefix>
// (sudo) finds them.

func (a *app) newLeaseCmd() *cobra.Command {
	return a.apiGroup(&cobra.Command{
		Use:   "lease",
		Short: "Interact with leases",
		Long: `Looks up, renews and revokes leases. A lease ID names what was leased and
where it came from, e.g. auth/userpass/login/alice/3f9c…; list them with
"vaultd list sys/leases/lookup/PREFIX" (needs sudo).`,
		Example: `  vaultd list sys/leases/lookup/auth/token/create/
  vaultd lease lookup auth/token/create/3f9c…
  vaultd lease renew -increment=1h auth/token/create/3f9c…
  vaultd lease revoke -prefix auth/userpass/`,
	}, a.newLeaseLookupCmd(), a.newLeaseRenewCmd(), a.newLeaseRevokeCmd())
}

// leaseArg is the lease ID argument, without a leading slash.
func leaseArg(s string) string { return strings.TrimLeft(strings.TrimSpace(s), "/") }

func (a *app) newLeaseLookupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lookup ID",
		Short: "Look up a lease",
		Long: `Shows a lease's metadata: issue and expire time, last renewal, whether it
is renewable and its remaining TTL. An unknown or expired lease is an error.`,
		Example: "  vaultd lease lookup auth/token/create/3f9c…\n  vaultd lease lookup -format=json -field=ttl auth/userpass/login/alice/3f9c…",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.formatClient(cmd)
			if err != nil {
				return err
			}
			id := leaseArg(args[0])
			if id == "" {
				return usageError(cmd, "Missing lease ID")
			}
			s, err := c.Sys().LookupWithContext(cmd.Context(), id)
			if err != nil {
				return apiError("Error looking up lease: %s", describe(err))
			}
			if s == nil {
				return apiError("No lease found with ID %s", id)
			}
			return a.printSecret(s)
		},
	}
	a.addFieldFlag(cmd)
	return cmd
}

// parseIncrement reads Vault's duration arguments: "1h30m" or a number
// of seconds.
func parseIncrement(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > math.MaxInt64/int64(time.Second) {
			return 0, fmt.Errorf("duration %q out of range", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q (use e.g. 30m, 1h or a number of seconds)", s)
	}
	return d, nil
}

func (a *app) newLeaseRenewCmd() *cobra.Command {
	var increment string
	cmd := &cobra.Command{
		Use:   "renew [-increment=DURATION] ID",
		Short: "Renew a lease",
		Long: `Renews a lease, asking for -increment more time from now (the server's
default when not given). The server may grant less: the lease's max TTL
caps it. An unknown or expired lease is an error.`,
		Example: "  vaultd lease renew auth/token/create/3f9c…\n  vaultd lease renew -increment=2h auth/userpass/login/alice/3f9c…",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			inc, err := parseIncrement(increment)
			if err != nil {
				return usageError(cmd, "Invalid -increment: %v", err)
			}
			c, err := a.formatClient(cmd)
			if err != nil {
				return err
			}
			id := leaseArg(args[0])
			if id == "" {
				return usageError(cmd, "Missing lease ID")
			}
			s, err := c.Sys().RenewWithContext(cmd.Context(), id, int(inc/time.Second))
			if err != nil {
				return apiError("Error renewing %s: %s", id, describe(err))
			}
			if s == nil {
				return apiError("No lease found with ID %s", id)
			}
			return a.printSecret(s)
		},
	}
	cmd.Flags().StringVarP(&increment, "increment", "i", "", `requested extension: a duration ("1h") or seconds`)
	a.addFieldFlag(cmd)
	return cmd
}

func (a *app) newLeaseRevokeCmd() *cobra.Command {
	var force, prefix, sync bool
	cmd := &cobra.Command{
		Use:   "revoke [-prefix [-force]] [-sync] ID",
		Short: "Revoke a lease or every lease under a prefix",
		Long: `Revokes a lease now. With -prefix, ID is a path prefix and every lease
under it is revoked (needs sudo on sys/leases/revoke-prefix/). -force
(with -prefix) revokes through sys/leases/revoke-force/, which in Vault
also removes leases whose backend revocation fails; vaultd's leases are
tokens, whose revocation cannot fail, so it revokes the same set. Revoking
a lease that does not exist succeeds, as in Vault.

-sync waits for the revocation to finish; without it Vault only queues
it. vaultd always revokes before it answers, so both forms have finished
on exit 0; the messages are Vault's.`,
		Example: `  vaultd lease revoke auth/token/create/3f9c…
  vaultd lease revoke -sync auth/token/create/3f9c…
  vaultd lease revoke -prefix auth/userpass/login/alice
  vaultd lease revoke -prefix -force auth/approle/`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if force && !prefix {
				return usageError(cmd, "Specifying -force requires also specifying -prefix")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			id := leaseArg(args[0])
			if id == "" {
				return usageError(cmd, "Missing lease ID")
			}
			ctx := cmd.Context()
			switch {
			case force:
				if err := c.Sys().RevokeForceWithContext(ctx, id); err != nil {
					return apiError("Error force revoking leases with prefix %s: %s", id, describe(err))
				}
				fmt.Fprintf(a.stdout, "Success! Force revoked any leases with prefix: %s\n", id)
				return nil
			case prefix:
				if err := c.Sys().RevokeWithOptionsWithContext(ctx, &vaultapi.RevokeOptions{LeaseID: id, Prefix: true, Sync: sync}); err != nil {
					return apiError("Error revoking leases with prefix %s: %s", id, describe(err))
				}
				if sync {
					fmt.Fprintf(a.stdout, "Success! Revoked any leases with prefix: %s\n", id)
				} else {
					fmt.Fprintln(a.stdout, "All revocation operations queued successfully!")
				}
				return nil
			}
			if err := c.Sys().RevokeWithOptionsWithContext(ctx, &vaultapi.RevokeOptions{LeaseID: id, Sync: sync}); err != nil {
				return apiError("Error revoking lease %s: %s", id, describe(err))
			}
			if sync {
				fmt.Fprintf(a.stdout, "Success! Revoked lease: %s\n", id)
			} else {
				fmt.Fprintln(a.stdout, "All revocation operations queued successfully!")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&force, "force", false, "with -prefix: revoke through sys/leases/revoke-force/ (needs sudo)")
	f.BoolVar(&prefix, "prefix", false, "treat ID as a prefix and revoke every lease under it (needs sudo)")
	f.BoolVar(&sync, "sync", false, "wait for the revocation to finish (vaultd always does)")
	return cmd
}
