package seal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vaultd/vaultd/storage"
)

// Auto-unseal.
//
// With an auto seal the key hierarchy below the unseal key is unchanged:
// the unseal key still encrypts the root key at core/sealed-root-key. What
// changes is who holds the unseal key. Instead of being split into Shamir
// shares it is encrypted by a Wrapper (the remote transit key) and stored
// at core/wrapped-unseal-key, so a node unseals itself by asking the
// wrapper to decrypt it. Wrapping the unseal key rather than the root key
// keeps one format for core/sealed-root-key, for the join challenge and
// for rekey, and makes a seal migration a change of who protects the
// unseal key, never a re-encryption of the data.
//
// The operators hold a separate recovery key, split into Shamir shares. It
// decrypts nothing: core/recovery-key-check holds an envelope under it, and
// opening that envelope is how a candidate recovery key is authenticated
// (for generate-root, rekey of the recovery key, a manual unseal after
// sys/seal, and the migration back to Shamir). A stolen disk plus the
// recovery shares therefore still needs the remote key.

// Wrapper is an external key that protects the unseal key. The transit
// seal (seal/transit) implements it.
type Wrapper interface {
	// Type is the seal type stored in the seal configuration ("transit").
	Type() string
	// Encrypt wraps plaintext; Decrypt unwraps what Encrypt returned.
	// Errors must not contain the plaintext.
	Encrypt(ctx context.Context, plaintext []byte) ([]byte, error)
	Decrypt(ctx context.Context, ciphertext []byte) ([]byte, error)
}

// ErrSealMismatch: the stored seal type is not the configured one (a seal
// migration is needed, or the configuration is wrong).
var ErrSealMismatch = errors.New("seal: the stored seal type differs from the configured seal")

// recoveryCheckPlain is what the recovery-key envelope holds.
var recoveryCheckPlain = []byte("vaultd recovery key check v1")

// InitializeAuto creates the keys of a new vault protected by w: a random
// unseal key wrapped by w, a random root key sealed by it, the keyring, and
// a random recovery key split under cfg (cfg.Shares and cfg.Threshold
// describe the recovery shares; cfg.Type is set to w.Type()). It returns
// the recovery shares and leaves the barrier unsealed (with the unseal key
// it made, so a remote that fails right after the wrap cannot lose the
// shares of a vault already written).
func (b *Barrier) InitializeAuto(ctx context.Context, cfg Config, w Wrapper) (recoveryShares [][]byte, err error) {
	cfg.Type = w.Type()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b.opMu.Lock()
	defer b.opMu.Unlock()
	if ok, err := b.Initialized(ctx); err != nil {
		return nil, err
	} else if ok {
		return nil, ErrAlreadyInitialized
	}
	unsealKey, root, sealedRoot, sealedKeyring, err := newBarrierKeys()
	if err != nil {
		return nil, err
	}
	defer unsealKey.Zero()
	defer root.Zero()
	recovery, err := randomKey()
	if err != nil {
		return nil, err
	}
	defer recovery.Zero()
	check, err := encryptEnvelope(recovery, recoveryCheckPath, recoveryCheckPlain)
	if err != nil {
		return nil, err
	}
	wrapped, err := w.Encrypt(ctx, unsealKey)
	if err != nil {
		return nil, fmt.Errorf("seal: wrap the unseal key with the %s seal: %w", w.Type(), err)
	}
	recoveryShares, err = makeShares(recovery, cfg)
	if err != nil {
		return nil, err
	}
	if err := b.storeInit(ctx, cfg, sealedRoot, sealedKeyring, recoveryShares,
		storage.Op{Kind: storage.OpPut, Key: wrappedKeyPath, Value: wrapped},
		storage.Op{Kind: storage.OpPut, Key: recoveryCheckPath, Value: check},
	); err != nil {
		return nil, err
	}
	b.logger.Info("barrier initialized with an auto seal", "seal_type", cfg.Type,
		"recovery_shares", cfg.Shares, "recovery_threshold", cfg.Threshold)
	if err := b.unsealLocked(ctx, unsealKey); err != nil {
		for _, s := range recoveryShares {
			clear(s)
		}
		return nil, fmt.Errorf("seal: unseal after initialize: %w", err)
	}
	return recoveryShares, nil
}

// autoConfig reads the seal configuration and checks that it is an auto
// seal of w's type.
func (b *Barrier) autoConfig(ctx context.Context, w Wrapper) (*Config, error) {
	cfg, err := b.SealConfig(ctx)
	if err != nil {
		return nil, err
	}
	if !cfg.Auto() || cfg.Type != w.Type() {
		return nil, fmt.Errorf("%w: stored %q, configured %q", ErrSealMismatch, cfg.TypeName(), w.Type())
	}
	return cfg, nil
}

// UnwrapKey asks w to decrypt the stored unseal key and returns it (the
// caller zeroes it). The stored seal must be an auto seal of w's type.
func (b *Barrier) UnwrapKey(ctx context.Context, w Wrapper) (Secret, error) {
	if _, err := b.autoConfig(ctx, w); err != nil {
		return nil, err
	}
	return b.unwrapLocked(ctx, w)
}

func (b *Barrier) unwrapLocked(ctx context.Context, w Wrapper) (Secret, error) {
	e, err := b.under.Get(ctx, wrappedKeyPath)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("%w: no wrapped unseal key at %s", ErrNotInitialized, wrappedKeyPath)
	}
	if err != nil {
		return nil, fmt.Errorf("seal: read wrapped unseal key: %w", err)
	}
	key, err := w.Decrypt(ctx, e.Value)
	if err != nil {
		return nil, fmt.Errorf("seal: unwrap the unseal key with the %s seal: %w", w.Type(), err)
	}
	return Secret(key), nil
}

// UnsealAuto unseals the barrier with the unseal key that w unwraps.
func (b *Barrier) UnsealAuto(ctx context.Context, w Wrapper) error {
	key, err := b.UnwrapKey(ctx, w)
	if err != nil {
		return err
	}
	defer key.Zero()
	return b.Unseal(ctx, key)
}

// checkRecoveryKey authenticates a candidate recovery key.
func (b *Barrier) checkRecoveryKey(ctx context.Context, key []byte) error {
	e, err := b.under.Get(ctx, recoveryCheckPath)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNotInitialized
	}
	if err != nil {
		return fmt.Errorf("seal: read recovery key check: %w", err)
	}
	if len(key) != keySize {
		return fmt.Errorf("%w: key is %d bytes, want %d", ErrInvalidKey, len(key), keySize)
	}
	pt, err := openEnvelope(key, recoveryCheckPath, e.Value)
	if errors.Is(err, errAuth) {
		return ErrInvalidKey
	}
	if err != nil {
		return fmt.Errorf("seal: open recovery key check: %w", err)
	}
	pt.Zero()
	return nil
}

// commitRecoveryLocked puts a rekey plan in force as the new recovery key
// (opMu held, barrier unsealed).
func (b *Barrier) commitRecoveryLocked(ctx context.Context, cur *Config, p *RekeyPlan) error {
	cfg := p.cfg
	cfg.Type = cur.Type
	if err := cfg.Validate(); err != nil {
		return err
	}
	check, err := encryptEnvelope(p.unsealKey, recoveryCheckPath, recoveryCheckPlain)
	if err != nil {
		return err
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("seal: encode seal config: %w", err)
	}
	if err := b.under.Txn(ctx, []storage.Op{
		{Kind: storage.OpPut, Key: sealConfigPath, Value: cfgJSON},
		{Kind: storage.OpPut, Key: recoveryCheckPath, Value: check},
	}); err != nil {
		return fmt.Errorf("seal: rekey recovery key: %w", err)
	}
	b.logger.Info("recovery key rekeyed", "recovery_shares", cfg.Shares, "recovery_threshold", cfg.Threshold)
	return nil
}

// MigrateToAuto moves a Shamir-sealed vault to the auto seal w, as Vault's
// `operator unseal -migrate` does: unsealKey (the combined Shamir shares)
// must open the root key; a fresh unseal key then seals the root key and is
// stored wrapped by w, and the old unseal key becomes the recovery key (the
// operators' shares keep working, now as recovery shares). The keyring and
// the data are untouched. The barrier stays as it was (sealed or not).
func (b *Barrier) MigrateToAuto(ctx context.Context, unsealKey []byte, w Wrapper) error {
	b.opMu.Lock()
	defer b.opMu.Unlock()
	cfg, err := b.SealConfig(ctx)
	if err != nil {
		return err
	}
	if cfg.Auto() {
		return fmt.Errorf("%w: the vault already uses the %s seal", ErrSealMismatch, cfg.Type)
	}
	root, err := b.openRootKey(ctx, unsealKey)
	if err != nil {
		return err
	}
	defer root.Zero()
	next, err := randomKey()
	if err != nil {
		return err
	}
	defer next.Zero()
	sealedRoot, err := encryptEnvelope(next, sealedRootKeyPath, root)
	if err != nil {
		return err
	}
	check, err := encryptEnvelope(unsealKey, recoveryCheckPath, recoveryCheckPlain)
	if err != nil {
		return err
	}
	wrapped, err := w.Encrypt(ctx, next)
	if err != nil {
		return fmt.Errorf("seal: wrap the unseal key with the %s seal: %w", w.Type(), err)
	}
	ncfg := Config{Type: w.Type(), Shares: cfg.Shares, Threshold: cfg.Threshold}
	cfgJSON, err := json.Marshal(ncfg)
	if err != nil {
		return err
	}
	if err := b.under.Txn(ctx, []storage.Op{
		{Kind: storage.OpPut, Key: sealConfigPath, Value: cfgJSON},
		{Kind: storage.OpPut, Key: sealedRootKeyPath, Value: sealedRoot},
		{Kind: storage.OpPut, Key: wrappedKeyPath, Value: wrapped},
		{Kind: storage.OpPut, Key: recoveryCheckPath, Value: check},
	}); err != nil {
		return fmt.Errorf("seal: migrate to %s: %w", w.Type(), err)
	}
	b.logger.Info("seal migrated from shamir; the unseal key shares are now the recovery key shares", "seal_type", w.Type())
	return nil
}

// MigrateToShamir moves a vault protected by the auto seal w back to
// Shamir, as Vault does: recoveryKey (the combined recovery shares) must
// authenticate, w unwraps the current unseal key to open the root key, and
// the recovery key becomes the unseal key (the operators' recovery shares
// are now unseal shares). The wrapped key and the recovery check are
// deleted.
func (b *Barrier) MigrateToShamir(ctx context.Context, recoveryKey []byte, w Wrapper) error {
	b.opMu.Lock()
	defer b.opMu.Unlock()
	cfg, err := b.autoConfig(ctx, w)
	if err != nil {
		return err
	}
	if err := b.checkRecoveryKey(ctx, recoveryKey); err != nil {
		return err
	}
	old, err := b.unwrapLocked(ctx, w)
	if err != nil {
		return err
	}
	root, err := b.openRootKey(ctx, old)
	old.Zero()
	if err != nil {
		return err
	}
	defer root.Zero()
	sealedRoot, err := encryptEnvelope(recoveryKey, sealedRootKeyPath, root)
	if err != nil {
		return err
	}
	cfgJSON, err := json.Marshal(Config{Shares: cfg.Shares, Threshold: cfg.Threshold})
	if err != nil {
		return err
	}
	if err := b.under.Txn(ctx, []storage.Op{
		{Kind: storage.OpPut, Key: sealConfigPath, Value: cfgJSON},
		{Kind: storage.OpPut, Key: sealedRootKeyPath, Value: sealedRoot},
		{Kind: storage.OpDelete, Key: wrappedKeyPath},
		{Kind: storage.OpDelete, Key: recoveryCheckPath},
	}); err != nil {
		return fmt.Errorf("seal: migrate to shamir: %w", err)
	}
	b.logger.Info("seal migrated to shamir; the recovery key shares are now the unseal key shares", "previous_seal_type", cfg.Type)
	return nil
}

// WrappedKey returns the stored wrapped unseal key (nil under Shamir), for
// the join challenge.
func (b *Barrier) WrappedKey(ctx context.Context) ([]byte, error) {
	e, err := b.under.Get(ctx, wrappedKeyPath)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return e.Value, nil
}

// PutWrappedKey stores a wrapped unseal key received in a join challenge
// (only on the joiner's scratch storage).
func PutWrappedKey(ctx context.Context, under storage.Backend, wrapped []byte) error {
	return under.Put(ctx, &storage.Entry{Key: wrappedKeyPath, Value: wrapped})
}
