package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/pgp"
)

// ---- operator rekey ----

func (a *app) newRekeyCmd() *cobra.Command {
	var init, cancel, status, nonInteractive, verify, backup, backupRetrieve, backupDelete bool
	var shares, threshold int
	var nonce, pgpKeys, privKey, target string
	cmd := &cobra.Command{
		Use:   "rekey [KEY]",
		Short: "Generate new unseal key shares",
		Long: `Replaces the unseal key and its shares. A rekey is started with -init (and
the new -key-shares/-key-threshold), then each holder of a current share
runs "vaultd operator rekey" and types it at the hidden prompt (or passes it
as an argument, or "-" for stdin). When the threshold is reached the new
shares are printed, each encrypted to its keyholder's OpenPGP key when
-pgp-keys was given at -init. The old shares stop working at once, unless
-verify was given at -init: then the new shares take effect only once a
threshold of them has been entered back with "vaultd operator rekey
-verify", so a lost answer costs nothing (cancel and start again).
-backup (with -pgp-keys) keeps the encrypted new shares on the server
(-backup-retrieve, -backup-delete).

With an auto seal (seal "transit") the operators hold recovery shares
instead: rekey them with -target=recovery (sys/rekey-recovery-key/*), each
holder typing a current recovery share.

Unlike Vault, every rekey request needs a token with sudo on sys/rekey/*,
so nobody can start or cancel a rekey anonymously, and each is audited.`,
		Example: `  vaultd operator rekey -init -key-shares=5 -key-threshold=3
  vaultd operator rekey -init -key-shares=3 -key-threshold=2 -pgp-keys=a.asc,b.asc,c.asc
  vaultd operator rekey                 # each keyholder, until complete
  vaultd operator rekey -status
  vaultd operator rekey -cancel
  vaultd operator rekey -init -verify -key-shares=3 -key-threshold=2
  vaultd operator rekey -verify         # each new keyholder, until complete
  vaultd operator rekey -backup-retrieve
  vaultd operator rekey -target=recovery -init -key-shares=5 -key-threshold=3`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			if countSet(init, cancel, status, backupRetrieve, backupDelete) > 1 {
				return usageError(cmd, "Only one of -init, -cancel, -status, -backup-retrieve or -backup-delete may be given")
			}
			if target != "barrier" && target != "recovery" {
				return usageError(cmd, "-target must be \"barrier\" or \"recovery\", not %q", target)
			}
			if target == "recovery" && (verify || backup || backupRetrieve || backupDelete) {
				return usageError(cmd, "-verify and -backup are not supported with -target=recovery")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			sys := c.Sys()
			rekeyInit, rekeyStatus, rekeyCancel := sys.RekeyInitWithContext, sys.RekeyStatusWithContext, sys.RekeyCancelWithContextWithNonce
			updatePath := "/v1/sys/rekey/update"
			if target == "recovery" {
				rekeyInit, rekeyStatus, rekeyCancel = sys.RekeyRecoveryKeyInitWithContext, sys.RekeyRecoveryKeyStatusWithContext, sys.RekeyRecoveryKeyCancelWithContextWithNonce
				updatePath = "/v1/sys/rekey-recovery-key/update"
			}
			switch {
			case init:
				req := &vaultapi.RekeyInitRequest{SecretShares: shares, SecretThreshold: threshold, RequireVerification: verify, Backup: backup}
				var fps []string
				if pgpKeys != "" {
					for _, f := range strings.Split(pgpKeys, ",") {
						k, err := pgp.ReadKeyFile(f)
						if err != nil {
							return usageError(cmd, "Error parsing -pgp-keys: %v", err)
						}
						fp, _ := pgp.Fingerprint(k)
						req.PGPKeys, fps = append(req.PGPKeys, k), append(fps, fp)
					}
					if !hasFlag(cmd, "key-shares") {
						req.SecretShares = len(req.PGPKeys)
					}
				}
				st, err := rekeyInit(ctx, req)
				if err != nil {
					return apiError("Error initializing rekey: %s", describe(err))
				}
				if len(st.PGPFingerprints) == 0 {
					st.PGPFingerprints = fps
				}
				return a.printRekeyStatus(st)
			case backupRetrieve:
				b, err := c.Sys().RekeyRetrieveBackupWithContext(ctx)
				if err != nil {
					return apiError("Error retrieving rekey stored keys: %s", describe(err))
				}
				p := a.printer()
				if ok, err := p.structured(b); ok {
					return err
				}
				p.line("Nonce: " + b.Nonce)
				for fp, ks := range b.KeysB64 {
					for _, k := range ks {
						p.line(fmt.Sprintf("Key fingerprint %s: %s", fp, k))
					}
				}
				return nil
			case backupDelete:
				if err := c.Sys().RekeyDeleteBackupWithContext(ctx); err != nil {
					return apiError("Error deleting rekey stored keys: %s", describe(err))
				}
				fmt.Fprintln(a.stdout, "Success! Delete stored keys (if they existed)")
				return nil
			case verify && cancel:
				if err := c.Sys().RekeyVerificationCancelWithContext(ctx); err != nil {
					return apiError("Error canceling rekey verification: %s", describe(err))
				}
				fmt.Fprintln(a.stdout, "Success! Restarted the rekey verification")
				return nil
			case verify:
				return a.rekeyVerify(ctx, c, args, nonInteractive, privKey, nonce)
			case cancel:
				if err := rekeyCancel(ctx, nonce); err != nil {
					return apiError("Error canceling rekey: %s", describe(err))
				}
				fmt.Fprintln(a.stdout, "Success! Canceled rekeying (if it was started)")
				return nil
			case status:
				st, err := rekeyStatus(ctx)
				if err != nil {
					return apiError("Error reading rekey status: %s", describe(err))
				}
				return a.printRekeyStatus(st)
			}
			st, err := rekeyStatus(ctx)
			if err != nil {
				return apiError("Error reading rekey status: %s", describe(err))
			}
			if !st.Started {
				return &exitError{code: ExitError, err: errors.New(wrap("No rekey is in progress. Start a rekey process by running \"vaultd operator rekey -init\".", maxLineLength))}
			}
			if nonce == "" {
				nonce = st.Nonce
			}
			resp, err := a.postShare(ctx, c, args, nonInteractive, privKey, updatePath, nonce, "Rekey", func() (bool, int, int, error) {
				st, err := rekeyStatus(ctx)
				if err != nil {
					return false, 0, 0, err
				}
				return st.Started, st.Progress, st.Required, nil
			})
			if err != nil {
				return err
			}
			var up vaultapi.RekeyUpdateResponse
			if err := decodeJSON(resp, &up); err != nil {
				return apiError("Error decoding the response: %v", err)
			}
			if !up.Complete {
				st, err := rekeyStatus(ctx)
				if err != nil {
					return apiError("Error reading rekey status: %s", describe(err))
				}
				return a.printRekeyStatus(st)
			}
			return a.printRekeyKeys(&up, st)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&init, "init", false, "start a rekey")
	f.BoolVar(&cancel, "cancel", false, "cancel the rekey in progress (discards the shares submitted so far)")
	f.BoolVar(&status, "status", false, "print the progress of the rekey in progress")
	f.IntVarP(&shares, "key-shares", "n", 5, "number of new key shares (-init)")
	f.IntVarP(&threshold, "key-threshold", "t", 3, "number of new key shares required to unseal (-init)")
	f.StringVar(&nonce, "nonce", "", "nonce of the rekey in progress (default: read from the server)")
	f.StringVar(&pgpKeys, "pgp-keys", "", "comma-separated OpenPGP public key files to encrypt the new shares to (-init)")
	f.StringVar(&privKey, "pgp-private-key", "", "decrypt a PGP-encrypted current share locally with this private key file")
	f.BoolVar(&nonInteractive, "non-interactive", false, "never prompt; fail if no key is given")
	f.BoolVar(&verify, "verify", false, "with -init: require verification of the new shares before they take effect; alone: enter one new share for the verification")
	f.BoolVar(&backup, "backup", false, "with -init and -pgp-keys: keep the encrypted new shares on the server")
	f.BoolVar(&backupRetrieve, "backup-retrieve", false, "print the backed-up encrypted shares")
	f.BoolVar(&backupDelete, "backup-delete", false, "delete the backed-up encrypted shares")
	f.StringVar(&target, "target", "barrier", "the key to rekey: \"barrier\" (the unseal key) or \"recovery\" (the recovery key of an auto seal)")
	return cmd
}

// rekeyVerify enters one new share for the verification in progress.
func (a *app) rekeyVerify(ctx context.Context, c *vaultapi.Client, args []string, nonInteractive bool, privKey, nonce string) error {
	st, err := c.Sys().RekeyVerificationStatusWithContext(ctx)
	if err != nil {
		return apiError("Error reading rekey verification status: %s", describe(err))
	}
	if nonce == "" {
		nonce = st.Nonce
	}
	resp, err := a.postShare(ctx, c, args, nonInteractive, privKey, "/v1/sys/rekey/verify", nonce, "Rekey verification", func() (bool, int, int, error) {
		st, err := c.Sys().RekeyVerificationStatusWithContext(ctx)
		if err != nil {
			return false, 0, 0, err
		}
		return st.Started, st.Progress, st.T, nil
	})
	if err != nil {
		return err
	}
	var up vaultapi.RekeyVerificationUpdateResponse
	if err := decodeJSON(resp, &up); err != nil {
		return apiError("Error decoding the response: %v", err)
	}
	if up.Complete {
		fmt.Fprintln(a.stdout, "Success! Rekey verification complete: the new unseal keys are now in force.")
		return nil
	}
	st, err = c.Sys().RekeyVerificationStatusWithContext(ctx)
	if err != nil {
		return apiError("Error reading rekey verification status: %s", describe(err))
	}
	fmt.Fprintf(a.stdout, "Rekey verification progress: %d/%d (nonce %s)\n", st.Progress, st.T, st.Nonce)
	return nil
}

// postShare reads this keyholder's share (argument, "-" for stdin, or the
// hidden prompt), posts it with nonce to path and wipes it. If the post
// fails, the error carries the ceremony's progress as progress reports it
// ("<label> progress: n/m"), when it can be read and the ceremony is started.
func (a *app) postShare(ctx context.Context, c *vaultapi.Client, args []string, nonInteractive bool, privKey, path, nonce, label string,
	progress func() (started bool, n, required int, err error),
) (*vaultapi.Response, error) {
	share, err := a.shareInput(args, "Unseal Key (will be hidden): ", nonInteractive, privKey)
	if err != nil {
		return nil, err
	}
	resp, err := shareUpdate(ctx, c, path, share, nonce)
	clear(share)
	if err != nil {
		msg := "Error posting unseal key: " + describe(err)
		if started, n, required, serr := progress(); serr == nil && started {
			msg += fmt.Sprintf("\n%s progress: %d/%d", label, n, required)
		}
		return nil, apiError("%s", msg)
	}
	return resp, nil
}

// countSet is the number of true values: how many of a command's mutually
// exclusive mode flags were given.
func countSet(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// shareUpdate PUTs {"key": share, "nonce": nonce} to path, wiping the body.
func shareUpdate(ctx context.Context, c *vaultapi.Client, path string, share []byte, nonce string) (*vaultapi.Response, error) {
	body := make([]byte, 0, len(share)+len(nonce)+24)
	body = append(body, `{"key":"`...)
	body = append(body, share...)
	body = append(body, `","nonce":`...)
	body = append(body, quoteJSON(nonce)...)
	body = append(body, '}')
	defer clear(body)
	r := c.NewRequest(http.MethodPut, path)
	r.BodyBytes = body
	return c.RawRequestWithContext(ctx, r) //nolint:staticcheck // raw body needed to wipe it
}

// quoteJSON quotes a nonce (a UUID) as a JSON string.
func quoteJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' || r < 0x20 {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

func (a *app) printRekeyStatus(st *vaultapi.RekeyStatusResponse) error {
	p := a.printer()
	if ok, err := p.structured(st); ok {
		return err
	}
	rows := []string{"Key | Value", "Nonce | " + st.Nonce, fmt.Sprintf("Started | %t", st.Started)}
	if st.Started {
		rows = append(rows,
			fmt.Sprintf("Rekey Progress | %d/%d", st.Progress, st.Required),
			fmt.Sprintf("New Shares | %d", st.N),
			fmt.Sprintf("New Threshold | %d", st.T),
			fmt.Sprintf("Verification Required | %t", st.VerificationRequired))
		if st.VerificationNonce != "" {
			rows = append(rows, "Verification Nonce | "+st.VerificationNonce)
		}
	}
	if len(st.PGPFingerprints) > 0 {
		rows = append(rows, fmt.Sprintf("PGP Fingerprints | %s", st.PGPFingerprints), fmt.Sprintf("Backup | %t", st.Backup))
	}
	p.line(table(rows, "|"))
	return nil
}

func (a *app) printRekeyKeys(up *vaultapi.RekeyUpdateResponse, st *vaultapi.RekeyStatusResponse) error {
	p := a.printer()
	if ok, err := p.structured(up); ok {
		return err
	}
	for i, k := range up.KeysB64 {
		if i < len(up.PGPFingerprints) && up.PGPFingerprints[i] != "" {
			p.line(fmt.Sprintf("Key %d fingerprint: %s; value: %s", i+1, up.PGPFingerprints[i], k))
		} else {
			p.line(fmt.Sprintf("Key %d: %s", i+1, k))
		}
	}
	p.line("")
	p.line("Operation nonce: " + up.Nonce)
	p.line("")
	if up.VerificationRequired {
		p.line(wrap(fmt.Sprintf("The new unseal keys are NOT in force yet: a threshold of them must be entered "+
			"with \"vaultd operator rekey -verify\" (verification nonce %s). Until then the old keys still unseal.", up.VerificationNonce), maxLineLength))
		return nil
	}
	p.line(wrap(fmt.Sprintf("Vault unseal keys rotated with %d key shares and a key threshold of %d. "+
		"Please securely distribute the key shares printed above. When Vault is re-sealed, "+
		"restarted, or stopped, you must supply at least %d of these keys to unseal it before "+
		"it can start servicing requests.", st.N, st.T, st.T), maxLineLength))
	return nil
}

// ---- operator generate-root ----

// otpLength is the length of vaultd's root tokens, and so of the OTP.
const otpLength = 28

const base62Chars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func generateOTP() (string, error) {
	out := make([]byte, otpLength)
	max := big.NewInt(int64(len(base62Chars)))
	for i := range out {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		out[i] = base62Chars[n.Int64()]
	}
	return string(out), nil
}

// decodeToken reverses the OTP encoding: base64 (unpadded) of token XOR otp.
func decodeToken(encoded, otp string) (string, error) {
	encoded = strings.TrimSpace(encoded)
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(encoded, "="))
	if err != nil {
		return "", fmt.Errorf("error decoding base64'd token: %w", err)
	}
	if len(raw) != len(otp) {
		return "", fmt.Errorf("the encoded token is %d bytes but the OTP is %d characters", len(raw), len(otp))
	}
	for i := range raw {
		raw[i] ^= otp[i]
	}
	return string(raw), nil
}

func (a *app) newGenerateRootCmd() *cobra.Command {
	var init, cancel, status, genOTP, nonInteractive, drToken bool
	var decode, otp, pgpKey, nonce, privKey string
	cmd := &cobra.Command{
		Use:   "generate-root [KEY]",
		Short: "Generate a new root token from a quorum of unseal key shares",
		Long: `Generates a new root token. Start with -init: the server makes a one-time
password (OTP) and prints it once; keep it. Each keyholder then runs
"vaultd operator generate-root" and types a share at the hidden prompt. When
the threshold is reached the encoded token is printed; decode it with
"-decode=ENCODED -otp=OTP". With -pgp-key at -init the token is encrypted
to that OpenPGP key instead.

Every request needs a token with sudo on sys/generate-root/* besides the
shares, and each is audited.

With -dr-token the same ceremony, on a DR secondary, makes a DR operation
token instead (sys/replication/dr/secondary/generate-operation-token/*, no
client token needed; the shares are the primary's unseal key shares): it
authorises sys/replication/dr/secondary/promote and update-primary.`,
		Example: `  vaultd operator generate-root -init
  vaultd operator generate-root                 # each keyholder, until complete
  vaultd operator generate-root -decode=ENCODED_TOKEN -otp=OTP
  vaultd operator generate-root -status
  vaultd operator generate-root -cancel
  vaultd operator generate-root -dr-token -init   # on a DR secondary`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			if countSet(init, cancel, status, genOTP, decode != "") > 1 {
				return usageError(cmd, "Only one of -init, -cancel, -status, -generate-otp or -decode may be given")
			}
			switch {
			case genOTP:
				o, err := generateOTP()
				if err != nil {
					return apiError("Error generating OTP: %v", err)
				}
				return a.printer().rawField(map[string]any{"otp": o}, "otp")
			case decode != "":
				if otp == "" {
					return usageError(cmd, "-otp is required with -decode")
				}
				enc := decode
				if enc == "-" {
					b, err := readAllSecret(a.stdin)
					if err != nil {
						return apiError("Error reading the encoded token: %v", err)
					}
					enc = string(b)
					clear(b)
				}
				tok, err := decodeToken(enc, otp)
				if err != nil {
					return apiError("Error decoding root token: %v", err)
				}
				p := a.printer()
				if ok, err := p.structured(map[string]any{"token": tok}); ok {
					return err
				}
				return p.rawField(map[string]any{"token": tok}, "token")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			sys := c.Sys()
			initFn, statusFn, cancelFn := sys.GenerateRootInitWithContext, sys.GenerateRootStatusWithContext, sys.GenerateRootCancelWithContext
			updatePath := "/v1/sys/generate-root/update"
			if drToken {
				initFn, statusFn, cancelFn = sys.GenerateDROperationTokenInitWithContext, sys.GenerateDROperationTokenStatusWithContext, sys.GenerateDROperationTokenCancelWithContext
				updatePath = "/v1/sys/replication/dr/secondary/generate-operation-token/update"
			}
			switch {
			case init:
				var key string
				if pgpKey != "" {
					k, err := pgp.ReadKeyFile(pgpKey)
					if err != nil {
						return usageError(cmd, "Error parsing -pgp-key: %v", err)
					}
					key = k
				}
				st, err := initFn(ctx, otp, key)
				if err != nil {
					return apiError("Error initializing root generation: %s", describe(err))
				}
				if key != "" && st.PGPFingerprint == "" {
					st.PGPFingerprint, _ = pgp.Fingerprint(key)
				}
				return a.printGenRootStatus(st)
			case cancel:
				if err := cancelFn(ctx); err != nil {
					return apiError("Error canceling root token generation: %s", describe(err))
				}
				fmt.Fprintln(a.stdout, "Success! Root token generation canceled (if it was started)")
				return nil
			case status:
				st, err := statusFn(ctx)
				if err != nil {
					return apiError("Error getting root generation status: %s", describe(err))
				}
				return a.printGenRootStatus(st)
			}
			st, err := statusFn(ctx)
			if err != nil {
				return apiError("Error getting root generation status: %s", describe(err))
			}
			if !st.Started {
				return &exitError{code: ExitError, err: errors.New(wrap("No root generation is in progress. Start a root generation by running \"vaultd operator generate-root -init\".", maxLineLength))}
			}
			if nonce == "" {
				nonce = st.Nonce
			}
			resp, err := a.postShare(ctx, c, args, nonInteractive, privKey, updatePath, nonce, "Root generation", func() (bool, int, int, error) {
				st, err := statusFn(ctx)
				if err != nil {
					return false, 0, 0, err
				}
				return st.Started, st.Progress, st.Required, nil
			})
			if err != nil {
				return err
			}
			var up vaultapi.GenerateRootStatusResponse
			if err := decodeJSON(resp, &up); err != nil {
				return apiError("Error decoding the response: %v", err)
			}
			return a.printGenRootStatus(&up)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&init, "init", false, "start a root token generation")
	f.BoolVar(&cancel, "cancel", false, "cancel the root token generation in progress")
	f.BoolVar(&status, "status", false, "print the progress of the root token generation in progress")
	f.BoolVar(&genOTP, "generate-otp", false, "print a random OTP usable with -init -otp")
	f.StringVar(&decode, "decode", "", `decode an encoded root token with -otp ("-" reads it from stdin)`)
	f.StringVar(&otp, "otp", "", "the one-time password (with -decode, or to choose it at -init)")
	f.StringVar(&pgpKey, "pgp-key", "", "OpenPGP public key file to encrypt the new root token to (-init)")
	f.StringVar(&nonce, "nonce", "", "nonce of the root generation in progress (default: read from the server)")
	f.StringVar(&privKey, "pgp-private-key", "", "decrypt a PGP-encrypted share locally with this private key file")
	f.BoolVar(&nonInteractive, "non-interactive", false, "never prompt; fail if no key is given")
	f.BoolVar(&drToken, "dr-token", false, "generate a DR operation token on a DR secondary instead of a root token")
	return cmd
}

func (a *app) printGenRootStatus(st *vaultapi.GenerateRootStatusResponse) error {
	p := a.printer()
	if ok, err := p.structured(st); ok {
		return err
	}
	rows := []string{
		"Nonce | " + st.Nonce,
		fmt.Sprintf("Started | %t", st.Started),
		fmt.Sprintf("Progress | %d/%d", st.Progress, st.Required),
		fmt.Sprintf("Complete | %t", st.Complete),
	}
	if st.PGPFingerprint != "" {
		rows = append(rows, "PGP Fingerprint | "+st.PGPFingerprint)
	}
	switch {
	case st.EncodedToken != "":
		rows = append(rows, "Encoded Token | "+st.EncodedToken)
	case st.EncodedRootToken != "":
		rows = append(rows, "Encoded Root Token | "+st.EncodedRootToken)
	}
	if st.OTP != "" {
		fmt.Fprintln(a.stderr, wrap("A One-Time-Password has been generated for you and is shown in the OTP field. "+
			"You will need this value to decode the resulting root token, so keep it safe.", maxLineLength))
		rows = append(rows, "OTP | "+st.OTP)
	}
	if st.OTPLength != 0 {
		rows = append(rows, fmt.Sprintf("OTP Length | %d", st.OTPLength))
	}
	p.line(columns(rows, "|"))
	return nil
}
