package transit_test

import (
	"strings"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

func TestBackupRestore(t *testing.T) {
	src := newTransit(t)
	src.must(secrets.OpUpdate, "keys/k", nil)
	// Vault's rules: exportable and allow_plaintext_backup are both needed.
	src.fail(secrets.OpRead, "backup/k", nil, secrets.ErrInvalidRequest, "exporting is disallowed")
	src.must(secrets.OpUpdate, "keys/k/config", map[string]any{"exportable": true})
	src.fail(secrets.OpRead, "backup/k", nil, secrets.ErrInvalidRequest, "plaintext backup is disallowed")
	src.must(secrets.OpUpdate, "keys/k/config", map[string]any{"allow_plaintext_backup": true})
	src.fail(secrets.OpRead, "backup/absent", nil, secrets.ErrInvalidRequest, "not found")
	ct1 := src.encrypt("k", "version one")
	src.must(secrets.OpUpdate, "keys/k/rotate", nil)
	ct2 := src.encrypt("k", "version two")
	src.must(secrets.OpUpdate, "keys/k/config", map[string]any{"min_decryption_version": 1, "deletion_allowed": true})
	backup := src.must(secrets.OpRead, "backup/k", nil)["backup"].(string)

	// Restore into another mount (another cluster's storage): every
	// version decrypts, the settings come along.
	dst := newTransit(t)
	dst.must(secrets.OpUpdate, "restore", map[string]any{"backup": backup})
	if dst.decrypt("k", ct1) != "version one" || dst.decrypt("k", ct2) != "version two" {
		t.Fatal("restored key does not decrypt")
	}
	k := dst.must(secrets.OpRead, "keys/k", nil)
	if k["latest_version"] != float64(2) || k["exportable"] != true || k["deletion_allowed"] != true {
		t.Fatalf("restored key %v", k)
	}
	// Under a new name, via the path or the name field.
	dst.must(secrets.OpUpdate, "restore/copy", map[string]any{"backup": backup})
	dst.must(secrets.OpUpdate, "restore", map[string]any{"backup": backup, "name": "copy2"})
	if dst.decrypt("copy", ct2) != "version two" || dst.decrypt("copy2", ct1) != "version one" {
		t.Fatal("renamed restore")
	}
	// An existing key needs force.
	dst.fail(secrets.OpUpdate, "restore/k", map[string]any{"backup": backup}, secrets.ErrInvalidRequest, "already exists")
	dst.must(secrets.OpUpdate, "restore/k", map[string]any{"backup": backup, "force": true})
	// Garbage is refused.
	dst.fail(secrets.OpUpdate, "restore", map[string]any{}, secrets.ErrInvalidRequest, "'backup' must be supplied")
	dst.fail(secrets.OpUpdate, "restore", map[string]any{"backup": "%%%"}, secrets.ErrInvalidRequest, "not base64")
	dst.fail(secrets.OpUpdate, "restore", map[string]any{"backup": b64(`{"format":"x"}`)}, secrets.ErrInvalidRequest, "not a vaultd transit backup")
	dst.fail(secrets.OpUpdate, "restore", map[string]any{"backup": b64(`{"format":"vaultd-transit-backup-v1","policy":{"type":"aes256-gcm96","latest_version":3,"min_decryption_version":1,"versions":{}}}`), "name": "x"}, secrets.ErrInvalidRequest, "inconsistent")

	// RSA keys back up too.
	src.must(secrets.OpUpdate, "keys/r", map[string]any{"type": "rsa-2048", "exportable": true, "allow_plaintext_backup": true})
	rct := src.encrypt("r", "rsa secret")
	sig := src.must(secrets.OpUpdate, "sign/r", map[string]any{"input": b64("m")})["signature"]
	rb := src.must(secrets.OpRead, "backup/r", nil)["backup"].(string)
	dst.must(secrets.OpUpdate, "restore", map[string]any{"backup": rb})
	if dst.decrypt("r", rct) != "rsa secret" {
		t.Fatal("restored RSA key does not decrypt")
	}
	if v := dst.must(secrets.OpUpdate, "verify/r", map[string]any{"input": b64("m"), "signature": sig}); v["valid"] != true {
		t.Fatal("restored RSA key does not verify")
	}
	// The backup never appears in storage unencrypted beyond the key itself:
	// restoring writes exactly one key entry per name.
	if l := dst.must(secrets.OpList, "keys/", nil)["keys"].([]any); len(l) != 4 {
		t.Fatalf("keys after restores %v", l)
	}
}

func TestTrim(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/k", nil)
	var cts []string
	for i := 1; i <= 4; i++ {
		cts = append(cts, f.encrypt("k", "v"))
		if i < 4 {
			f.must(secrets.OpUpdate, "keys/k/rotate", nil)
		}
	}
	f.fail(secrets.OpUpdate, "keys/k/trim", map[string]any{}, secrets.ErrInvalidRequest, "min_available_version")
	f.fail(secrets.OpUpdate, "keys/k/trim", map[string]any{"min_available_version": 0}, secrets.ErrInvalidRequest, "should be positive")
	f.fail(secrets.OpUpdate, "keys/k/trim", map[string]any{"min_available_version": 2}, secrets.ErrInvalidRequest, "minimum encryption version is not set")
	f.must(secrets.OpUpdate, "keys/k/config", map[string]any{"min_encryption_version": 3})
	f.fail(secrets.OpUpdate, "keys/k/trim", map[string]any{"min_available_version": 4}, secrets.ErrInvalidRequest, "greater than minimum encryption version")
	f.fail(secrets.OpUpdate, "keys/k/trim", map[string]any{"min_available_version": 2}, secrets.ErrInvalidRequest, "greater than minimum decryption version")
	f.must(secrets.OpUpdate, "keys/k/config", map[string]any{"min_decryption_version": 2})
	d := f.must(secrets.OpUpdate, "keys/k/trim", map[string]any{"min_available_version": 2})
	if d["min_available_version"] != float64(2) {
		t.Fatalf("trim %v", d)
	}
	keys := d["keys"].(map[string]any)
	if _, ok := keys["1"]; ok || len(keys) != 3 {
		t.Fatalf("versions after trim %v", keys)
	}
	// Version 1 is gone for good: even lowering min_decryption_version
	// cannot bring it back.
	f.fail(secrets.OpUpdate, "keys/k/config", map[string]any{"min_decryption_version": 1}, secrets.ErrInvalidRequest, "min available version")
	f.fail(secrets.OpUpdate, "decrypt/k", map[string]any{"ciphertext": cts[0]}, secrets.ErrInvalidRequest, "too old")
	if f.decrypt("k", cts[1]) != "v" || f.decrypt("k", cts[3]) != "v" {
		t.Fatal("remaining versions")
	}
	f.fail(secrets.OpUpdate, "keys/k/trim", map[string]any{"min_available_version": 1}, secrets.ErrInvalidRequest, "cannot be decremented")
	f.fail(secrets.OpUpdate, "keys/absent/trim", map[string]any{"min_available_version": 1}, secrets.ErrInvalidRequest, "absent")
	// The trimmed material is gone from storage too.
	raw, err := f.View.Get(t.Context(), "policy/k")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw.Value), `"1":`) {
		t.Fatal("version 1 still stored")
	}
}
