package ceremony

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/google/uuid"

	"github.com/vaultd/vaultd/seal"
)

// rootTokenLength is the length of a generated root token ("hvs." and 24
// base62 characters), and so of the one-time password of the OTP flow.
const rootTokenLength = 28

// genRootAttempt is a generate-root attempt in progress.
type genRootAttempt struct {
	nonce string
	// otp is the one-time password the new token is XORed with (OTP flow);
	// nil when the token is encrypted to pgpKey instead.
	otp    seal.Secret
	pgpKey string
	shares *seal.Unsealer
}

func (s *Service) dropGenRootLocked() {
	if s.genRoot != nil {
		s.genRoot.shares.Reset()
		s.genRoot.otp.Zero()
		s.genRoot = nil
	}
}

func (s *Service) genRootStatus(ctx context.Context) (map[string]any, error) {
	cur, err := s.cfg.Barrier.SealConfig(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.genRootStatusLocked(cur), nil
}

func (s *Service) genRootStatusLocked(cur *seal.Config) map[string]any {
	out := map[string]any{
		"started": false, "nonce": "", "progress": 0, "required": cur.Threshold, "complete": false,
		"encoded_token": "", "encoded_root_token": "", "pgp_fingerprint": "", "otp": "", "otp_length": rootTokenLength,
	}
	if a := s.genRoot; a != nil {
		out["started"], out["nonce"] = true, a.nonce
		if a.pgpKey != "" {
			out["pgp_fingerprint"] = s.fingerprint(a.pgpKey)
		}
		if p := a.shares.Progress(); p.Threshold == cur.Threshold {
			out["progress"] = p.N
		}
	}
	return out
}

// genRootInit starts an attempt. With neither otp nor pgp_key the server
// makes the OTP and returns it once, in this response (Vault ≥ 1.10).
func (s *Service) genRootInit(ctx context.Context, data map[string]any) (map[string]any, error) {
	cur, err := s.cfg.Barrier.SealConfig(ctx)
	if err != nil {
		return nil, err
	}
	otp, _ := data["otp"].(string)
	pgpKey, _ := data["pgp_key"].(string)
	a := &genRootAttempt{nonce: uuid.NewString(), pgpKey: pgpKey, shares: seal.NewUnsealer()}
	madeOTP := false
	switch {
	case otp != "" && pgpKey != "":
		return nil, badRequest("only one of \"otp\" and \"pgp_key\" may be given")
	case pgpKey != "":
		if err := s.checkPGPKeys([]string{pgpKey}); err != nil {
			return nil, err
		}
	case otp != "":
		if len(otp) != rootTokenLength {
			return nil, badRequest("OTP string is wrong length: %d, want %d", len(otp), rootTokenLength)
		}
		a.otp = seal.Secret(otp)
	default:
		gen, err := s.cfg.RandomID(rootTokenLength)
		if err != nil {
			return nil, err
		}
		otp, madeOTP = gen, true
		a.otp = seal.Secret(gen)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.genRoot != nil {
		return nil, badRequest("root generation already in progress")
	}
	s.genRoot = a
	s.log.Info("root token generation started", "pgp", pgpKey != "")
	out := s.genRootStatusLocked(cur)
	if madeOTP {
		out["otp"] = otp // once, and only when the server made it
	}
	return out, nil
}

func (s *Service) genRootCancel(data map[string]any) (map[string]any, error) {
	nonce, _ := data["nonce"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.genRoot
	if a == nil {
		return nil, nil
	}
	if nonce != "" && nonce != a.nonce {
		return nil, badRequest("incorrect nonce")
	}
	s.dropGenRootLocked()
	s.log.Info("root token generation cancelled")
	return nil, nil
}

func (s *Service) genRootUpdate(ctx context.Context, data map[string]any) (map[string]any, error) {
	share, nonce, cur, err := s.ceremonyInput(ctx, data)
	if err != nil {
		return nil, err
	}
	defer clear(share)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.genRoot
	if a == nil {
		return nil, badRequest("no root generation in progress")
	}
	key, done, err := s.addCeremonyShare(ctx, cur, a.shares, a.nonce, nonce, share, "root generation", "generate-root")
	if err != nil {
		return nil, err
	}
	if !done {
		return s.genRootStatusLocked(cur), nil
	}
	defer key.Zero()
	token, err := s.cfg.MintRoot(ctx)
	if err != nil {
		return nil, fmt.Errorf("ceremony: generate root: %w", err)
	}
	encoded, err := s.encodeRootToken(a, token)
	if err != nil {
		return nil, err
	}
	s.dropGenRootLocked()
	s.log.Info("root token generated")
	out := s.genRootStatusLocked(cur)
	out["started"], out["nonce"], out["progress"], out["complete"] = true, a.nonce, cur.Threshold, true
	out["encoded_token"], out["encoded_root_token"] = encoded, encoded
	return out, nil
}

// encodeRootToken returns base64(token XOR otp) without padding (Vault's
// roottoken.EncodeToken), or base64 of the token encrypted to the PGP key.
func (s *Service) encodeRootToken(a *genRootAttempt, token string) (string, error) {
	if a.pgpKey != "" {
		ct, err := s.cfg.Encrypter([]byte(token), a.pgpKey)
		if err != nil {
			return "", fmt.Errorf("ceremony: generate root: encrypting the token: %w", err)
		}
		return base64.StdEncoding.EncodeToString(ct), nil
	}
	if len(token) != len(a.otp) {
		return "", fmt.Errorf("ceremony: generate root: token length %d differs from the OTP length %d", len(token), len(a.otp))
	}
	x := make([]byte, len(token))
	for i := range x {
		x[i] = token[i] ^ a.otp[i]
	}
	return base64.RawStdEncoding.EncodeToString(x), nil
}
