package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// Auto-unseal (seal "transit"): one vaultd provides transit, another
// cluster is protected by it. Everything on loopback.

// transitProvider mounts transit on the vault at addr (root token root),
// creates the key "autounseal" and returns a token limited to it, as an
// operator would hand to the protected cluster.
func transitProvider(t *testing.T, addr, root string) string {
	t.Helper()
	return transitProviderTTL(t, addr, root, "1h")
}

// transitProviderTTL is transitProvider with the seal token's TTL.
func transitProviderTTL(t *testing.T, addr, root, ttl string) string {
	t.Helper()
	c := newClient(t, addr, root)
	if err := c.Sys().Mount("transit", &vaultapi.MountInput{Type: "transit"}); err != nil {
		t.Fatalf("mount transit: %v", err)
	}
	if _, err := c.Logical().Write("transit/keys/autounseal", nil); err != nil {
		t.Fatalf("create key: %v", err)
	}
	pol := `
path "transit/encrypt/autounseal" { capabilities = ["update"] }
path "transit/decrypt/autounseal" { capabilities = ["update"] }
`
	if err := c.Sys().PutPolicy("autounseal", pol); err != nil {
		t.Fatalf("policy: %v", err)
	}
	s, err := c.Auth().Token().CreateOrphan(&vaultapi.TokenCreateRequest{Policies: []string{"autounseal"}, TTL: ttl, Renewable: ptr(true)})
	if err != nil {
		t.Fatalf("seal token: %v", err)
	}
	return s.Auth.ClientToken
}

func ptr[T any](v T) *T { return &v }

// devProvider starts a -dev vaultd with transit and returns its address
// and a seal token.
func devProvider(t *testing.T) (addr, token string) {
	t.Helper()
	port := freePort(t)
	addr = fmt.Sprintf("http://127.0.0.1:%d", port)
	p := startProc(t, addr, "server", "-dev", "-dev-root-token-id=devroot", fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port))
	waitFor(t, 10*time.Second, "dev output", func() bool { r, _ := devOutput(p.Stdout.String()); return r != "" })
	return addr, transitProvider(t, addr, "devroot")
}

// sealStanza is the protected nodes' seal stanza.
func sealStanza(addr, token string, disabled bool) string {
	return fmt.Sprintf(`
seal "transit" {
  address    = %q
  token      = %q
  mount_path = "transit/"
  key_name   = "autounseal"
  disabled   = %t
}
`, addr, token, disabled)
}

// startSealedNode starts a raft node (joining joins) with extra config.
func startSealedNode(t *testing.T, dir, id string, apiPort, clPort int, joins []string, extra string) *clusterNode {
	t.Helper()
	cfg := clusterConfig(t, dir, id, apiPort, clPort, joins)
	writeExtra(t, cfg, extra)
	addr := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	p := startProc(t, addr, "server", "-config", cfg)
	p.DataDir, p.Config = dir, cfg
	n := &clusterNode{id: id, p: p, addr: addr}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- %s log ----\n%s", id, tail(n.p.Log.String(), 60))
		}
	})
	return n
}

// writeExtra appends extra to the config file at path (after the base
// config clusterConfig wrote).
func writeExtra(t *testing.T, path, extra string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if i := strings.Index(string(b), "\n#extra\n"); i >= 0 {
		b = b[:i]
	}
	if err := os.WriteFile(path, append(b, []byte("\n#extra\n"+extra)...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// restart stops n and starts it again with its (possibly rewritten) config.
func (n *clusterNode) restart(t *testing.T) {
	t.Helper()
	n.p.Stop(t)
	old := n.p
	n.p = startProc(t, n.addr, "server", "-config", old.Config)
	n.p.DataDir, n.p.Config = old.DataDir, old.Config
}

func waitUnsealed(t *testing.T, nodes []*clusterNode, what string) {
	t.Helper()
	for _, n := range nodes {
		c := newClient(t, n.addr, "")
		waitFor(t, 60*time.Second, n.id+" "+what, func() bool {
			st, err := c.Sys().SealStatus()
			return err == nil && !st.Sealed
		})
	}
}

type cliInit struct {
	RecoveryKeysB64   []string `json:"recovery_keys_b64"`
	UnsealKeysB64     []string `json:"unseal_keys_b64"`
	RecoveryShares    int      `json:"recovery_keys_shares"`
	RecoveryThreshold int      `json:"recovery_keys_threshold"`
	RootToken         string   `json:"root_token"`
}

// TestAutoUnseal_Cluster: a 3-node cluster protected by another vaultd's
// transit key is initialised through the CLI with recovery keys, its
// joiners unseal themselves, a full restart comes back unsealed with no
// keyholder, sys/seal holds a node sealed until the recovery shares are
// given, generate-root and the recovery rekey take the recovery shares,
// and the seal token never reaches the logs.
func TestAutoUnseal_Cluster(t *testing.T) {
	provider, sealToken := devProvider(t)
	stanza := sealStanza(provider, sealToken, false)
	var api, cl [3]int
	for i := range api {
		api[i], cl[i] = freePort(t), freePort(t)
	}
	first := fmt.Sprintf("http://127.0.0.1:%d", api[0])
	nodes := []*clusterNode{
		startSealedNode(t, t.TempDir(), "node1", api[0], cl[0], nil, stanza),
		startSealedNode(t, t.TempDir(), "node2", api[1], cl[1], []string{first}, stanza),
		startSealedNode(t, t.TempDir(), "node3", api[2], cl[2], []string{first}, stanza),
	}
	c1 := newClient(t, nodes[0].addr, "")
	st, err := c1.Sys().SealStatus()
	if err != nil || st.Type != "transit" || !st.RecoverySeal || st.Initialized {
		t.Fatalf("seal-status before init = %+v, %v", st, err)
	}

	out, err := runCLI(t, nodes[0].addr, "", "operator", "init", "-recovery-shares=3", "-recovery-threshold=2", "-format=json")
	if err != nil {
		t.Fatalf("operator init: %v", err)
	}
	var ini cliInit
	if err := json.Unmarshal([]byte(out), &ini); err != nil {
		t.Fatalf("init output %q: %v", out, err)
	}
	if len(ini.RecoveryKeysB64) != 3 || ini.RecoveryThreshold != 2 || len(ini.UnsealKeysB64) != 0 || ini.RootToken == "" {
		t.Fatalf("init output = %+v", ini)
	}
	rkeys := ini.RecoveryKeysB64
	// No keyholder: node1 is unsealed by init, the joiners by their seal.
	waitUnsealed(t, nodes, "to unseal itself")
	st, err = c1.Sys().SealStatus()
	if err != nil || st.Type != "transit" || !st.RecoverySeal || st.T != 2 || st.N != 3 || st.Sealed {
		t.Fatalf("seal-status after init = %+v, %v", st, err)
	}
	a := waitAgreedActive(t, nodes)
	root := newClient(t, nodes[a].addr, ini.RootToken)
	if err := root.Sys().Mount("kv", &vaultapi.MountInput{Type: "kv"}); err != nil {
		t.Fatalf("mount kv: %v", err)
	}
	if _, err := root.Logical().Write("kv/app", map[string]any{"password": "hunter2"}); err != nil {
		t.Fatalf("write: %v", err)
	}
	// The unseal key of an auto-sealed vault is the seal's: sys/rekey is
	// refused, sys/rekey-recovery-key is the ceremony.
	if _, err := root.Sys().RekeyInit(&vaultapi.RekeyInitRequest{SecretShares: 3, SecretThreshold: 2}); err == nil || !strings.Contains(err.Error(), "rekey-recovery-key") {
		t.Fatalf("sys/rekey/init under an auto seal: %v", err)
	}

	// A full restart of the protected cluster: back unsealed, no keyholder.
	for _, n := range nodes {
		n.p.Stop(t)
	}
	for _, n := range nodes {
		old := n.p
		n.p = startProc(t, n.addr, "server", "-config", old.Config)
		n.p.DataDir, n.p.Config = old.DataDir, old.Config
	}
	waitUnsealed(t, nodes, "to unseal itself after the full restart")
	a = waitAgreedActive(t, nodes)
	root = newClient(t, nodes[a].addr, ini.RootToken)
	s, err := root.Logical().Read("kv/app")
	if err != nil || s == nil || s.Data["password"] != "hunter2" {
		t.Fatalf("read after restart = %v, %v", s, err)
	}

	// generate-root with the recovery shares (CLI for the OTP decode).
	gr, err := root.Sys().GenerateRootInit("", "")
	if err != nil {
		t.Fatalf("generate-root init: %v", err)
	}
	if gr.Required != 2 {
		t.Fatalf("generate-root required = %d, want the recovery threshold 2", gr.Required)
	}
	if _, err := root.Sys().GenerateRootUpdate(strings.Repeat("A", 44), gr.Nonce); err == nil {
		t.Fatal("a bogus share was accepted")
	}
	var enc string
	for _, k := range rkeys[:2] {
		u, err := root.Sys().GenerateRootUpdate(k, gr.Nonce)
		if err != nil {
			t.Fatalf("generate-root update: %v", err)
		}
		enc = u.EncodedRootToken
	}
	if enc == "" {
		t.Fatal("generate-root did not complete with the recovery shares")
	}
	tok, err := runCLI(t, nodes[a].addr, "", "operator", "generate-root", "-decode="+enc, "-otp="+gr.OTP)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	ls, err := newClient(t, nodes[a].addr, tok).Auth().Token().LookupSelf()
	if err != nil || fmt.Sprint(ls.Data["policies"]) != "[root]" {
		t.Fatalf("generated root token lookup = %v, %v", ls, err)
	}

	// sys/seal holds an auto-sealed node sealed until its recovery shares
	// (sys/seal goes to the active node).
	standby := a
	sc := newClient(t, nodes[standby].addr, ini.RootToken)
	if err := sc.Sys().Seal(); err != nil {
		t.Fatalf("seal standby: %v", err)
	}
	time.Sleep(3 * time.Second) // longer than the auto-unseal loop's period: it must not undo sys/seal
	if st, err := sc.Sys().SealStatus(); err != nil || !st.Sealed {
		t.Fatalf("sealed node after sys/seal = %+v, %v (auto-unsealed itself)", st, err)
	}
	for _, k := range rkeys[1:3] {
		if _, err := runCLI(t, nodes[standby].addr, "", "operator", "unseal", k); err != nil {
			t.Fatalf("operator unseal with a recovery share: %v", err)
		}
	}
	waitUnsealed(t, nodes[standby:standby+1], "to unseal with the recovery shares")
	a = waitAgreedActive(t, nodes)
	root = newClient(t, nodes[a].addr, ini.RootToken)

	// Rekey of the recovery key (the API the CLI's -target=recovery uses).
	ri, err := root.Sys().RekeyRecoveryKeyInit(&vaultapi.RekeyInitRequest{SecretShares: 2, SecretThreshold: 2})
	if err != nil {
		t.Fatalf("rekey-recovery-key init: %v", err)
	}
	var ru *vaultapi.RekeyUpdateResponse
	for _, k := range rkeys[:2] {
		if ru, err = root.Sys().RekeyRecoveryKeyUpdate(k, ri.Nonce); err != nil {
			t.Fatalf("rekey-recovery-key update: %v", err)
		}
	}
	if !ru.Complete || len(ru.KeysB64) != 2 {
		t.Fatalf("rekey-recovery-key = %+v", ru)
	}
	for _, n := range nodes { // followers apply the new configuration shortly
		waitFor(t, 10*time.Second, n.id+" to show the new recovery configuration", func() bool {
			st, err := newClient(t, n.addr, "").Sys().SealStatus()
			return err == nil && st.T == 2 && st.N == 2 && st.Type == "transit" && st.RecoverySeal
		})
	}
	gr, err = root.Sys().GenerateRootInit("", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Sys().GenerateRootUpdate(rkeys[0], gr.Nonce); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Sys().GenerateRootUpdate(rkeys[1], gr.Nonce); err == nil {
		t.Fatal("the old recovery shares still authorise generate-root")
	}
	_ = root.Sys().GenerateRootCancel()

	for _, n := range nodes {
		if strings.Contains(n.p.Log.String(), sealToken) {
			t.Fatalf("%s logged the seal token", n.id)
		}
	}
}

// TestAutoUnseal_RemoteDownAtStart: the protected node starts while the
// transit vault is down; it stays sealed (type transit, no fallback), says
// so in its log, retries, and unseals itself once the remote is back.
func TestAutoUnseal_RemoteDownAtStart(t *testing.T) {
	// The provider keeps its data across a restart: a raft node.
	pdir := t.TempDir()
	papi, pcl := freePort(t), freePort(t)
	pcfg := nodeConfig(t, pdir, "provider", papi, pcl, "")
	paddr := fmt.Sprintf("http://127.0.0.1:%d", papi)
	prov := startProc(t, paddr, "server", "-config", pcfg)
	pc := newClient(t, paddr, "")
	pinit, err := pc.Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	unsealWith(t, pc, pinit.KeysB64)
	sealToken := transitProvider(t, paddr, pinit.RootToken)

	api, cl := freePort(t), freePort(t)
	n := startSealedNode(t, t.TempDir(), "prot1", api, cl, nil, sealStanza(paddr, sealToken, false))
	c := newClient(t, n.addr, "")
	ini, err := c.Sys().Init(&vaultapi.InitRequest{RecoveryShares: 1, RecoveryThreshold: 1})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	if len(ini.RecoveryKeysB64) != 1 || len(ini.KeysB64) != 0 {
		t.Fatalf("init = %+v", ini)
	}
	waitUnsealed(t, []*clusterNode{n}, "to unseal after init")
	waitFor(t, 20*time.Second, "prot1 active", func() bool {
		h, err := c.Sys().Health()
		return err == nil && !h.Sealed && !h.Standby
	})
	root := newClient(t, n.addr, ini.RootToken)
	if err := root.Sys().Mount("kv", &vaultapi.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("kv/x", map[string]any{"v": "kept"}); err != nil {
		t.Fatal(err)
	}

	n.p.Stop(t)
	prov.Stop(t)
	old := n.p
	n.p = startProc(t, n.addr, "server", "-config", old.Config)
	n.p.DataDir, n.p.Config = old.DataDir, old.Config
	waitFor(t, 30*time.Second, "the auto-unseal failure in the log", func() bool {
		return strings.Contains(n.p.Log.String(), "auto-unseal failed")
	})
	st, err := c.Sys().SealStatus()
	if err != nil || !st.Sealed || st.Type != "transit" || !st.Initialized {
		t.Fatalf("seal-status with the remote down = %+v, %v", st, err)
	}
	// Recovery shares never unseal by themselves (they decrypt nothing).
	if _, err := c.Sys().Unseal(ini.RecoveryKeysB64[0]); err == nil {
		if st, _ := c.Sys().SealStatus(); !st.Sealed {
			t.Fatal("a recovery share unsealed the node without the remote")
		}
	}
	prov = startProc(t, paddr, "server", "-config", pcfg)
	unsealWith(t, pc, pinit.KeysB64)
	waitUnsealed(t, []*clusterNode{n}, "to unseal itself once the remote is back")
	waitFor(t, 20*time.Second, "prot1 active", func() bool {
		h, err := c.Sys().Health()
		return err == nil && !h.Sealed && !h.Standby
	})
	s, err := root.Logical().Read("kv/x")
	if err != nil || s == nil || s.Data["v"] != "kept" {
		t.Fatalf("read = %v, %v", s, err)
	}
	_ = prov
}

// TestAutoUnseal_Migration: shamir → transit → shamir on one node with
// `operator unseal -migrate`, keeping the data; the Shamir shares become the
// recovery shares and then the unseal shares again, as in Vault.
func TestAutoUnseal_Migration(t *testing.T) {
	provider, sealToken := devProvider(t)
	api, cl := freePort(t), freePort(t)
	dir := t.TempDir()
	n := startSealedNode(t, dir, "mig1", api, cl, nil, "")
	c := newClient(t, n.addr, "")
	ini, err := c.Sys().Init(&vaultapi.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	unsealWith(t, c, ini.KeysB64)
	root := newClient(t, n.addr, ini.RootToken)
	if err := root.Sys().Mount("kv", &vaultapi.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("kv/x", map[string]any{"v": "kept"}); err != nil {
		t.Fatal(err)
	}
	check := func(what string) {
		t.Helper()
		waitFor(t, 20*time.Second, "mig1 active "+what, func() bool {
			h, err := c.Sys().Health()
			return err == nil && !h.Sealed && !h.Standby
		})
		s, err := root.Logical().Read("kv/x")
		if err != nil || s == nil || s.Data["v"] != "kept" {
			t.Fatalf("read %s = %v, %v", what, s, err)
		}
	}

	// shamir → transit.
	writeExtra(t, n.p.Config, sealStanza(provider, sealToken, false))
	n.restart(t)
	st, err := c.Sys().SealStatus()
	if err != nil || !st.Sealed || !st.Migration {
		t.Fatalf("seal-status before migration = %+v, %v", st, err)
	}
	if _, err := c.Sys().Unseal(ini.KeysB64[0]); err == nil || !strings.Contains(err.Error(), "migrate") {
		t.Fatalf("unseal without -migrate during a migration: %v", err)
	}
	for _, k := range ini.KeysB64[:2] {
		if _, err := runCLI(t, n.addr, "", "operator", "unseal", "-migrate", k); err != nil {
			t.Fatalf("operator unseal -migrate: %v", err)
		}
	}
	waitUnsealed(t, []*clusterNode{n}, "after the migration to transit")
	st, _ = c.Sys().SealStatus()
	if st.Type != "transit" || !st.RecoverySeal || st.Migration || st.T != 2 || st.N != 3 {
		t.Fatalf("seal-status after migration to transit = %+v", st)
	}
	check("after the migration to transit")
	n.restart(t)
	waitUnsealed(t, []*clusterNode{n}, "to auto-unseal after restart")
	check("after the restart under transit")
	// The old Shamir shares are now the recovery shares.
	gr, err := root.Sys().GenerateRootInit("", "")
	if err != nil {
		t.Fatal(err)
	}
	var u *vaultapi.GenerateRootStatusResponse
	for _, k := range ini.KeysB64[1:3] {
		if u, err = root.Sys().GenerateRootUpdate(k, gr.Nonce); err != nil {
			t.Fatalf("generate-root with the old shares as recovery shares: %v", err)
		}
	}
	if !u.Complete {
		t.Fatal("generate-root did not complete")
	}

	// transit → shamir: the transit stanza disabled.
	writeExtra(t, n.p.Config, sealStanza(provider, sealToken, true))
	n.restart(t)
	st, err = c.Sys().SealStatus()
	if err != nil || !st.Sealed || !st.Migration {
		t.Fatalf("seal-status before migration back = %+v, %v", st, err)
	}
	for _, k := range ini.KeysB64[:2] {
		if _, err := runCLI(t, n.addr, "", "operator", "unseal", "-migrate", k); err != nil {
			t.Fatalf("operator unseal -migrate (back): %v", err)
		}
	}
	waitUnsealed(t, []*clusterNode{n}, "after the migration to shamir")
	st, _ = c.Sys().SealStatus()
	if st.Type != "shamir" || st.RecoverySeal || st.Migration {
		t.Fatalf("seal-status after migration to shamir = %+v", st)
	}
	check("after the migration to shamir")
	// And a plain restart needs the (same) Shamir shares again.
	writeExtra(t, n.p.Config, "")
	n.restart(t)
	if st, _ := c.Sys().SealStatus(); !st.Sealed || st.Type != "shamir" {
		t.Fatalf("seal-status after restart under shamir = %+v", st)
	}
	unsealWith(t, c, ini.KeysB64[1:3])
	check("after the restart under shamir")
	_ = filepath.Join
}

// TestAutoUnseal_TokenRenewal: the seal token has a 4-second TTL; the node
// renews it, so well past that TTL the token is alive and a restart still
// unseals by itself.
func TestAutoUnseal_TokenRenewal(t *testing.T) {
	port := freePort(t)
	provider := fmt.Sprintf("http://127.0.0.1:%d", port)
	p := startProc(t, provider, "server", "-dev", "-dev-root-token-id=devroot", fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port))
	waitFor(t, 10*time.Second, "dev output", func() bool { r, _ := devOutput(p.Stdout.String()); return r != "" })
	sealToken := transitProviderTTL(t, provider, "devroot", "4s")

	api, cl := freePort(t), freePort(t)
	n := startSealedNode(t, t.TempDir(), "ren1", api, cl, nil, sealStanza(provider, sealToken, false))
	c := newClient(t, n.addr, "")
	if _, err := c.Sys().Init(&vaultapi.InitRequest{RecoveryShares: 1, RecoveryThreshold: 1}); err != nil {
		t.Fatal(err)
	}
	waitUnsealed(t, []*clusterNode{n}, "to unseal after init")
	time.Sleep(10 * time.Second) // 2.5 TTLs: only renewals keep the token
	ls, err := newClient(t, provider, sealToken).Auth().Token().LookupSelf()
	if err != nil {
		t.Fatalf("the seal token expired: it was not renewed: %v", err)
	}
	if ttl, _ := ls.TokenTTL(); ttl <= 0 {
		t.Fatalf("seal token TTL = %v", ttl)
	}
	if !strings.Contains(n.p.Log.String(), "transit seal: token renewed") {
		t.Error("no renewal in the log")
	}
	n.restart(t)
	waitUnsealed(t, []*clusterNode{n}, "to unseal itself with the renewed token")
}
