package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	hclprinter "github.com/hashicorp/hcl/hcl/printer"
	vaultapi "github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/vaultd/vaultd/core/acl"
)

// ---- login ----

func (a *app) newLoginCmd() *cobra.Command {
	var method, path string
	var noStore, tokenOnly, noPrint bool
	cmd := &cobra.Command{
		Use:   "login [-method=TYPE] [TOKEN | K=V...]",
		Short: "Authenticate locally",
		Long: `Authenticates with the server and stores the token in the token helper file
~/.vault-token, which later commands use when VAULT_TOKEN is unset.

-method=token (the default): the token is an argument, "-" (stdin), or typed
at a hidden prompt. -method=userpass: username=NAME and password=PASS (typed
at a hidden prompt when omitted). -method=approle: role_id=ID and
secret_id=ID. -method=jwt: jwt=TOKEN (or jwt=@FILE, jwt=- for stdin) and
role=NAME (optional when the mount has a default_role). -method=kubernetes:
role=NAME and jwt=TOKEN (in a pod: jwt=@/var/run/secrets/kubernetes.io/serviceaccount/token).
-path names the auth mount (default: the method's name).`,
		Example: `  vaultd login
  vaultd login hvs.XXXXXXXX
  vaultd login -method=userpass username=alice
  vaultd login -method=approle role_id=... secret_id=...
  vaultd login -method=jwt role=ci jwt=@$CI_JOB_JWT_FILE
  vaultd login -method=kubernetes role=app jwt=@/var/run/secrets/kubernetes.io/serviceaccount/token
  vaultd login -token-only -no-store -method=userpass username=ci password=-`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.formatClient(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if path == "" {
				path = method
			}
			var s *vaultapi.Secret
			switch method {
			case "token":
				s, err = a.loginToken(ctx, c, args)
			case "userpass":
				s, err = a.loginUserpass(ctx, c, path, args)
			case "approle":
				s, err = a.loginApprole(ctx, c, path, args)
			case "jwt", "kubernetes":
				s, err = a.loginJWT(ctx, c, method, path, args)
			default:
				return usageError(cmd, "Unknown auth method: %s. Use \"vaultd auth list\" to see the enabled methods; this CLI logs in with token, userpass, approle, jwt and kubernetes.", method)
			}
			if err != nil {
				return err
			}
			if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
				return apiError("Error authenticating: no token was returned")
			}
			if !noStore {
				if err := a.storeToken(s.Auth.ClientToken); err != nil {
					return apiError("Error storing token: %v", err)
				}
			}
			p := a.printer()
			if tokenOnly {
				return p.rawField(s, "token")
			}
			if noPrint {
				return nil
			}
			if p.format == "table" {
				if noStore {
					p.line(wrap("Success! You are now authenticated. The token information displayed below "+
						"has not been stored in the token helper: set VAULT_TOKEN or pass the token "+
						"with each request.", maxLineLength) + "\n")
				} else {
					p.line(wrap("Success! You are now authenticated. The token information displayed "+
						"below is already stored in the token helper. You do NOT need to run "+
						"\"vault login\" again. Future Vault requests will automatically use "+
						"this token.", maxLineLength) + "\n")
				}
			}
			return p.secret(s)
		},
	}
	f := cmd.Flags()
	f.StringVar(&method, "method", "token", "auth method: token, userpass, approle, jwt or kubernetes")
	f.StringVar(&path, "path", "", "mount path of the auth method (default: the method's name)")
	f.BoolVar(&noStore, "no-store", false, "do not store the token in ~/.vault-token")
	f.BoolVar(&tokenOnly, "token-only", false, "print only the token")
	f.BoolVar(&noPrint, "no-print", false, "print nothing on success")
	return a.clientCmd(cmd)
}

func (a *app) loginToken(ctx context.Context, c *vaultapi.Client, args []string) (*vaultapi.Secret, error) {
	var tok []byte
	var err error
	switch {
	case len(args) > 1:
		return nil, &exitError{code: ExitError, err: fmt.Errorf("Too many arguments (expected 1, got %d)", len(args))}
	case len(args) == 1 && args[0] == "-":
		tok, err = readAllSecret(a.stdin)
	case len(args) == 1:
		tok = []byte(strings.TrimPrefix(strings.TrimSpace(args[0]), "token="))
	default:
		tok, err = a.readSecret("Token (will be hidden): ")
	}
	if err != nil {
		return nil, apiError("Error reading the token: %v", err)
	}
	token := string(tok)
	clear(tok)
	lc, err := c.Clone()
	if err != nil {
		return nil, apiError("Error creating the client: %v", err)
	}
	lc.SetToken(token)
	s, err := lc.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return nil, apiError("Error authenticating: error looking up token: %s", describe(err))
	}
	if s == nil {
		return nil, apiError("Error authenticating: empty response from lookup-self")
	}
	return secretFromLookup(token, s), nil
}

// secretFromLookup builds the auth block `login` prints from lookup-self.
func secretFromLookup(token string, s *vaultapi.Secret) *vaultapi.Secret {
	str := func(v any) []string {
		l, _ := v.([]any)
		out := []string{}
		for _, e := range l {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	auth := &vaultapi.SecretAuth{ClientToken: token, Metadata: map[string]string{}}
	auth.Accessor, _ = s.Data["accessor"].(string)
	auth.Policies = str(s.Data["policies"])
	auth.TokenPolicies = auth.Policies
	auth.IdentityPolicies = str(s.Data["identity_policies"])
	auth.Renewable, _ = s.Data["renewable"].(bool)
	if n, ok := s.Data["ttl"].(json.Number); ok {
		v, _ := n.Int64()
		auth.LeaseDuration = int(v)
	}
	if m, ok := s.Data["meta"].(map[string]any); ok {
		for k, v := range m {
			auth.Metadata[k] = fmt.Sprint(v)
		}
	}
	return &vaultapi.Secret{RequestID: s.RequestID, Auth: auth}
}

func (a *app) loginUserpass(ctx context.Context, c *vaultapi.Client, path string, args []string) (*vaultapi.Secret, error) {
	data, err := parseKV(a.stdin, args)
	if err != nil {
		return nil, &exitError{code: ExitError, err: fmt.Errorf("Failed to parse K=V data: %w", err)}
	}
	user, _ := data["username"].(string)
	if user == "" {
		return nil, &exitError{code: ExitError, err: errors.New(`"username" is required: vaultd login -method=userpass username=NAME`)}
	}
	pass, ok := data["password"].(string)
	if !ok {
		b, err := a.readSecret("Password (will be hidden): ")
		if err != nil {
			return nil, apiError("Error reading the password: %v", err)
		}
		pass = string(b)
		clear(b)
	}
	s, err := c.Logical().WriteWithContext(ctx, fmt.Sprintf("auth/%s/login/%s", sanitizePath(path), user), map[string]any{"password": pass})
	if err != nil {
		return nil, apiError("Error authenticating: %s", describe(err))
	}
	return s, nil
}

func (a *app) loginApprole(ctx context.Context, c *vaultapi.Client, path string, args []string) (*vaultapi.Secret, error) {
	data, err := parseKV(a.stdin, args)
	if err != nil {
		return nil, &exitError{code: ExitError, err: fmt.Errorf("Failed to parse K=V data: %w", err)}
	}
	if _, ok := data["role_id"]; !ok {
		return nil, &exitError{code: ExitError, err: errors.New(`"role_id" is required: vaultd login -method=approle role_id=ID secret_id=ID`)}
	}
	s, err := c.Logical().WriteWithContext(ctx, fmt.Sprintf("auth/%s/login", sanitizePath(path)), data)
	if err != nil {
		return nil, apiError("Error authenticating: %s", describe(err))
	}
	return s, nil
}

// loginJWT logs in to a jwt or kubernetes mount with role=NAME jwt=TOKEN.
// The token is read from a file (jwt=@FILE) or stdin (jwt=-) as any K=V
// value; surrounding whitespace (a trailing newline) is dropped.
func (a *app) loginJWT(ctx context.Context, c *vaultapi.Client, method, path string, args []string) (*vaultapi.Secret, error) {
	data, err := parseKV(a.stdin, args)
	if err != nil {
		return nil, &exitError{code: ExitError, err: fmt.Errorf("Failed to parse K=V data: %w", err)}
	}
	jwt, _ := data["jwt"].(string)
	if jwt = strings.TrimSpace(jwt); jwt == "" {
		return nil, &exitError{code: ExitError, err: fmt.Errorf(`"jwt" is required: vaultd login -method=%s role=NAME jwt=TOKEN (or jwt=@FILE)`, method)}
	}
	data["jwt"] = jwt
	if role, _ := data["role"].(string); role == "" && method == "kubernetes" {
		return nil, &exitError{code: ExitError, err: errors.New(`"role" is required: vaultd login -method=kubernetes role=NAME jwt=TOKEN`)}
	}
	s, err := c.Logical().WriteWithContext(ctx, fmt.Sprintf("auth/%s/login", sanitizePath(path)), data)
	if err != nil {
		return nil, apiError("Error authenticating: %s", describe(err))
	}
	return s, nil
}

// ---- token ----

func (a *app) newTokenCmd() *cobra.Command {
	return a.apiGroup(&cobra.Command{
		Use:     "token",
		Short:   "Interact with tokens",
		Long:    `Creates, looks up, renews and revokes tokens, and shows a token's capabilities on a path.`,
		Example: "  vaultd token create -policy=dev -ttl=1h\n  vaultd token lookup\n  vaultd token capabilities secret/data/foo",
	}, a.newTokenCreateCmd(), a.newTokenLookupCmd(), a.newTokenRenewCmd(), a.newTokenRevokeCmd(), a.newTokenCapabilitiesCmd())
}

func (a *app) newTokenCreateCmd() *cobra.Command {
	var policies, meta []string
	var ttl, explicitMax, period time.Duration
	var orphan, noDefault bool
	var renewable bool
	var displayName, role, typ, id string
	var uses int
	cmd := &cobra.Command{
		Use:   "create [options]",
		Short: "Create a new token",
		Long: `Creates a token, a child of the current one unless -orphan, with the given
policies and TTLs.`,
		Example: `  vaultd token create -policy=dev -ttl=1h
  vaultd token create -orphan -period=24h -policy=agent
  vaultd token create -field=token -policy=ci`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			md := map[string]string{}
			if len(meta) > 0 {
				raw, err := parseKV(a.stdin, meta)
				if err != nil {
					return usageError(cmd, "Failed to parse -metadata: %v", err)
				}
				for k, v := range raw {
					md[k] = fmt.Sprint(v)
				}
			}
			req := &vaultapi.TokenCreateRequest{
				ID: id, Policies: splitList(policies), Metadata: md, TTL: ttlFlag(ttl), ExplicitMaxTTL: ttlFlag(explicitMax),
				Period: ttlFlag(period), NoParent: orphan, NoDefaultPolicy: noDefault, DisplayName: displayName, NumUses: uses, Type: typ,
			}
			if hasFlag(cmd, "renewable") {
				req.Renewable = &renewable
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var s *vaultapi.Secret
			switch {
			case role != "":
				s, err = c.Auth().Token().CreateWithRoleWithContext(cmd.Context(), req, role)
			case orphan:
				s, err = c.Auth().Token().CreateOrphanWithContext(cmd.Context(), req)
			default:
				s, err = c.Auth().Token().CreateWithContext(cmd.Context(), req)
			}
			if err != nil {
				return apiError("Error creating token: %s", describe(err))
			}
			return a.printSecret(s)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&policies, "policy", nil, "policy of the token (repeatable or comma-separated)")
	f.StringArrayVar(&meta, "metadata", nil, "key=value metadata (repeatable)")
	f.DurationVar(&ttl, "ttl", 0, "initial TTL")
	f.DurationVar(&explicitMax, "explicit-max-ttl", 0, "hard maximum lifetime")
	f.DurationVar(&period, "period", 0, "make a periodic token renewable for this long each time")
	f.BoolVar(&orphan, "orphan", false, "create a token with no parent")
	f.BoolVar(&noDefault, "no-default-policy", false, "do not attach the default policy")
	f.BoolVar(&renewable, "renewable", true, "allow the token to be renewed")
	f.StringVar(&displayName, "display-name", "", "name shown in lookups and audit logs")
	f.StringVar(&role, "role", "", "create the token with this token role")
	f.StringVar(&typ, "type", "service", `token type: "service" or "batch"`)
	f.StringVar(&id, "id", "", "the token's ID (root only; default: random)")
	f.IntVar(&uses, "use-limit", 0, "number of uses (0: unlimited)")
	a.addFieldFlag(cmd)
	return cmd
}

func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// tokenArg reads an optional TOKEN argument ("-" reads stdin).
func (a *app) tokenArg(args []string) (string, error) {
	if len(args) == 0 {
		return "", nil
	}
	if args[0] != "-" {
		return strings.TrimSpace(args[0]), nil
	}
	b, err := readAllSecret(a.stdin)
	if err != nil {
		return "", apiError("Error reading the token: %v", err)
	}
	t := string(b)
	clear(b)
	return t, nil
}

func (a *app) newTokenLookupCmd() *cobra.Command {
	var accessor bool
	cmd := &cobra.Command{
		Use:     "lookup [-accessor] [TOKEN]",
		Short:   "Display information about a token",
		Long:    `Shows the properties of TOKEN (default: the current token); with -accessor, TOKEN is an accessor.`,
		Example: "  vaultd token lookup\n  vaultd token lookup -accessor 9793c9b3-e04a-46f3-e7b8-748d7da248da",
		Args:    rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			if accessor && len(args) == 0 {
				return usageError(cmd, "Not enough arguments (expected 1, got 0)")
			}
			tok, err := a.tokenArg(args)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var s *vaultapi.Secret
			switch {
			case accessor:
				s, err = c.Auth().Token().LookupAccessorWithContext(cmd.Context(), tok)
			case tok == "":
				s, err = c.Auth().Token().LookupSelfWithContext(cmd.Context())
			default:
				s, err = c.Auth().Token().LookupWithContext(cmd.Context(), tok)
			}
			if err != nil {
				return apiError("Error looking up token: %s", describe(err))
			}
			return a.printSecret(s)
		},
	}
	cmd.Flags().BoolVar(&accessor, "accessor", false, "treat the argument as an accessor")
	a.addFieldFlag(cmd)
	return cmd
}

func (a *app) newTokenRenewCmd() *cobra.Command {
	var increment time.Duration
	var accessor bool
	cmd := &cobra.Command{
		Use:     "renew [-increment=DURATION] [TOKEN]",
		Short:   "Renew a token lease",
		Long:    `Renews TOKEN (default: the current token), asking for -increment more time.`,
		Example: "  vaultd token renew\n  vaultd token renew -increment=30m hvs.XXXX",
		Args:    rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			tok, err := a.tokenArg(args)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			inc := int(increment / time.Second)
			var s *vaultapi.Secret
			switch {
			case accessor:
				s, err = c.Auth().Token().RenewAccessorWithContext(cmd.Context(), tok, inc)
			case tok == "":
				s, err = c.Auth().Token().RenewSelfWithContext(cmd.Context(), inc)
			default:
				s, err = c.Auth().Token().RenewWithContext(cmd.Context(), tok, inc)
			}
			if err != nil {
				return apiError("Error renewing token: %s", describe(err))
			}
			return a.printSecret(s)
		},
	}
	cmd.Flags().DurationVarP(&increment, "increment", "i", 0, "requested extension")
	cmd.Flags().BoolVar(&accessor, "accessor", false, "treat the argument as an accessor")
	a.addFieldFlag(cmd)
	return cmd
}

func (a *app) newTokenRevokeCmd() *cobra.Command {
	var self, accessor bool
	var mode string
	cmd := &cobra.Command{
		Use:   "revoke [options] [TOKEN | ACCESSOR]",
		Short: "Revoke a token and its children",
		Long: `Revokes TOKEN and, by default, all its children. -mode=orphan revokes only
the token and orphans its children; -self revokes the current token.`,
		Example: "  vaultd token revoke hvs.XXXX\n  vaultd token revoke -self\n  vaultd token revoke -accessor 9793c9b3-e04a-46f3-e7b8-748d7da248da",
		Args:    rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case self && len(args) > 0:
				return usageError(cmd, "Too many arguments (expected 0, got %d)", len(args))
			case !self && len(args) == 0:
				return usageError(cmd, "Not enough arguments (expected 1, got 0)")
			case self && accessor:
				return usageError(cmd, "Cannot use -self with -accessor")
			case mode != "" && mode != "orphan" && mode != "path":
				return usageError(cmd, "Invalid mode: %s", mode)
			}
			tok, err := a.tokenArg(args)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			switch {
			case self:
				_, err = c.Logical().WriteWithContext(ctx, "auth/token/revoke-self", nil)
			case accessor:
				err = c.Auth().Token().RevokeAccessorWithContext(ctx, tok)
			case mode == "orphan":
				err = c.Auth().Token().RevokeOrphanWithContext(ctx, tok)
			default:
				err = c.Auth().Token().RevokeTreeWithContext(ctx, tok)
			}
			if err != nil {
				return apiError("Error revoking token: %s", describe(err))
			}
			fmt.Fprintln(a.stdout, "Success! Revoked token (if it existed)")
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&self, "self", false, "revoke the current token")
	f.BoolVar(&accessor, "accessor", false, "treat the argument as an accessor")
	f.StringVar(&mode, "mode", "", `"orphan" to keep the children (orphaned)`)
	return cmd
}

func (a *app) newTokenCapabilitiesCmd() *cobra.Command {
	var accessor bool
	cmd := &cobra.Command{
		Use:     "capabilities [TOKEN] PATH",
		Short:   "Print capabilities of a token on a path",
		Long:    `Prints the capabilities TOKEN (default: the current token) has on PATH, as a comma-separated list.`,
		Example: "  vaultd token capabilities secret/data/foo\n  vaultd token capabilities hvs.XXXX sys/mounts",
		Args:    rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.formatClient(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var caps []string
			switch {
			case len(args) == 1:
				caps, err = c.Sys().CapabilitiesSelfWithContext(ctx, args[0])
			case accessor:
				caps, err = c.Sys().CapabilitiesAccessorWithContext(ctx, args[0], args[1])
			default:
				caps, err = c.Sys().CapabilitiesWithContext(ctx, args[0], args[1])
			}
			if err != nil {
				return apiError("Error listing capabilities: %s", describe(err))
			}
			p := a.printer()
			if ok, err := p.structured(caps); ok {
				return err
			}
			sort.Strings(caps)
			p.line(strings.Join(caps, ", "))
			return nil
		},
	}
	cmd.Flags().BoolVar(&accessor, "accessor", false, "treat the first argument as an accessor")
	return cmd
}

// ---- policy ----

func (a *app) newPolicyCmd() *cobra.Command {
	return a.apiGroup(&cobra.Command{
		Use:     "policy",
		Short:   "Interact with policies",
		Long:    `Writes, reads, lists, deletes and formats ACL policies.`,
		Example: "  vaultd policy write dev dev.hcl\n  vaultd policy list\n  vaultd policy read dev",
	}, a.newPolicyWriteCmd(), a.newPolicyReadCmd(), a.newPolicyListCmd(), a.newPolicyDeleteCmd(), a.newPolicyFmtCmd())
}

func (a *app) newPolicyWriteCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "write NAME PATH",
		Short:   "Upload a policy",
		Long:    `Uploads the ACL policy in the file PATH ("-" reads stdin) under NAME, replacing any policy of that name.`,
		Example: "  vaultd policy write dev ./dev.hcl\n  cat dev.hcl | vaultd policy write dev -",
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var b []byte
			var err error
			if args[1] == "-" {
				b, err = readBounded(a.stdin)
			} else {
				b, err = os.ReadFile(args[1])
			}
			if err != nil {
				return apiError("Error opening policy file: %v", err)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			name := strings.TrimSpace(strings.ToLower(args[0]))
			if err := c.Sys().PutPolicyWithContext(cmd.Context(), name, string(b)); err != nil {
				return apiError("Error uploading policy: %s", describe(err))
			}
			fmt.Fprintf(a.stdout, "Success! Uploaded policy: %s\n", name)
			return nil
		},
	}
}

func (a *app) newPolicyReadCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "read NAME",
		Short:   "Print the contents of a policy",
		Long:    `Prints the rules of the policy NAME.`,
		Example: "  vaultd policy read dev",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.formatClient(cmd)
			if err != nil {
				return err
			}
			name := strings.TrimSpace(strings.ToLower(args[0]))
			rules, err := c.Sys().GetPolicyWithContext(cmd.Context(), name)
			if err != nil {
				return apiError("Error reading policy named %s: %s", name, describe(err))
			}
			if rules == "" {
				return apiError("No policy named: %s", name)
			}
			p := a.printer()
			if ok, err := p.structured(map[string]any{"policy": rules}); ok {
				return err
			}
			p.line(strings.TrimSpace(rules))
			return nil
		},
	}
}

func (a *app) newPolicyListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the installed policies",
		Long:    `Lists the names of the ACL policies, one per line.`,
		Example: "  vaultd policy list",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.formatClient(cmd)
			if err != nil {
				return err
			}
			names, err := c.Sys().ListPoliciesWithContext(cmd.Context())
			if err != nil {
				return apiError("Error listing policies: %s", describe(err))
			}
			p := a.printer()
			if ok, err := p.structured(names); ok {
				return err
			}
			for _, n := range names {
				p.line(n)
			}
			return nil
		},
	}
}

func (a *app) newPolicyDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Short:   "Delete a policy by name",
		Long:    `Deletes the policy NAME. Tokens that carry it lose its rules at once.`,
		Example: "  vaultd policy delete dev",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			name := strings.TrimSpace(strings.ToLower(args[0]))
			if err := c.Sys().DeletePolicyWithContext(cmd.Context(), name); err != nil {
				return apiError("Error deleting %s: %s", name, describe(err))
			}
			fmt.Fprintf(a.stdout, "Success! Deleted policy: %s\n", name)
			return nil
		},
	}
}

func (a *app) newPolicyFmtCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "fmt PATH",
		Short:   "Format a policy file",
		Long:    `Checks the ACL policy in the file PATH and rewrites it in canonical HCL formatting. No server is contacted.`,
		Example: "  vaultd policy fmt dev.hcl",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			b, err := os.ReadFile(path)
			if err != nil {
				return apiError("Error opening policy file: %v", err)
			}
			if _, err := acl.Parse("fmt", string(b)); err != nil {
				return apiError("Error parsing policy: %v", err)
			}
			out, err := hclprinter.Format(b)
			if err != nil {
				return apiError("Error formatting policy: %v", err)
			}
			if !bytes.HasSuffix(out, []byte("\n")) {
				out = append(out, '\n')
			}
			if err := os.WriteFile(path, out, 0o644); err != nil {
				return apiError("Error writing formatted policy: %v", err)
			}
			fmt.Fprintf(a.stdout, "Success! Formatted policy: %s\n", path)
			return nil
		},
	}
}
