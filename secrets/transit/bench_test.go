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
