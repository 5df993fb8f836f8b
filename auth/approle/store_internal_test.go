package approle

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestHMACKey_Redacted: the salt never formats or logs as its bytes.
func TestHMACKey_Redacted(t *testing.T) {
	k := hmacKey(bytes.Repeat([]byte{0xab}, saltBytes))
	for _, verb := range []string{"%v", "%s", "%x", "%X", "%q", "%#v", "%+v"} {
		if got := fmt.Sprintf(verb, k); got != "[redacted]" {
			t.Errorf("Sprintf(%q, key) = %q", verb, got)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "salt", k)
	if strings.Contains(strings.ToLower(buf.String()), "abab") || !strings.Contains(buf.String(), "[redacted]") {
		t.Errorf("log line %q shows the key", buf.String())
	}
}

// TestHMACKey_Domains: the same value hashes differently per domain and
// per key.
func TestHMACKey_Domains(t *testing.T) {
	k1 := hmacKey(bytes.Repeat([]byte{1}, saltBytes))
	k2 := hmacKey(bytes.Repeat([]byte{2}, saltBytes))
	if k1.mac(domainSecretID, "v") == k1.mac(domainAccessor, "v") {
		t.Error("domains do not separate")
	}
	if k1.mac(domainSecretID, "v") == k2.mac(domainSecretID, "v") {
		t.Error("keys do not separate")
	}
	if k1.mac(domainSecretID, "a\x00b") == k1.mac(domainSecretID+"\x00a", "b") {
		t.Error("domain and value are ambiguous")
	}
}
