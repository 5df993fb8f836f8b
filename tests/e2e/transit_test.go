package e2e

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
)

// TestTransit_DevServer mounts transit on a -dev server and drives it with
// the official client: create a key, encrypt/decrypt, rotate, rewrap, raise
// min_decryption_version, batch, datakey, sign/verify, hmac, random, hash,
// deletion, and a seal/unseal in the middle (keys persist behind the
// barrier). Key material never reaches the server log.
func TestTransit_DevServer(t *testing.T) {
	port := freePort(t)
	addr := fmt.Sprintf("http://127.0.0.1:%d", port)
	p := startProc(t, addr, "server", "-dev", "-dev-root-token-id=devroot", fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port))
	waitFor(t, 10e9, "dev output", func() bool { r, _ := devOutput(p.Stdout.String()); return r != "" })
	root, unsealKey := devOutput(p.Stdout.String())
	c := newClient(t, addr, root)
	l := c.Logical()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	write := func(path string, data map[string]any) *vaultapi.Secret {
		t.Helper()
		s, err := l.Write(path, data)
		if err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		if s == nil {
			t.Fatalf("write %s: no data", path)
		}
		return s
	}

	if err := c.Sys().Mount("transit", &vaultapi.MountInput{Type: "transit"}); err != nil {
		t.Fatalf("mount transit: %v", err)
	}
	mounts, err := c.Sys().ListMounts()
	if err != nil || mounts["transit/"] == nil || mounts["transit/"].Type != "transit" {
		t.Fatalf("mounts = %v, %v", mounts, err)
	}

	// Create and read a key.
	write("transit/keys/orders", map[string]any{"type": "aes256-gcm96", "exportable": false})
	key, err := l.Read("transit/keys/orders")
	if err != nil || key == nil || key.Data["type"] != "aes256-gcm96" || fmt.Sprint(key.Data["latest_version"]) != "1" {
		t.Fatalf("read key = %+v, %v", key, err)
	}
	if s, err := l.Read("transit/keys/absent"); err != nil || s != nil {
		t.Fatalf("read absent key = %+v, %v", s, err)
	}

	// Encrypt / decrypt.
	enc := write("transit/encrypt/orders", map[string]any{"plaintext": b64("card 4111")})
	ct1, _ := enc.Data["ciphertext"].(string)
	if !strings.HasPrefix(ct1, "vault:v1:") {
		t.Fatalf("ciphertext %q", ct1)
	}
	decrypt := func(ct string) string {
		t.Helper()
		d := write("transit/decrypt/orders", map[string]any{"ciphertext": ct})
		b, err := base64.StdEncoding.DecodeString(d.Data["plaintext"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := decrypt(ct1); got != "card 4111" {
		t.Fatalf("decrypt = %q", got)
	}
	// A tampered ciphertext and a missing key are 400s.
	tampered := ct1[:len(ct1)-6] + "AAAA=="
	if _, err := l.Write("transit/decrypt/orders", map[string]any{"ciphertext": tampered}); !isStatus(err, 400) {
		t.Fatalf("tampered ciphertext: %v", err)
	}
	if _, err := l.Write("transit/decrypt/nokey", map[string]any{"ciphertext": ct1}); !isStatus(err, 400) || !strings.Contains(err.Error(), "encryption key not found") {
		t.Fatalf("decrypt with absent key: %v", err)
	}

	// Seal and unseal: the key survives behind the barrier.
	if err := c.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	unsealWith(t, c, []string{unsealKey})
	if got := decrypt(ct1); got != "card 4111" {
		t.Fatalf("decrypt after unseal = %q", got)
	}

	// Rotate, rewrap, min_decryption_version.
	rot := write("transit/keys/orders/rotate", nil)
	if fmt.Sprint(rot.Data["latest_version"]) != "2" {
		t.Fatalf("rotate = %v", rot.Data)
	}
	rw := write("transit/rewrap/orders", map[string]any{"ciphertext": ct1})
	ct2, _ := rw.Data["ciphertext"].(string)
	if !strings.HasPrefix(ct2, "vault:v2:") || decrypt(ct2) != "card 4111" {
		t.Fatalf("rewrap = %v", rw.Data)
	}
	write("transit/keys/orders/config", map[string]any{"min_decryption_version": 2})
	if _, err := l.Write("transit/decrypt/orders", map[string]any{"ciphertext": ct1}); !isStatus(err, 400) || !strings.Contains(err.Error(), "too old") {
		t.Fatalf("decrypt below min_decryption_version: %v", err)
	}

	// Batch, with one bad item: 400, per-item results.
	batch := []any{map[string]any{"ciphertext": ct2}, map[string]any{"ciphertext": "junk"}}
	if _, err := l.Write("transit/decrypt/orders", map[string]any{"batch_input": batch}); !isStatus(err, 400) {
		t.Fatalf("batch with a bad item: %v", err)
	}
	bres := write("transit/encrypt/orders", map[string]any{"batch_input": []any{
		map[string]any{"plaintext": b64("a")}, map[string]any{"plaintext": b64("b")},
	}})
	if items, _ := bres.Data["batch_results"].([]any); len(items) != 2 {
		t.Fatalf("batch encrypt = %v", bres.Data)
	}

	// Datakey.
	dk := write("transit/datakey/plaintext/orders", map[string]any{"bits": 256})
	if dk.Data["plaintext"] == nil || !strings.HasPrefix(fmt.Sprint(dk.Data["ciphertext"]), "vault:v2:") {
		t.Fatalf("datakey = %v", dk.Data)
	}

	// Sign / verify with ed25519, HMAC.
	write("transit/keys/signer", map[string]any{"type": "ed25519"})
	sig := write("transit/sign/signer", map[string]any{"input": b64("release-1.0")}).Data["signature"]
	if v := write("transit/verify/signer", map[string]any{"input": b64("release-1.0"), "signature": sig}); v.Data["valid"] != true {
		t.Fatalf("verify = %v", v.Data)
	}
	if v := write("transit/verify/signer", map[string]any{"input": b64("release-2.0"), "signature": sig}); v.Data["valid"] != false {
		t.Fatalf("verify forged = %v", v.Data)
	}
	mac := write("transit/hmac/orders/sha2-256", map[string]any{"input": b64("m")}).Data["hmac"]
	if v := write("transit/verify/orders/sha2-256", map[string]any{"input": b64("m"), "hmac": mac}); v.Data["valid"] != true {
		t.Fatalf("hmac verify = %v", v.Data)
	}

	// Random and hash.
	rnd := write("transit/random/16", map[string]any{"format": "hex"})
	if s, _ := rnd.Data["random_bytes"].(string); len(s) != 32 {
		t.Fatalf("random = %v", rnd.Data)
	}
	if h := write("transit/hash/sha2-256", map[string]any{"input": b64("abc")}); h.Data["sum"] != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("hash = %v", h.Data)
	}

	// Export refused for a non-exportable key; list; delete.
	if _, err := l.Read("transit/export/encryption-key/orders"); !isStatus(err, 400) {
		t.Fatalf("export of a non-exportable key: %v", err)
	}
	list, err := l.List("transit/keys")
	if err != nil || list == nil {
		t.Fatalf("list = %v, %v", list, err)
	}
	names, _ := list.Data["keys"].([]any)
	if !slices.Contains(names, any("orders")) || !slices.Contains(names, any("signer")) {
		t.Fatalf("list = %v", names)
	}
	if _, err := l.Delete("transit/keys/orders"); !isStatus(err, 400) {
		t.Fatalf("delete without deletion_allowed: %v", err)
	}
	write("transit/keys/orders/config", map[string]any{"deletion_allowed": true})
	if _, err := l.Delete("transit/keys/orders"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if s, err := l.Read("transit/keys/orders"); err != nil || s != nil {
		t.Fatalf("read after delete = %+v, %v", s, err)
	}
	if strings.Contains(p.Log.String(), b64("card 4111")) || strings.Contains(p.Log.String(), "card 4111") {
		t.Fatal("plaintext in the server log")
	}
	p.Stop(t)
}
