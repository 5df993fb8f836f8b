package ui

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// pgpKey makes an OpenPGP key pair and writes its ASCII-armored public
// key to dir/name.asc.
func pgpKey(t *testing.T, dir, name string) (*openpgp.Entity, string) {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", name+"@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	p := filepath.Join(dir, name+".asc")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return e, p
}

func pgpDecrypt(t *testing.T, b64 string, e *openpgp.Entity) string {
	t.Helper()
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	md, err := openpgp.ReadMessage(bytes.NewReader(ct), openpgp.EntityList{e}, nil, nil)
	if err != nil {
		t.Fatalf("decrypting a share: %v", err)
	}
	plain, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		t.Fatal(err)
	}
	return string(plain)
}

// TestUIInitWithPGPKeys initialises a node from the init page with one
// uploaded OpenPGP public key per share, downloads the keys file, and
// unseals with the shares the keyholders decrypt.
func TestUIInitWithPGPKeys(t *testing.T) {
	chrome := chromiumPath(t)
	cfgPath, addr := soloConfig(t, "")
	startNode(t, "solo", addr, "server", "-config", cfgPath)

	keyDir := t.TempDir()
	alice, alicePub := pgpKey(t, keyDir, "alice")
	bob, bobPub := pgpKey(t, keyDir, "bob")
	downloads := t.TempDir()

	b := newBrowser(t, chrome)
	b.do(chromedp.Navigate(addr+"/ui/#/init"),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
			})
			return err
		}))
	b.wait("the init form", 15*time.Second, `document.querySelector('#init-form')`)
	b.set("#init-shares", "2")
	b.set("#init-threshold", "2")
	b.do(chromedp.SetUploadFiles(chromedp.CSS("#init-pgp-keys"), []string{alicePub, bobPub}))
	b.click("#init-submit")
	b.wait("the encrypted shares", 15*time.Second, `document.querySelectorAll('#init-keys .key-b64').length === 2`)
	b.shot("init-pgp")
	var shown []string
	if err := json.Unmarshal([]byte(b.eval(`JSON.stringify([...document.querySelectorAll('#init-keys .key-b64')].map(e => e.textContent))`)), &shown); err != nil {
		t.Fatal(err)
	}
	root := b.text("#init-root-token")

	b.click("#init-download")
	var file []byte
	waitFor(t, 15*time.Second, "the downloaded keys file", func() bool {
		b, err := os.ReadFile(filepath.Join(downloads, "vaultd-init.json"))
		if err != nil {
			return false
		}
		file = b
		return true
	})
	var saved struct {
		Keys      []string `json:"unseal_keys_b64"`
		Threshold int      `json:"unseal_threshold"`
		Root      string   `json:"root_token"`
	}
	if err := json.Unmarshal(file, &saved); err != nil {
		t.Fatalf("downloaded file: %v\n%s", err, file)
	}
	if strings.Join(saved.Keys, ",") != strings.Join(shown, ",") || saved.Root != root || saved.Threshold != 2 {
		t.Fatalf("downloaded file does not match the page: %+v", saved)
	}

	// Each keyholder decrypts their share; together they unseal the node.
	c := newClient(t, addr, "")
	for i, e := range []*openpgp.Entity{alice, bob} {
		share := pgpDecrypt(t, shown[i], e)
		st, err := c.Sys().Unseal(share)
		if err != nil {
			t.Fatalf("unseal with %s's decrypted share: %v", e.PrimaryIdentity().Name, err)
		}
		if i == 1 && st.Sealed {
			t.Fatal("still sealed after both decrypted shares")
		}
	}
	b.click("#init-done")
	b.wait("the keys to be hidden", 5*time.Second, `!document.querySelector('#init-keys')`)
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the page raised errors or CSP violations:\n%s", strings.Join(errs, "\n"))
	}
}
