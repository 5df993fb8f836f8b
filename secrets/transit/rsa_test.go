package transit_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

func rsaPub(t *testing.T, f *fixture, name, ver string) *rsa.PublicKey {
	t.Helper()
	p := f.must(secrets.OpRead, "keys/"+name, nil)["keys"].(map[string]any)[ver].(map[string]any)["public_key"].(string)
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		t.Fatalf("public key not PEM: %q", p)
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PublicKey)
}

func rawSig(t *testing.T, s any, enc *base64.Encoding) []byte {
	t.Helper()
	b, err := enc.DecodeString(strings.TrimPrefix(s.(string), "vault:v1:"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRSA_KeysEncryptDecrypt(t *testing.T) {
	f := newTransit(t)
	// vault-benchmark's key write: every field of its config, zero values included.
	f.must(secrets.OpUpdate, "keys/test", map[string]any{
		"name": "test", "convergent_encryption": false, "derived": false, "exportable": false,
		"allow_plaintext_backup": false, "type": "rsa-2048", "key_size": 0, "auto_rotate_period": "",
		"managed_key_name": "", "managed_key_id": "", "parameter_set": "",
	})
	k := f.must(secrets.OpRead, "keys/test", nil)
	if k["type"] != "rsa-2048" || k["supports_encryption"] != true || k["supports_signing"] != true || k["supports_derivation"] != false {
		t.Fatalf("key %v", k)
	}
	if n := k["keys"].(map[string]any)["1"].(map[string]any)["name"]; n != "rsa-2048" {
		t.Fatalf("version name %v", n)
	}
	pub := rsaPub(t, f, "test", "1")
	if pub.N.BitLen() != 2048 {
		t.Fatalf("modulus %d bits", pub.N.BitLen())
	}
	ct := f.encrypt("test", "benchmark payload")
	if f.decrypt("test", ct) != "benchmark payload" {
		t.Fatal("OAEP round trip")
	}
	// The ciphertext is OAEP (SHA-256) under the published key: a client
	// can encrypt locally and vaultd decrypts.
	local, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, []byte("from outside"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.decrypt("test", "vault:v1:"+base64.StdEncoding.EncodeToString(local)); got != "from outside" {
		t.Fatalf("decrypt of a local OAEP ciphertext: %q", got)
	}
	// PKCS #1 v1.5 padding on request.
	d := f.must(secrets.OpUpdate, "encrypt/test", map[string]any{"plaintext": b64("v15"), "padding_scheme": "pkcs1v15"})
	if got := unb64(t, f.must(secrets.OpUpdate, "decrypt/test", map[string]any{"ciphertext": d["ciphertext"], "padding_scheme": "pkcs1v15"})["plaintext"]); got != "v15" {
		t.Fatalf("pkcs1v15 round trip %q", got)
	}
	f.fail(secrets.OpUpdate, "decrypt/test", map[string]any{"ciphertext": d["ciphertext"]}, secrets.ErrInvalidRequest, "failed to RSA decrypt")
	f.fail(secrets.OpUpdate, "encrypt/test", map[string]any{"plaintext": b64("x"), "padding_scheme": "none"}, secrets.ErrInvalidRequest, "padding_scheme")
	f.fail(secrets.OpUpdate, "encrypt/test", map[string]any{"plaintext": b64("x"), "associated_data": b64("ad")}, secrets.ErrInvalidRequest, "associated_data")
	// Batch, rotation and rewrap work as for AEAD keys.
	b := f.must(secrets.OpUpdate, "encrypt/test", map[string]any{"batch_input": []any{map[string]any{"plaintext": b64("a")}, map[string]any{"plaintext": b64("b")}}})
	if len(b["batch_results"].([]any)) != 2 {
		t.Fatalf("batch %v", b)
	}
	f.must(secrets.OpUpdate, "keys/test/rotate", nil)
	rw := f.must(secrets.OpUpdate, "rewrap/test", map[string]any{"ciphertext": ct})["ciphertext"].(string)
	if !strings.HasPrefix(rw, "vault:v2:") || f.decrypt("test", rw) != "benchmark payload" {
		t.Fatalf("rewrap %q", rw)
	}
	// The encrypt upsert does not create RSA keys (as Vault).
	f.fail(secrets.OpUpdate, "encrypt/newrsa", map[string]any{"plaintext": b64("x"), "type": "rsa-2048"}, secrets.ErrInvalidRequest, "unknown key type")
	f.fail(secrets.OpUpdate, "keys/bad", map[string]any{"type": "rsa-1024"}, secrets.ErrInvalidRequest, "unknown key type")
}

func TestRSA_SignVerify(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/test", map[string]any{"type": "rsa-3072"})
	pub := rsaPub(t, f, "test", "1")
	msg := []byte("sign me")
	in := base64.StdEncoding.EncodeToString(msg)
	d256 := sha256.Sum256(msg)
	// vault-benchmark's sign body (its defaults, zero values included).
	bench := map[string]any{
		"name": "test", "key_version": 0, "hash_algorithm": "sha2-256", "input": in, "reference": "",
		"context": "", "prehashed": false, "signature_algorithm": "pss", "marshaling_algorithm": "asn1", "salt_length": "",
	}
	sig := f.must(secrets.OpUpdate, "sign/test", bench)["signature"]
	if err := rsa.VerifyPSS(pub, crypto.SHA256, d256[:], rawSig(t, sig, base64.StdEncoding), nil); err != nil {
		t.Fatalf("PSS signature does not verify with the public key: %v", err)
	}
	bench["signature"] = sig
	if v := f.must(secrets.OpUpdate, "verify/test", bench); v["valid"] != true {
		t.Fatalf("verify %v", v)
	}
	// PKCS #1 v1.5, sha2-512 in the URL.
	sig = f.must(secrets.OpUpdate, "sign/test/sha2-512", map[string]any{"input": in, "signature_algorithm": "pkcs1v15"})["signature"]
	d512 := sha512.Sum512(msg)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA512, d512[:], rawSig(t, sig, base64.StdEncoding)); err != nil {
		t.Fatalf("PKCS1v15: %v", err)
	}
	if v := f.must(secrets.OpUpdate, "verify/test/sha2-512", map[string]any{"input": in, "signature": sig, "signature_algorithm": "pkcs1v15"}); v["valid"] != true {
		t.Fatal("pkcs1v15 verify")
	}
	// The wrong algorithm, hash or input does not verify.
	for _, bad := range []map[string]any{
		{"input": in, "signature": sig, "signature_algorithm": "pss", "hash_algorithm": "sha2-512"},
		{"input": in, "signature": sig, "signature_algorithm": "pkcs1v15"},
		{"input": b64("other"), "signature": sig, "signature_algorithm": "pkcs1v15", "hash_algorithm": "sha2-512"},
	} {
		if v := f.must(secrets.OpUpdate, "verify/test", bad); v["valid"] != false {
			t.Fatalf("verified with %v", bad)
		}
	}
	// salt_length=hash and an explicit length.
	for _, salt := range []any{"hash", "32", float64(20)} {
		s := f.must(secrets.OpUpdate, "sign/test", map[string]any{"input": in, "salt_length": salt})["signature"]
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}
		if err := rsa.VerifyPSS(pub, crypto.SHA256, d256[:], rawSig(t, s, base64.StdEncoding), opts); err != nil {
			t.Fatalf("salt %v: %v", salt, err)
		}
		if v := f.must(secrets.OpUpdate, "verify/test", map[string]any{"input": in, "signature": s, "salt_length": salt}); v["valid"] != true {
			t.Fatalf("verify salt %v", salt)
		}
	}
	// Prehashed input and hash_algorithm=none (PKCS #1 v1.5 only).
	pre := f.must(secrets.OpUpdate, "sign/test", map[string]any{"input": base64.StdEncoding.EncodeToString(d256[:]), "prehashed": true, "signature_algorithm": "pkcs1v15"})["signature"]
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d256[:], rawSig(t, pre, base64.StdEncoding)); err != nil {
		t.Fatalf("prehashed: %v", err)
	}
	none := f.must(secrets.OpUpdate, "sign/test", map[string]any{"input": in, "hash_algorithm": "none", "signature_algorithm": "pkcs1v15"})["signature"]
	if err := rsa.VerifyPKCS1v15(pub, 0, msg, rawSig(t, none, base64.StdEncoding)); err != nil {
		t.Fatalf("hash none: %v", err)
	}
	f.fail(secrets.OpUpdate, "sign/test", map[string]any{"input": in, "hash_algorithm": "none"}, secrets.ErrInvalidRequest, "pkcs1v15")
	f.fail(secrets.OpUpdate, "sign/test", map[string]any{"input": in, "signature_algorithm": "dsa"}, secrets.ErrInvalidRequest, "unsupported rsa signature algorithm")
	f.fail(secrets.OpUpdate, "sign/test", map[string]any{"input": in, "salt_length": "big"}, secrets.ErrInvalidRequest, "salt length")
	// marshaling_algorithm=jws: base64url without padding.
	j := f.must(secrets.OpUpdate, "sign/test", map[string]any{"input": in, "marshaling_algorithm": "jws"})["signature"]
	if err := rsa.VerifyPSS(pub, crypto.SHA256, d256[:], rawSig(t, j, base64.RawURLEncoding), nil); err != nil {
		t.Fatalf("jws: %v", err)
	}
	// Exported: RSA private key as PKCS #1 PEM, public key as PKIX PEM.
	f.fail(secrets.OpRead, "export/signing-key/test", nil, secrets.ErrInvalidRequest, "not exportable")
	f.must(secrets.OpUpdate, "keys/test/config", map[string]any{"exportable": true})
	ex := f.must(secrets.OpRead, "export/signing-key/test/1", nil)["keys"].(map[string]any)["1"].(string)
	blk, _ := pem.Decode([]byte(ex))
	priv, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil || !priv.PublicKey.Equal(pub) {
		t.Fatalf("exported key: %v", err)
	}
	if enc := f.must(secrets.OpRead, "export/encryption-key/test/1", nil)["keys"].(map[string]any)["1"].(string); enc != ex {
		t.Fatal("encryption-key export of an RSA key differs from signing-key")
	}
}

// TestDeclaredFields: transit's paths come from endpoint declarations;
// an unknown field gets Vault's warning, a known one does not.
func TestDeclaredFields(t *testing.T) {
	f := newTransit(t)
	resp, err := f.Do(secrets.OpUpdate, "keys/k", map[string]any{"type": "aes256-gcm96", "tpye": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "tpye") {
		t.Fatalf("warnings %v", resp.Warnings)
	}
	resp, err = f.Do(secrets.OpUpdate, "encrypt/k", map[string]any{"plaintext": b64("x"), "context": ""})
	if err != nil || len(resp.Warnings) != 0 {
		t.Fatalf("encrypt: %v %v", resp, err)
	}
	f.fail(secrets.OpUpdate, "encrypt/bad name", map[string]any{"plaintext": b64("x")}, secrets.ErrUnsupportedPath, "unsupported path")
	f.fail(secrets.OpUpdate, "sign/k/sha2-256/extra", map[string]any{"input": b64("x")}, secrets.ErrUnsupportedPath, "unsupported path")
}

// TestVaultBenchmarkTransitFlows replays what HashiCorp's vault-benchmark
// sends for its transit sign, verify and decrypt tests (its bodies omit
// empty values, so sign carries no input by default).
func TestVaultBenchmarkTransitFlows(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/test", map[string]any{"name": "test", "type": "rsa-2048"})
	signBody := map[string]any{"name": "test", "hash_algorithm": "sha2-256", "signature_algorithm": "pss", "marshaling_algorithm": "asn1"}
	sig := f.must(secrets.OpUpdate, "sign/test", signBody)["signature"].(string)
	if !strings.HasPrefix(sig, "vault:v1:") {
		t.Fatalf("signature %q", sig)
	}
	verifyBody := map[string]any{"name": "test", "hash_algorithm": "sha2-256", "signature_algorithm": "pss", "marshaling_algorithm": "asn1", "signature": sig}
	if v := f.must(secrets.OpUpdate, "verify/test", verifyBody); v["valid"] != true {
		t.Fatalf("verify %v", v)
	}
	payload := base64.StdEncoding.EncodeToString(make([]byte, 128))
	ct := f.must(secrets.OpUpdate, "encrypt/test", map[string]any{"plaintext": payload})["ciphertext"]
	if d := f.must(secrets.OpUpdate, "decrypt/test", map[string]any{"name": "test", "ciphertext": ct}); d["plaintext"] != payload {
		t.Fatalf("decrypt %v", d)
	}
}
