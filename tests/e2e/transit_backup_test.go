package e2e

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// devServer starts a -dev server and returns it with a root client's address and token.
func devServer(t *testing.T) (*proc, string, string) {
	t.Helper()
	port := freePort(t)
	addr := fmt.Sprintf("http://127.0.0.1:%d", port)
	p := startProc(t, addr, "server", "-dev", "-dev-root-token-id=devroot", fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port))
	waitFor(t, 10e9, "dev output", func() bool { r, _ := devOutput(p.Stdout.String()); return r != "" })
	root, _ := devOutput(p.Stdout.String())
	return p, addr, root
}

// TestTransit_RSAAndBackupAcrossClusters: an RSA key signs, verifies,
// encrypts and decrypts on one vaultd (vault-benchmark's transit sign,
// verify and decrypt setups), is trimmed, backed up, and restored into a
// second, unrelated vaultd, which then decrypts and verifies what the
// first produced. The backup never reaches either server's log.
func TestTransit_RSAAndBackupAcrossClusters(t *testing.T) {
	pa, addrA, rootA := devServer(t)
	pb, addrB, rootB := devServer(t)
	a, b := newClient(t, addrA, rootA).Logical(), newClient(t, addrB, rootB).Logical()
	for _, c := range []*struct{ addr, root string }{{addrA, rootA}, {addrB, rootB}} {
		if _, err := newClient(t, c.addr, c.root).Logical().Write("sys/mounts/transit", map[string]any{"type": "transit"}); err != nil {
			t.Fatal(err)
		}
	}
	write := func(c string, path string, data map[string]any) map[string]any {
		t.Helper()
		l := a
		if c == "b" {
			l = b
		}
		s, err := l.Write(path, data)
		if err != nil || s == nil {
			t.Fatalf("%s: write %s: %v", c, path, err)
		}
		return s.Data
	}
	in := base64.StdEncoding.EncodeToString([]byte("payload"))
	write("a", "transit/keys/test", map[string]any{"type": "rsa-2048", "exportable": true, "allow_plaintext_backup": true})
	sig := write("a", "transit/sign/test", map[string]any{"input": in, "hash_algorithm": "sha2-256", "signature_algorithm": "pss", "marshaling_algorithm": "asn1"})["signature"]
	if v := write("a", "transit/verify/test", map[string]any{"input": in, "signature": sig, "signature_algorithm": "pss"}); v["valid"] != true {
		t.Fatal("verify on a")
	}
	ct := write("a", "transit/encrypt/test", map[string]any{"plaintext": in})["ciphertext"]
	write("a", "transit/keys/test/rotate", nil)
	ct2 := write("a", "transit/encrypt/test", map[string]any{"plaintext": in})["ciphertext"]
	if !strings.HasPrefix(fmt.Sprint(ct2), "vault:v2:") {
		t.Fatalf("ciphertext after rotate %v", ct2)
	}
	backup, err := a.Read("transit/backup/test")
	if err != nil || backup == nil {
		t.Fatalf("backup: %v", err)
	}
	bk := backup.Data["backup"].(string)

	// Restore on the other cluster, under the same and a new name.
	if _, err := b.Write("transit/restore", map[string]any{"backup": bk}); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if _, err := b.Write("transit/restore/copy", map[string]any{"backup": bk}); err != nil {
		t.Fatalf("restore copy: %v", err)
	}
	for _, name := range []string{"test", "copy"} {
		for _, c := range []any{ct, ct2} {
			if d := write("b", "transit/decrypt/"+name, map[string]any{"ciphertext": c}); d["plaintext"] != in {
				t.Fatalf("b decrypt %s: %v", name, d)
			}
		}
		if v := write("b", "transit/verify/"+name, map[string]any{"input": in, "signature": sig}); v["valid"] != true {
			t.Fatalf("b verify %s", name)
		}
	}
	if _, err := b.Write("transit/restore", map[string]any{"backup": bk}); !isStatus(err, 400) {
		t.Fatalf("restore over an existing key without force: %v", err)
	}
	// Trim on b: version 1 goes.
	write("b", "transit/keys/test/config", map[string]any{"min_encryption_version": 2, "min_decryption_version": 2})
	write("b", "transit/keys/test/trim", map[string]any{"min_available_version": 2})
	if _, err := b.Write("transit/decrypt/test", map[string]any{"ciphertext": ct}); !isStatus(err, 400) {
		t.Fatalf("decrypt of a trimmed version: %v", err)
	}
	// A key without allow_plaintext_backup cannot be backed up.
	write("a", "transit/keys/nobackup", map[string]any{"type": "rsa-2048", "exportable": true})
	if _, err := a.Read("transit/backup/nobackup"); !isStatus(err, 400) {
		t.Fatalf("backup without allow_plaintext_backup: %v", err)
	}
	for _, p := range []*proc{pa, pb} {
		if strings.Contains(p.Log.String()+p.Stdout.String(), bk[len(bk)/2:len(bk)/2+40]) { // key material, not the header
			t.Fatal("the backup reached a server log")
		}
	}
}
