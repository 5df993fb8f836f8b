package transit_test

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/transit"
)

// FuzzParseVersioned: the "vault:vN:<base64>" parser never panics, fails
// only with a 400, and what it accepts re-renders to the same string.
func FuzzParseVersioned(f *testing.F) {
	for _, s := range []string{
		"vault:v1:AAAA", "vault:v0:", "vault:v1", "vault:v:AA==", "vault:v-1:AA==", "vault:v+1:AA==",
		"vault:v99999999999999999999:AA==", "vault:v2:!!", "vault:v1:AA==:extra", "", "vault:", "vault:v01:AA==",
		"vault:v1:" + base64.StdEncoding.EncodeToString([]byte("nonce-1234567890ciphertext-and-tag")),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ver, payload, err := transit.ParseVersioned("ciphertext", s)
		if err != nil {
			if !errors.Is(err, secrets.ErrInvalidRequest) || !strings.HasPrefix(err.Error(), "invalid ciphertext") {
				t.Fatalf("parse %q: %v", s, err)
			}
			return
		}
		if ver < 0 {
			t.Fatalf("parse %q: negative version %d", s, ver)
		}
		rest := strings.TrimPrefix(s, "vault:v")
		verStr, _, _ := strings.Cut(rest, ":")
		if n, _ := strconv.Atoi(verStr); n != ver {
			t.Fatalf("parse %q: version %d", s, ver)
		}
		// The canonical rendering parses back to the same value.
		canon := "vault:v" + strconv.Itoa(ver) + ":" + base64.StdEncoding.EncodeToString(payload)
		ver2, payload2, err := transit.ParseVersioned("ciphertext", canon)
		if err != nil || ver2 != ver || string(payload2) != string(payload) {
			t.Fatalf("parse %q: canonical %q does not round-trip: %v", s, canon, err)
		}
	})
}

// FuzzDecrypt: arbitrary ciphertext strings through the engine never panic
// and only ever fail with a 400.
func FuzzDecrypt(f *testing.F) {
	fx := newTransit(f)
	fx.must(secrets.OpUpdate, "keys/k", nil)
	fx.must(secrets.OpUpdate, "keys/k/rotate", nil)
	f.Add(fx.encrypt("k", "seed"))
	f.Add("vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("vault:v3:AA==")
	f.Add("vault:v0:" + strings.Repeat("A", 64))
	f.Fuzz(func(t *testing.T, ct string) {
		g := fx.with(t)
		_, err := g.Do(secrets.OpUpdate, "decrypt/k", map[string]any{"ciphertext": ct})
		if err != nil && !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Fatalf("decrypt %q: %v", ct, err)
		}
	})
}

// FuzzRestore: restore never panics on any backup string, fails only with
// a 400, and a key it accepts is usable.
func FuzzRestore(f *testing.F) {
	src := newTransit(f)
	src.must(secrets.OpUpdate, "keys/k", map[string]any{"exportable": true, "allow_plaintext_backup": true})
	good := src.must(secrets.OpRead, "backup/k", nil)["backup"].(string)
	f.Add(good)
	f.Add("")
	f.Add("e30=")
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"format":"vaultd-transit-backup-v1","policy":{"name":"x","type":"rsa-2048","latest_version":1,"min_decryption_version":1,"versions":{"1":{"key":"AAAA"}}}}`)))
	f.Fuzz(func(t *testing.T, b string) {
		dst := newTransit(t)
		_, err := dst.Do(secrets.OpUpdate, "restore/r", map[string]any{"backup": b})
		if err != nil {
			if !errors.Is(err, secrets.ErrInvalidRequest) {
				t.Fatalf("restore: %v", err)
			}
			return
		}
		dst.must(secrets.OpRead, "keys/r", nil)
	})
}
