package core

import (
	"context"
	"encoding/base64"
	"fmt"
	"github.com/vaultd/vaultd/core/tokens"

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

func (o *operatorCeremonies) dropGenRootLocked() {
	if o.genRoot != nil {
		o.genRoot.shares.Reset()
		o.genRoot.otp.Zero()
		o.genRoot = nil
	}
}

func (c *Core) genRootStatus(ctx context.Context) (*Response, error) {
	cur, err := c.barrier.SealConfig(ctx)
	if err != nil {
		return nil, err
	}
	c.ceremonies.mu.Lock()
	defer c.ceremonies.mu.Unlock()
	return &Response{Raw: c.genRootStatusLocked(cur)}, nil
}

func (c *Core) genRootStatusLocked(cur *seal.Config) map[string]any {
	out := map[string]any{
		"started": false, "nonce": "", "progress": 0, "required": cur.Threshold, "complete": false,
		"encoded_token": "", "encoded_root_token": "", "pgp_fingerprint": "", "otp": "", "otp_length": rootTokenLength,
	}
	if a := c.ceremonies.genRoot; a != nil {
		out["started"], out["nonce"] = true, a.nonce
		if p := a.shares.Progress(); p.Threshold == cur.Threshold {
			out["progress"] = p.N
		}
	}
	return out
}

// genRootInit starts an attempt. With neither otp nor pgp_key the server
// makes the OTP and returns it once, in this response (Vault ≥ 1.10).
func (c *Core) genRootInit(ctx context.Context, data map[string]any) (*Response, error) {
	cur, err := c.barrier.SealConfig(ctx)
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
		if err := c.checkPGPKeys([]string{pgpKey}); err != nil {
			return nil, err
		}
	case otp != "":
		if len(otp) != rootTokenLength {
			return nil, badRequest("OTP string is wrong length: %d, want %d", len(otp), rootTokenLength)
		}
		a.otp = seal.Secret(otp)
	default:
		gen, err := tokens.RandomID(rootTokenLength)
		if err != nil {
			return nil, err
		}
		otp, madeOTP = gen, true
		a.otp = seal.Secret(gen)
	}
	c.ceremonies.mu.Lock()
	defer c.ceremonies.mu.Unlock()
	if c.ceremonies.genRoot != nil {
		return nil, badRequest("root generation already in progress")
	}
	c.ceremonies.genRoot = a
	c.log.Info("root token generation started", "pgp", pgpKey != "")
	out := c.genRootStatusLocked(cur)
	if madeOTP {
		out["otp"] = otp // once, and only when the server made it
	}
	return &Response{Raw: out}, nil
}

func (c *Core) genRootCancel(data map[string]any) (*Response, error) {
	nonce, _ := data["nonce"].(string)
	c.ceremonies.mu.Lock()
	defer c.ceremonies.mu.Unlock()
	a := c.ceremonies.genRoot
	if a == nil {
		return &Response{}, nil
	}
	if nonce != "" && nonce != a.nonce {
		return nil, badRequest("incorrect nonce")
	}
	c.ceremonies.dropGenRootLocked()
	c.log.Info("root token generation cancelled")
	return &Response{}, nil
}

func (c *Core) genRootUpdate(ctx context.Context, data map[string]any) (*Response, error) {
	share, nonce, cur, err := c.ceremonyInput(ctx, data)
	if err != nil {
		return nil, err
	}
	defer clear(share)
	c.ceremonies.mu.Lock()
	defer c.ceremonies.mu.Unlock()
	a := c.ceremonies.genRoot
	if a == nil {
		return nil, badRequest("no root generation in progress")
	}
	key, done, err := c.addCeremonyShare(ctx, cur, a.shares, a.nonce, nonce, share, "root generation", "generate-root")
	if err != nil {
		return nil, err
	}
	if !done {
		return &Response{Raw: c.genRootStatusLocked(cur)}, nil
	}
	defer key.Zero()
	token, err := c.tokens.Create(ctx, &TokenEntry{
		Policies: []string{"root"}, Path: "auth/token/root", DisplayName: "root", Orphan: true,
	}, "")
	if err != nil {
		return nil, fmt.Errorf("core: generate root: %w", err)
	}
	encoded, err := c.encodeRootToken(a, token)
	if err != nil {
		return nil, err
	}
	c.ceremonies.dropGenRootLocked()
	c.log.Info("root token generated")
	out := c.genRootStatusLocked(cur)
	out["started"], out["nonce"], out["progress"], out["complete"] = true, a.nonce, cur.Threshold, true
	out["encoded_token"], out["encoded_root_token"] = encoded, encoded
	return &Response{Raw: out}, nil
}

// encodeRootToken returns base64(token XOR otp) without padding (Vault's
// roottoken.EncodeToken), or base64 of the token encrypted to the PGP key.
func (c *Core) encodeRootToken(a *genRootAttempt, token string) (string, error) {
	if a.pgpKey != "" {
		ct, err := c.cfg.ShareEncrypter([]byte(token), a.pgpKey)
		if err != nil {
			return "", fmt.Errorf("core: generate root: encrypting the token: %w", err)
		}
		return base64.StdEncoding.EncodeToString(ct), nil
	}
	if len(token) != len(a.otp) {
		return "", fmt.Errorf("core: generate root: token length %d differs from the OTP length %d", len(token), len(a.otp))
	}
	x := make([]byte, len(token))
	for i := range x {
		x[i] = token[i] ^ a.otp[i]
	}
	return base64.RawStdEncoding.EncodeToString(x), nil
}
