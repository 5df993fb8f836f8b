package transit_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/secrets/enginetest"
	"github.com/vaultd/vaultd/secrets/transit"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

const viewPrefix = "logical/0b7e-transit-mount/"

var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

type clock = enginetest.Clock

// fixture is one transit mount over inmem through a storage.View
// (secrets/enginetest).
type fixture struct {
	*enginetest.Mount
	t     testing.TB
	clock *clock
}

func newTransit(t testing.TB) *fixture {
	t.Helper()
	clk := enginetest.NewClock(t0)
	m := enginetest.New(t, enginetest.Options{ViewPrefix: viewPrefix, MountPoint: "transit/",
		Engine: func(view storage.Backend) (secrets.Backend, error) {
			return transit.Factory(context.Background(), secrets.Config{Type: "transit", Storage: view, Now: clk.Now})
		}})
	return &fixture{Mount: m, t: t, clock: clk}
}

func (f *fixture) with(t testing.TB) *fixture {
	cp := *f
	cp.t, cp.Mount = t, f.Mount.With(t)
	return &cp
}

// must sends a request that must succeed and returns its data as generic
// JSON (what a client sees).
func (f *fixture) must(op secrets.Operation, path string, data map[string]any) map[string]any {
	f.t.Helper()
	resp, err := f.Do(op, path, data)
	if err != nil {
		f.t.Fatalf("%s %s: %v", op, path, err)
	}
	if resp.StatusCode != 0 && resp.StatusCode != 200 {
		f.t.Fatalf("%s %s: status %d: %v", op, path, resp.StatusCode, resp.Data)
	}
	return asJSON(f.t, resp.Data)
}

// fail sends a request that must fail with kind and a message containing msg.
func (f *fixture) fail(op secrets.Operation, path string, data map[string]any, kind error, msg string) {
	f.t.Helper()
	resp, err := f.Do(op, path, data)
	if err == nil {
		f.t.Fatalf("%s %s: want error %q, got %+v", op, path, msg, resp)
	}
	if !errors.Is(err, kind) {
		f.t.Fatalf("%s %s: error %v: want kind %v", op, path, err, kind)
	}
	if !strings.Contains(err.Error(), msg) {
		f.t.Fatalf("%s %s: error %q, want it to contain %q", op, path, err, msg)
	}
}

var asJSON = enginetest.AsJSON

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func unb64(t testing.TB, s any) string {
	t.Helper()
	str, _ := s.(string)
	b, err := base64.StdEncoding.DecodeString(str)
	if err != nil {
		t.Fatalf("decode %v: %v", s, err)
	}
	return string(b)
}

// encrypt encrypts plaintext with key name and returns the ciphertext.
func (f *fixture) encrypt(name, plaintext string) string {
	f.t.Helper()
	d := f.must(secrets.OpUpdate, "encrypt/"+name, map[string]any{"plaintext": b64(plaintext)})
	ct, _ := d["ciphertext"].(string)
	if ct == "" {
		f.t.Fatalf("encrypt: no ciphertext in %v", d)
	}
	return ct
}

// decrypt decrypts ciphertext with key name.
func (f *fixture) decrypt(name, ct string) string {
	f.t.Helper()
	d := f.must(secrets.OpUpdate, "decrypt/"+name, map[string]any{"ciphertext": ct})
	return unb64(f.t, d["plaintext"])
}

func TestFactory_RejectsOptions(t *testing.T) {
	_, err := transit.Factory(context.Background(), secrets.Config{Options: map[string]string{"version": "2"}, Storage: inmem.New()})
	if !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("Factory with an option: %v", err)
	}
}

func TestRoundTrip_PerKeyType(t *testing.T) {
	f := newTransit(t)
	for _, typ := range []string{"aes128-gcm96", "aes256-gcm96", "chacha20-poly1305"} {
		t.Run(typ, func(t *testing.T) {
			f := f.with(t)
			name := "k-" + typ
			info := f.must(secrets.OpUpdate, "keys/"+name, map[string]any{"type": typ})
			if info["type"] != typ || info["supports_encryption"] != true || info["supports_signing"] != false {
				t.Fatalf("create = %v", info)
			}
			for _, pt := range []string{"", "hello world", strings.Repeat("x", 4096)} {
				ct := f.encrypt(name, pt)
				if !strings.HasPrefix(ct, "vault:v1:") {
					t.Fatalf("ciphertext %q: want vault:v1: prefix", ct)
				}
				if strings.Contains(ct, b64(pt)) && pt != "" {
					t.Fatal("ciphertext contains the plaintext")
				}
				if got := f.decrypt(name, ct); got != pt {
					t.Fatalf("round trip = %q, want %q", got, pt)
				}
			}
			// Two encryptions of one plaintext differ (random nonces).
			if f.encrypt(name, "same") == f.encrypt(name, "same") {
				t.Fatal("two ciphertexts of one plaintext are equal")
			}
		})
	}
}

func TestEncrypt_UpsertCreatesKey(t *testing.T) {
	f := newTransit(t)
	ct := f.encrypt("fresh", "data")
	info := f.must(secrets.OpRead, "keys/fresh", nil)
	if info["type"] != "aes256-gcm96" || info["latest_version"] != float64(1) {
		t.Fatalf("upserted key = %v", info)
	}
	if f.decrypt("fresh", ct) != "data" {
		t.Fatal("round trip through upserted key")
	}
	// Upsert with an explicit type.
	f.must(secrets.OpUpdate, "encrypt/cc", map[string]any{"plaintext": b64("x"), "type": "chacha20-poly1305"})
	if got := f.must(secrets.OpRead, "keys/cc", nil)["type"]; got != "chacha20-poly1305" {
		t.Fatalf("upsert type = %v", got)
	}
	// A signing type cannot be upserted by encrypt.
	f.fail(secrets.OpUpdate, "encrypt/ed", map[string]any{"plaintext": b64("x"), "type": "ed25519"}, secrets.ErrInvalidRequest, "unknown key type")
	// Without an existence check (a plain update) an absent key is not created.
	_, err := f.Eng.HandleRequest(context.Background(), &secrets.Request{
		Operation: secrets.OpUpdate, Path: "encrypt/nokey", Storage: f.View, Data: map[string]any{"plaintext": b64("x")},
	})
	if !errors.Is(err, secrets.ErrInvalidRequest) || err.Error() != "encryption key not found" {
		t.Fatalf("update encrypt on absent key: %v", err)
	}
}

func TestDecrypt_Errors(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/k", nil)
	ct := f.encrypt("k", "secret data")
	payload := strings.TrimPrefix(ct, "vault:v1:")
	raw, _ := base64.StdEncoding.DecodeString(payload)
	tampered := append([]byte(nil), raw...)
	tampered[len(tampered)-1] ^= 1
	tamperedCT := "vault:v1:" + base64.StdEncoding.EncodeToString(tampered)

	f.must(secrets.OpUpdate, "keys/other", nil)
	tests := []struct {
		name, key, ct, msg string
	}{
		{"tampered", "k", tamperedCT, "cipher: message authentication failed"},
		{"other key", "other", ct, "cipher: message authentication failed"},
		{"no prefix", "k", payload, "invalid ciphertext: no prefix"},
		{"no fields", "k", "vault:v1", "invalid ciphertext: wrong number of fields"},
		{"bad version", "k", "vault:vX:" + payload, "invalid ciphertext: version number could not be decoded"},
		{"too new", "k", "vault:v2:" + payload, "invalid ciphertext: version is too new"},
		{"bad base64", "k", "vault:v1:!!!", "invalid ciphertext: could not decode base64"},
		{"too short", "k", "vault:v1:" + b64("abc"), "invalid ciphertext length"},
		{"missing", "k", "", "missing ciphertext to decrypt"},
		{"absent key", "nokey", ct, "encryption key not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.with(t).fail(secrets.OpUpdate, "decrypt/"+tc.key, map[string]any{"ciphertext": tc.ct}, secrets.ErrInvalidRequest, tc.msg)
		})
	}
	// Bad plaintext encoding, missing plaintext.
	f.fail(secrets.OpUpdate, "encrypt/k", map[string]any{"plaintext": "%%%"}, secrets.ErrInvalidRequest, "failed to base64-decode plaintext")
	f.fail(secrets.OpUpdate, "encrypt/k", map[string]any{}, secrets.ErrInvalidRequest, "missing plaintext to encrypt")
	f.fail(secrets.OpUpdate, "encrypt/k", map[string]any{"plaintext": b64("x"), "context": "%%"}, secrets.ErrInvalidRequest, "failed to base64-decode context")
	f.fail(secrets.OpUpdate, "encrypt/k", map[string]any{"plaintext": b64("x"), "nonce": b64("n")}, secrets.ErrInvalidRequest, "provided nonce not allowed")
}

func TestAssociatedData(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/k", nil)
	d := f.must(secrets.OpUpdate, "encrypt/k", map[string]any{"plaintext": b64("p"), "associated_data": b64("aad-1")})
	ct := d["ciphertext"].(string)
	got := f.must(secrets.OpUpdate, "decrypt/k", map[string]any{"ciphertext": ct, "associated_data": b64("aad-1")})
	if unb64(t, got["plaintext"]) != "p" {
		t.Fatalf("decrypt with aad = %v", got)
	}
	f.fail(secrets.OpUpdate, "decrypt/k", map[string]any{"ciphertext": ct, "associated_data": b64("aad-2")}, secrets.ErrInvalidRequest, "message authentication failed")
	f.fail(secrets.OpUpdate, "decrypt/k", map[string]any{"ciphertext": ct}, secrets.ErrInvalidRequest, "message authentication failed")
}

func TestWrongKeyName(t *testing.T) {
	f := newTransit(t)
	for _, p := range []string{"keys/-bad", "keys/a/b/c", "encrypt/", "encrypt/a b", "nope/x", "keys/bad-", "decrypt/..", "keys/a\x00b"} {
		_, err := f.Do(secrets.OpUpdate, p, map[string]any{"plaintext": b64("x")})
		if !errors.Is(err, secrets.ErrUnsupportedPath) {
			t.Errorf("%q: %v, want unsupported path", p, err)
		}
	}
	f.fail(secrets.OpRead, "keys/missing", nil, secrets.ErrNotFound, "")
	f.fail(secrets.OpList, "keys", nil, secrets.ErrNotFound, "")
	f.fail(secrets.OpRead, "encrypt/k", nil, secrets.ErrUnsupportedOperation, "unsupported operation")
	f.fail(secrets.OpUpdate, "keys/k/rotate", nil, secrets.ErrInvalidRequest, "key not found")
	f.fail(secrets.OpUpdate, "keys/k/config", map[string]any{"deletion_allowed": true}, secrets.ErrInvalidRequest, "no existing key named k could be found")
	f.fail(secrets.OpUpdate, "sign/k", map[string]any{"input": b64("x")}, secrets.ErrInvalidRequest, "signing key not found")
	f.fail(secrets.OpUpdate, "verify/k", map[string]any{"input": b64("x"), "signature": "vault:v1:AA=="}, secrets.ErrInvalidRequest, "signature verification key not found")
	f.fail(secrets.OpUpdate, "hmac/k", map[string]any{"input": b64("x")}, secrets.ErrInvalidRequest, "encryption key not found")
	f.fail(secrets.OpUpdate, "rewrap/k", map[string]any{"ciphertext": "vault:v1:AA=="}, secrets.ErrInvalidRequest, "encryption key not found")
	f.fail(secrets.OpUpdate, "datakey/plaintext/k", nil, secrets.ErrInvalidRequest, "encryption key not found")
	f.fail(secrets.OpDelete, "keys/k", nil, secrets.ErrInvalidRequest, "could not delete key; not found")
	_, err := f.Eng.HandleRequest(context.Background(), &secrets.Request{Operation: secrets.OpRead, Path: "keys/x"})
	if !errors.Is(err, transit.ErrNoStorage) {
		t.Fatalf("request without storage: %v", err)
	}
}
