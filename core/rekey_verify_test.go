package core_test

import (
	"context"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/secrets"
)

func decodeKeys(t *testing.T, v any) [][]byte {
	t.Helper()
	ks, _ := v.([]string)
	var out [][]byte
	for _, k := range ks {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// rekeyTo runs sys/rekey/init with body and submits the threshold (3) of
// old shares; it returns the final update's answer.
func (n *cerNode) rekeyTo(body map[string]any) map[string]any {
	n.t.Helper()
	st := n.raw(n.root, secrets.OpUpdate, "sys/rekey/init", body)
	nonce := st["nonce"].(string)
	var up map[string]any
	for _, s := range n.shares[:3] {
		up = n.raw(n.root, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": b64(s), "nonce": nonce})
	}
	if up["complete"] != true {
		n.t.Fatalf("rekey not complete after the threshold: %v", up)
	}
	return up
}

// Issue 10 item 8: with require_verification the new shares are pending
// until a threshold of them is presented back; until then the old shares
// unseal, so an answer lost on its way to the keyholders costs nothing.
func TestRekey_RequireVerification(t *testing.T) {
	n := newCerNode(t)
	up := n.rekeyTo(map[string]any{"secret_shares": 3, "secret_threshold": 2, "require_verification": true})
	vnonce, _ := up["verification_nonce"].(string)
	if up["verification_required"] != true || vnonce == "" {
		t.Fatalf("final update = %v", up)
	}
	fresh := decodeKeys(t, up["keys_base64"])
	if len(fresh) != 3 {
		t.Fatalf("new shares = %d", len(fresh))
	}
	st := n.raw(n.root, secrets.OpRead, "sys/rekey/init", nil)
	if st["started"] != true || st["verification_required"] != true || st["verification_nonce"] != vnonce || st["required"] != 3 {
		t.Fatalf("status while verifying = %v (the old configuration must still be in force)", st)
	}
	n.fails(n.root, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": b64(n.shares[0]), "nonce": st["nonce"]}, secrets.ErrInvalidRequest, "verification")
	vs := n.raw(n.root, secrets.OpRead, "sys/rekey/verify", nil)
	if vs["nonce"] != vnonce || vs["t"] != 2 || vs["n"] != 3 || vs["progress"] != 0 {
		t.Fatalf("verify status = %v", vs)
	}
	n.fails(n.root, secrets.OpUpdate, "sys/rekey/verify", map[string]any{"key": b64(fresh[0]), "nonce": "wrong"}, secrets.ErrInvalidRequest, "incorrect nonce")
	// Old shares are not new shares: two of them fail and reset progress.
	n.raw(n.root, secrets.OpUpdate, "sys/rekey/verify", map[string]any{"key": b64(n.shares[0]), "nonce": vnonce})
	n.fails(n.root, secrets.OpUpdate, "sys/rekey/verify", map[string]any{"key": b64(n.shares[1]), "nonce": vnonce}, secrets.ErrInvalidRequest, "do not combine")
	// DELETE restarts the verification with a new nonce.
	vs = n.raw(n.root, secrets.OpDelete, "sys/rekey/verify", nil)
	vnonce = vs["nonce"].(string)
	v1 := n.raw(n.root, secrets.OpUpdate, "sys/rekey/verify", map[string]any{"key": b64(fresh[2]), "nonce": vnonce})
	if v1["complete"] != false || v1["progress"] != 1 {
		t.Fatalf("first verify = %v", v1)
	}
	v2 := n.raw(n.root, secrets.OpUpdate, "sys/rekey/verify", map[string]any{"key": b64(fresh[0]), "nonce": vnonce})
	if v2["complete"] != true || v2["nonce"] != vnonce {
		t.Fatalf("final verify = %v", v2)
	}
	if st := n.raw(n.root, secrets.OpRead, "sys/rekey/init", nil); st["started"] != false || st["required"] != 2 {
		t.Fatalf("status after verification = %v", st)
	}
	n.c.SealNode()
	var err error
	for _, s := range n.shares[:2] { // the new threshold is 2
		_, err = n.c.Unseal(context.Background(), s)
	}
	if !errors.Is(err, core.ErrInvalidKey) {
		t.Fatalf("old shares after a verified rekey: %v, want ErrInvalidKey", err)
	}
	n.c.ResetUnseal(context.Background())
	n.unseal(fresh[1:])
}

// The answer with the new shares is lost: cancelling leaves the old
// shares in force.
func TestRekey_LostAnswerWithVerification(t *testing.T) {
	n := newCerNode(t)
	n.rekeyTo(map[string]any{"secret_shares": 3, "secret_threshold": 2, "require_verification": true})
	n.raw(n.root, secrets.OpDelete, "sys/rekey/init", nil)
	n.c.SealNode()
	n.unseal(n.shares[2:5])
}

// Issue 10 item 8: if encrypting a new share fails, the rekey fails and
// returns nothing; the old shares stay in force.
func TestRekey_EncryptionFailureFailsClosed(t *testing.T) {
	n := newCerNode(t)
	st := n.raw(n.root, secrets.OpUpdate, "sys/rekey/init", map[string]any{"secret_shares": 2, "secret_threshold": 2, "pgp_keys": []any{"k1", "late-bad"}})
	nonce := st["nonce"].(string)
	for i, s := range n.shares[:3] {
		resp, err := n.do(n.root, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": b64(s), "nonce": nonce})
		if i < 2 {
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err == nil {
			t.Fatalf("rekey with a failing PGP key succeeded: %v", resp.Raw)
		}
		if resp != nil && resp.Raw["keys"] != nil {
			t.Fatal("shares returned by a failed rekey")
		}
		if !strings.Contains(err.Error(), "old unseal key stays") {
			t.Fatalf("error = %v", err)
		}
	}
	n.c.SealNode()
	n.unseal(n.shares[:3])
}

// Issue 10 item 8: backup stores the PGP-encrypted shares; status shows
// the fingerprints (rekey and generate-root).
func TestRekey_BackupAndFingerprints(t *testing.T) {
	n := newCerNode(t)
	n.fails(n.root, secrets.OpRead, "sys/rekey/backup", nil, secrets.ErrNotFound, "")
	st := n.raw(n.root, secrets.OpUpdate, "sys/rekey/init", map[string]any{"secret_shares": 2, "secret_threshold": 2, "pgp_keys": []any{"k1", "k2"}, "backup": true})
	if !reflect.DeepEqual(st["pgp_fingerprints"], []string{"fp-k1", "fp-k2"}) || st["backup"] != true {
		t.Fatalf("status = %v", st)
	}
	n.raw(n.root, secrets.OpDelete, "sys/rekey/init", nil)
	up := n.rekeyTo(map[string]any{"secret_shares": 2, "secret_threshold": 2, "pgp_keys": []any{"k1", "k2"}, "backup": true})
	cts := decodeKeys(t, up["keys_base64"])
	br, err := n.do(n.root, secrets.OpRead, "sys/rekey/backup", nil)
	if err != nil {
		t.Fatal(err)
	}
	bk, _ := br.Raw["data"].(map[string]any)
	keys, _ := bk["keys_base64"].(map[string][]string)
	if bk["nonce"] != up["nonce"] || len(keys["fp-k1"]) != 1 || keys["fp-k1"][0] != base64.StdEncoding.EncodeToString(cts[0]) {
		t.Fatalf("backup = %v", bk)
	}
	fakeDec(t, cts[1], "k2")
	if _, err := n.do(n.root, secrets.OpDelete, "sys/rekey/backup", nil); err != nil {
		t.Fatal(err)
	}
	n.fails(n.root, secrets.OpRead, "sys/rekey/backup", nil, secrets.ErrNotFound, "")

	g := n.raw(n.root, secrets.OpUpdate, "sys/generate-root/attempt", map[string]any{"pgp_key": "k9"})
	if g["pgp_fingerprint"] != "fp-k9" {
		t.Fatalf("generate-root status = %v", g)
	}
}
