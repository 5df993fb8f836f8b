// Package ceremony runs the operator ceremonies sys/rekey/* and
// sys/generate-root/* on the active node.
//
// Both follow Vault's flow and wire format (an attempt is started with a
// nonce, keyholders submit shares of the current unseal key until the
// threshold is reached), with one difference: the requests go through
// core's HandleRequest, so each needs a valid token with sudo on its path
// besides the shares, and each is audited like any other request. Nobody
// can start or cancel a ceremony anonymously.
//
// Attempts live in memory on the active node only. Collected shares are
// zeroed when the attempt completes or is cancelled, and on seal and
// step-down (core calls Reset).
//
// It imports seal (the share collector and configuration types) and
// secrets (error kinds); it reaches the barrier and the token store through
// the Barrier interface and Config.MintRoot.
package ceremony

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/secrets"
)

// Barrier is what the ceremonies need from the barrier (*seal.Barrier).
type Barrier interface {
	SealConfig(ctx context.Context) (*seal.Config, error)
	// CheckKey reports seal.ErrInvalidKey unless key is the unseal key.
	CheckKey(ctx context.Context, key []byte) error
	// Rekey replaces the unseal key and returns the new shares.
	Rekey(ctx context.Context, cfg seal.Config) ([][]byte, error)
}

// Encrypter encrypts plain to a base64 OpenPGP public key.
type Encrypter func(plain []byte, base64PubKey string) ([]byte, error)

// Config configures a Service.
type Config struct {
	Barrier Barrier
	// Encrypter encrypts new shares (pgp_keys) and the generated root
	// token (pgp_key); nil disables PGP.
	Encrypter Encrypter
	// MintRoot creates a new root token (generate-root's result).
	MintRoot func(ctx context.Context) (string, error)
	// RandomID returns n random token characters (the server-made OTP).
	RandomID func(n int) (string, error)
	Logger   *slog.Logger
}

// Service holds the node's in-progress rekey and generate-root attempts.
type Service struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex // guards rekey and genRoot, and serialises their updates
	rekey   *rekeyAttempt
	genRoot *genRootAttempt
}

// New builds a Service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: cfg.Logger}
}

// Reset cancels both attempts and zeroes what they collected (on seal and
// step-down).
func (s *Service) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropRekeyLocked()
	s.dropGenRootLocked()
}

func unsupportedOp() error {
	return secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
}

func badRequest(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

func (s *Service) dropRekeyLocked() {
	if s.rekey != nil {
		s.rekey.shares.Reset()
		s.rekey = nil
	}
}

// rekeyAttempt is a rekey in progress: the new configuration and the shares
// of the current unseal key collected so far.
type rekeyAttempt struct {
	nonce   string
	cfg     seal.Config // the new shares/threshold
	pgpKeys []string    // base64 OpenPGP public keys, one per new share, or nil
	shares  *seal.Unsealer
}

// rekeyVerifyUnsupported is the answer of sys/rekey/verify: vaultd rekeys
// in one step, so there is never a verification in progress.
const rekeyVerifyUnsupported = "no rekey verification is in progress: this server does not support require_verification"

// Handle serves sys/rekey/* and sys/generate-root/* (path is the full
// request path); core has already checked the token and its sudo
// capability. The result is the whole JSON body (no envelope); nil means
// 204.
func (s *Service) Handle(ctx context.Context, op secrets.Operation, path string, data map[string]any) (map[string]any, error) {
	switch path {
	case "sys/rekey/init":
		switch op {
		case secrets.OpRead:
			return s.rekeyStatus(ctx)
		case secrets.OpUpdate, secrets.OpCreate:
			return s.rekeyInit(ctx, data)
		case secrets.OpDelete:
			return s.rekeyCancel(data)
		}
		return nil, unsupportedOp()
	case "sys/rekey/update":
		if op != secrets.OpUpdate && op != secrets.OpCreate {
			return nil, unsupportedOp()
		}
		return s.rekeyUpdate(ctx, data)
	case "sys/rekey/verify", "sys/rekey/backup":
		return nil, badRequest("%s", rekeyVerifyUnsupported)
	case "sys/generate-root/attempt":
		switch op {
		case secrets.OpRead:
			return s.genRootStatus(ctx)
		case secrets.OpUpdate, secrets.OpCreate:
			return s.genRootInit(ctx, data)
		case secrets.OpDelete:
			return s.genRootCancel(data)
		}
		return nil, unsupportedOp()
	case "sys/generate-root/update":
		if op != secrets.OpUpdate && op != secrets.OpCreate {
			return nil, unsupportedOp()
		}
		return s.genRootUpdate(ctx, data)
	}
	return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
}

// IsPath reports whether path belongs to Handle.
func IsPath(path string) bool {
	return strings.HasPrefix(path, "sys/rekey/") || strings.HasPrefix(path, "sys/generate-root/")
}

func (s *Service) rekeyStatus(ctx context.Context) (map[string]any, error) {
	cur, err := s.cfg.Barrier.SealConfig(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rekeyStatusLocked(cur), nil
}

func (s *Service) rekeyStatusLocked(cur *seal.Config) map[string]any {
	out := map[string]any{
		"started": false, "nonce": "", "t": 0, "n": 0, "progress": 0, "required": cur.Threshold,
		"pgp_fingerprints": nil, "backup": false, "verification_required": false, "verification_nonce": "",
	}
	if a := s.rekey; a != nil {
		out["started"], out["nonce"] = true, a.nonce
		out["t"], out["n"] = a.cfg.Threshold, a.cfg.Shares
		out["progress"] = a.progress(*cur)
	}
	return out
}

// progress is the number of shares collected under cur (0 if the seal
// configuration changed since they were submitted).
func (a *rekeyAttempt) progress(cur seal.Config) int {
	p := a.shares.Progress()
	if p.Threshold != cur.Threshold {
		return 0
	}
	return p.N
}

func (s *Service) rekeyInit(ctx context.Context, data map[string]any) (map[string]any, error) {
	cur, err := s.cfg.Barrier.SealConfig(ctx)
	if err != nil {
		return nil, err
	}
	shares, err := intParam(data, "secret_shares")
	if err != nil {
		return nil, err
	}
	threshold, err := intParam(data, "secret_threshold")
	if err != nil {
		return nil, err
	}
	cfg := seal.Config{Shares: shares, Threshold: threshold}
	if err := cfg.Validate(); err != nil {
		return nil, badRequest("invalid rekey configuration: %s", err.Error())
	}
	if b, _ := boolParam(data, "backup"); b {
		return nil, badRequest("backup is not supported: vaultd never stores unseal key shares")
	}
	if b, _ := boolParam(data, "require_verification"); b {
		return nil, badRequest("require_verification is not supported by this server")
	}
	pgpKeys, err := stringsParam(data, "pgp_keys")
	if err != nil {
		return nil, err
	}
	if len(pgpKeys) > 0 {
		if len(pgpKeys) != cfg.Shares {
			return nil, badRequest("incorrect number of PGP keys for rekey: %d, want %d (one per share)", len(pgpKeys), cfg.Shares)
		}
		if err := s.checkPGPKeys(pgpKeys); err != nil {
			return nil, err
		}
	}
	nonce := uuid.NewString()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rekey != nil {
		return nil, badRequest("rekey already in progress")
	}
	s.rekey = &rekeyAttempt{nonce: nonce, cfg: cfg, pgpKeys: pgpKeys, shares: seal.NewUnsealer()}
	s.log.Info("rekey started", "secret_shares", cfg.Shares, "secret_threshold", cfg.Threshold, "pgp", len(pgpKeys) > 0)
	return s.rekeyStatusLocked(cur), nil
}

func (s *Service) rekeyCancel(data map[string]any) (map[string]any, error) {
	nonce, _ := data["nonce"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.rekey
	if a == nil {
		return nil, nil
	}
	if nonce != "" && nonce != a.nonce {
		return nil, badRequest("incorrect nonce")
	}
	s.dropRekeyLocked()
	s.log.Info("rekey cancelled")
	return nil, nil
}

func (s *Service) rekeyUpdate(ctx context.Context, data map[string]any) (map[string]any, error) {
	share, nonce, cur, err := s.ceremonyInput(ctx, data)
	if err != nil {
		return nil, err
	}
	defer clear(share)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.rekey
	if a == nil {
		return nil, badRequest("no rekey in progress")
	}
	key, done, err := s.addCeremonyShare(ctx, cur, a.shares, a.nonce, nonce, share, "rekey", "rekey")
	if err != nil {
		return nil, err
	}
	if !done {
		out := s.rekeyStatusLocked(cur)
		out["complete"] = false
		return out, nil
	}
	defer key.Zero()
	newShares, err := s.cfg.Barrier.Rekey(ctx, a.cfg)
	if err != nil {
		return nil, fmt.Errorf("ceremony: rekey: %w", err)
	}
	s.dropRekeyLocked()
	s.log.Info("rekey completed", "secret_shares", a.cfg.Shares, "secret_threshold", a.cfg.Threshold)
	keys, keysB64, warnings := s.encodeShares(newShares, a.pgpKeys)
	out := map[string]any{
		"nonce": a.nonce, "complete": true, "keys": keys, "keys_base64": keysB64,
		"pgp_fingerprints": nil, "backup": false, "verification_required": false, "verification_nonce": "",
	}
	if len(warnings) > 0 {
		out["warnings"] = warnings
	}
	return out, nil
}

// ceremonyInput reads the share and nonce of a rekey or generate-root
// update and the current seal configuration. The caller clears the share.
func (s *Service) ceremonyInput(ctx context.Context, data map[string]any) (share []byte, nonce string, cur *seal.Config, err error) {
	share, nonce, err = shareParams(data)
	if err != nil {
		return nil, "", nil, err
	}
	cur, err = s.cfg.Barrier.SealConfig(ctx)
	if err != nil {
		clear(share)
		return nil, "", nil, err
	}
	return share, nonce, cur, nil
}

// addCeremonyShare checks the nonce given against the attempt's (want) and
// adds share to the shares the attempt collected under cur. It reports
// done=false while more shares are needed; once the threshold is reached it
// returns the combined key, checked against the barrier, and the caller
// must Zero it. A wrong combined key resets the progress. what names the
// ceremony in errors ("rekey", "root generation"), tag in the log. The
// caller holds s.mu.
func (s *Service) addCeremonyShare(ctx context.Context, cur *seal.Config, shares *seal.Unsealer, want, nonce string, share []byte, what, tag string) (key seal.Secret, done bool, err error) {
	if nonce != want {
		return nil, false, badRequest("incorrect nonce")
	}
	key, _, err = shares.Add(*cur, share)
	if err != nil {
		return nil, false, err
	}
	if key == nil {
		return nil, false, nil
	}
	if err := s.cfg.Barrier.CheckKey(ctx, key); err != nil {
		key.Zero()
		if errors.Is(err, seal.ErrInvalidKey) {
			s.log.Warn(tag + ": the combined key is wrong; progress reset")
			return nil, false, badRequest("the combined key is not the unseal key; %s progress was reset", what)
		}
		return nil, false, err
	}
	return key, true, nil
}

// encodeShares returns the shares as hex and base64 strings and zeroes
// them. With PGP keys each share is first hex-encoded and then encrypted,
// as Vault does, so `base64 -d | gpg -d` yields the hex share. The keys
// were checked when the attempt started; if encryption still fails, the
// share is returned in plaintext with a warning rather than lost: the new
// key is already in force.
func (s *Service) encodeShares(shares [][]byte, pgpKeys []string) (keys, keysB64, warnings []string) {
	keys = make([]string, len(shares))
	keysB64 = make([]string, len(shares))
	for i, sh := range shares {
		out := sh
		if len(pgpKeys) > 0 {
			h := []byte(hex.EncodeToString(sh))
			ct, err := s.cfg.Encrypter(h, pgpKeys[i])
			clear(h)
			if err != nil {
				s.log.Error("encrypting a new share failed; returning it unencrypted", "share", i+1, "error", err)
				warnings = append(warnings, fmt.Sprintf("encrypting share %d failed (%v): it is returned unencrypted", i+1, err))
			} else {
				out = ct
			}
		}
		keys[i] = hex.EncodeToString(out)
		keysB64[i] = base64.StdEncoding.EncodeToString(out)
		clear(sh)
	}
	return keys, keysB64, warnings
}

// checkPGPKeys makes sure every key can encrypt before a ceremony starts,
// so its result can never be lost to a bad key at the end.
func (s *Service) checkPGPKeys(keys []string) error {
	if s.cfg.Encrypter == nil {
		return badRequest("PGP encryption is not available")
	}
	for i, k := range keys {
		if _, err := s.cfg.Encrypter([]byte("vaultd key check"), k); err != nil {
			return badRequest("PGP key %d: %v", i+1, err)
		}
	}
	return nil
}

// shareParams reads "key" (hex or base64) and "nonce" from a request body.
func shareParams(data map[string]any) (share []byte, nonce string, err error) {
	nonce, _ = data["nonce"].(string)
	k, _ := data["key"].(string)
	if k == "" {
		return nil, "", badRequest("'key' must be specified in request body as JSON")
	}
	if nonce == "" {
		return nil, "", badRequest("'nonce' must be specified in request body as JSON")
	}
	if b, err := hex.DecodeString(k); err == nil {
		return b, nonce, nil
	}
	b, err := base64.StdEncoding.DecodeString(k)
	if err != nil {
		return nil, "", badRequest("'key' must be a valid hex or base64 string")
	}
	return b, nonce, nil
}

// intParam reads a required integer from a JSON body (json.Number, float64
// or a decimal string).
func intParam(data map[string]any, name string) (int, error) {
	switch v := data[name].(type) {
	case json.Number:
		n, err := strconv.Atoi(v.String())
		if err == nil {
			return n, nil
		}
	case float64:
		if v == float64(int(v)) {
			return int(v), nil
		}
	case int:
		return v, nil
	case string:
		n, err := strconv.Atoi(v)
		if err == nil {
			return n, nil
		}
	case nil:
		return 0, badRequest("%q is required", name)
	}
	return 0, badRequest("%q must be an integer", name)
}

func boolParam(data map[string]any, name string) (bool, error) {
	switch v := data[name].(type) {
	case bool:
		return v, nil
	case string:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, badRequest("%q must be a boolean", name)
		}
		return b, nil
	case nil:
		return false, nil
	}
	return false, badRequest("%q must be a boolean", name)
}

// stringsParam reads a list of strings (a JSON array or a comma-separated
// string).
func stringsParam(data map[string]any, name string) ([]string, error) {
	switch v := data[name].(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
		return strings.Split(v, ","), nil
	case []string:
		return v, nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, badRequest("%q must be a list of strings", name)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, badRequest("%q must be a list of strings", name)
}
