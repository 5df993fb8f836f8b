package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	vaultapi "github.com/hashicorp/vault/api"
)

// browser is one headless Chromium tab.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string
	n     int

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

func newBrowser(t *testing.T, execPath string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", execPath, err)
	}
	b := &browser{t: t, ctx: ctx, shots: filepath.Join("..", "artifacts", "ui", t.Name())}
	_ = os.RemoveAll(b.shots) // screenshots of this run only
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot("failed")
		b.t.Fatalf("browser: %v", err)
	}
}

// wait polls a JavaScript expression until it is truthy.
func (b *browser) wait(what string, timeout time.Duration, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+expr+")",
		chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		b.shot("timeout")
		body, _ := evalJS[string](b, `document.body.innerText`)
		b.t.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, body)
	}
}

func evalJS[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

func (b *browser) eval(expr string) string {
	b.t.Helper()
	v, err := evalJS[string](b, expr)
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// goTo switches the UI's page (a same-document hash change).
func (b *browser) goTo(hash string) {
	b.t.Helper()
	b.eval(fmt.Sprintf(`(location.hash = %q, "")`, hash))
}

func (b *browser) set(sel, value string) {
	b.t.Helper()
	b.do(chromedp.SetValue(chromedp.CSS(sel), value))
}

func (b *browser) click(sel string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(sel)))
}

// selectOption sets a <select> and fires its change event.
func (b *browser) selectOption(sel, value string) {
	b.t.Helper()
	b.eval(fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event('change')); return ""; })()`, sel, value))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel))
}

// shot saves a full-page screenshot under tests/artifacts/ui/.
func (b *browser) shot(name string) {
	b.n++
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.n, name))
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// storageHolds reports whether any browser storage (sessionStorage,
// localStorage, cookies) contains s.
func (b *browser) storageHolds(s string) bool {
	b.t.Helper()
	all := b.eval(`JSON.stringify(sessionStorage) + JSON.stringify(localStorage) + document.cookie`)
	return strings.Contains(all, s)
}

// pageErrors returns uncaught exceptions and CSP violations seen so far.
func (b *browser) pageErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		txt := m.String()
		if m.IsException() || strings.Contains(txt, "Content Security Policy") || strings.Contains(txt, "Refused to") {
			out = append(out, txt)
		}
	}
	return out
}

// rowSel selects the node row for addr in a table body.
func rowSel(tbody, addr string) string {
	return fmt.Sprintf(`#%s tr[data-node="%s"]`, tbody, addr)
}

// TestUIClusterLifecycle drives the UI through a cluster's life: init and
// unseal three nodes, write a policy, log in with userpass, write, read,
// delete and undelete a secret, and watch a failover.
func TestUIClusterLifecycle(t *testing.T) {
	chrome := chromiumPath(t)
	nodes := startCluster(t)
	b := newBrowser(t, chrome)
	n1 := nodes[0].addr
	allRows := func(tbody, state string) string {
		var conds []string
		for _, n := range nodes {
			conds = append(conds, fmt.Sprintf(`(document.querySelector('%s') || {dataset:{}}).dataset.state === %q`, rowSel(tbody, n.addr), state))
		}
		return strings.Join(conds, " && ")
	}

	// / redirects to the UI, whose cluster page lists every node.
	b.do(chromedp.Navigate(n1 + "/"))
	b.wait("the cluster page with three uninitialised nodes", 20*time.Second,
		`location.pathname === '/ui/' && `+allRows("cluster-nodes", "uninitialized"))
	b.shot("cluster-uninitialized")

	// Init: three shares, threshold two, shown once.
	b.goTo("#/init")
	b.wait("the init form", 10*time.Second, `document.querySelector('#init-form')`)
	b.set("#init-shares", "3")
	b.set("#init-threshold", "2")
	b.click("#init-submit")
	b.wait("the key shares", 15*time.Second, `document.querySelectorAll('#init-keys .key-b64').length === 3`)
	b.shot("init-keys")
	var keys []string
	if err := json.Unmarshal([]byte(b.eval(`JSON.stringify([...document.querySelectorAll('#init-keys .key-b64')].map(e => e.textContent))`)), &keys); err != nil {
		t.Fatal(err)
	}
	root := b.text("#init-root-token")
	if len(keys) != 3 || root == "" {
		t.Fatalf("init showed %d keys and root token %q", len(keys), root)
	}
	for _, k := range append(keys, root) {
		if b.storageHolds(k) {
			t.Fatal("a key share or the root token was stored in the browser")
		}
	}
	b.click("#init-done")
	b.wait("the keys to be hidden", 5*time.Second, `!document.querySelector('#init-keys')`)

	// Unseal: each share entered once reaches every node, the joiners
	// included once their join challenge has arrived.
	b.goTo("#/unseal")
	b.wait("node1 sealed on the unseal page", 15*time.Second,
		fmt.Sprintf(`(document.querySelector('%s') || {dataset:{}}).dataset.state === 'sealed'`, rowSel("unseal-nodes", n1)))
	b.set("#unseal-share", keys[0])
	b.click("#unseal-submit")
	b.wait("node1 progress 1/2", 15*time.Second,
		fmt.Sprintf(`(document.querySelector('%s .progress') || {}).textContent === '1 / 2'`, rowSel("unseal-nodes", n1)))
	b.shot("unseal-progress")
	if b.storageHolds(keys[0]) {
		t.Fatal("the share was stored in the browser")
	}
	b.set("#unseal-share", keys[2])
	b.click("#unseal-submit")
	b.wait("every node unsealed", 60*time.Second, allRows("unseal-nodes", "unsealed"))
	b.wait("the shares to be forgotten", 10*time.Second, `!document.querySelector('#unseal-forget')`)
	b.shot("unsealed")
	for _, n := range nodes {
		h, err := newClient(t, n.addr, "").Sys().Health()
		if err != nil || h.Sealed {
			t.Fatalf("%s after the UI ceremony: %+v, %v", n.id, h, err)
		}
	}

	// Log in with the root token; write a policy, seeing a bad line first.
	b.goTo("#/login")
	b.wait("the login form", 10*time.Second, `document.querySelector('#login-token')`)
	b.set("#login-token", root)
	b.click("#login-submit")
	b.wait("the session", 10*time.Second, `document.querySelector('#logout')`)
	b.goTo("#/policies/app-rw")
	b.wait("the policy editor", 10*time.Second, `document.querySelector('#policy-text')`)
	b.set("#policy-text", "path \"secret/data/*\" {\n  capabilities = [\"read\"]\n  bogus = 1\n}\n")
	b.click("#policy-save")
	b.wait("the error at line 3", 10*time.Second, `(document.querySelector('#policy-error-line') || {dataset:{}}).dataset.line === '3'`)
	b.shot("policy-error")
	policy := `path "secret/data/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "secret/metadata/*" { capabilities = ["read", "list", "delete"] }
path "secret/delete/*" { capabilities = ["update"] }
path "secret/undelete/*" { capabilities = ["update"] }
`
	b.set("#policy-text", policy)
	b.click("#policy-save")
	b.wait("the policy to be saved", 10*time.Second, `document.body.innerText.includes('Policy saved.')`)
	rc := newClient(t, n1, root)
	if got, err := rc.Sys().GetPolicy("app-rw"); err != nil || !strings.Contains(got, "secret/undelete/*") {
		t.Fatalf("policy written through the UI: %q, %v", got, err)
	}

	// The rest of the setup through the API.
	if err := rc.Sys().Mount("secret", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	if err := rc.Sys().EnableAuthWithOptions("userpass", &vaultapi.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Logical().Write("auth/userpass/users/alice", map[string]any{"password": "correct horse", "token_policies": "app-rw"}); err != nil {
		t.Fatal(err)
	}
	b.click("#logout")

	// Log in with userpass and work with a secret.
	b.wait("the login form", 10*time.Second, `document.querySelector('#login-method')`)
	b.selectOption("#login-method", "userpass")
	b.set("#login-username", "alice")
	b.set("#login-password", "correct horse")
	b.click("#login-submit")
	b.wait("the KV mounts", 15*time.Second, `document.querySelector('#kv-mounts a.kv-mount')`)
	if got := b.text("#session-user"); got != "userpass-alice" {
		t.Errorf("session shows %q, want userpass-alice", got)
	}
	b.shot("kv-mounts")
	b.click("#kv-mounts a.kv-mount")
	b.wait("the secret list", 10*time.Second, `document.querySelector('#kv-new-path')`)
	b.set("#kv-new-path", "app/db")
	b.click("#kv-create")
	b.wait("the editor", 10*time.Second, `document.querySelector('#kv-data') && location.hash.endsWith('?new')`)
	const value = "s3cr3t-from-the-ui"
	b.set("#kv-data", `{"password": "`+value+`", "user": "app"}`)
	b.click("#kv-save")
	b.wait("the saved secret", 15*time.Second, `!location.hash.includes('?new') && document.querySelector('#kv-values tr[data-key="password"]')`)
	s, err := rc.Logical().Read("secret/data/app/db")
	if err != nil || s == nil {
		t.Fatalf("reading the secret written through the UI: %v", err)
	}
	if d, _ := s.Data["data"].(map[string]any); d["password"] != value {
		t.Fatalf("secret written through the UI = %v", s.Data)
	}
	if strings.Contains(b.eval(`document.body.innerText`), value) {
		t.Fatal("the secret value is shown before Reveal")
	}
	b.click(`#kv-values button.reveal[data-key="password"]`)
	b.wait("the revealed value", 5*time.Second, fmt.Sprintf(`document.querySelector('#kv-values tr[data-key="password"] .value').textContent === %q`, value))
	b.shot("kv-secret-revealed")
	if b.storageHolds(value) {
		t.Fatal("the secret value was stored in the browser")
	}
	b.click("#kv-delete-latest")
	b.wait("the deletion", 10*time.Second, `document.querySelector('#kv-msg').textContent.includes('deleted')`)
	b.wait("version 1 marked deleted", 10*time.Second, `document.querySelector('#kv-versions tr[data-version="1"] button.v-undelete')`)
	b.shot("kv-deleted")
	if s, err := rc.Logical().Read("secret/metadata/app/db"); err != nil || s == nil {
		t.Fatalf("metadata: %v", err)
	} else if v1, _ := s.Data["versions"].(map[string]any)["1"].(map[string]any); v1 == nil || v1["deletion_time"] == "" {
		t.Fatalf("version 1 not deleted: %v", s.Data["versions"])
	}
	b.click(`#kv-versions tr[data-version="1"] button.v-undelete`)
	b.wait("the undeleted value", 10*time.Second, `document.querySelector('#kv-values tr[data-key="password"]')`)
	if s, err := rc.Logical().Read("secret/data/app/db"); err != nil || s == nil || s.Data["data"] == nil {
		t.Fatalf("undelete through the UI did not restore the secret: %v %v", s, err)
	}

	// Failover: with the root token, step the active node down from the
	// cluster page and watch the page notice the new active node.
	b.click("#logout")
	b.wait("the login form", 10*time.Second, `document.querySelector('#login-token')`)
	b.set("#login-token", root)
	b.click("#login-submit")
	b.wait("the session", 10*time.Second, `document.querySelector('#logout')`)
	b.goTo("#/cluster")
	b.wait("an active node with its id", 20*time.Second, `/^node\d$/.test((document.querySelector('#active-node') || {}).textContent) && document.querySelector('#cluster-raft table') && document.querySelector('button.step-down')`)
	before := b.text("#active-node")
	changes := b.text("#leader-changes")
	b.shot("cluster-active")
	// Autopilot promotes the joiners once caught up and stable for
	// server_stabilization_time (10 s by default); a step-down needs a
	// voter to hand leadership to.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		s, err := rc.Logical().Read("sys/storage/raft/configuration")
		voters := 0
		if err == nil && s != nil {
			servers, _ := s.Data["config"].(map[string]any)["servers"].([]any)
			for _, sv := range servers {
				if v, _ := sv.(map[string]any)["voter"].(bool); v {
					voters++
				}
			}
		}
		if voters == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d voters after 30s, want 3 (%v)", voters, err)
		}
	}
	b.click("button.step-down")
	b.wait("a new active node", 45*time.Second, fmt.Sprintf(
		`(() => { const a = (document.querySelector('#active-node') || {}).textContent; return /^node\d$/.test(a) && a !== %q && document.querySelector('#leader-changes').textContent !== %q; })()`, before, changes))
	b.wait("three unsealed nodes", 20*time.Second, allRows("cluster-nodes", "unsealed"))
	b.shot("cluster-failover")
	if ev := b.text("#cluster-events"); !strings.Contains(ev, "active node changed: "+before+" → ") {
		t.Errorf("leader-change log = %q", ev)
	}

	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the page raised errors or CSP violations:\n%s", strings.Join(errs, "\n"))
	}
}

// TestUIDevEngines runs against `vaultd server -dev` (the UI is always on
// there): AppRole login, a KV v1 secret, KV v2 versions (check-and-set
// write, destroy) and metadata, and a transit key (create, encrypt,
// decrypt, rotate).
func TestUIDevEngines(t *testing.T) {
	chrome := chromiumPath(t)
	port := freePort(t)
	addr := fmt.Sprintf("http://127.0.0.1:%d", port)
	startNode(t, "dev", addr, "server", "-dev", "-dev-listen-address", fmt.Sprintf("127.0.0.1:%d", port), "-dev-root-token-id", "dev-root")
	rc := newClient(t, addr, "dev-root")
	waitFor(t, 15*time.Second, "the dev server to be active", func() bool {
		h, err := rc.Sys().Health()
		return err == nil && !h.Sealed && !h.Standby
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rc.Sys().Mount("kv1", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}))
	must(rc.Sys().Mount("transit", &vaultapi.MountInput{Type: "transit"}))
	must(rc.Sys().EnableAuthWithOptions("approle", &vaultapi.EnableAuthOptions{Type: "approle"}))
	must(rc.Sys().PutPolicy("dev-app", `path "kv1/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "transit/*" { capabilities = ["create", "read", "update", "list"] }
path "secret/*" { capabilities = ["create", "read", "update", "delete", "list"] }
`))
	_, err := rc.Logical().Write("auth/approle/role/web", map[string]any{"token_policies": "dev-app"})
	must(err)
	rid, err := rc.Logical().Read("auth/approle/role/web/role-id")
	must(err)
	sid, err := rc.Logical().Write("auth/approle/role/web/secret-id", nil)
	must(err)
	roleID, _ := rid.Data["role_id"].(string)
	secretID, _ := sid.Data["secret_id"].(string)

	b := newBrowser(t, chrome)
	b.do(chromedp.Navigate(addr + "/ui/#/login"))
	b.wait("the login form", 15*time.Second, `document.querySelector('#login-method')`)
	b.selectOption("#login-method", "approle")
	b.set("#login-role-id", roleID)
	b.set("#login-secret-id", secretID)
	b.click("#login-submit")
	b.wait("the KV mounts this token may use", 15*time.Second, `[...document.querySelectorAll('#kv-mounts a.kv-mount')].map(a => a.textContent).join() === 'kv1/,secret/'`)
	if b.storageHolds(secretID) {
		t.Fatal("the secret_id was stored in the browser")
	}

	// KV v1: write, read with reveal, delete.
	b.goTo("#/kv/kv1/")
	b.wait("the kv1 list", 10*time.Second, `document.querySelector('#kv-empty')`)
	b.set("#kv-new-path", "cfg")
	b.click("#kv-create")
	b.wait("the editor", 10*time.Second, `document.querySelector('#kv-data') && location.hash.endsWith('?new')`)
	b.set("#kv-data", `{"colour": "teal"}`)
	b.click("#kv-save")
	b.wait("the saved secret", 10*time.Second, `document.querySelector('#kv-values tr[data-key="colour"]')`)
	if s, err := rc.Logical().Read("kv1/cfg"); err != nil || s == nil || s.Data["colour"] != "teal" {
		t.Fatalf("kv1/cfg written through the UI: %v, %v", s, err)
	}
	b.click(`#kv-values button.reveal[data-key="colour"]`)
	b.wait("the revealed value", 5*time.Second, `document.querySelector('#kv-values tr[data-key="colour"] .value').textContent === 'teal'`)
	b.click("#kv-delete")
	b.wait("the empty listing", 10*time.Second, `document.querySelector('#kv-empty')`)
	if s, err := rc.Logical().Read("kv1/cfg"); err != nil || s != nil {
		t.Fatalf("kv1/cfg after delete through the UI: %v, %v", s, err)
	}

	// KV v2: two versions, destroy the first, then metadata.
	_, err = rc.Logical().Write("secret/data/web", map[string]any{"data": map[string]any{"v": "one"}})
	must(err)
	b.goTo("#/kv/secret/web")
	b.wait("version 1", 10*time.Second, `document.querySelector('#kv-versions tr[data-version="1"]')`)
	b.set("#kv-data", `{"v": "two"}`)
	b.set("#kv-cas", "1")
	b.click("#kv-save")
	b.wait("version 2", 10*time.Second, `document.querySelector('#kv-versions tr[data-version="2"]') && document.querySelector('#kv-msg').textContent.includes('version 2')`)
	b.eval(`(window.confirm = () => true, "")`) // the destroy button asks first
	b.click(`#kv-versions tr[data-version="1"] button.v-destroy`)
	b.wait("version 1 destroyed", 10*time.Second, `document.querySelector('#kv-versions tr[data-version="1"]').textContent.includes('destroyed')`)
	b.set("#kv-max-versions", "7")
	b.set("#kv-custom-metadata", `{"owner": "web-team"}`)
	b.click(`#kv-meta-form button[type="submit"]`)
	b.wait("the metadata saved", 10*time.Second, `document.querySelector('#kv-msg').textContent.includes('Metadata saved')`)
	b.shot("dev-kv2-versions")
	md, err := rc.Logical().Read("secret/metadata/web")
	must(err)
	v1, _ := md.Data["versions"].(map[string]any)["1"].(map[string]any)
	if v1 == nil || v1["destroyed"] != true {
		t.Errorf("version 1 not destroyed: %v", md.Data["versions"])
	}
	if fmt.Sprint(md.Data["max_versions"]) != "7" || fmt.Sprint(md.Data["custom_metadata"]) != "map[owner:web-team]" {
		t.Errorf("metadata written through the UI: max_versions %v, custom_metadata %v", md.Data["max_versions"], md.Data["custom_metadata"])
	}
	if cur, err := rc.Logical().Read("secret/data/web"); err != nil || cur == nil || fmt.Sprint(cur.Data["data"]) != "map[v:two]" {
		t.Errorf("secret/web after the UI's write: %v, %v", cur, err)
	}

	// Transit: create a key, encrypt and decrypt, rotate.
	b.goTo("#/transit/transit")
	b.wait("the transit key form", 10*time.Second, `document.querySelector('#transit-new-key')`)
	b.set("#transit-new-key", "web")
	b.click("#transit-create")
	b.wait("the key page", 10*time.Second, `(document.querySelector('#transit-info .latest-version') || {}).textContent === '1'`)
	b.set("#transit-plaintext", "hello from the browser")
	b.click("#transit-encrypt")
	b.wait("the ciphertext", 10*time.Second, `document.querySelector('#transit-ciphertext').value.startsWith('vault:v1:')`)
	ct := b.eval(`document.querySelector('#transit-ciphertext').value`)
	dec, err := rc.Logical().Write("transit/decrypt/web", map[string]any{"ciphertext": ct})
	must(err)
	if dec.Data["plaintext"] != "aGVsbG8gZnJvbSB0aGUgYnJvd3Nlcg==" {
		t.Fatalf("the UI's ciphertext decrypts to %v", dec.Data["plaintext"])
	}
	b.eval(`(document.querySelector('#transit-plaintext').value = "", "")`)
	b.click("#transit-decrypt")
	b.wait("the plaintext", 10*time.Second, `document.querySelector('#transit-plaintext').value === 'hello from the browser'`)
	b.click("#transit-rotate")
	b.wait("version 2", 10*time.Second, `(document.querySelector('#transit-info .latest-version') || {}).textContent === '2'`)
	b.click("#transit-encrypt")
	b.wait("a v2 ciphertext", 10*time.Second, `document.querySelector('#transit-ciphertext').value.startsWith('vault:v2:')`)
	b.shot("dev-transit")

	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the page raised errors or CSP violations:\n%s", strings.Join(errs, "\n"))
	}

	// The browser enforces the CSP: an injected inline script does not run,
	// and the violation is seen (so the checks above would catch one).
	b.eval(`(() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1'; document.body.append(s); return ""; })()`)
	if got := b.eval(`String(window.injected)`); got != "undefined" {
		t.Errorf("an inline script ran under the CSP (window.injected = %s)", got)
	}
	waitFor(t, 5*time.Second, "the CSP violation to be reported", func() bool { return len(b.pageErrors()) > 0 })
}
