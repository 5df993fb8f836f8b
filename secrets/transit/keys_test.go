package transit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/transit"
)

func TestKeys_CreateReadList(t *testing.T) {
	f := newTransit(t)
	info := f.must(secrets.OpUpdate, "keys/app", map[string]any{"exportable": true, "allow_plaintext_backup": "true"})
	want := map[string]any{
		"name": "app", "type": "aes256-gcm96", "latest_version": float64(1),
		"min_decryption_version": float64(1), "min_encryption_version": float64(0),
		"min_available_version": float64(0), "deletion_allowed": false, "derived": false,
		"exportable": true, "allow_plaintext_backup": true, "auto_rotate_period": float64(0),
		"imported_key": false, "supports_encryption": true, "supports_decryption": true,
		"supports_derivation": true, "supports_signing": false,
		"keys": map[string]any{"1": float64(t0.Unix())},
	}
	if !reflect.DeepEqual(info, want) {
		t.Fatalf("create =\n%v\nwant\n%v", info, want)
	}
	if got := f.must(secrets.OpRead, "keys/app", nil); !reflect.DeepEqual(got, want) {
		t.Fatalf("read = %v", got)
	}
	// Creating again keeps the key and warns.
	resp, err := f.Do(secrets.OpUpdate, "keys/app", map[string]any{"type": "chacha20-poly1305"})
	if err != nil || len(resp.Warnings) != 1 || resp.Data["type"] != "aes256-gcm96" {
		t.Fatalf("re-create = %+v, %v", resp, err)
	}
	f.must(secrets.OpUpdate, "keys/b.key_2", map[string]any{"type": "ed25519"})
	list := f.must(secrets.OpList, "keys/", nil)
	if !reflect.DeepEqual(list["keys"], []any{"app", "b.key_2"}) {
		t.Fatalf("list = %v", list)
	}
	if l2 := f.must(secrets.OpList, "keys", nil); !reflect.DeepEqual(l2, list) {
		t.Fatalf("list without slash = %v", l2)
	}
}

func TestKeys_CreateErrors(t *testing.T) {
	f := newTransit(t)
	tests := []struct {
		data map[string]any
		msg  string
	}{
		{map[string]any{"type": "rsa-9999"}, "unknown key type"},
		{map[string]any{"derived": true}, "not supported"},
		{map[string]any{"convergent_encryption": true}, "convergent encryption requires derivation"},
		{map[string]any{"exportable": "maybe"}, `field "exportable"`},
		{map[string]any{"auto_rotate_period": "10m"}, "at least an hour"},
		{map[string]any{"auto_rotate_period": "soon"}, `field "auto_rotate_period"`},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			f.with(t).fail(secrets.OpUpdate, fmt.Sprintf("keys/k%d", i), tc.data, secrets.ErrInvalidRequest, tc.msg)
		})
	}
	if _, err := f.Do(secrets.OpList, "keys", nil); err == nil {
		t.Fatal("a failed create stored a key")
	}
}

func TestKeys_AsymmetricRead(t *testing.T) {
	f := newTransit(t)
	for _, tc := range []struct{ typ, name, pubPrefix string }{
		{"ed25519", "ed25519", ""},
		{"ecdsa-p256", "P-256", "-----BEGIN PUBLIC KEY-----"},
		{"ecdsa-p384", "P-384", "-----BEGIN PUBLIC KEY-----"},
	} {
		info := f.must(secrets.OpUpdate, "keys/"+tc.typ, map[string]any{"type": tc.typ})
		if info["supports_signing"] != true || info["supports_encryption"] != false {
			t.Fatalf("%s: %v", tc.typ, info)
		}
		v1, _ := info["keys"].(map[string]any)["1"].(map[string]any)
		pub, _ := v1["public_key"].(string)
		if v1["name"] != tc.name || !strings.HasPrefix(pub, tc.pubPrefix) || pub == "" {
			t.Fatalf("%s: version 1 = %v", tc.typ, v1)
		}
		if tc.typ == "ed25519" {
			if b, err := base64.StdEncoding.DecodeString(pub); err != nil || len(b) != 32 {
				t.Fatalf("ed25519 public key %q", pub)
			}
		}
		f.fail(secrets.OpUpdate, "encrypt/"+tc.typ, map[string]any{"plaintext": b64("x")}, secrets.ErrInvalidRequest, "message encryption not supported for key type")
		f.fail(secrets.OpUpdate, "decrypt/"+tc.typ, map[string]any{"ciphertext": "vault:v1:AA=="}, secrets.ErrInvalidRequest, "message decryption not supported for key type")
	}
}

func TestKeys_RotationAndMinDecryption(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/k", nil)
	ct1 := f.encrypt("k", "one")
	f.clock.Advance(time.Minute)
	info := f.must(secrets.OpUpdate, "keys/k/rotate", nil)
	if info["latest_version"] != float64(2) || len(info["keys"].(map[string]any)) != 2 {
		t.Fatalf("rotate = %v", info)
	}
	ct2 := f.encrypt("k", "two")
	if !strings.HasPrefix(ct2, "vault:v2:") {
		t.Fatalf("after rotate: %q", ct2)
	}
	if f.decrypt("k", ct1) != "one" || f.decrypt("k", ct2) != "two" {
		t.Fatal("old and new ciphertexts must both decrypt")
	}
	// Encrypt with an explicit older version.
	d := f.must(secrets.OpUpdate, "encrypt/k", map[string]any{"plaintext": b64("old"), "key_version": 1})
	if d["key_version"] != float64(1) || !strings.HasPrefix(d["ciphertext"].(string), "vault:v1:") {
		t.Fatalf("encrypt key_version 1 = %v", d)
	}
	f.fail(secrets.OpUpdate, "encrypt/k", map[string]any{"plaintext": b64("x"), "key_version": 3}, secrets.ErrInvalidRequest, "higher than the latest key version")

	// Rewrap ct1 to v2.
	rw := f.must(secrets.OpUpdate, "rewrap/k", map[string]any{"ciphertext": ct1})
	ct1v2 := rw["ciphertext"].(string)
	if !strings.HasPrefix(ct1v2, "vault:v2:") || rw["key_version"] != float64(2) || f.decrypt("k", ct1v2) != "one" {
		t.Fatalf("rewrap = %v", rw)
	}

	// Raise min_decryption_version: v1 ciphertexts are refused.
	cfg := f.must(secrets.OpUpdate, "keys/k/config", map[string]any{"min_decryption_version": 2})
	if cfg["min_decryption_version"] != float64(2) || len(cfg["keys"].(map[string]any)) != 1 {
		t.Fatalf("config = %v", cfg)
	}
	f.fail(secrets.OpUpdate, "decrypt/k", map[string]any{"ciphertext": ct1}, secrets.ErrInvalidRequest,
		"ciphertext or signature version is disallowed by policy (too old)")
	f.fail(secrets.OpUpdate, "rewrap/k", map[string]any{"ciphertext": ct1}, secrets.ErrInvalidRequest, "too old")
	f.fail(secrets.OpUpdate, "encrypt/k", map[string]any{"plaintext": b64("x"), "key_version": 1}, secrets.ErrInvalidRequest, "less than the minimum decryption key version")
	if f.decrypt("k", ct2) != "two" {
		t.Fatal("v2 must still decrypt")
	}
	// Lowering it again restores v1.
	f.must(secrets.OpUpdate, "keys/k/config", map[string]any{"min_decryption_version": 1})
	if f.decrypt("k", ct1) != "one" {
		t.Fatal("v1 after lowering min_decryption_version")
	}
	// min_encryption_version.
	f.must(secrets.OpUpdate, "keys/k/config", map[string]any{"min_encryption_version": 2})
	f.fail(secrets.OpUpdate, "encrypt/k", map[string]any{"plaintext": b64("x"), "key_version": 1}, secrets.ErrInvalidRequest, "less than the minimum encryption key version")
}

func TestKeys_ConfigErrors(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/k", map[string]any{"exportable": true, "allow_plaintext_backup": true})
	f.must(secrets.OpUpdate, "keys/k/rotate", nil)
	tests := []struct {
		data map[string]any
		msg  string
	}{
		{map[string]any{"min_decryption_version": -1}, "min decryption version cannot be negative"},
		{map[string]any{"min_decryption_version": 3}, "cannot set min decryption version of 3, latest key version is 2"},
		{map[string]any{"min_encryption_version": -1}, "min encryption version cannot be negative"},
		{map[string]any{"min_encryption_version": 5}, "cannot set min encryption version of 5"},
		{map[string]any{"min_decryption_version": 2, "min_encryption_version": 1}, "min encryption version should not be less than min decryption version"},
		{map[string]any{"exportable": false}, "exportable key setting cannot be disabled"},
		{map[string]any{"allow_plaintext_backup": false}, "plaintext backup cannot be disabled"},
		{map[string]any{"auto_rotate_period": "30m"}, "at least an hour"},
		{map[string]any{"deletion_allowed": []any{1}}, `field "deletion_allowed"`},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			f.with(t).fail(secrets.OpUpdate, "keys/k/config", tc.data, secrets.ErrInvalidRequest, tc.msg)
		})
	}
	// Nothing changed by the failures.
	info := f.must(secrets.OpRead, "keys/k", nil)
	if info["min_decryption_version"] != float64(1) || info["min_encryption_version"] != float64(0) {
		t.Fatalf("after failed configs: %v", info)
	}
	resp, err := f.Do(secrets.OpUpdate, "keys/k/config", map[string]any{"min_decryption_version": 0})
	if err != nil || len(resp.Warnings) != 1 {
		t.Fatalf("min_decryption_version 0: %+v, %v", resp, err)
	}
}

func TestKeys_Delete(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/k", nil)
	f.fail(secrets.OpDelete, "keys/k", nil, secrets.ErrInvalidRequest, "deletion is not allowed for this key")
	cfg := f.must(secrets.OpUpdate, "keys/k/config", map[string]any{"deletion_allowed": true})
	if cfg["deletion_allowed"] != true {
		t.Fatalf("config = %v", cfg)
	}
	resp, err := f.Do(secrets.OpDelete, "keys/k", nil)
	if err != nil || resp.Data != nil {
		t.Fatalf("delete = %+v, %v", resp, err)
	}
	f.fail(secrets.OpRead, "keys/k", nil, secrets.ErrNotFound, "")
	if keys, _ := f.Under.List(context.Background(), viewPrefix+"policy/"); len(keys) != 0 {
		t.Fatalf("storage after delete: %v", keys)
	}
}

func TestKeys_AutoRotate(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/k", map[string]any{"auto_rotate_period": "2h"})
	if got := f.must(secrets.OpRead, "keys/k", nil)["auto_rotate_period"]; got != float64(7200) {
		t.Fatalf("auto_rotate_period = %v", got)
	}
	ct := f.encrypt("k", "x")
	f.clock.Advance(time.Hour)
	if v := f.must(secrets.OpRead, "keys/k", nil)["latest_version"]; v != float64(1) {
		t.Fatalf("rotated early: %v", v)
	}
	f.clock.Advance(time.Hour)
	if ct2 := f.encrypt("k", "y"); !strings.HasPrefix(ct2, "vault:v2:") {
		t.Fatalf("not auto-rotated: %q", ct2)
	}
	if f.decrypt("k", ct) != "x" {
		t.Fatal("old ciphertext after auto-rotation")
	}
	// Disabling stops rotation.
	f.must(secrets.OpUpdate, "keys/k/config", map[string]any{"auto_rotate_period": 0})
	f.clock.Advance(100 * time.Hour)
	if v := f.must(secrets.OpRead, "keys/k", nil)["latest_version"]; v != float64(2) {
		t.Fatalf("rotated while disabled: %v", v)
	}
}

func TestExport(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/secret", nil)
	f.fail(secrets.OpRead, "export/encryption-key/secret", nil, secrets.ErrInvalidRequest, "not exportable")
	f.fail(secrets.OpRead, "export/hmac-key/secret", nil, secrets.ErrInvalidRequest, "not exportable")
	f.fail(secrets.OpRead, "export/bogus/secret", nil, secrets.ErrInvalidRequest, "invalid export type")
	f.fail(secrets.OpRead, "export/encryption-key/absent", nil, secrets.ErrNotFound, "")

	f.must(secrets.OpUpdate, "keys/exp", map[string]any{"exportable": true})
	f.must(secrets.OpUpdate, "keys/exp/rotate", nil)
	d := f.must(secrets.OpRead, "export/encryption-key/exp", nil)
	keys := d["keys"].(map[string]any)
	if d["name"] != "exp" || d["type"] != "aes256-gcm96" || len(keys) != 2 {
		t.Fatalf("export = %v", d)
	}
	raw, err := base64.StdEncoding.DecodeString(keys["2"].(string))
	if err != nil || len(raw) != 32 {
		t.Fatalf("exported key: %v", err)
	}
	if d := f.must(secrets.OpRead, "export/encryption-key/exp/latest", nil); len(d["keys"].(map[string]any)) != 1 {
		t.Fatalf("export latest = %v", d)
	}
	if d := f.must(secrets.OpRead, "export/hmac-key/exp/1", nil); d["keys"].(map[string]any)["1"] == nil {
		t.Fatalf("export hmac v1 = %v", d)
	}
	f.fail(secrets.OpRead, "export/encryption-key/exp/9", nil, secrets.ErrInvalidRequest, "version does not exist")
	f.fail(secrets.OpRead, "export/signing-key/exp", nil, secrets.ErrInvalidRequest, "signing not supported")

	// public-key works without exportable; signing-key needs it.
	f.must(secrets.OpUpdate, "keys/ec", map[string]any{"type": "ecdsa-p256"})
	pub := f.must(secrets.OpRead, "export/public-key/ec", nil)["keys"].(map[string]any)["1"].(string)
	if !strings.HasPrefix(pub, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("public key %q", pub)
	}
	f.fail(secrets.OpRead, "export/signing-key/ec", nil, secrets.ErrInvalidRequest, "not exportable")
	f.must(secrets.OpUpdate, "keys/ec/config", map[string]any{"exportable": true})
	priv := f.must(secrets.OpRead, "export/signing-key/ec", nil)["keys"].(map[string]any)["1"].(string)
	if !strings.HasPrefix(priv, "-----BEGIN EC PRIVATE KEY-----") {
		t.Fatal("ecdsa signing-key export is not PEM")
	}
	f.must(secrets.OpUpdate, "keys/ed", map[string]any{"type": "ed25519", "exportable": true})
	edPriv := f.must(secrets.OpRead, "export/signing-key/ed", nil)["keys"].(map[string]any)["1"].(string)
	if b, err := base64.StdEncoding.DecodeString(edPriv); err != nil || len(b) != 64 {
		t.Fatal("ed25519 signing-key export is not 64 base64 bytes")
	}
}

// TestKeyMaterial_NeverLeaks: key material is stored only inside the
// mount's view, never appears in a non-export response or in logs, and
// prints as "[redacted]".
func TestKeyMaterial_NeverLeaks(t *testing.T) {
	var logs bytes.Buffer
	f := newTransit(t)
	eng, err := transit.Factory(context.Background(), secrets.Config{
		Storage: f.View, Now: f.clock.Now,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.Eng = eng
	f.must(secrets.OpUpdate, "keys/k", map[string]any{"exportable": true})
	f.must(secrets.OpUpdate, "keys/k/rotate", nil)
	ct := f.encrypt("k", "x")
	_ = f.decrypt("k", ct)
	_ = f.must(secrets.OpRead, "keys/k", nil)
	exported := f.must(secrets.OpRead, "export/encryption-key/k", nil)["keys"].(map[string]any)
	hmacKeys := f.must(secrets.OpRead, "export/hmac-key/k", nil)["keys"].(map[string]any)

	f.AssertContained() // nothing outside the view, the sentinel unchanged
	var responses bytes.Buffer
	for _, p := range []string{"keys/k"} {
		fmt.Fprint(&responses, f.must(secrets.OpRead, p, nil))
	}
	for _, m := range []map[string]any{exported, hmacKeys} {
		for _, v := range m {
			k := v.(string)
			if strings.Contains(responses.String(), k) || strings.Contains(logs.String(), k) {
				t.Fatal("key material in a response or a log")
			}
			raw, _ := base64.StdEncoding.DecodeString(k)
			s := transit.SecretBytes(raw)
			for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%x|%s|%q|%#v|%v", s, s, s, s, s)} {
				if strings.Contains(out, fmt.Sprintf("%x", raw)) || !strings.Contains(out, "[redacted]") {
					t.Fatalf("secretBytes printed as %q", out)
				}
			}
		}
	}
	if !strings.Contains(logs.String(), "transit key rotated") {
		t.Fatalf("no rotation log line: %s", logs.String())
	}
}
