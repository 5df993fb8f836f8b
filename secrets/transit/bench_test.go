package transit_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

// BenchmarkEncryptDecrypt1KiB measures one encrypt plus one decrypt of
// 1 KiB through the engine over an in-memory store behind a view (key
// load, AEAD, base64 both ways).
func BenchmarkEncryptDecrypt1KiB(b *testing.B) {
	for _, typ := range []string{"aes256-gcm96", "chacha20-poly1305"} {
		b.Run(typ, func(b *testing.B) {
			f := newTransit(b)
			f.must(secrets.OpUpdate, "keys/bench", map[string]any{"type": typ})
			ctx := b.Context()
			pt := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 1024)))
			b.SetBytes(1024)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := f.Eng.HandleRequest(ctx, &secrets.Request{
					Operation: secrets.OpUpdate, Path: "encrypt/bench", Storage: f.View,
					Data: map[string]any{"plaintext": pt},
				})
				if err != nil {
					b.Fatal(err)
				}
				resp, err = f.Eng.HandleRequest(ctx, &secrets.Request{
					Operation: secrets.OpUpdate, Path: "decrypt/bench", Storage: f.View,
					Data: map[string]any{"ciphertext": resp.Data["ciphertext"]},
				})
				if err != nil || resp.Data["plaintext"] != pt {
					b.Fatalf("decrypt: %v", err)
				}
			}
		})
	}
}

// BenchmarkVaultBenchmarkTransit is one request of each of
// vault-benchmark's transit workloads with its defaults (an rsa-2048 key,
// 128-byte payload, PSS/SHA-256 signatures), as core sends it: the
// existence check where the path has one, then the handler.
func BenchmarkVaultBenchmarkTransit(b *testing.B) {
	f := newTransit(b)
	f.must(secrets.OpUpdate, "keys/test", map[string]any{"type": "rsa-2048"})
	pt := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("p", 128)))
	ct := f.must(secrets.OpUpdate, "encrypt/test", map[string]any{"plaintext": pt})["ciphertext"]
	sig := f.must(secrets.OpUpdate, "sign/test", map[string]any{"input": pt, "hash_algorithm": "sha2-256", "signature_algorithm": "pss"})["signature"]
	for _, c := range []struct {
		name, path string
		data       map[string]any
	}{
		{"encrypt", "encrypt/test", map[string]any{"plaintext": pt}},
		{"decrypt", "decrypt/test", map[string]any{"ciphertext": ct}},
		{"sign", "sign/test", map[string]any{"input": pt, "hash_algorithm": "sha2-256", "signature_algorithm": "pss"}},
		{"verify", "verify/test", map[string]any{"input": pt, "signature": sig, "hash_algorithm": "sha2-256", "signature_algorithm": "pss"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			fb := f.with(b)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fb.Do(secrets.OpUpdate, c.path, c.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
