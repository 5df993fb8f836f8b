package cli

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/pgp"
)

func (a *app) newOperatorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "operator",
		Short: "Perform operator-specific tasks",
		Long: `Groups the commands operators use to manage the cluster: initialise it, unseal
and seal nodes, run the unseal ceremony across the cluster, rekey, generate a
root token, rotate the encryption key and manage raft peers.`,
		Example: `  vaultd operator init -key-shares=5 -key-threshold=3
  vaultd operator unseal -all
  vaultd operator ceremony`,
		Args: cobra.NoArgs,
		RunE: groupRunE,
	}
	a.addHTTPFlags(cmd)
	a.addFormatFlag(cmd)
	cmd.AddCommand(a.newInitCmd(), a.newUnsealCmd(), a.newSealCmd(), a.newStepDownCmd(), a.newKeyStatusCmd(),
		a.newRotateCmd(), a.newMembersCmd(), a.newRekeyCmd(), a.newGenerateRootCmd(), a.newRaftCmd(), a.newCeremonyCmd(), a.newOperatorDiagnoseCmd())
	return cmd
}

// groupRunE prints the help of a command group run without a subcommand.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError(cmd, "Unknown subcommand %q", args[0])
	}
	return cmd.Help()
}

// ---- operator init ----

// initOutput is `operator init -format=json`, as Vault prints it.
type initOutput struct {
	UnsealKeysB64     []string `json:"unseal_keys_b64"`
	UnsealKeysHex     []string `json:"unseal_keys_hex"`
	UnsealShares      int      `json:"unseal_shares"`
	UnsealThreshold   int      `json:"unseal_threshold"`
	RecoveryKeysB64   []string `json:"recovery_keys_b64"`
	RecoveryKeysHex   []string `json:"recovery_keys_hex"`
	RecoveryShares    int      `json:"recovery_keys_shares"`
	RecoveryThreshold int      `json:"recovery_keys_threshold"`
	RootToken         string   `json:"root_token"`
	// UnsealKeyFiles lists the files the shares went to with -share-dir
	// (vaultd only; the shares are then not printed).
	UnsealKeyFiles []string `json:"unseal_key_files,omitempty"`
}

func (a *app) newInitCmd() *cobra.Command {
	var shares, threshold, rshares, rthreshold int
	var pgpKeys, rootPGP, shareDir, rpgpKeys string
	var status bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Initialize a server",
		Long: `Initializes a new cluster: the server makes the root key, splits the unseal key
into -key-shares shares of which -key-threshold unseal it, and creates the
initial root token. Run it once, against the first node.

With -pgp-keys, each share is encrypted to one keyholder's OpenPGP public key
(files in binary, ASCII-armored or base64 form, comma-separated, in share
order) and only the encrypted shares are ever printed. -root-token-pgp-key
does the same for the root token. With -share-dir, each share is written to
its own file (mode 0600) instead of the terminal.`,
		Example: `  vaultd operator init
  vaultd operator init -key-shares=5 -key-threshold=3 \
      -pgp-keys=alice.asc,bob.asc,carol.asc,dan.asc,erin.asc \
      -root-token-pgp-key=ops.asc
  vaultd operator init -key-shares=3 -key-threshold=2 -share-dir=/secure/usb
  vaultd operator init -status`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if status {
				return a.initStatus(cmd.Context(), c)
			}
			// Read every key file first: usage errors before any request.
			readKeys := func(flag, list string) ([]string, error) {
				var out []string
				if list == "" {
					return nil, nil
				}
				for _, f := range strings.Split(list, ",") {
					k, err := pgp.ReadKeyFile(f)
					if err != nil {
						return nil, usageError(cmd, "Error parsing -%s: %v", flag, err)
					}
					out = append(out, k)
				}
				return out, nil
			}
			unsealPGP, err := readKeys("pgp-keys", pgpKeys)
			if err != nil {
				return err
			}
			recoveryPGP, err := readKeys("recovery-pgp-keys", rpgpKeys)
			if err != nil {
				return err
			}
			// As Vault's CLI: an auto-sealed server hands out recovery
			// shares instead of unseal shares.
			ss, err := c.Sys().SealStatusWithContext(cmd.Context())
			if err != nil {
				return apiError("Error checking seal status: %s", describe(err))
			}
			recovery := ss.RecoverySeal
			var req *vaultapi.InitRequest
			if recovery {
				if hasFlag(cmd, "key-shares") || hasFlag(cmd, "key-threshold") || len(unsealPGP) > 0 {
					return usageError(cmd, "This server uses the %s seal: use -recovery-shares, -recovery-threshold and -recovery-pgp-keys", ss.Type)
				}
				req = &vaultapi.InitRequest{RecoveryShares: rshares, RecoveryThreshold: rthreshold, RecoveryPGPKeys: recoveryPGP}
				if len(recoveryPGP) > 0 {
					if !hasFlag(cmd, "recovery-shares") {
						req.RecoveryShares = len(recoveryPGP)
					}
					if len(recoveryPGP) != req.RecoveryShares {
						return usageError(cmd, "Incorrect number of PGP keys: %d keys for %d recovery shares", len(recoveryPGP), req.RecoveryShares)
					}
				}
			} else {
				if hasFlag(cmd, "recovery-shares") || hasFlag(cmd, "recovery-threshold") || len(recoveryPGP) > 0 {
					return usageError(cmd, "-recovery-shares, -recovery-threshold and -recovery-pgp-keys apply only to a server with an auto seal (this one uses %s)", ss.Type)
				}
				req = &vaultapi.InitRequest{SecretShares: shares, SecretThreshold: threshold, PGPKeys: unsealPGP}
				if len(unsealPGP) > 0 {
					if !hasFlag(cmd, "key-shares") {
						req.SecretShares = len(unsealPGP)
					}
					if len(unsealPGP) != req.SecretShares {
						return usageError(cmd, "Incorrect number of PGP keys: %d keys for %d key shares", len(unsealPGP), req.SecretShares)
					}
				}
			}
			if rootPGP != "" {
				k, err := pgp.ReadKeyFile(rootPGP)
				if err != nil {
					return usageError(cmd, "Error parsing -root-token-pgp-key: %v", err)
				}
				req.RootTokenPGPKey = k
			}
			var files []*os.File
			if shareDir != "" {
				// Create every file before init: shares must never be lost
				// to a file that cannot be written afterwards.
				prefix, n := "unseal-key", req.SecretShares
				if recovery {
					prefix, n = "recovery-key", req.RecoveryShares
				}
				files, err = createShareFiles(shareDir, prefix, n)
				if err != nil {
					return apiError("Error preparing -share-dir: %v", err)
				}
			}
			resp, err := c.Sys().InitWithContext(cmd.Context(), req)
			if err != nil {
				removeShareFiles(files)
				return apiError("Error initializing: %s", describe(err))
			}
			return a.printInit(req, resp, files)
		},
	}
	a.addHTTPFlags(cmd)
	a.addFormatFlag(cmd)
	f := cmd.Flags()
	f.IntVarP(&shares, "key-shares", "n", 5, "number of key shares to split the unseal key into")
	f.IntVarP(&threshold, "key-threshold", "t", 3, "number of key shares required to unseal")
	f.StringVar(&pgpKeys, "pgp-keys", "", "comma-separated OpenPGP public key files, one per share, in order")
	f.StringVar(&rootPGP, "root-token-pgp-key", "", "OpenPGP public key file to encrypt the root token to")
	f.StringVar(&shareDir, "share-dir", "", "write each share to DIR/unseal-key-N (recovery-key-N with an auto seal; mode 0600) instead of printing it")
	f.IntVar(&rshares, "recovery-shares", 5, "auto seal: number of shares to split the recovery key into")
	f.IntVar(&rthreshold, "recovery-threshold", 3, "auto seal: number of recovery shares required for generate-root and rekey")
	f.StringVar(&rpgpKeys, "recovery-pgp-keys", "", "auto seal: comma-separated OpenPGP public key files, one per recovery share, in order")
	f.BoolVar(&status, "status", false, "print the initialization status: exit 0 if initialized, 2 if not, 1 on error")
	return cmd
}

func (a *app) initStatus(ctx context.Context, c *vaultapi.Client) error {
	ok, err := c.Sys().InitStatusWithContext(ctx)
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("Error checking init status: %s", describe(err))}
	}
	p := a.printer()
	if done, err := p.structured(vaultapi.InitStatusResponse{Initialized: ok}); done {
		if err != nil {
			return err
		}
	} else if ok {
		p.line("Vault is initialized")
	} else {
		p.line("Vault is not initialized")
	}
	if !ok {
		return exitCode(ExitSealed)
	}
	return nil
}

func createShareFiles(dir, prefix string, n int) ([]*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var files []*os.File
	for i := 1; i <= n; i++ {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%s-%d", prefix, i)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			removeShareFiles(files)
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

func removeShareFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
		os.Remove(f.Name())
	}
}

func (a *app) printInit(req *vaultapi.InitRequest, resp *vaultapi.InitResponse, files []*os.File) error {
	var written []string
	var werr error
	recovery := req.RecoveryShares > 0
	fileKeys := resp.KeysB64
	if recovery {
		fileKeys = resp.RecoveryKeysB64
	}
	for i, f := range files {
		if i < len(fileKeys) {
			if _, err := fmt.Fprintln(f, fileKeys[i]); err != nil && werr == nil {
				werr = err
			}
		}
		if err := f.Sync(); err != nil && werr == nil {
			werr = err
		}
		if err := f.Close(); err != nil && werr == nil {
			werr = err
		}
		written = append(written, f.Name())
	}
	if werr != nil {
		// Never lose shares: print them after all.
		fmt.Fprintf(a.stderr, "Error writing a share file (%v); printing the shares instead.\n", werr)
		written = nil
	}
	out := &initOutput{
		UnsealKeysB64: resp.KeysB64, UnsealKeysHex: resp.Keys, UnsealShares: req.SecretShares, UnsealThreshold: req.SecretThreshold,
		RecoveryKeysB64: []string{}, RecoveryKeysHex: []string{}, RootToken: resp.RootToken, UnsealKeyFiles: written,
	}
	if recovery {
		out.UnsealKeysB64, out.UnsealKeysHex, out.UnsealShares, out.UnsealThreshold = []string{}, []string{}, 0, 0
		out.RecoveryKeysB64, out.RecoveryKeysHex = resp.RecoveryKeysB64, resp.RecoveryKeys
		out.RecoveryShares, out.RecoveryThreshold = req.RecoveryShares, req.RecoveryThreshold
		if written != nil {
			out.RecoveryKeysB64, out.RecoveryKeysHex = []string{}, []string{}
		}
	} else if written != nil {
		out.UnsealKeysB64, out.UnsealKeysHex = []string{}, []string{}
	}
	p := a.printer()
	if ok, err := p.structured(out); ok {
		return err
	}
	if recovery {
		printKeys(p, "Recovery Key", resp.RecoveryKeys, resp.RecoveryKeysB64, written)
		p.line("")
		p.line("Initial Root Token: " + resp.RootToken)
		p.line("")
		p.line("Success! Vault is initialized")
		p.line("")
		p.line(wrap(fmt.Sprintf("Recovery key initialized with %d key shares and a key threshold of %d. "+
			"Please securely distribute the key shares printed above.", req.RecoveryShares, req.RecoveryThreshold), maxLineLength))
		return nil
	}
	printKeys(p, "Unseal Key", resp.Keys, resp.KeysB64, written)
	p.line("")
	p.line("Initial Root Token: " + resp.RootToken)
	p.line("")
	p.line(wrap(fmt.Sprintf("Vault initialized with %d key shares and a key threshold of %d. Please "+
		"securely distribute the key shares printed above. When the Vault is "+
		"re-sealed, restarted, or stopped, you must supply at least %d of "+
		"these keys to unseal it before it can start servicing requests.",
		req.SecretShares, req.SecretThreshold, req.SecretThreshold), maxLineLength))
	p.line("")
	p.line(wrap(fmt.Sprintf("Vault does not store the generated root key. Without at least %d "+
		"keys to reconstruct the root key, Vault will remain permanently sealed!", req.SecretThreshold), maxLineLength))
	p.line("")
	p.line(wrap("It is possible to generate new unseal keys, provided you have a quorum "+
		"of existing unseal keys shares. See \"vault operator rekey\" for more information.", maxLineLength))
	return nil
}

// ---- operator unseal ----

func (a *app) newUnsealCmd() *cobra.Command {
	var reset, migrate, all, nonInteractive bool
	var privKey string
	cmd := &cobra.Command{
		Use:   "unseal [KEY]",
		Short: "Unseal a node, or every sealed node of the cluster with -all",
		Long: `Submits one unseal key share. The key may be given as an argument (it then
stays in your shell history: prefer the prompt), as "-" to read it from
stdin, or typed at a hidden prompt when stdin is a terminal (when it is
not, one line is read from stdin). Shares typed at the prompt are never
echoed, logged or kept: the buffer is wiped once it has been sent.

With -all, the same share is submitted to every sealed node of the cluster,
so each keyholder types a share once for the whole cluster. Nodes are found
from -node flags, VAULTD_NODES (comma-separated addresses), and the raft
configuration each node keeps (GET sys/storage/raft/known-peers, answered
even while sealed). Per-node progress is shown.

With -pgp-private-key, the argument (or input) is a share as "operator init
-pgp-keys" printed it, and it is decrypted locally with your private key:
the plaintext share never appears on the screen.

Exit codes: 0 on success, 1 for usage errors, 2 if a submission failed.`,
		Example: `  vaultd operator unseal
  vaultd operator unseal -all
  vaultd operator unseal -all -node=http://10.0.0.2:8200 -node=http://10.0.0.3:8200
  vaultd operator unseal -pgp-private-key=alice.key.asc -all < my-encrypted-share.txt
  vaultd operator unseal -reset
  vaultd operator unseal -migrate`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if reset {
				if all {
					return usageError(cmd, "-reset and -all cannot be combined")
				}
				st, err := c.Sys().ResetUnsealProcessWithContext(ctx)
				if err != nil {
					return apiError("Error resetting unseal process: %s", describe(err))
				}
				return a.printSealStatusOf(ctx, c, st)
			}
			share, err := a.shareInput(args, "Unseal Key (will be hidden): ", nonInteractive, privKey)
			if err != nil {
				return withProgress(ctx, c, err)
			}
			defer clear(share)
			if all {
				if migrate {
					return usageError(cmd, "-migrate and -all cannot be combined: migrate the leader, then restart the other nodes with the new seal configuration")
				}
				return a.unsealAll(ctx, c, share)
			}
			st, err := submitShareMigrate(ctx, c, share, migrate)
			clear(share)
			if err != nil {
				return a.unsealFailed(ctx, c, err)
			}
			return a.printSealStatusOf(ctx, c, st)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&reset, "reset", false, "discard the shares submitted so far on this node")
	f.BoolVar(&migrate, "migrate", false, "submit the share for a seal migration (shamir to transit, or back: see docs/security.md)")
	f.BoolVar(&all, "all", false, "submit the share to every sealed node of the cluster")
	f.BoolVar(&nonInteractive, "non-interactive", false, "never prompt; fail if no key is given")
	f.StringVar(&privKey, "pgp-private-key", "", "decrypt a PGP-encrypted share locally with this private key file")
	a.addNodeFlags(cmd)
	return cmd
}

// shareInput gets one share from the argument, "-", or a hidden prompt,
// decrypting it with privKeyFile when given.
func (a *app) shareInput(args []string, prompt string, nonInteractive bool, privKeyFile string) ([]byte, error) {
	var in []byte
	var err error
	switch {
	case len(args) == 1 && args[0] == "-":
		in, err = readAllSecret(a.stdin)
	case len(args) == 1:
		in = []byte(strings.TrimSpace(args[0]))
	case nonInteractive && isTerminal(a.stdin):
		return nil, &exitError{code: ExitError, err: errors.New("Refusing to read from stdin with -non-interactive specified; specify the key as an argument")}
	default:
		in, err = a.readSecret(prompt)
	}
	if err != nil {
		return nil, apiError("Error reading the key: %v", err)
	}
	if len(in) == 0 {
		return nil, apiError("Error: the key is empty")
	}
	if privKeyFile != "" {
		plain, err := a.decryptShare(in, privKeyFile)
		clear(in)
		if err != nil {
			return nil, err
		}
		in = plain
	}
	if !validShare(in) {
		clear(in)
		return nil, apiError("Error: the key is not a valid hex or base64 unseal key share")
	}
	return in, nil
}

// decryptShare decrypts a base64 PGP-encrypted share with the private key
// in file (prompting for its passphrase when needed).
func (a *app) decryptShare(in []byte, file string) ([]byte, error) {
	keyData, err := os.ReadFile(file)
	if err != nil {
		return nil, apiError("Error reading -pgp-private-key: %v", err)
	}
	defer clear(keyData)
	keys, err := pgp.ReadPrivateKeys(keyData, nil)
	if err != nil && strings.Contains(err.Error(), "passphrase") {
		pass, perr := a.readSecret("Passphrase of " + file + " (will be hidden): ")
		if perr != nil {
			return nil, apiError("Error reading the passphrase: %v", perr)
		}
		keys, err = pgp.ReadPrivateKeys(keyData, pass)
		clear(pass)
	}
	if err != nil {
		return nil, apiError("Error: %v", err)
	}
	plain, err := pgp.DecryptShare(string(in), keys)
	if err != nil {
		return nil, apiError("Error decrypting the share: %v", err)
	}
	return trimSecret(plain), nil
}

// validShare accepts exactly what the server accepts: hex or standard
// base64 that decodes to a 32- or 33-byte share.
func validShare(b []byte) bool {
	for _, ch := range b {
		if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch == '+' || ch == '/' || ch == '=') {
			return false
		}
	}
	n := 0
	if len(b)%2 == 0 {
		if d, err := hex.DecodeString(string(b)); err == nil {
			n = len(d)
			clear(d)
		}
	}
	if n == 0 {
		d, err := base64.StdEncoding.DecodeString(string(b))
		if err != nil {
			return false
		}
		n = len(d)
		clear(d)
	}
	return n == 32 || n == 33
}

// submitShare PUTs share to sys/unseal. The JSON body is built in a byte
// slice that is wiped after the request (a Go string could not be).
func submitShare(ctx context.Context, c *vaultapi.Client, share []byte) (*vaultapi.SealStatusResponse, error) {
	return submitShareMigrate(ctx, c, share, false)
}

// submitShareMigrate is submitShare with sys/unseal's migrate flag.
func submitShareMigrate(ctx context.Context, c *vaultapi.Client, share []byte, migrate bool) (*vaultapi.SealStatusResponse, error) {
	body := make([]byte, 0, len(share)+32)
	body = append(body, `{"key":"`...)
	body = append(body, share...)
	body = append(body, `"`...)
	if migrate {
		body = append(body, `,"migrate":true`...)
	}
	body = append(body, `}`...)
	defer clear(body)
	r := c.NewRequest(http.MethodPut, "/v1/sys/unseal")
	r.BodyBytes = body
	resp, err := c.RawRequestWithContext(ctx, r) //nolint:staticcheck // raw body needed to wipe it
	if err != nil {
		return nil, err
	}
	var st vaultapi.SealStatusResponse
	if err := decodeJSON(resp, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// withProgress appends the node's unseal progress to a share input error,
// so a keyholder who mistyped sees that nothing changed.
func withProgress(ctx context.Context, c *vaultapi.Client, err error) error {
	ee, ok := err.(*exitError)
	if !ok || ee.code != ExitSealed {
		return err
	}
	if st, serr := c.Sys().SealStatusWithContext(ctx); serr == nil && st.Initialized {
		return apiError("%v\nUnseal progress: %d/%d (unchanged)", ee.err, st.Progress, st.T)
	}
	return err
}

// unsealFailed reports a refused share and shows the node's progress.
func (a *app) unsealFailed(ctx context.Context, c *vaultapi.Client, err error) error {
	msg := "Error unsealing: " + describe(err)
	if st, serr := c.Sys().SealStatusWithContext(ctx); serr == nil {
		msg += fmt.Sprintf("\nUnseal progress: %d/%d", st.Progress, st.T)
		if !st.Sealed {
			msg += " (unsealed)"
		}
	}
	return apiError("%s", msg)
}

func (a *app) printSealStatusOf(ctx context.Context, c *vaultapi.Client, st *vaultapi.SealStatusResponse) error {
	out := sealStatusOutput{SealStatusResponse: *st, HAEnabled: true}
	if full, err := fetchStatus(ctx, c); err == nil {
		out = full
		out.SealStatusResponse = *st
	}
	if err := a.printer().sealStatus(out); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	return nil
}

// ---- operator seal, step-down, key-status, rotate, members ----

func (a *app) newSealCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "seal",
		Short: "Seal the node",
		Long: `Seals the node at VAULT_ADDR: it stops serving and drops its keys from memory.
It needs a token with sudo on sys/seal. Other nodes stay unsealed; restart or
seal them one by one.`,
		Example: `  vaultd operator seal`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.Sys().SealWithContext(cmd.Context()); err != nil {
				return apiError("Error sealing: %s", describe(err))
			}
			fmt.Fprintln(a.stdout, "Success! Vault is sealed.")
			return nil
		},
	}
	return cmd
}

func (a *app) newStepDownCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "step-down",
		Short: "Force the active node to give up active duty",
		Long: `Makes the active node step down: another node of the cluster becomes active.
It needs a token with sudo on sys/step-down.`,
		Example: `  vaultd operator step-down`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.Sys().StepDownWithContext(cmd.Context()); err != nil {
				return apiError("Error stepping down: %s", describe(err))
			}
			fmt.Fprintf(a.stdout, "Success! Stepped down: %s\n", c.Address())
			return nil
		},
	}
}

// keyStatus is sys/key-status.
type keyStatus struct {
	Term        int       `json:"term"`
	InstallTime time.Time `json:"install_time"`
	Encryptions int64     `json:"encryptions"`
}

func (a *app) readKeyStatus(ctx context.Context, c *vaultapi.Client) (*keyStatus, error) {
	s, err := c.Logical().ReadWithContext(ctx, "sys/key-status")
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errors.New("empty response")
	}
	var ks keyStatus
	if n, ok := s.Data["term"].(interface{ Int64() (int64, error) }); ok {
		v, _ := n.Int64()
		ks.Term = int(v)
	}
	if n, ok := s.Data["encryptions"].(interface{ Int64() (int64, error) }); ok {
		ks.Encryptions, _ = n.Int64()
	}
	if t, ok := s.Data["install_time"].(string); ok {
		ks.InstallTime, _ = time.Parse(time.RFC3339Nano, t)
	}
	return &ks, nil
}

func keyStatusRows(ks *keyStatus) string {
	return columns([]string{
		fmt.Sprintf("Key Term | %d", ks.Term),
		"Install Time | " + ks.InstallTime.UTC().Format(time.RFC822),
		fmt.Sprintf("Encryption Count | %d", ks.Encryptions),
	}, "|")
}

func (a *app) newKeyStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "key-status",
		Short:   "Print the active encryption key's term and install time",
		Long:    `Prints the term of the barrier's active encryption key, when it was installed and an estimate of how many encryptions it has made.`,
		Example: `  vaultd operator key-status`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ks, err := a.readKeyStatus(cmd.Context(), c)
			if err != nil {
				return apiError("Error reading key status: %s", describe(err))
			}
			p := a.printer()
			if ok, err := p.structured(ks); ok {
				return err
			}
			p.line(keyStatusRows(ks))
			return nil
		},
	}
}

func (a *app) newRotateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rotate",
		Short: "Rotate the underlying encryption key",
		Long: `Adds a new encryption key term to the barrier's keyring: new writes use it,
data written under older terms stays readable. Needs sudo on sys/rotate.`,
		Example: `  vaultd operator rotate`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if _, err := c.Logical().WriteWithContext(cmd.Context(), "sys/rotate", nil); err != nil {
				return apiError("Error rotating key: %s", describe(err))
			}
			ks, err := a.readKeyStatus(cmd.Context(), c)
			if err != nil {
				return apiError("Error after rotating key: %s", describe(err))
			}
			p := a.printer()
			if ok, err := p.structured(ks); ok {
				return err
			}
			p.line("Success! Rotated key")
			p.line("")
			p.line(keyStatusRows(ks))
			return nil
		},
	}
}

func (a *app) newMembersCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "members",
		Short:   "List the nodes of the HA cluster",
		Long:    `Lists the nodes the active node hears from (sys/ha-status): their addresses, which one is active, and when each last echoed.`,
		Example: `  vaultd operator members`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.Sys().HAStatusWithContext(cmd.Context())
			if err != nil {
				return apiError("Error listing HA nodes: %s", describe(err))
			}
			p := a.printer()
			if ok, err := p.structured(resp); ok {
				return err
			}
			rows := []string{"Host Name | API Address | Cluster Address | Active Node | Version | Upgrade Version | Redundancy Zone | Last Echo"}
			for _, n := range resp.Nodes {
				echo := ""
				if n.LastEcho != nil {
					echo = n.LastEcho.UTC().Format(time.RFC3339Nano)
				}
				rows = append(rows, fmt.Sprintf("%s | %s | %s | %t | %s | %s | %s | %s",
					n.Hostname, n.APIAddress, n.ClusterAddress, n.ActiveNode, n.Version, n.UpgradeVersion, n.RedundancyZone, echo))
			}
			p.line(table(rows, "|"))
			return nil
		},
	}
}

// printKeys prints one line per key share: where it was written (written
// set), else its base64 form when there is one for every share, else the
// hex form.
func printKeys(p *printer, label string, hex, b64, written []string) {
	for i := range hex {
		switch {
		case written != nil:
			p.line(fmt.Sprintf("%s %d: written to %s", label, i+1, written[i]))
		case len(b64) == len(hex):
			p.line(fmt.Sprintf("%s %d: %s", label, i+1, b64[i]))
		default:
			p.line(fmt.Sprintf("%s %d: %s", label, i+1, hex[i]))
		}
	}
}
