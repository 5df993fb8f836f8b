package core

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/secrets"
)

// Operator ceremonies: sys/rekey/* and sys/generate-root/*.
//
// Both follow Vault's flow and wire format (an attempt is started with a
// nonce, keyholders submit shares of the current unseal key until the
// threshold is reached), with one difference: the requests go through
// HandleRequest, so each needs a valid token with sudo on its path besides
// the shares, and each is audited like any other request. Nobody can start
// or cancel a ceremony anonymously.
//
// Attempts live in memory on the active node only. Collected shares are
// zeroed when the attempt completes or is cancelled, and on seal and
// step-down (teardown calls ceremonies.reset).

// operatorCeremonies holds the node's in-progress rekey and generate-root
// attempts. The zero value is ready to use.
type operatorCeremonies struct {
	mu      sync.Mutex // guards rekey and genRoot, and serialises their updates
	rekey   *rekeyAttempt
	genRoot *genRootAttempt
}

// reset cancels both attempts and zeroes what they collected.
func (o *operatorCeremonies) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dropRekeyLocked()
	o.dropGenRootLocked()
}

func (o *operatorCeremonies) dropRekeyLocked() {
	if o.rekey != nil {
		o.rekey.shares.Reset()
		o.rekey = nil
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

// sysCeremony serves sys/rekey/* and sys/generate-root/*; handleSys has
// already checked the token and its sudo capability.
func (c *Core) sysCeremony(ctx context.Context, op secrets.Operation, path string, data map[string]any) (*Response, error) {
	switch path {
	case "sys/rekey/init":
		switch op {
		case secrets.OpRead:
			return c.rekeyStatus(ctx)
		case secrets.OpUpdate, secrets.OpCreate:
			return c.rekeyInit(ctx, data)
		case secrets.OpDelete:
			return c.rekeyCancel(data)
		}
		return nil, unsupportedOp()
	case "sys/rekey/update":
		if op != secrets.OpUpdate && op != secrets.OpCreate {
			return nil, unsupportedOp()
		}
		return c.rekeyUpdate(ctx, data)
	case "sys/rekey/verify", "sys/rekey/backup":
		return nil, badRequest("%s", rekeyVerifyUnsupported)
	case "sys/generate-root/attempt":
		switch op {
		case secrets.OpRead:
			return c.genRootStatus(ctx)
		case secrets.OpUpdate, secrets.OpCreate:
			return c.genRootInit(ctx, data)
		case secrets.OpDelete:
			return c.genRootCancel(data)
		}
		return nil, unsupportedOp()
	case "sys/generate-root/update":
		if op != secrets.OpUpdate && op != secrets.OpCreate {
			return nil, unsupportedOp()
		}
		return c.genRootUpdate(ctx, data)
	}
	return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
}

// isCeremonyPath reports whether path belongs to sysCeremony.
func isCeremonyPath(path string) bool {
	return strings.HasPrefix(path, "sys/rekey/") || strings.HasPrefix(path, "sys/generate-root/")
}

func (c *Core) rekeyStatus(ctx context.Context) (*Response, error) {
	cur, err := c.barrier.SealConfig(ctx)
	if err != nil {
		return nil, err
	}
	c.ceremonies.mu.Lock()
	defer c.ceremonies.mu.Unlock()
	return &Response{Raw: c.rekeyStatusLocked(cur)}, nil
}

func (c *Core) rekeyStatusLocked(cur *seal.Config) map[string]any {
	out := map[string]any{
		"started": false, "nonce": "", "t": 0, "n": 0, "progress": 0, "required": cur.Threshold,
		"pgp_fingerprints": nil, "backup": false, "verification_required": false, "verification_nonce": "",
	}
	if a := c.ceremonies.rekey; a != nil {
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

func (c *Core) rekeyInit(ctx context.Context, data map[string]any) (*Response, error) {
	cur, err := c.barrier.SealConfig(ctx)
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
		if err := c.checkPGPKeys(pgpKeys); err != nil {
			return nil, err
		}
	}
	nonce := uuid.NewString()
	c.ceremonies.mu.Lock()
	defer c.ceremonies.mu.Unlock()
	if c.ceremonies.rekey != nil {
		return nil, badRequest("rekey already in progress")
	}
	c.ceremonies.rekey = &rekeyAttempt{nonce: nonce, cfg: cfg, pgpKeys: pgpKeys, shares: seal.NewUnsealer()}
	c.log.Info("rekey started", "secret_shares", cfg.Shares, "secret_threshold", cfg.Threshold, "pgp", len(pgpKeys) > 0)
	return &Response{Raw: c.rekeyStatusLocked(cur)}, nil
}

func (c *Core) rekeyCancel(data map[string]any) (*Response, error) {
	nonce, _ := data["nonce"].(string)
	c.ceremonies.mu.Lock()
	defer c.ceremonies.mu.Unlock()
	a := c.ceremonies.rekey
	if a == nil {
		return &Response{}, nil
	}
	if nonce != "" && nonce != a.nonce {
		return nil, badRequest("incorrect nonce")
	}
	c.ceremonies.dropRekeyLocked()
	c.log.Info("rekey cancelled")
	return &Response{}, nil
}

func (c *Core) rekeyUpdate(ctx context.Context, data map[string]any) (*Response, error) {
	share, nonce, cur, err := c.ceremonyInput(ctx, data)
	if err != nil {
		return nil, err
	}
	defer clear(share)
	c.ceremonies.mu.Lock()
	defer c.ceremonies.mu.Unlock()
	a := c.ceremonies.rekey
	if a == nil {
		return nil, badRequest("no rekey in progress")
	}
	key, done, err := c.addCeremonyShare(ctx, cur, a.shares, a.nonce, nonce, share, "rekey", "rekey")
	if err != nil {
		return nil, err
	}
	if !done {
		out := c.rekeyStatusLocked(cur)
		out["complete"] = false
		return &Response{Raw: out}, nil
	}
	defer key.Zero()
	newShares, err := c.barrier.Rekey(ctx, a.cfg)
	if err != nil {
		return nil, fmt.Errorf("core: rekey: %w", err)
	}
	c.ceremonies.dropRekeyLocked()
	c.log.Info("rekey completed", "secret_shares", a.cfg.Shares, "secret_threshold", a.cfg.Threshold)
	keys, keysB64, warnings := c.encodeShares(newShares, a.pgpKeys)
	out := map[string]any{
		"nonce": a.nonce, "complete": true, "keys": keys, "keys_base64": keysB64,
		"pgp_fingerprints": nil, "backup": false, "verification_required": false, "verification_nonce": "",
	}
	if len(warnings) > 0 {
		out["warnings"] = warnings
	}
	return &Response{Raw: out}, nil
}

// ceremonyInput reads the share and nonce of a rekey or generate-root
// update and the current seal configuration. The caller clears the share.
func (c *Core) ceremonyInput(ctx context.Context, data map[string]any) (share []byte, nonce string, cur *seal.Config, err error) {
	share, nonce, err = shareParams(data)
	if err != nil {
		return nil, "", nil, err
	}
	cur, err = c.barrier.SealConfig(ctx)
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
// caller holds c.ceremonies.mu.
func (c *Core) addCeremonyShare(ctx context.Context, cur *seal.Config, shares *seal.Unsealer, want, nonce string, share []byte, what, tag string) (key seal.Secret, done bool, err error) {
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
	if err := c.barrier.CheckKey(ctx, key); err != nil {
		key.Zero()
		if errors.Is(err, seal.ErrInvalidKey) {
			c.log.Warn(tag + ": the combined key is wrong; progress reset")
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
func (c *Core) encodeShares(shares [][]byte, pgpKeys []string) (keys, keysB64, warnings []string) {
	keys = make([]string, len(shares))
	keysB64 = make([]string, len(shares))
	for i, s := range shares {
		out := s
		if len(pgpKeys) > 0 {
			h := []byte(hex.EncodeToString(s))
			ct, err := c.cfg.ShareEncrypter(h, pgpKeys[i])
			clear(h)
			if err != nil {
				c.log.Error("encrypting a new share failed; returning it unencrypted", "share", i+1, "error", err)
				warnings = append(warnings, fmt.Sprintf("encrypting share %d failed (%v): it is returned unencrypted", i+1, err))
			} else {
				out = ct
			}
		}
		keys[i] = hex.EncodeToString(out)
		keysB64[i] = base64.StdEncoding.EncodeToString(out)
		clear(s)
	}
	return keys, keysB64, warnings
}

// checkPGPKeys makes sure every key can encrypt before a ceremony starts,
// so its result can never be lost to a bad key at the end.
func (c *Core) checkPGPKeys(keys []string) error {
	if c.cfg.ShareEncrypter == nil {
		return badRequest("PGP encryption is not available")
	}
	for i, k := range keys {
		if _, err := c.cfg.ShareEncrypter([]byte("vaultd key check"), k); err != nil {
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
