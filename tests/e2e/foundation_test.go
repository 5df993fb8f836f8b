package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
)

// singleNode starts one raft-backed vaultd from a config file.
func singleNode(t *testing.T) (*proc, string) {
	t.Helper()
	dir := t.TempDir()
	apiPort, clPort := freePort(t), freePort(t)
	cfg := nodeConfig(t, dir, "node1", apiPort, clPort, "")
	addr := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	p := startProc(t, addr, "server", "-config", cfg)
	p.DataDir, p.Config = dir, cfg
	return p, cfg
}

func restart(t *testing.T, p *proc, hard bool) *proc {
	t.Helper()
	if hard {
		p.Kill()
	} else {
		p.Stop(t)
	}
	np := startProc(t, p.Addr, "server", "-config", p.Config)
	np.DataDir, np.Config = p.DataDir, p.Config
	// Keep the whole log history for the leak scan.
	np.Log.Write([]byte(p.Log.String()))
	return np
}

func TestSingleNode_InitUnsealKVRestart(t *testing.T) {
	p, _ := singleNode(t)
	c := newClient(t, p.Addr, "")

	st, err := c.Sys().SealStatus()
	if err != nil {
		t.Fatal(err)
	}
	if st.Initialized || !st.Sealed {
		t.Fatalf("fresh node: initialized=%v sealed=%v, want false/true", st.Initialized, st.Sealed)
	}
	init, err := c.Sys().Init(&vaultapi.InitRequest{SecretShares: 5, SecretThreshold: 3})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	if len(init.Keys) != 5 || len(init.KeysB64) != 5 || init.RootToken == "" {
		t.Fatalf("init returned %d keys, %d base64 keys, root token %q", len(init.Keys), len(init.KeysB64), init.RootToken)
	}
	// Init twice → 400.
	if _, err := c.Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1}); !isStatus(err, 400) {
		t.Fatalf("second init err = %v, want 400", err)
	}
	// Progress is reported share by share; mixing hex and base64 works.
	st, err = c.Sys().Unseal(init.Keys[0])
	if err != nil || !st.Sealed || st.Progress != 1 || st.T != 3 || st.N != 5 {
		t.Fatalf("after 1 share: %+v, %v", st, err)
	}
	st, err = c.Sys().Unseal(init.KeysB64[3])
	if err != nil || !st.Sealed || st.Progress != 2 {
		t.Fatalf("after 2 shares: %+v, %v", st, err)
	}
	unsealWith(t, c, []string{init.Keys[4]})
	c.SetToken(init.RootToken)

	// KV v2 and v1 mounts.
	if err := c.Sys().Mount("secret", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatalf("mount kv-v2: %v", err)
	}
	if err := c.Sys().Mount("kv1", &vaultapi.MountInput{Type: "kv"}); err != nil {
		t.Fatalf("mount kv v1: %v", err)
	}
	ctx := t.Context()
	kv2 := c.KVv2("secret")
	if _, err := kv2.Put(ctx, "app/db", map[string]any{"password": "hunter2-v1"}); err != nil {
		t.Fatalf("kv2 put: %v", err)
	}
	if _, err := kv2.Put(ctx, "app/db", map[string]any{"password": "hunter2-v2"}); err != nil {
		t.Fatalf("kv2 put v2: %v", err)
	}
	s, err := kv2.Get(ctx, "app/db")
	if err != nil || s.Data["password"] != "hunter2-v2" || s.VersionMetadata.Version != 2 {
		t.Fatalf("kv2 get = %+v, %v", s, err)
	}
	s, err = kv2.GetVersion(ctx, "app/db", 1)
	if err != nil || s.Data["password"] != "hunter2-v1" {
		t.Fatalf("kv2 get version 1 = %+v, %v", s, err)
	}
	if _, err := c.Logical().Write("kv1/team/token", map[string]any{"value": "v1-secret"}); err != nil {
		t.Fatalf("kv1 write: %v", err)
	}
	ls, err := c.Logical().List("kv1/team")
	if err != nil || ls == nil || fmt.Sprint(ls.Data["keys"]) != "[token]" {
		t.Fatalf("kv1 list = %+v, %v", ls, err)
	}
	mounts, err := c.Sys().ListMounts()
	if err != nil || mounts["secret/"] == nil || mounts["secret/"].Options["version"] != "2" || mounts["kv1/"] == nil {
		t.Fatalf("ListMounts = %v, %v", mounts, err)
	}

	for _, hard := range []bool{false, true} {
		p = restart(t, p, hard)
		c = newClient(t, p.Addr, init.RootToken)
		st, err := c.Sys().SealStatus()
		if err != nil || !st.Sealed || !st.Initialized {
			t.Fatalf("after restart (hard=%v): %+v, %v", hard, st, err)
		}
		// Sealed → 503 on everything but the unauthenticated sys endpoints.
		if _, err := c.Logical().Read("kv1/team/token"); !isStatus(err, 503) {
			t.Fatalf("read while sealed err = %v, want 503", err)
		}
		unsealWith(t, c, []string{init.Keys[1], init.KeysB64[2], init.Keys[0]})
		s, err := c.KVv2("secret").Get(ctx, "app/db")
		if err != nil || s.Data["password"] != "hunter2-v2" {
			t.Fatalf("after restart (hard=%v) kv2 = %+v, %v", hard, s, err)
		}
		r, err := c.Logical().Read("kv1/team/token")
		if err != nil || r == nil || r.Data["value"] != "v1-secret" {
			t.Fatalf("after restart (hard=%v) kv1 = %+v, %v", hard, r, err)
		}
	}

	// Seal through the API, then nothing is served.
	if err := c.Sys().Seal(); err != nil {
		t.Fatalf("seal: %v", err)
	}
	if _, err := c.Logical().Read("kv1/team/token"); !isStatus(err, 503) {
		t.Fatalf("read after seal err = %v, want 503", err)
	}
}

func isStatus(err error, code int) bool {
	var re *vaultapi.ResponseError
	return errors.As(err, &re) && re.StatusCode == code
}

func TestSingleNode_NothingReadableOnDisk(t *testing.T) {
	p, _ := singleNode(t)
	c := newClient(t, p.Addr, "")
	init, err := c.Sys().Init(&vaultapi.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	unsealWith(t, c, init.Keys[:2])
	c.SetToken(init.RootToken)
	if err := c.Sys().Mount("secret", &vaultapi.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	const secret = "Tr0ub4dor&3-correct-horse-battery-staple"
	if _, err := c.KVv2("secret").Put(t.Context(), "leak/check", map[string]any{"pw": secret}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("sys/rotate", nil); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	p.Stop(t)

	needles := map[string][]byte{
		"secret":            []byte(secret),
		"secret (base64)":   []byte(base64.StdEncoding.EncodeToString([]byte(secret))),
		"root token":        []byte(init.RootToken),
		"root token suffix": []byte(strings.TrimPrefix(init.RootToken, "hvs.")),
	}
	for i, k := range init.Keys {
		needles[fmt.Sprintf("share %d (hex)", i)] = []byte(k)
		raw, _ := hex.DecodeString(k)
		needles[fmt.Sprintf("share %d (raw)", i)] = raw
		needles[fmt.Sprintf("share %d (base64)", i)] = []byte(init.KeysB64[i])
	}
	files := 0
	err = filepath.WalkDir(p.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(path, ".hcl") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for what, n := range needles {
			if bytes.Contains(b, n) {
				t.Errorf("%s found in %s", what, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 1 {
		t.Fatalf("scanned only %d files; is the data dir right?", files)
	}
	log := p.Log.String()
	for what, n := range needles {
		if bytes.Contains([]byte(log), n) {
			t.Errorf("%s found in the server log", what)
		}
	}
}

func TestSingleNode_BadInput(t *testing.T) {
	p, _ := singleNode(t)
	c := newClient(t, p.Addr, "")
	do := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, p.Addr+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("X-Vault-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Uninitialised.
	if code, _ := do("GET", "/v1/sys/health", "", ""); code != 501 {
		t.Fatalf("health uninitialised = %d, want 501", code)
	}
	if code, body := do("PUT", "/v1/sys/init", "", "{not json"); code != 400 || !strings.Contains(body, `"errors"`) {
		t.Fatalf("malformed init = %d %s", code, body)
	}
	if code, _ := do("PUT", "/v1/sys/init", "", `{"secret_shares":3,"secret_threshold":5}`); code != 400 {
		t.Fatalf("threshold > shares = %d, want 400", code)
	}
	init, err := c.Sys().Init(&vaultapi.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Garbage and wrong unseal shares → 400, still sealed, server alive.
	for _, body := range []string{`{"key":"zz-not-hex-or-base64!"}`, `{"key":"00"}`, `{}`, `[1,2]`} {
		if code, b := do("PUT", "/v1/sys/unseal", "", body); code != 400 {
			t.Fatalf("unseal %s = %d %s, want 400", body, code, b)
		}
	}
	// Two valid-looking but wrong shares: authentication fails, progress resets.
	wrong1, wrong2 := strings.Repeat("ab", 32)+"01", strings.Repeat("cd", 32)+"02"
	if _, err := c.Sys().Unseal(wrong1); err != nil {
		t.Fatalf("first wrong share: %v", err)
	}
	if _, err := c.Sys().Unseal(wrong2); !isStatus(err, 400) {
		t.Fatalf("wrong combined key err = %v, want 400", err)
	}
	st, err := c.Sys().SealStatus()
	if err != nil || !st.Sealed || st.Progress != 0 {
		t.Fatalf("after wrong shares: %+v %v; want sealed, progress 0", st, err)
	}
	if code, _ := do("GET", "/v1/sys/health", "", ""); code != 503 {
		t.Fatalf("health sealed = %d, want 503", code)
	}
	if code, _ := do("GET", "/v1/sys/health?sealedcode=299&uninitcode=298", "", ""); code != 299 {
		t.Fatalf("health sealedcode=299 = %d", code)
	}
	if code, _ := do("GET", "/v1/secret/data/x", init.RootToken, ""); code != 503 {
		t.Fatalf("sealed read = %d, want 503", code)
	}
	unsealWith(t, c, init.Keys[:2])
	root := init.RootToken
	if code, _ := do("GET", "/v1/sys/health?standbycode=299", "", ""); code != 200 {
		t.Fatalf("health active = %d, want 200", code)
	}
	if code, _ := do("HEAD", "/v1/sys/health?activecode=204", "", ""); code != 204 {
		t.Fatalf("HEAD health activecode=204 = %d", code)
	}
	if code, _ := do("POST", "/v1/sys/mounts/secret", root, `{"type":"kv","options":{"version":"2"}}`); code != 204 {
		t.Fatalf("mount = %d", code)
	}
	cases := []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"no token", "GET", "/v1/secret/data/a", "", "", 403},
		{"bad token", "GET", "/v1/secret/data/a", "hvs.nope", "", 403},
		{"bearer bad token", "GET", "/v1/sys/mounts", "", "", 403},
		{"malformed json", "PUT", "/v1/secret/data/a", root, `{"data":`, 400},
		{"unknown mount", "GET", "/v1/nomount/x", root, "", 404},
		{"missing secret", "GET", "/v1/secret/data/missing", root, "", 404},
		{"dotdot", "GET", "/v1/secret/data/../../sys/mounts", root, "", 400},
		{"encoded dotdot", "GET", "/v1/secret/data/%2e%2e/%2e%2e/core", root, "", 400},
		{"double slash", "GET", "/v1/secret/data//a", root, "", 400},
		{"encoded slash dotdot", "GET", "/v1/secret/data/a%2f..%2f..%2fx", root, "", 400},
		{"too large", "PUT", "/v1/secret/data/big", root, `{"data":{"v":"` + strings.Repeat("x", 2<<20) + `"}}`, 413},
		{"bad method", "TRACE", "/v1/secret/data/a", root, "", 405},
	}
	for _, tc := range cases {
		code, body := do(tc.method, tc.path, tc.token, tc.body)
		if code != tc.want {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.path, code, body, tc.want)
			continue
		}
		if code >= 400 && tc.method != "HEAD" && !strings.Contains(body, `"errors"`) {
			t.Errorf("%s: body %q lacks errors", tc.name, body)
		}
	}
	// Bearer auth works like X-Vault-Token.
	req, _ := http.NewRequest("GET", p.Addr+"/v1/sys/mounts", nil)
	req.Header.Set("Authorization", "Bearer "+root)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("bearer token: %v %v", resp, err)
	}
	resp.Body.Close()
	// The server is still alive and serving.
	if _, err := c.Sys().Health(); err != nil {
		t.Fatalf("server died: %v", err)
	}
}

func TestDevServer(t *testing.T) {
	port := freePort(t)
	addr := fmt.Sprintf("http://127.0.0.1:%d", port)
	p := startProc(t, addr, "server", "-dev", "-dev-root-token-id=devroot", fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port))
	waitFor(t, 10e9, "dev output", func() bool { r, _ := devOutput(p.Stdout.String()); return r != "" })
	root, key := devOutput(p.Stdout.String())
	if root != "devroot" || key == "" {
		t.Fatalf("dev output root=%q key=%q:\n%s", root, key, p.Stdout.String())
	}
	c := newClient(t, addr, root)
	if _, err := c.KVv2("secret").Put(t.Context(), "hello", map[string]any{"foo": "world"}); err != nil {
		t.Fatalf("dev kv put: %v", err)
	}
	s, err := c.KVv2("secret").Get(t.Context(), "hello")
	if err != nil || s.Data["foo"] != "world" {
		t.Fatalf("dev kv get = %+v, %v", s, err)
	}
	// Seal and unseal with the printed key.
	if err := c.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	unsealWith(t, c, []string{key})
	s, err = c.KVv2("secret").Get(t.Context(), "hello")
	if err != nil || s.Data["foo"] != "world" {
		t.Fatalf("dev kv get after unseal = %+v, %v", s, err)
	}
	if strings.Contains(p.Log.String(), key) {
		t.Fatal("unseal key in the server log")
	}
	p.Stop(t)
}
