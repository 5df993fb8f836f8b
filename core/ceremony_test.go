package core_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage/inmem"
)

// fakeEnc "encrypts" to a key by prefixing it; key "bad" fails. It lets
// the tests see exactly what core hands to the ShareEncrypter.
func fakeEnc(plain []byte, key string) ([]byte, error) {
	if key == "bad" {
		return nil, errors.New("unusable key")
	}
	if key == "late-bad" && string(plain) != "vaultd key check" { // passes the check at init, fails at the end
		return nil, errors.New("key became unusable")
	}
	return append([]byte("enc("+key+"):"), plain...), nil
}

func fakeDec(t *testing.T, ct []byte, key string) []byte {
	t.Helper()
	p := []byte("enc(" + key + "):")
	if !bytes.HasPrefix(ct, p) {
		t.Fatalf("ciphertext %q is not for key %q", ct, key)
	}
	return ct[len(p):]
}

// cerNode is a core initialised 5/3, unsealed and active.
type cerNode struct {
	t      *testing.T
	c      *core.Core
	root   string
	shares [][]byte
}

func newCerNode(t *testing.T) *cerNode {
	t.Helper()
	c, err := core.New(core.Config{
		Storage: inmem.New(), Cluster: core.NewStandaloneCluster("n1"), Engines: map[string]secrets.Factory{},
		Logger: slog.New(slog.DiscardHandler), ShareEncrypter: fakeEnc,
		PGPFingerprint: func(k string) (string, error) { return "fp-" + k, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := runCore(t, c)
	res, err := c.Init(ctx, core.InitRequest{SecretShares: 5, SecretThreshold: 3}, fakeEnc)
	if err != nil {
		t.Fatal(err)
	}
	n := &cerNode{t: t, c: c, root: res.RootToken}
	for _, s := range res.Shares {
		n.shares = append(n.shares, append([]byte(nil), s...))
	}
	n.unseal(n.shares[:3])
	return n
}

func (n *cerNode) unseal(shares [][]byte) {
	n.t.Helper()
	for _, s := range shares {
		if _, err := n.c.Unseal(context.Background(), s); err != nil {
			n.t.Fatalf("unseal: %v", err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for !n.c.IsActive() {
		if time.Now().After(deadline) {
			n.t.Fatal("node did not become active")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (n *cerNode) do(token string, op secrets.Operation, path string, data map[string]any) (*core.Response, error) {
	return n.c.HandleRequest(context.Background(), &core.Request{ID: "r", Operation: op, Path: path, Data: data, ClientToken: token})
}

func (n *cerNode) raw(token string, op secrets.Operation, path string, data map[string]any) map[string]any {
	n.t.Helper()
	resp, err := n.do(token, op, path, data)
	if err != nil {
		n.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp.Raw
}

func (n *cerNode) fails(token string, op secrets.Operation, path string, data map[string]any, kind error, msg string) {
	n.t.Helper()
	_, err := n.do(token, op, path, data)
	if !errors.Is(err, kind) || !strings.Contains(err.Error(), msg) {
		n.t.Fatalf("%s %s: err = %v, want %v containing %q", op, path, err, kind, msg)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestCeremony_NeedsSudoToken(t *testing.T) {
	n := newCerNode(t)
	resp, err := n.do(n.root, secrets.OpUpdate, "auth/token/create", map[string]any{"policies": []any{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	plain := resp.Auth.ClientToken
	for _, tc := range []struct {
		op   secrets.Operation
		path string
	}{
		{secrets.OpRead, "sys/rekey/init"},
		{secrets.OpUpdate, "sys/rekey/init"},
		{secrets.OpDelete, "sys/rekey/init"},
		{secrets.OpUpdate, "sys/rekey/update"},
		{secrets.OpRead, "sys/generate-root/attempt"},
		{secrets.OpUpdate, "sys/generate-root/attempt"},
		{secrets.OpDelete, "sys/generate-root/attempt"},
		{secrets.OpUpdate, "sys/generate-root/update"},
	} {
		for name, tok := range map[string]string{"no token": "", "bogus": "hvs.bogus", "no sudo": plain} {
			if _, err := n.do(tok, tc.op, tc.path, map[string]any{"secret_shares": 1, "secret_threshold": 1}); !errors.Is(err, secrets.ErrPermissionDenied) {
				t.Errorf("%s %s with %s: err = %v, want permission denied", tc.op, tc.path, name, err)
			}
		}
	}
}

func TestRekey_FullFlow(t *testing.T) {
	n := newCerNode(t)
	st := n.raw(n.root, secrets.OpRead, "sys/rekey/init", nil)
	if st["started"] != false || st["required"] != 3 {
		t.Fatalf("status before init = %v", st)
	}
	n.fails(n.root, secrets.OpUpdate, "sys/rekey/init", map[string]any{"secret_shares": 2, "secret_threshold": 3}, secrets.ErrInvalidRequest, "threshold")
	n.fails(n.root, secrets.OpUpdate, "sys/rekey/init", map[string]any{"secret_shares": 3, "secret_threshold": 2, "backup": true}, secrets.ErrInvalidRequest, "backup")
	n.fails(n.root, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": b64(n.shares[0]), "nonce": "x"}, secrets.ErrInvalidRequest, "no rekey in progress")

	st = n.raw(n.root, secrets.OpUpdate, "sys/rekey/init", map[string]any{"secret_shares": "3", "secret_threshold": 2.0})
	nonce, _ := st["nonce"].(string)
	if st["started"] != true || nonce == "" || st["n"] != 3 || st["t"] != 2 || st["progress"] != 0 {
		t.Fatalf("init = %v", st)
	}
	n.fails(n.root, secrets.OpUpdate, "sys/rekey/init", map[string]any{"secret_shares": 3, "secret_threshold": 2}, secrets.ErrInvalidRequest, "already in progress")
	n.fails(n.root, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": b64(n.shares[0]), "nonce": "wrong"}, secrets.ErrInvalidRequest, "incorrect nonce")
	n.fails(n.root, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": "!!", "nonce": nonce}, secrets.ErrInvalidRequest, "hex or base64")
	if _, err := n.do(n.root, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": b64(n.shares[0][:10]), "nonce": nonce}); !errors.Is(err, core.ErrInvalidShare) {
		t.Fatalf("short share: %v, want ErrInvalidShare", err)
	}
	for i, s := range n.shares[:2] {
		key := b64(s)
		if i == 1 {
			key = hex.EncodeToString(s)
		}
		up := n.raw(n.root, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": key, "nonce": nonce})
		if up["complete"] != false || up["progress"] != i+1 {
			t.Fatalf("update %d = %v", i, up)
		}
	}
	up := n.raw(n.root, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": b64(n.shares[4]), "nonce": nonce})
	keys, _ := up["keys_base64"].([]string)
	if up["complete"] != true || len(keys) != 3 || up["nonce"] != nonce {
		t.Fatalf("final update = %v", up)
	}
	if st := n.raw(n.root, secrets.OpRead, "sys/rekey/init", nil); st["started"] != false || st["required"] != 2 {
		t.Fatalf("status after rekey = %v", st)
	}

	// The old shares no longer unseal; two new ones do.
	n.c.SealNode()
	var err error
	for _, s := range n.shares[:2] {
		_, err = n.c.Unseal(context.Background(), s)
	}
	if !errors.Is(err, core.ErrInvalidKey) {
		t.Fatalf("unseal with two old shares after rekey: %v, want ErrInvalidKey", err)
	}
	var fresh [][]byte
	for _, k := range keys[1:] {
		b, _ := base64.StdEncoding.DecodeString(k)
		fresh = append(fresh, b)
	}
	n.c.ResetUnseal(context.Background())
	n.unseal(fresh)
}

func TestRekey_OldSharesRejectedAfterRekey(t *testing.T) {
	n := newCerNode(t)
	st := n.raw(n.root, secrets.OpUpdate, "sys/rekey/init", map[string]any{"secret_shares": 5, "secret_threshold": 3})
	nonce := st["nonce"].(string)
	var up map[string]any
	for _, s := range n.shares[:3] {
		up = n.raw(n.root, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": b64(s), "nonce": nonce})
	}
	if up["complete"] != true {
		t.Fatalf("rekey did not complete: %v", up)
	}
	// Same 5/3 configuration: old shares have the right shape but combine
	// into the wrong key.
	n.c.SealNode()
	var err error
	for _, s := range n.shares[:3] {
		_, err = n.c.Unseal(context.Background(), s)
	}
	if !errors.Is(err, core.ErrInvalidKey) {
		t.Fatalf("unseal with old shares: %v, want ErrInvalidKey", err)
	}
}

func TestRekey_WrongSharesResetProgress(t *testing.T) {
	n := newCerNode(t)
	other := newCerNode(t) // another vault's shares: right shape, wrong key
	st := n.raw(n.root, secrets.OpUpdate, "sys/rekey/init", map[string]any{"secret_shares": 3, "secret_threshold": 2})
	nonce := st["nonce"].(string)
	n.raw(n.root, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": b64(other.shares[0]), "nonce": nonce})
	n.raw(n.root, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": b64(other.shares[1]), "nonce": nonce})
	n.fails(n.root, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": b64(other.shares[2]), "nonce": nonce}, secrets.ErrInvalidRequest, "progress was reset")
	st = n.raw(n.root, secrets.OpRead, "sys/rekey/init", nil)
	if st["started"] != true || st["progress"] != 0 || st["nonce"] != nonce {
		t.Fatalf("after a wrong combination = %v, want the attempt kept with progress 0", st)
	}
	// Cancel: wrong nonce refused, right one (or none) accepted.
	n.fails(n.root, secrets.OpDelete, "sys/rekey/init", map[string]any{"nonce": "nope"}, secrets.ErrInvalidRequest, "incorrect nonce")
	if resp, err := n.do(n.root, secrets.OpDelete, "sys/rekey/init", map[string]any{"nonce": nonce}); err != nil || resp.Raw != nil {
		t.Fatalf("cancel = %v, %v", resp, err)
	}
	if st := n.raw(n.root, secrets.OpRead, "sys/rekey/init", nil); st["started"] != false {
		t.Fatalf("after cancel = %v", st)
	}
	n.fails(n.root, secrets.OpRead, "sys/rekey/verify", nil, secrets.ErrInvalidRequest, "verification")
}

func TestRekey_PGP(t *testing.T) {
	n := newCerNode(t)
	n.fails(n.root, secrets.OpUpdate, "sys/rekey/init", map[string]any{"secret_shares": 2, "secret_threshold": 2, "pgp_keys": []any{"k1"}}, secrets.ErrInvalidRequest, "number of PGP keys")
	n.fails(n.root, secrets.OpUpdate, "sys/rekey/init", map[string]any{"secret_shares": 2, "secret_threshold": 2, "pgp_keys": []any{"k1", "bad"}}, secrets.ErrInvalidRequest, "PGP key 2")
	st := n.raw(n.root, secrets.OpUpdate, "sys/rekey/init", map[string]any{"secret_shares": 2, "secret_threshold": 2, "pgp_keys": []any{"k1", "k2"}})
	nonce := st["nonce"].(string)
	var up map[string]any
	for _, s := range n.shares[2:5] {
		up = n.raw(n.root, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": b64(s), "nonce": nonce})
	}
	keys := up["keys_base64"].([]string)
	var fresh [][]byte
	for i, k := range keys {
		ct, _ := base64.StdEncoding.DecodeString(k)
		h := fakeDec(t, ct, []string{"k1", "k2"}[i])
		s, err := hex.DecodeString(string(h))
		if err != nil || len(s) != 33 {
			t.Fatalf("share %d: encrypted payload %q is not a hex share", i, h)
		}
		fresh = append(fresh, s)
	}
	n.c.SealNode()
	n.unseal(fresh)
}

func TestGenerateRoot_OTP(t *testing.T) {
	n := newCerNode(t)
	st := n.raw(n.root, secrets.OpRead, "sys/generate-root/attempt", nil)
	if st["started"] != false || st["otp_length"] != 28 || st["required"] != 3 {
		t.Fatalf("status = %v", st)
	}
	n.fails(n.root, secrets.OpUpdate, "sys/generate-root/attempt", map[string]any{"otp": "short"}, secrets.ErrInvalidRequest, "wrong length")
	n.fails(n.root, secrets.OpUpdate, "sys/generate-root/attempt", map[string]any{"otp": strings.Repeat("a", 28), "pgp_key": "k"}, secrets.ErrInvalidRequest, "only one")
	st = n.raw(n.root, secrets.OpUpdate, "sys/generate-root/attempt", nil)
	otp, _ := st["otp"].(string)
	nonce, _ := st["nonce"].(string)
	if len(otp) != 28 || nonce == "" || st["started"] != true {
		t.Fatalf("attempt = %v", st)
	}
	if again := n.raw(n.root, secrets.OpRead, "sys/generate-root/attempt", nil); again["otp"] != "" || again["nonce"] != nonce {
		t.Fatalf("the OTP must be shown once only: %v", again)
	}
	n.fails(n.root, secrets.OpUpdate, "sys/generate-root/attempt", nil, secrets.ErrInvalidRequest, "already in progress")
	var up map[string]any
	for _, s := range n.shares[1:4] {
		up = n.raw(n.root, secrets.OpUpdate, "sys/generate-root/update", map[string]any{"key": b64(s), "nonce": nonce})
	}
	enc, _ := up["encoded_token"].(string)
	if up["complete"] != true || enc == "" || up["encoded_root_token"] != enc {
		t.Fatalf("final update = %v", up)
	}
	raw, err := base64.RawStdEncoding.DecodeString(enc)
	if err != nil || len(raw) != 28 {
		t.Fatalf("encoded token %q: %v", enc, err)
	}
	for i := range raw {
		raw[i] ^= otp[i]
	}
	tok := string(raw)
	if !strings.HasPrefix(tok, "hvs.") || tok == n.root {
		t.Fatalf("decoded token %q", tok)
	}
	// The new token is a root token.
	if _, err := n.do(tok, secrets.OpRead, "sys/generate-root/attempt", nil); err != nil {
		t.Fatalf("the generated token cannot read a sudo path: %v", err)
	}
	if st := n.raw(n.root, secrets.OpRead, "sys/generate-root/attempt", nil); st["started"] != false {
		t.Fatalf("attempt still open after completion: %v", st)
	}
}

func TestGenerateRoot_PGPAndCancelOnSeal(t *testing.T) {
	n := newCerNode(t)
	n.fails(n.root, secrets.OpUpdate, "sys/generate-root/attempt", map[string]any{"pgp_key": "bad"}, secrets.ErrInvalidRequest, "PGP key")
	st := n.raw(n.root, secrets.OpUpdate, "sys/generate-root/attempt", map[string]any{"pgp_key": "ops"})
	if st["otp"] != "" {
		t.Fatalf("a PGP attempt returned an OTP: %v", st)
	}
	nonce := st["nonce"].(string)
	var up map[string]any
	for _, s := range n.shares[:3] {
		up = n.raw(n.root, secrets.OpUpdate, "sys/generate-root/update", map[string]any{"key": b64(s), "nonce": nonce})
	}
	ct, _ := base64.StdEncoding.DecodeString(up["encoded_token"].(string))
	tok := string(fakeDec(t, ct, "ops"))
	if !strings.HasPrefix(tok, "hvs.") {
		t.Fatalf("decrypted token %q", tok)
	}

	// Seal drops an attempt in progress.
	st = n.raw(n.root, secrets.OpUpdate, "sys/generate-root/attempt", nil)
	n.raw(n.root, secrets.OpUpdate, "sys/generate-root/update", map[string]any{"key": b64(n.shares[0]), "nonce": st["nonce"]})
	n.raw(n.root, secrets.OpUpdate, "sys/rekey/init", map[string]any{"secret_shares": 1, "secret_threshold": 1})
	n.c.SealNode()
	n.unseal(n.shares[:3])
	if st := n.raw(n.root, secrets.OpRead, "sys/generate-root/attempt", nil); st["started"] != false {
		t.Fatalf("generate-root attempt survived a seal: %v", st)
	}
	if st := n.raw(n.root, secrets.OpRead, "sys/rekey/init", nil); st["started"] != false {
		t.Fatalf("rekey attempt survived a seal: %v", st)
	}
}

func TestInit_PGP(t *testing.T) {
	c, err := core.New(core.Config{Storage: inmem.New(), Cluster: core.NewStandaloneCluster("n1"), Engines: map[string]secrets.Factory{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Init(ctx, core.InitRequest{SecretShares: 2, SecretThreshold: 2, PGPKeys: []string{"a", "bad"}}, fakeEnc); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("init with a bad key: %v, want ErrInvalidRequest", err)
	}
	if c.Status(ctx).Initialized {
		t.Fatal("a refused PGP key left the vault initialized (its shares would be lost)")
	}
	res, err := c.Init(ctx, core.InitRequest{SecretShares: 2, SecretThreshold: 2, PGPKeys: []string{"a", "b"}, RootTokenPGPKey: "r"}, fakeEnc)
	if err != nil {
		t.Fatal(err)
	}
	h := fakeDec(t, res.Shares[1], "b")
	if s, err := hex.DecodeString(string(h)); err != nil || len(s) != 33 {
		t.Fatalf("share 2 encrypts %q, want a hex share", h)
	}
	ct, err := base64.StdEncoding.DecodeString(res.RootToken)
	if err != nil {
		t.Fatalf("root token is not base64: %v", err)
	}
	if tok := fakeDec(t, ct, "r"); !bytes.HasPrefix(tok, []byte("hvs.")) {
		t.Fatalf("root token encrypts %q", tok)
	}
}

// Both ceremonies collect shares through the same code: a wrong nonce is
// refused, and a wrong combined key resets the progress with an error that
// names the ceremony.
func TestCeremonyUpdate_NonceAndWrongKey(t *testing.T) {
	tests := []struct {
		name, attempt, update string
		init                  map[string]any
		wantReset             string
	}{
		{"rekey", "sys/rekey/init", "sys/rekey/update", map[string]any{"secret_shares": 3, "secret_threshold": 2}, "rekey progress was reset"},
		{"generate-root", "sys/generate-root/attempt", "sys/generate-root/update", nil, "root generation progress was reset"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newCerNode(t)
			other := newCerNode(t) // another vault's shares: right shape, wrong key
			nonce := n.raw(n.root, secrets.OpUpdate, tc.attempt, tc.init)["nonce"].(string)
			n.fails(n.root, secrets.OpUpdate, tc.update, map[string]any{"key": b64(other.shares[0]), "nonce": "wrong"}, secrets.ErrInvalidRequest, "incorrect nonce")
			if up := n.raw(n.root, secrets.OpUpdate, tc.update, map[string]any{"key": b64(other.shares[0]), "nonce": nonce}); up["progress"] != 1 || up["complete"] != false {
				t.Fatalf("first share = %v, want progress 1, not complete", up)
			}
			n.raw(n.root, secrets.OpUpdate, tc.update, map[string]any{"key": b64(other.shares[1]), "nonce": nonce})
			n.fails(n.root, secrets.OpUpdate, tc.update, map[string]any{"key": b64(other.shares[2]), "nonce": nonce}, secrets.ErrInvalidRequest, tc.wantReset)
			if st := n.raw(n.root, secrets.OpRead, tc.attempt, nil); st["started"] != true || st["progress"] != 0 || st["nonce"] != nonce {
				t.Fatalf("after a wrong combination = %v, want the attempt kept with progress 0", st)
			}
		})
	}
}
