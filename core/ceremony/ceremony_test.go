package ceremony_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/vaultd/vaultd/core/ceremony"
	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/seal/shamir"
	"github.com/vaultd/vaultd/secrets"
)

// fakeBarrier holds a 32-byte unseal key split 3/2.
type fakeBarrier struct {
	key      []byte
	cfg      seal.Config
	rekeyed  *seal.Config
	newShare [][]byte
}

func (f *fakeBarrier) SealConfig(context.Context) (*seal.Config, error) { c := f.cfg; return &c, nil }
func (f *fakeBarrier) CheckKey(_ context.Context, k []byte) error {
	if !bytes.Equal(k, f.key) {
		return seal.ErrInvalidKey
	}
	return nil
}
func (f *fakeBarrier) PrepareRekey(cfg seal.Config) (*seal.RekeyPlan, error) {
	p, err := seal.NewRekeyPlan(cfg)
	if err != nil {
		return nil, err
	}
	f.newShare = nil
	for _, s := range p.Shares() {
		f.newShare = append(f.newShare, bytes.Clone(s))
	}
	return p, nil
}

func (f *fakeBarrier) CommitRekey(_ context.Context, p *seal.RekeyPlan) error {
	cfg := p.Config()
	f.rekeyed = &cfg
	return nil
}

func setup(t *testing.T) (*ceremony.Service, *fakeBarrier, []string) {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	parts, err := shamir.Split(key, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	shares := make([]string, len(parts))
	for i, p := range parts {
		shares[i] = hex.EncodeToString(p)
	}
	fb := &fakeBarrier{key: key, cfg: seal.Config{Shares: 3, Threshold: 2}}
	s := ceremony.New(ceremony.Config{
		Barrier:  fb,
		MintRoot: func(context.Context) (string, error) { return "hvs.0123456789abcdefghijklmn", nil },
		RandomID: func(n int) (string, error) { return string(bytes.Repeat([]byte("k"), n)), nil },
	})
	return s, fb, shares
}

func call(t *testing.T, s *ceremony.Service, op secrets.Operation, path string, data map[string]any) map[string]any {
	t.Helper()
	out, err := s.Handle(context.Background(), op, path, data)
	if err != nil {
		t.Fatalf("%s %s: %v", op, path, err)
	}
	return out
}

func TestRekey(t *testing.T) {
	s, fb, shares := setup(t)
	st := call(t, s, secrets.OpUpdate, "sys/rekey/init", map[string]any{"secret_shares": 5.0, "secret_threshold": 3.0})
	nonce, _ := st["nonce"].(string)
	if st["started"] != true || nonce == "" {
		t.Fatalf("init: %v", st)
	}
	if _, err := s.Handle(context.Background(), secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": shares[0], "nonce": "wrong"}); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("a wrong nonce: %v", err)
	}
	if st := call(t, s, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": shares[0], "nonce": nonce}); st["complete"] != false || st["progress"] != 1 {
		t.Fatalf("first share: %v", st)
	}
	done := call(t, s, secrets.OpUpdate, "sys/rekey/update", map[string]any{"key": shares[2], "nonce": nonce})
	if done["complete"] != true || fb.rekeyed == nil || *fb.rekeyed != (seal.Config{Shares: 5, Threshold: 3}) {
		t.Fatalf("rekey did not complete: %v", done)
	}
	keys := done["keys"].([]string)
	if len(keys) != 5 || keys[1] != hex.EncodeToString(fb.newShare[1]) {
		t.Fatalf("keys = %v", keys)
	}
	if st := call(t, s, secrets.OpRead, "sys/rekey/init", nil); st["started"] != false {
		t.Fatalf("the attempt survived completion: %v", st)
	}
}

func TestGenerateRootOTP(t *testing.T) {
	s, _, shares := setup(t)
	st := call(t, s, secrets.OpUpdate, "sys/generate-root/attempt", nil)
	otp, _ := st["otp"].(string)
	nonce, _ := st["nonce"].(string)
	if len(otp) != 28 || nonce == "" {
		t.Fatalf("attempt: %v", st)
	}
	call(t, s, secrets.OpUpdate, "sys/generate-root/update", map[string]any{"key": shares[1], "nonce": nonce})
	done := call(t, s, secrets.OpUpdate, "sys/generate-root/update", map[string]any{"key": shares[0], "nonce": nonce})
	enc, _ := done["encoded_token"].(string)
	x, err := base64.RawStdEncoding.DecodeString(enc)
	if err != nil || len(x) != len(otp) {
		t.Fatalf("encoded_token %q: %v", enc, err)
	}
	for i := range x {
		x[i] ^= otp[i]
	}
	if string(x) != "hvs.0123456789abcdefghijklmn" {
		t.Fatalf("decoded token %q is not the minted one", x)
	}
}

func TestWrongKeyResetsAndResetCancels(t *testing.T) {
	s, _, _ := setup(t)
	st := call(t, s, secrets.OpUpdate, "sys/generate-root/attempt", nil)
	nonce := st["nonce"].(string)
	bogus := make([]byte, 33)
	for i, b := range []byte{1, 2} {
		bogus[32] = b
		_, err := s.Handle(context.Background(), secrets.OpUpdate, "sys/generate-root/update", map[string]any{"key": hex.EncodeToString(bogus), "nonce": nonce})
		if i == 1 && !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Fatalf("shares of a wrong key: %v, want 400", err)
		}
	}
	s.Reset()
	if st := call(t, s, secrets.OpRead, "sys/generate-root/attempt", nil); st["started"] != false {
		t.Fatalf("Reset left the attempt: %v", st)
	}
	if _, err := s.Handle(context.Background(), secrets.OpUpdate, "sys/rekey/verify", map[string]any{"key": "00", "nonce": "x"}); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("rekey/verify without a verification in progress: %v", err)
	}
	if !ceremony.IsPath("sys/rekey/init") || ceremony.IsPath("sys/mounts") {
		t.Fatal("IsPath")
	}
}
