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
	"slices"
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
	// PrepareRekey makes a new unseal key and its shares without putting
	// them in force; CommitRekey puts a plan in force.
	PrepareRekey(cfg seal.Config) (*seal.RekeyPlan, error)
	CommitRekey(ctx context.Context, p *seal.RekeyPlan) error
}

// BackupStore keeps the PGP-encrypted shares of the last rekey with
// backup = true (Vault's core/unseal-keys-backup), behind the barrier.
type BackupStore interface {
	PutBackup(ctx context.Context, b []byte) error
	// GetBackup returns found = false when there is none.
	GetBackup(ctx context.Context) (b []byte, found bool, err error)
	DeleteBackup(ctx context.Context) error
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
	// Fingerprint returns the fingerprint of a base64 OpenPGP public key
	// (rekey and generate-root status show them); nil shows none.
	Fingerprint func(base64PubKey string) (string, error)
	// Backup stores rekey backups; nil refuses backup = true.
	Backup BackupStore
	Logger *slog.Logger
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
	if a := s.rekey; a != nil {
		a.shares.Reset()
		a.plan.Zero()
		for _, k := range a.planKeys {
			clear(k)
		}
		if a.verified != nil {
			a.verified.Reset()
		}
		s.rekey = nil
	}
}

// rekeyAttempt is a rekey in progress: the new configuration and the shares
// of the current unseal key collected so far. With require_verification,
// once the threshold of old shares is in, plan holds the new key, which is
// not in force until a threshold of the new shares has been presented back
// to sys/rekey/verify: an answer lost on its way to the keyholders costs
// nothing, the old shares still unseal.
type rekeyAttempt struct {
	nonce        string
	cfg          seal.Config // the new shares/threshold
	pgpKeys      []string    // base64 OpenPGP public keys, one per new share, or nil
	fingerprints []string    // of pgpKeys
	backup       bool        // store the PGP-encrypted shares (sys/rekey/backup)
	verify       bool        // require_verification
	shares       *seal.Unsealer

	// Verification phase (verify only): the new key, not yet in force.
	plan        *seal.RekeyPlan
	planKeys    [][]byte // the encrypted new shares as returned, for the backup
	verifyNonce string
	verified    *seal.Unsealer
}

type rekeyBackup struct {
	Nonce string              `json:"nonce"`
	Keys  map[string][]string `json:"keys"` // fingerprint -> hex ciphertexts
}

// Handle serves sys/rekey/* and sys/generate-root/* (path is the full
// request path); core has already checked the token and its sudo
// capability. The result is the whole JSON body (no envelope); nil means
// 204.
//
// sys/rekey-recovery-key/* is the same ceremony for the recovery key of an
// auto-sealed vault (operator rekey -target=recovery); sys/rekey/* is
// refused there, since the seal, not the operators, holds the unseal key.
func (s *Service) Handle(ctx context.Context, op secrets.Operation, path string, data map[string]any) (map[string]any, error) {
	if rest, ok := strings.CutPrefix(path, "sys/rekey-recovery-key/"); ok {
		if err := s.checkTarget(ctx, true); err != nil {
			return nil, err
		}
		path = "sys/rekey/" + rest
	} else if strings.HasPrefix(path, "sys/rekey/") {
		if err := s.checkTarget(ctx, false); err != nil {
			return nil, err
		}
	}
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
	case "sys/rekey/verify":
		switch op {
		case secrets.OpRead:
			return s.rekeyVerifyStatus()
		case secrets.OpUpdate, secrets.OpCreate:
			return s.rekeyVerify(ctx, data)
		case secrets.OpDelete:
			return s.rekeyVerifyCancel()
		}
		return nil, unsupportedOp()
	case "sys/rekey/backup":
		switch op {
		case secrets.OpRead:
			return s.rekeyBackupRead(ctx)
		case secrets.OpDelete:
			if s.cfg.Backup == nil {
				return nil, nil
			}
			return nil, s.cfg.Backup.DeleteBackup(ctx)
		}
		return nil, unsupportedOp()
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
	return strings.HasPrefix(path, "sys/rekey/") || strings.HasPrefix(path, "sys/rekey-recovery-key/") ||
		strings.HasPrefix(path, "sys/generate-root/")
}

// checkTarget refuses a rekey of the wrong key: the recovery key exists
// only under an auto seal, and the unseal key of an auto-sealed vault is
// the seal's, not the operators'.
func (s *Service) checkTarget(ctx context.Context, recovery bool) error {
	cur, err := s.cfg.Barrier.SealConfig(ctx)
	if err != nil {
		return err
	}
	switch {
	case recovery && !cur.Auto():
		return badRequest("recovery keys are only used with an auto seal; this vault uses shamir (rekey the unseal key with sys/rekey)")
	case !recovery && cur.Auto():
		return badRequest("the unseal key of this vault is held by its %s seal; rekey the recovery key with sys/rekey-recovery-key (operator rekey -target=recovery)", cur.Type)
	}
	return nil
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
		out["backup"], out["verification_required"] = a.backup, a.verify
		if len(a.fingerprints) > 0 {
			out["pgp_fingerprints"] = a.fingerprints
		}
		if a.plan != nil {
			out["verification_nonce"] = a.verifyNonce
		}
	}
	return out
}

// fingerprint is the PGP fingerprint of a base64 public key ("" when it
// cannot be computed).
func (s *Service) fingerprint(key string) string {
	if s.cfg.Fingerprint == nil {
		return ""
	}
	fp, err := s.cfg.Fingerprint(key)
	if err != nil {
		return ""
	}
	return fp
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
	backup, err := boolParam(data, "backup")
	if err != nil {
		return nil, err
	}
	verify, err := boolParam(data, "require_verification")
	if err != nil {
		return nil, err
	}
	pgpKeys, err := stringsParam(data, "pgp_keys")
	if err != nil {
		return nil, err
	}
	var fps []string
	if len(pgpKeys) > 0 {
		if len(pgpKeys) != cfg.Shares {
			return nil, badRequest("incorrect number of PGP keys for rekey: %d, want %d (one per share)", len(pgpKeys), cfg.Shares)
		}
		if err := s.checkPGPKeys(pgpKeys); err != nil {
			return nil, err
		}
		for _, k := range pgpKeys {
			fps = append(fps, s.fingerprint(k))
		}
	}
	if backup && len(pgpKeys) == 0 {
		return nil, badRequest("cannot request a backup of the new keys without providing PGP keys for encryption")
	}
	if backup && s.cfg.Backup == nil {
		return nil, badRequest("backup is not available on this server")
	}
	nonce := uuid.NewString()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rekey != nil {
		return nil, badRequest("rekey already in progress")
	}
	s.rekey = &rekeyAttempt{nonce: nonce, cfg: cfg, pgpKeys: pgpKeys, fingerprints: fps, backup: backup, verify: verify, shares: seal.NewUnsealer()}
	s.log.Info("rekey started", "secret_shares", cfg.Shares, "secret_threshold", cfg.Threshold, "pgp", len(pgpKeys) > 0, "backup", backup, "require_verification", verify)
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
	if a.plan != nil {
		return nil, badRequest("the rekey is waiting for verification of the new shares (sys/rekey/verify)")
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
	key.Zero()
	plan, err := s.cfg.Barrier.PrepareRekey(a.cfg)
	if err != nil {
		return nil, fmt.Errorf("ceremony: rekey: %w", err)
	}
	// Encrypt the new shares before anything is in force: if that fails,
	// the rekey fails and the old shares stay, never a plaintext share.
	keys, keysB64, raw, err := s.encodeShares(plan.Shares(), a.pgpKeys)
	for _, sh := range plan.TakeShares() { // the plan keeps only the key
		clear(sh)
	}
	if err != nil {
		plan.Zero()
		s.dropRekeyLocked()
		s.log.Error("rekey aborted: encrypting the new shares failed; the old shares stay in force", "error", err)
		return nil, fmt.Errorf("ceremony: rekey aborted, the old unseal key stays in force: %w", err)
	}
	if !a.backup { // raw is kept only to back the PGP ciphertexts up
		for _, k := range raw {
			clear(k)
		}
		raw = nil
	}
	out := map[string]any{
		"nonce": a.nonce, "complete": true, "keys": keys, "keys_base64": keysB64,
		"pgp_fingerprints": nil, "backup": a.backup, "verification_required": a.verify, "verification_nonce": "",
	}
	if len(a.fingerprints) > 0 {
		out["pgp_fingerprints"] = a.fingerprints
	}
	if a.verify {
		a.plan, a.planKeys, a.verifyNonce, a.verified = plan, raw, uuid.NewString(), seal.NewUnsealer()
		a.shares.Reset()
		out["verification_nonce"] = a.verifyNonce
		s.log.Info("rekey: new shares issued; they take effect once a threshold of them is verified", "secret_shares", a.cfg.Shares, "secret_threshold", a.cfg.Threshold)
		return out, nil
	}
	defer plan.Zero()
	w, err := s.commitRekeyLocked(ctx, a, plan, raw)
	if err != nil {
		for _, k := range raw {
			clear(k)
		}
		s.dropRekeyLocked()
		return nil, err
	}
	if w != "" {
		out["warnings"] = []string{w}
	}
	return out, nil
}

// commitRekeyLocked puts plan in force, stores the backup if asked, clears
// raw and ends the attempt. It returns a warning when only the backup
// failed. On error nothing changed and the attempt and raw are left to the
// caller. The caller holds s.mu.
func (s *Service) commitRekeyLocked(ctx context.Context, a *rekeyAttempt, plan *seal.RekeyPlan, raw [][]byte) (string, error) {
	if err := s.cfg.Barrier.CommitRekey(ctx, plan); err != nil {
		return "", fmt.Errorf("ceremony: rekey: %w", err)
	}
	warning := ""
	if a.backup {
		b := rekeyBackup{Nonce: a.nonce, Keys: map[string][]string{}}
		for i, k := range raw {
			fp := a.fingerprints[i]
			b.Keys[fp] = append(b.Keys[fp], hex.EncodeToString(k))
		}
		enc, err := json.Marshal(b)
		if err == nil {
			err = s.cfg.Backup.PutBackup(ctx, enc)
		}
		if err != nil {
			s.log.Error("rekey: storing the backup of the encrypted shares failed", "error", err)
			warning = "the new shares are in force, but storing their backup failed: " + err.Error()
		}
	}
	for _, k := range raw {
		clear(k)
	}
	s.dropRekeyLocked()
	s.log.Info("rekey completed", "secret_shares", a.cfg.Shares, "secret_threshold", a.cfg.Threshold)
	return warning, nil
}

func (s *Service) rekeyVerifyStatus() (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.rekey
	if a == nil || a.plan == nil {
		return nil, badRequest("no rekey verification is in progress")
	}
	cfg := a.plan.Config()
	return map[string]any{
		"started": true, "nonce": a.verifyNonce, "t": cfg.Threshold, "n": cfg.Shares, "progress": a.verified.Progress().N,
	}, nil
}

// rekeyVerify collects new shares; at the threshold, if they combine to the
// new key, the rekey is put in force.
func (s *Service) rekeyVerify(ctx context.Context, data map[string]any) (map[string]any, error) {
	share, nonce, err := shareParams(data)
	if err != nil {
		return nil, err
	}
	defer clear(share)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.rekey
	if a == nil || a.plan == nil {
		return nil, badRequest("no rekey verification is in progress")
	}
	if nonce != a.verifyNonce {
		return nil, badRequest("incorrect nonce")
	}
	cfg := a.plan.Config()
	key, p, err := a.verified.Add(cfg, share)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return map[string]any{"nonce": a.verifyNonce, "complete": false, "started": true, "t": cfg.Threshold, "n": cfg.Shares, "progress": p.N}, nil
	}
	ok := a.plan.Matches(key)
	key.Zero()
	if !ok {
		a.verified.Reset()
		s.log.Warn("rekey verification: the new shares do not combine to the new key; progress reset")
		return nil, badRequest("the shares given do not combine to the new unseal key; verification progress was reset")
	}
	verifyNonce, plan, raw := a.verifyNonce, a.plan, a.planKeys
	a.plan, a.planKeys = nil, nil // owned here now: the attempt may be dropped
	w, err := s.commitRekeyLocked(ctx, a, plan, raw)
	if err != nil {
		a.plan, a.planKeys = plan, raw // still pending: the keyholders may retry
		a.verified.Reset()
		return nil, err
	}
	plan.Zero()
	out := map[string]any{"nonce": verifyNonce, "complete": true}
	if w != "" {
		out["warnings"] = []string{w}
	}
	return out, nil
}

// rekeyVerifyCancel restarts the verification (new nonce, no progress);
// the rekey attempt and its new shares stay.
func (s *Service) rekeyVerifyCancel() (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.rekey
	if a == nil || a.plan == nil {
		return nil, nil
	}
	a.verified.Reset()
	a.verifyNonce = uuid.NewString()
	cfg := a.plan.Config()
	return map[string]any{"started": true, "nonce": a.verifyNonce, "t": cfg.Threshold, "n": cfg.Shares, "progress": 0}, nil
}

// rekeyBackupRead is GET sys/rekey/backup, in Vault's envelope.
func (s *Service) rekeyBackupRead(ctx context.Context) (map[string]any, error) {
	if s.cfg.Backup == nil {
		return nil, secrets.Errorf(secrets.ErrNotFound, "no backed-up keys found")
	}
	raw, found, err := s.cfg.Backup.GetBackup(ctx)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, secrets.Errorf(secrets.ErrNotFound, "no backed-up keys found")
	}
	var b rekeyBackup
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("ceremony: rekey backup: %w", err)
	}
	b64 := map[string][]string{}
	for fp, ks := range b.Keys {
		for _, k := range ks {
			ct, err := hex.DecodeString(k)
			if err != nil {
				return nil, fmt.Errorf("ceremony: rekey backup: %w", err)
			}
			b64[fp] = append(b64[fp], base64.StdEncoding.EncodeToString(ct))
		}
	}
	return map[string]any{"data": map[string]any{"nonce": b.Nonce, "keys": b.Keys, "keys_base64": b64}}, nil
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

// encodeShares returns the shares as hex and base64 strings, and the raw
// bytes returned (ciphertexts with PGP keys) for a backup; the caller
// clears raw. With PGP keys each share is first hex-encoded and then
// encrypted, as Vault does, so `base64 -d | gpg -d` yields the hex share.
// If any encryption fails it returns an error and nothing else: a share is
// never handed out in plaintext when PGP keys were asked for. shares are
// left to their owner.
func (s *Service) encodeShares(shares [][]byte, pgpKeys []string) (keys, keysB64 []string, raw [][]byte, err error) {
	keys = make([]string, len(shares))
	keysB64 = make([]string, len(shares))
	raw = make([][]byte, len(shares))
	for i, sh := range shares {
		out := slices.Clone(sh)
		if len(pgpKeys) > 0 {
			h := []byte(hex.EncodeToString(sh))
			ct, err := s.cfg.Encrypter(h, pgpKeys[i])
			clear(h)
			clear(out)
			if err != nil {
				for _, r := range raw {
					clear(r)
				}
				return nil, nil, nil, fmt.Errorf("encrypting new share %d to its PGP key: %w", i+1, err)
			}
			out = ct
		}
		keys[i] = hex.EncodeToString(out)
		keysB64[i] = base64.StdEncoding.EncodeToString(out)
		raw[i] = out
	}
	return keys, keysB64, raw, nil
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
