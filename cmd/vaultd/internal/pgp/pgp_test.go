package pgp_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/pgp"
)

func genPair(t testing.TB) pgp.KeyPair {
	t.Helper()
	kp, err := pgp.Generate("Alice", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func dearmor(t testing.TB, b []byte) []byte {
	t.Helper()
	blk, err := armor.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(blk.Body); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestReadKeyFile_Forms(t *testing.T) {
	kp := genPair(t)
	bin := dearmor(t, kp.Public)
	dir := t.TempDir()
	forms := map[string][]byte{
		"armored.asc": kp.Public,
		"binary.gpg":  bin,
		"base64.txt":  []byte(base64.StdEncoding.EncodeToString(bin) + "\n"),
	}
	var want string
	for name, data := range forms {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := pgp.ReadKeyFile("@" + p)
		if err != nil {
			t.Fatalf("ReadKeyFile(%s) = %v", name, err)
		}
		if want == "" {
			want = got
		}
		if got != want {
			t.Errorf("ReadKeyFile(%s) differs from the other forms", name)
		}
	}
	fp, err := pgp.Fingerprint(want)
	if err != nil || len(fp) != 40 {
		t.Errorf("Fingerprint = %q, %v; want 40 hex chars", fp, err)
	}
}

func TestEncryptDecrypt_RoundTrip(t *testing.T) {
	kp := genPair(t)
	pub, err := pgp.PublicKeyFromBytes(kp.Public)
	if err != nil {
		t.Fatal(err)
	}
	share := []byte("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff01")
	ct, err := pgp.Encrypt(share, pub)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, share) {
		t.Fatal("ciphertext contains the plaintext")
	}
	keys, err := pgp.ReadPrivateKeys(kp.Private, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgp.DecryptShare(base64.StdEncoding.EncodeToString(ct), keys)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, share) {
		t.Fatalf("DecryptShare = %q, want %q", got, share)
	}

	// Another keyholder's key cannot decrypt it.
	other, err := pgp.ReadPrivateKeys(genPair(t).Private, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pgp.Decrypt(ct, other); !errors.Is(err, pgp.ErrDecrypt) {
		t.Fatalf("Decrypt with the wrong key: %v, want ErrDecrypt", err)
	}
}

func TestBadInput(t *testing.T) {
	for name, in := range map[string]string{
		"not base64":  "%%%",
		"not a key":   base64.StdEncoding.EncodeToString([]byte("hello")),
		"empty":       "",
		"private key": base64.StdEncoding.EncodeToString([]byte("-----BEGIN PGP PRIVATE KEY BLOCK-----")),
	} {
		if _, err := pgp.Encrypt([]byte("x"), in); !errors.Is(err, pgp.ErrBadKey) {
			t.Errorf("Encrypt(%s) = %v, want ErrBadKey", name, err)
		}
	}
	if _, err := pgp.ReadKeyFile("keybase:alice"); !errors.Is(err, pgp.ErrKeybase) {
		t.Errorf("ReadKeyFile(keybase:) = %v, want ErrKeybase", err)
	}
	if _, err := pgp.ReadKeyFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("ReadKeyFile(missing) = nil error")
	}
	if _, err := pgp.ReadPrivateKeys(genPair(t).Public, nil); !errors.Is(err, pgp.ErrDecrypt) {
		t.Errorf("ReadPrivateKeys(public key) = %v, want ErrDecrypt", err)
	}
}

func TestReadPrivateKeys_Passphrase(t *testing.T) {
	kp := genPair(t)
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(kp.Private))
	if err != nil {
		t.Fatal(err)
	}
	if err := el[0].EncryptPrivateKeys([]byte("s3cret"), nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := el[0].SerializePrivateWithoutSigning(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pgp.ReadPrivateKeys(buf.Bytes(), nil); !errors.Is(err, pgp.ErrDecrypt) {
		t.Errorf("no passphrase: %v, want ErrDecrypt", err)
	}
	if _, err := pgp.ReadPrivateKeys(buf.Bytes(), []byte("wrong")); !errors.Is(err, pgp.ErrDecrypt) {
		t.Errorf("wrong passphrase: %v, want ErrDecrypt", err)
	}
	if _, err := pgp.ReadPrivateKeys(buf.Bytes(), []byte("s3cret")); err != nil {
		t.Errorf("right passphrase: %v", err)
	}
}

func FuzzPublicKeyFromBytes(f *testing.F) {
	kp, err := pgp.Generate("F", "f@example.com")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(kp.Public)
	f.Add([]byte("mQENBF"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		b64, err := pgp.PublicKeyFromBytes(data)
		if err != nil {
			return
		}
		if _, err := pgp.ParsePublicKey(b64); err != nil {
			t.Fatalf("PublicKeyFromBytes accepted a key ParsePublicKey refuses: %v", err)
		}
	})
}
