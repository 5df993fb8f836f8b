package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	vaultapi "github.com/hashicorp/vault/api"
)

// TestUIInitAutoSeal: on a node with seal "transit" (another vaultd on
// loopback provides the key), the init page asks for recovery shares,
// shows them once, and the node is unsealed by its seal, with no unseal
// step.
func TestUIInitAutoSeal(t *testing.T) {
	chrome := chromiumPath(t)
	pport := freePort(t)
	paddr := fmt.Sprintf("http://127.0.0.1:%d", pport)
	startNode(t, "provider", paddr, "server", "-dev", "-dev-root-token-id=devroot", fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", pport))
	pc := newClient(t, paddr, "devroot")
	if err := pc.Sys().Mount("transit", &vaultapi.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Logical().Write("transit/keys/autounseal", nil); err != nil {
		t.Fatal(err)
	}

	cfgPath, addr := soloConfig(t, fmt.Sprintf(`seal "transit" {
  address    = %q
  token      = "devroot"
  mount_path = "transit/"
  key_name   = "autounseal"
}
`, paddr))
	startNode(t, "solo", addr, "server", "-config", cfgPath)

	b := newBrowser(t, chrome)
	b.do(chromedp.Navigate(addr + "/ui/#/init"))
	b.wait("the init form", 15*time.Second, `document.querySelector('#init-form')`)
	b.set("#init-shares", "3")
	b.set("#init-threshold", "2")
	b.click("#init-submit")
	b.wait("the recovery shares", 15*time.Second, `document.querySelectorAll('#init-keys .key-b64').length === 3`)
	b.shot("init-autoseal")
	if txt := b.text("#init-result"); !containsAll(txt, "recovery key shares", "cannot unseal") {
		t.Fatalf("init result text = %q", txt)
	}
	c := newClient(t, addr, "")
	waitFor(t, 20*time.Second, "the node unsealed by its seal", func() bool {
		st, err := c.Sys().SealStatus()
		return err == nil && !st.Sealed && st.RecoverySeal && st.Type == "transit" && st.T == 2 && st.N == 3
	})
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Fatalf("page errors: %v", errs)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
