package transit_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

func TestSignVerify(t *testing.T) {
	f := newTransit(t)
	for _, typ := range []string{"ed25519", "ecdsa-p256", "ecdsa-p521"} {
		t.Run(typ, func(t *testing.T) {
			f := f.with(t)
			f.must(secrets.OpUpdate, "keys/"+typ, map[string]any{"type": typ})
			msg := b64("the message")
			paths := []string{"sign/" + typ, "sign/" + typ + "/sha2-512"}
			for _, p := range paths {
				d := f.must(secrets.OpUpdate, p, map[string]any{"input": msg})
				sig := d["signature"].(string)
				if !strings.HasPrefix(sig, "vault:v1:") || d["key_version"] != float64(1) {
					t.Fatalf("%s = %v", p, d)
				}
				vp := strings.Replace(p, "sign/", "verify/", 1)
				if v := f.must(secrets.OpUpdate, vp, map[string]any{"input": msg, "signature": sig}); v["valid"] != true {
					t.Fatalf("%s valid = %v", vp, v)
				}
				if v := f.must(secrets.OpUpdate, vp, map[string]any{"input": b64("other"), "signature": sig}); v["valid"] != false {
					t.Fatalf("%s other message valid = %v", vp, v)
				}
			}
			// Rotation: old signatures still verify until min_decryption_version passes them.
			old := f.must(secrets.OpUpdate, "sign/"+typ, map[string]any{"input": msg})["signature"].(string)
			f.must(secrets.OpUpdate, "keys/"+typ+"/rotate", nil)
			if s := f.must(secrets.OpUpdate, "sign/"+typ, map[string]any{"input": msg})["signature"].(string); !strings.HasPrefix(s, "vault:v2:") {
				t.Fatalf("after rotate: %q", s)
			}
			if v := f.must(secrets.OpUpdate, "verify/"+typ, map[string]any{"input": msg, "signature": old}); v["valid"] != true {
				t.Fatal("v1 signature after rotate")
			}
			f.must(secrets.OpUpdate, "keys/"+typ+"/config", map[string]any{"min_decryption_version": 2})
			f.fail(secrets.OpUpdate, "verify/"+typ, map[string]any{"input": msg, "signature": old}, secrets.ErrInvalidRequest, "too old")
		})
	}
}

func TestSign_ExternalVerification(t *testing.T) {
	f := newTransit(t)
	msg := []byte("verify me elsewhere")
	// ed25519 with the public key from keys/:name.
	f.must(secrets.OpUpdate, "keys/ed", map[string]any{"type": "ed25519"})
	pubB64 := f.must(secrets.OpRead, "keys/ed", nil)["keys"].(map[string]any)["1"].(map[string]any)["public_key"].(string)
	pub, _ := base64.StdEncoding.DecodeString(pubB64)
	sig := f.must(secrets.OpUpdate, "sign/ed", map[string]any{"input": base64.StdEncoding.EncodeToString(msg)})["signature"].(string)
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sig, "vault:v1:"))
	if !ed25519.Verify(pub, msg, raw) {
		t.Fatal("ed25519 signature does not verify with the published key")
	}
	// ECDSA ASN.1 and JWS.
	f.must(secrets.OpUpdate, "keys/ec", map[string]any{"type": "ecdsa-p256"})
	pemStr := f.must(secrets.OpRead, "keys/ec", nil)["keys"].(map[string]any)["1"].(map[string]any)["public_key"].(string)
	blk, _ := pem.Decode([]byte(pemStr))
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ecPub := k.(*ecdsa.PublicKey)
	digest := sha256.Sum256(msg)
	sig = f.must(secrets.OpUpdate, "sign/ec", map[string]any{"input": base64.StdEncoding.EncodeToString(msg)})["signature"].(string)
	raw, _ = base64.StdEncoding.DecodeString(strings.TrimPrefix(sig, "vault:v1:"))
	if !ecdsa.VerifyASN1(ecPub, digest[:], raw) {
		t.Fatal("ecdsa asn1 signature does not verify")
	}
	jws := f.must(secrets.OpUpdate, "sign/ec", map[string]any{"input": base64.StdEncoding.EncodeToString(msg), "marshaling_algorithm": "jws"})["signature"].(string)
	rawJWS, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(jws, "vault:v1:"))
	if err != nil || len(rawJWS) != 64 {
		t.Fatalf("jws signature: %v len %d", err, len(rawJWS))
	}
	if v := f.must(secrets.OpUpdate, "verify/ec", map[string]any{"input": base64.StdEncoding.EncodeToString(msg), "signature": jws, "marshaling_algorithm": "jws"}); v["valid"] != true {
		t.Fatal("jws signature does not verify")
	}
	// Prehashed input.
	pre := f.must(secrets.OpUpdate, "sign/ec", map[string]any{"input": base64.StdEncoding.EncodeToString(digest[:]), "prehashed": true})["signature"].(string)
	raw, _ = base64.StdEncoding.DecodeString(strings.TrimPrefix(pre, "vault:v1:"))
	if !ecdsa.VerifyASN1(ecPub, digest[:], raw) {
		t.Fatal("prehashed signature does not verify")
	}
}

func TestSign_Errors(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/aes", nil)
	f.must(secrets.OpUpdate, "keys/ec", map[string]any{"type": "ecdsa-p256"})
	in := b64("x")
	f.fail(secrets.OpUpdate, "sign/aes", map[string]any{"input": in}, secrets.ErrInvalidRequest, "key type aes256-gcm96 does not support signing")
	f.fail(secrets.OpUpdate, "verify/aes", map[string]any{"input": in, "signature": "vault:v1:AA=="}, secrets.ErrInvalidRequest, "does not support verification")
	f.fail(secrets.OpUpdate, "sign/ec/md5", map[string]any{"input": in}, secrets.ErrInvalidRequest, "unsupported hash algorithm md5")
	f.fail(secrets.OpUpdate, "sign/ec", map[string]any{"input": "***"}, secrets.ErrInvalidRequest, "unable to decode input as base64")
	f.fail(secrets.OpUpdate, "sign/ec", map[string]any{"input": in, "marshaling_algorithm": "der"}, secrets.ErrInvalidRequest, "invalid marshaling type")
	f.fail(secrets.OpUpdate, "verify/ec", map[string]any{"input": in}, secrets.ErrInvalidRequest, "neither")
	f.fail(secrets.OpUpdate, "verify/ec", map[string]any{"input": in, "signature": "a", "hmac": "b"}, secrets.ErrInvalidRequest, "provide one of")
	f.fail(secrets.OpUpdate, "verify/ec", map[string]any{"input": in, "signature": "sig"}, secrets.ErrInvalidRequest, "invalid signature: no prefix")
	f.fail(secrets.OpUpdate, "verify/ec", map[string]any{"input": in, "signature": "vault:v9:AA=="}, secrets.ErrInvalidRequest, "invalid signature: version is too new")
	if v := f.must(secrets.OpUpdate, "verify/ec", map[string]any{"input": in, "signature": "vault:v1:AAAA"}); v["valid"] != false {
		t.Fatalf("garbage signature valid = %v", v)
	}
	// Batch sign with a per-item error.
	resp, err := f.Do(secrets.OpUpdate, "sign/ec", map[string]any{"batch_input": []any{
		map[string]any{"input": in}, map[string]any{"input": "!!"},
	}})
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("batch sign: %+v, %v", resp, err)
	}
	res := asJSON(t, resp.Data)["batch_results"].([]any)
	if res[0].(map[string]any)["signature"] == nil || res[1].(map[string]any)["error"] == nil {
		t.Fatalf("batch sign results = %v", res)
	}
}

func TestHMAC(t *testing.T) {
	f := newTransit(t)
	for _, typ := range []string{"aes256-gcm96", "ed25519"} {
		f.must(secrets.OpUpdate, "keys/"+typ, map[string]any{"type": typ})
		in := b64("payload")
		h1 := f.must(secrets.OpUpdate, "hmac/"+typ, map[string]any{"input": in})["hmac"].(string)
		h2 := f.must(secrets.OpUpdate, "hmac/"+typ+"/sha2-256", map[string]any{"input": in})["hmac"].(string)
		if h1 != h2 || !strings.HasPrefix(h1, "vault:v1:") {
			t.Fatalf("%s: hmac %q vs %q", typ, h1, h2)
		}
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(h1, "vault:v1:"))
		if len(raw) != 32 {
			t.Fatalf("sha2-256 hmac length %d", len(raw))
		}
		h512 := f.must(secrets.OpUpdate, "hmac/"+typ, map[string]any{"input": in, "algorithm": "sha2-512"})["hmac"].(string)
		raw, _ = base64.StdEncoding.DecodeString(strings.TrimPrefix(h512, "vault:v1:"))
		if len(raw) != 64 {
			t.Fatalf("sha2-512 hmac length %d", len(raw))
		}
		for _, tc := range []struct {
			path, hmac, input string
			valid             bool
		}{
			{"verify/" + typ, h1, in, true},
			{"verify/" + typ + "/sha2-512", h512, in, true},
			{"verify/" + typ, h512, in, false},
			{"verify/" + typ, h1, b64("other"), false},
		} {
			if v := f.must(secrets.OpUpdate, tc.path, map[string]any{"input": tc.input, "hmac": tc.hmac}); v["valid"] != tc.valid {
				t.Fatalf("%s %s: valid = %v, want %v", typ, tc.path, v["valid"], tc.valid)
			}
		}
		f.must(secrets.OpUpdate, "keys/"+typ+"/rotate", nil)
		h3 := f.must(secrets.OpUpdate, "hmac/"+typ, map[string]any{"input": in})["hmac"].(string)
		if !strings.HasPrefix(h3, "vault:v2:") || h3[9:] == h1[9:] {
			t.Fatalf("after rotate hmac = %q", h3)
		}
		f.must(secrets.OpUpdate, "keys/"+typ+"/config", map[string]any{"min_decryption_version": 2})
		f.fail(secrets.OpUpdate, "verify/"+typ, map[string]any{"input": in, "hmac": h1}, secrets.ErrInvalidRequest, "too old")
	}
	f.fail(secrets.OpUpdate, "hmac/aes256-gcm96/md4", map[string]any{"input": b64("x")}, secrets.ErrInvalidRequest, "unsupported hash algorithm")
	f.fail(secrets.OpUpdate, "hmac/aes256-gcm96", map[string]any{"input": b64("x"), "key_version": 7}, secrets.ErrInvalidRequest, "higher than the latest")
	f.fail(secrets.OpUpdate, "verify/aes256-gcm96", map[string]any{"input": b64("x"), "hmac": "nope"}, secrets.ErrInvalidRequest, "invalid hmac: no prefix")
}
