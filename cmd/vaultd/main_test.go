package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/cli"
	"github.com/vaultd/vaultd/cmd/vaultd/internal/pgp"
	"github.com/vaultd/vaultd/internal/freeport"
)

// The CLI tests are testscript scripts (testdata/*.txtar) that run the real
// `vaultd` command: the test binary re-executes itself as "vaultd", so
// `exec vaultd server -dev ... &` starts a real server process and every
// other `exec vaultd ...` is a real CLI invocation against it.

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"vaultd": func() {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			stop()
			os.Exit(code)
		},
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   "testdata",
		Setup: setup,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfor":       cmdWaitFor,
			"decryptshares": cmdDecryptShares,
			"jsonenv":       cmdJSONEnv,
			"grepenv":       cmdGrepEnv,
			"exitcode":      cmdExitCode,
			"nodeconfig":    cmdNodeConfig,
			"eventually":    cmdEventually,
			"tlsfiles":      cmdTLSFiles,
			"envsubst":      cmdEnvSubst,
		},
	})
}

// setup gives every script free loopback ports (PORT1..PORT3 for the API,
// CPORT1..CPORT3 for the cluster port), VAULT_ADDR on PORT1, its own HOME
// (for ~/.vault-token), no client retries (fast failures), and OpenPGP key
// pairs for five keyholders and the root token in $WORK/keys.
func setup(env *testscript.Env) error {
	for i := 1; i <= 3; i++ {
		for _, pfx := range []string{"PORT", "CPORT"} {
			p, err := freePort()
			if err != nil {
				return err
			}
			env.Setenv(fmt.Sprintf("%s%d", pfx, i), strconv.Itoa(p))
		}
	}
	base, err := freePortRun(6)
	if err != nil {
		return err // the kernel has almost no free loopback ports: nothing would run
	}
	for i := 1; i <= 3; i++ { // server -dev -dev-cluster=3 -dev-listen-address=127.0.0.1:$DEVPORT1
		env.Setenv(fmt.Sprintf("DEVPORT%d", i), strconv.Itoa(base+2*(i-1)))
	}
	env.Setenv("VAULT_ADDR", "http://127.0.0.1:"+env.Getenv("PORT1"))
	env.Setenv("VAULT_MAX_RETRIES", "0")
	env.Setenv("VAULT_CLIENT_TIMEOUT", "30")
	env.Setenv("VAULT_TOKEN", "")
	env.Setenv("VAULT_FORMAT", "")
	env.Setenv("VAULTD_NODES", "")
	home := filepath.Join(env.WorkDir, "home")
	keys := filepath.Join(env.WorkDir, "keys")
	for _, d := range []string{home, keys} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	env.Setenv("HOME", home)
	names := []string{"alice", "bob", "carol", "dan", "erin", "root"}
	for _, n := range names {
		kp, err := pgp.Generate(n, n+"@example.com")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(keys, n+".asc"), kp.Public, 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(keys, n+".key.asc"), kp.Private, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// freePortRun finds n consecutive free loopback ports below the
// ephemeral range (see internal/freeport) and returns the first.
func freePortRun(n int) (int, error) { return freeport.Run("127.0.0.1", n) }

func freePort() (int, error) { return freeport.On("127.0.0.1") }

// cmdWaitFor waits until ADDR answers GET /v1/sys/health (any status);
// with -active until it answers 200 (unsealed and active), with
// -initialized until it is initialised (a joining node: once it holds the
// join challenge):
//
//	waitfor [-active|-initialized] http://127.0.0.1:$PORT1 [TIMEOUT]
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	mode := ""
	if len(args) > 0 && (args[0] == "-active" || args[0] == "-initialized") {
		mode, args = args[0], args[1:]
	}
	voters := 0
	if len(args) > 1 && args[0] == "-voters" {
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		mode, voters, args = args[0], n, args[2:]
	}
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitfor [-active|-initialized|-voters N] ADDR [TIMEOUT]")
	}
	if mode == "-voters" {
		waitForVoters(ts, args, voters)
		return
	}
	timeout := 20 * time.Second
	if len(args) == 2 {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		timeout = d
	}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(strings.TrimRight(args[0], "/") + "/v1/sys/health")
		if err == nil {
			resp.Body.Close()
			switch {
			case mode == "",
				mode == "-active" && resp.StatusCode == http.StatusOK,
				mode == "-initialized" && resp.StatusCode != http.StatusNotImplemented:
				return
			}
			err = fmt.Errorf("sys/health answered %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s not ready within %s: %v", args[0], timeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// waitForVoters waits until sys/storage/raft/configuration at args[0]
// (read with $VAULT_TOKEN) lists n voters: autopilot promotes joined nodes
// once they have caught up and are stable.
func waitForVoters(ts *testscript.TestScript, args []string, n int) {
	timeout := 30 * time.Second
	if len(args) == 2 {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		timeout = d
	}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	got := -1
	for {
		req, err := http.NewRequest(http.MethodGet, strings.TrimRight(args[0], "/")+"/v1/sys/storage/raft/configuration", nil)
		ts.Check(err)
		req.Header.Set("X-Vault-Token", ts.Getenv("VAULT_TOKEN"))
		if resp, err := client.Do(req); err == nil {
			var body struct {
				Data struct {
					Config struct {
						Servers []struct {
							Voter bool `json:"voter"`
						} `json:"servers"`
					} `json:"config"`
				} `json:"data"`
			}
			if json.NewDecoder(resp.Body).Decode(&body) == nil && resp.StatusCode == http.StatusOK {
				got = 0
				for _, s := range body.Data.Config.Servers {
					if s.Voter {
						got++
					}
				}
				if got == n {
					resp.Body.Close()
					return
				}
			}
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s: %d voters after %s, want %d", args[0], got, timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cmdDecryptShares decrypts the shares `operator init -format=json`
// (unseal_keys_b64) or `operator rekey -format=json` (keys_base64) printed
// in the last stdout: share N with $WORK/keys/<holder N>.key.asc into
// DIR/share-N (the encrypted form goes to DIR/enc-share-N), and an
// encrypted root_token with root.key.asc into $ROOT_TOKEN. Each keyholder's
// key opens only their own share.
//
//	decryptshares [-out=DIR] HOLDER...
func cmdDecryptShares(ts *testscript.TestScript, neg bool, args []string) {
	dir := "shares"
	if len(args) > 0 && strings.HasPrefix(args[0], "-out=") {
		dir, args = strings.TrimPrefix(args[0], "-out="), args[1:]
	}
	if neg || len(args) == 0 {
		ts.Fatalf("usage: decryptshares [-out=DIR] HOLDER...")
	}
	var out struct {
		InitKeys  []string `json:"unseal_keys_b64"`
		Keys      []string `json:"keys_base64"`
		RootToken string   `json:"root_token"`
	}
	ts.Check(json.Unmarshal([]byte(ts.ReadFile("stdout")), &out))
	enc := out.InitKeys
	if len(enc) == 0 {
		enc = out.Keys
	}
	if len(enc) != len(args) {
		ts.Fatalf("the output holds %d shares for %d holders", len(enc), len(args))
	}
	dir = ts.MkAbs(dir)
	ts.Check(os.MkdirAll(dir, 0o700))
	privKeys := func(holder string) openpgp.EntityList {
		keys, err := pgp.ReadPrivateKeys([]byte(ts.ReadFile(filepath.Join("keys", holder+".key.asc"))), nil)
		ts.Check(err)
		return keys
	}
	for i, h := range args {
		share, err := pgp.DecryptShare(enc[i], privKeys(h))
		ts.Check(err)
		ts.Check(os.WriteFile(filepath.Join(dir, fmt.Sprintf("share-%d", i+1)), append(share, '\n'), 0o600))
		ts.Check(os.WriteFile(filepath.Join(dir, fmt.Sprintf("enc-share-%d", i+1)), []byte(enc[i]+"\n"), 0o600))
		if other := args[(i+1)%len(args)]; other != h {
			if _, err := pgp.DecryptShare(enc[i], privKeys(other)); err == nil {
				ts.Fatalf("share %d opened with %s's key", i+1, other)
			}
		}
	}
	if out.RootToken != "" {
		tok, err := pgp.DecryptShare(out.RootToken, privKeys("root"))
		ts.Check(err)
		ts.Setenv("ROOT_TOKEN", string(tok))
	}
}

// cmdNodeConfig writes the HCL configuration of a raft node listening on
// 127.0.0.1:API (cluster port CLUSTER), data in $WORK/NODE, with a
// retry_join stanza for each JOIN address:
//
//	nodeconfig FILE NODE API CLUSTER [JOIN...]
func cmdNodeConfig(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 4 {
		ts.Fatalf("usage: nodeconfig FILE NODE API CLUSTER [JOIN...]")
	}
	file, id, api, cluster := args[0], args[1], args[2], args[3]
	var joins strings.Builder
	for _, j := range args[4:] {
		fmt.Fprintf(&joins, "  retry_join {\n    leader_api_addr = %q\n  }\n", j)
	}
	cfg := fmt.Sprintf(`storage "raft" {
  path    = %q
  node_id = %q
  performance_multiplier = 3
%s}
listener "tcp" {
  address         = "127.0.0.1:%s"
  cluster_address = "127.0.0.1:%s"
  tls_disable     = true
}
# Slower raft timers: the tests share 2 cores with other scripts.
api_addr      = "http://127.0.0.1:%s"
cluster_addr  = "https://127.0.0.1:%s"
disable_mlock = true
log_level     = "warn"
`, ts.MkAbs(id), id, joins.String(), api, cluster, api, cluster)
	ts.Check(os.WriteFile(ts.MkAbs(file), []byte(cfg), 0o600))
}

// cmdJSONEnv sets VAR to a field of the JSON in the last stdout:
//
//	jsonenv VAR key[.key...]
func cmdJSONEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jsonenv VAR PATH")
	}
	var v any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile("stdout")), &v))
	for _, k := range strings.Split(args[1], ".") {
		switch m := v.(type) {
		case map[string]any:
			v = m[k]
		case []any:
			i, err := strconv.Atoi(k)
			ts.Check(err)
			if i >= len(m) {
				ts.Fatalf("index %d out of range", i)
			}
			v = m[i]
		default:
			ts.Fatalf("%s: not an object or array at %q", args[1], k)
		}
	}
	if v == nil {
		ts.Fatalf("%s: no such field", args[1])
	}
	ts.Setenv(args[0], fmt.Sprint(v))
}

// cmdGrepEnv sets VAR to the first submatch of REGEXP in FILE (stdout,
// stderr or a file): grepenv VAR FILE REGEXP
func cmdGrepEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: grepenv VAR FILE REGEXP")
	}
	re, err := regexp.Compile("(?m)" + args[2])
	ts.Check(err)
	m := re.FindStringSubmatch(ts.ReadFile(args[1]))
	if len(m) < 2 {
		ts.Fatalf("%q does not match %s", args[2], args[1])
	}
	ts.Setenv(args[0], m[1])
}

// cmdExitCode runs a command like exec and checks its exact exit code
// (testscript's "! exec" accepts any failure; Vault's CLI distinguishes
// 1, usage, from 2, a failed request or a sealed vault):
//
//	exitcode 2 vaultd status
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode CODE COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", strings.Join(args[1:], " "), got, want)
	}
}

// cmdEventually runs a command until it succeeds (with !, until it fails),
// every 100ms, for at most TIMEOUT; the last run's stdout and stderr are
// kept for the next assertions:
//
//	! eventually 10s vaultd write sys/wrapping/lookup token=$WT
func cmdEventually(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: [!] eventually TIMEOUT COMMAND [ARGS...]")
	}
	timeout, err := time.ParseDuration(args[0])
	ts.Check(err)
	deadline := time.Now().Add(timeout)
	for {
		err := ts.Exec(args[1], args[2:]...)
		if (err == nil) != neg {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s: not %s within %s (last: %v)", strings.Join(args[1:], " "), map[bool]string{false: "succeeded", true: "failed"}[neg], timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cmdTLSFiles writes TLS material for 127.0.0.1 into DIR: cert.pem and
// key.pem (a valid self-signed pair, also the CA in ca.pem), other-key.pem
// (a key that matches no certificate) and expired.pem / expired-key.pem
// (a pair that expired yesterday):
//
//	tlsfiles DIR
func cmdTLSFiles(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: tlsfiles DIR")
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o700))
	write := func(name, typ string, der []byte) {
		ts.Check(os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	}
	pair := func(certName, keyName string, notBefore, notAfter time.Time) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ts.Check(err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "127.0.0.1"},
			NotBefore: notBefore, NotAfter: notAfter, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true, IsCA: true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		ts.Check(err)
		kb, err := x509.MarshalECPrivateKey(key)
		ts.Check(err)
		write(certName, "CERTIFICATE", der)
		write(keyName, "EC PRIVATE KEY", kb)
	}
	now := time.Now()
	pair("cert.pem", "key.pem", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	b, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
	ts.Check(err)
	ts.Check(os.WriteFile(filepath.Join(dir, "ca.pem"), b, 0o600))
	pair("expired.pem", "expired-key.pem", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	pair("unused.pem", "other-key.pem", now.Add(-time.Hour), now.Add(time.Hour))
}

// cmdEnvSubst expands $VAR and ${VAR} in each FILE, in place, with the
// script's environment: envsubst FILE...
func cmdEnvSubst(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: envsubst FILE...")
	}
	for _, f := range args {
		ts.Check(os.WriteFile(ts.MkAbs(f), []byte(os.Expand(ts.ReadFile(f), ts.Getenv)), 0o600))
	}
}
