package transit_test

import (
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

func TestRandom(t *testing.T) {
	f := newTransit(t)
	tests := []struct {
		path   string
		data   map[string]any
		n      int
		decode func(string) ([]byte, error)
	}{
		{"random", nil, 32, base64.StdEncoding.DecodeString},
		{"random/16", nil, 16, base64.StdEncoding.DecodeString},
		{"random", map[string]any{"bytes": 48, "format": "hex"}, 48, hex.DecodeString},
		{"random/platform/8", map[string]any{"format": "hex"}, 8, hex.DecodeString},
		{"random/all", map[string]any{"bytes": "5"}, 5, base64.StdEncoding.DecodeString},
		{"random/seal/1", nil, 1, base64.StdEncoding.DecodeString},
	}
	for _, tc := range tests {
		d := f.must(secrets.OpUpdate, tc.path, tc.data)
		b, err := tc.decode(d["random_bytes"].(string))
		if err != nil || len(b) != tc.n {
			t.Fatalf("%s %v: %v, %d bytes, want %d", tc.path, tc.data, err, len(b), tc.n)
		}
	}
	a := f.must(secrets.OpUpdate, "random", nil)["random_bytes"]
	if b := f.must(secrets.OpUpdate, "random", nil)["random_bytes"]; a == b {
		t.Fatal("two random answers are equal")
	}
	for _, tc := range []struct {
		path string
		data map[string]any
		msg  string
	}{
		{"random", map[string]any{"bytes": 0}, "bytes cannot be less than 1"},
		{"random", map[string]any{"bytes": 1 << 20}, "bytes cannot be greater than"},
		{"random", map[string]any{"format": "base32"}, "unsupported encoding format base32"},
		{"random/moon", nil, "unsupported entropy source"},
		{"random/platform/x", nil, "error parsing url-set byte count"},
	} {
		f.fail(secrets.OpUpdate, tc.path, tc.data, secrets.ErrInvalidRequest, tc.msg)
	}
}

func TestHash(t *testing.T) {
	f := newTransit(t)
	in := []byte("hash me")
	s256 := sha256.Sum256(in)
	s512 := sha512.Sum512(in)
	s3 := sha3.Sum256(in)
	tests := []struct {
		path string
		data map[string]any
		want string
	}{
		{"hash", map[string]any{}, hex.EncodeToString(s256[:])},
		{"hash/sha2-512", map[string]any{}, hex.EncodeToString(s512[:])},
		{"hash", map[string]any{"algorithm": "sha3-256", "format": "base64"}, base64.StdEncoding.EncodeToString(s3[:])},
		{"hash/sha2-256", map[string]any{"algorithm": "sha2-512"}, hex.EncodeToString(s256[:])}, // the URL wins
	}
	for _, tc := range tests {
		tc.data["input"] = base64.StdEncoding.EncodeToString(in)
		if got := f.must(secrets.OpUpdate, tc.path, tc.data)["sum"]; got != tc.want {
			t.Fatalf("%s %v = %v, want %v", tc.path, tc.data, got, tc.want)
		}
	}
	f.fail(secrets.OpUpdate, "hash/md5", map[string]any{"input": b64("x")}, secrets.ErrInvalidRequest, "unsupported algorithm md5")
	f.fail(secrets.OpUpdate, "hash", map[string]any{"input": "%%"}, secrets.ErrInvalidRequest, "unable to decode input as base64")
	f.fail(secrets.OpUpdate, "hash", map[string]any{"input": b64("x"), "format": "raw"}, secrets.ErrInvalidRequest, "unsupported encoding format")
}

func TestDatakey(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/k", nil)
	for _, bits := range []any{nil, 128, 256, "512"} {
		d := f.must(secrets.OpUpdate, "datakey/plaintext/k", map[string]any{"bits": bits})
		pt, err := base64.StdEncoding.DecodeString(d["plaintext"].(string))
		want := 32
		switch bits {
		case 128:
			want = 16
		case "512":
			want = 64
		}
		if err != nil || len(pt) != want || d["key_version"] != float64(1) {
			t.Fatalf("bits %v: %v (%d bytes)", bits, d, len(pt))
		}
		if got := f.decrypt("k", d["ciphertext"].(string)); got != string(pt) {
			t.Fatal("datakey ciphertext does not decrypt to its plaintext")
		}
	}
	w := f.must(secrets.OpUpdate, "datakey/wrapped/k", nil)
	if _, ok := w["plaintext"]; ok || w["ciphertext"] == nil {
		t.Fatalf("wrapped datakey = %v", w)
	}
	f.fail(secrets.OpUpdate, "datakey/plaintext/k", map[string]any{"bits": 100}, secrets.ErrInvalidRequest, "invalid bits value")
	f.fail(secrets.OpUpdate, "datakey/raw/k", nil, secrets.ErrInvalidRequest, "invalid type")
	f.must(secrets.OpUpdate, "keys/ed", map[string]any{"type": "ed25519"})
	f.fail(secrets.OpUpdate, "datakey/plaintext/ed", nil, secrets.ErrInvalidRequest, "message encryption not supported for key type")
}
