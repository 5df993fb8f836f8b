package seal

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vaultd/vaultd/seal/shamir"
	"github.com/vaultd/vaultd/storage"
)

// now is the install time of a new term: UTC, without a monotonic reading,
// so it equals its own decoded form.
func now() time.Time { return time.Now().UTC().Round(0) }

// Initialized reports whether the underlying storage holds a seal
// configuration. It works while sealed.
func (b *Barrier) Initialized(ctx context.Context) (bool, error) {
	_, err := b.under.Get(ctx, sealConfigPath)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("seal: read seal config: %w", err)
	}
}

// SealConfig returns the stored seal configuration (ErrNotInitialized if
// there is none). It works while sealed.
func (b *Barrier) SealConfig(ctx context.Context) (*Config, error) {
	e, err := b.under.Get(ctx, sealConfigPath)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotInitialized
	}
	if err != nil {
		return nil, fmt.Errorf("seal: read seal config: %w", err)
	}
	return decodeConfig(e.Value)
}

// makeShares turns an unseal key into the shares handed to operators: the
// raw key for 1-of-1 (as Vault does), else Shamir shares.
func makeShares(key Secret, cfg Config) ([][]byte, error) {
	if cfg.Threshold == 1 {
		return [][]byte{append([]byte(nil), key...)}, nil
	}
	shares, err := shamir.Split(key, cfg.Shares, cfg.Threshold)
	if err != nil {
		return nil, fmt.Errorf("seal: split unseal key: %w", err)
	}
	return shares, nil
}

// newBarrierKeys makes the keys of a new barrier: a random unseal key and
// root key (the caller zeroes both) and a keyring with term 1, and returns
// them with the root sealed by the unseal key and the keyring sealed by
// the root. The keyring's plaintext is zeroed before it returns.
func newBarrierKeys() (unsealKey, root Secret, sealedRoot, sealedKeyring []byte, err error) {
	defer func() {
		if err != nil {
			unsealKey.Zero()
			root.Zero()
			unsealKey, root = nil, nil
		}
	}()
	if unsealKey, err = randomKey(); err != nil {
		return
	}
	if root, err = randomKey(); err != nil {
		return
	}
	dataKey, err := randomKey()
	if err != nil {
		return
	}
	t, err := newTermKey(1, dataKey, now())
	if err != nil {
		dataKey.Zero()
		return
	}
	kr := &keyring{terms: []*termKey{t}}
	defer kr.zero()
	plain := kr.encode()
	defer plain.Zero()
	if sealedRoot, err = encryptEnvelope(unsealKey, sealedRootKeyPath, root); err != nil {
		return
	}
	sealedKeyring, err = encryptEnvelope(root, keyringPath, plain)
	return
}

// storeInit writes, in one Txn on the underlying storage, the seal
// configuration, the sealed root key and keyring, and extra. When it fails
// nothing was stored and the shares made for it are cleared.
func (b *Barrier) storeInit(ctx context.Context, cfg Config, sealedRoot, sealedKeyring []byte, shares [][]byte, extra ...storage.Op) error {
	cfgJSON, err := json.Marshal(cfg)
	if err == nil {
		err = b.under.Txn(ctx, append([]storage.Op{
			{Kind: storage.OpPut, Key: sealConfigPath, Value: cfgJSON},
			{Kind: storage.OpPut, Key: sealedRootKeyPath, Value: sealedRoot},
			{Kind: storage.OpPut, Key: keyringPath, Value: sealedKeyring},
		}, extra...))
	}
	if err != nil {
		for _, s := range shares {
			clear(s)
		}
		return fmt.Errorf("seal: initialize: %w", err)
	}
	return nil
}

// Initialize creates the keys of a new vault: a random unseal key, a random
// root key and a keyring with term 1. In one Txn on the underlying storage
// it writes the seal configuration, the root key sealed by the unseal key
// and the keyring sealed by the root key. It returns the unseal key's
// shares (for 1-of-1, the raw 32-byte key) and leaves the barrier sealed:
// nothing else keeps the unseal key. ErrAlreadyInitialized if a seal
// configuration exists.
func (b *Barrier) Initialize(ctx context.Context, cfg Config) (shares [][]byte, err error) {
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
	// Make the shares before writing anything: once the keys are stored,
	// losing the shares would lose the vault.
	shares, err = makeShares(unsealKey, cfg)
	if err != nil {
		return nil, err
	}
	if err := b.storeInit(ctx, cfg, sealedRoot, sealedKeyring, shares); err != nil {
		return nil, err
	}
	b.logger.Info("barrier initialized", "shares", cfg.Shares, "threshold", cfg.Threshold)
	return shares, nil
}

// openRootKey authenticates unsealKey against the stored sealed root key
// and returns the root key (the caller zeroes it).
func (b *Barrier) openRootKey(ctx context.Context, unsealKey []byte) (Secret, error) {
	e, err := b.under.Get(ctx, sealedRootKeyPath)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotInitialized
	}
	if err != nil {
		return nil, fmt.Errorf("seal: read sealed root key: %w", err)
	}
	if len(unsealKey) != keySize {
		return nil, fmt.Errorf("%w: key is %d bytes, want %d", ErrInvalidKey, len(unsealKey), keySize)
	}
	root, err := openEnvelope(unsealKey, sealedRootKeyPath, e.Value)
	if errors.Is(err, errAuth) {
		return nil, ErrInvalidKey
	}
	if err != nil {
		return nil, fmt.Errorf("seal: open root key: %w", err)
	}
	if len(root) != keySize {
		root.Zero()
		return nil, fmt.Errorf("seal: open root key: %w: root key is %d bytes", ErrBadCiphertext, len(root))
	}
	return root, nil
}

// readKeyring reads and decrypts the stored keyring with root.
func (b *Barrier) readKeyring(ctx context.Context, root Secret) (*keyring, error) {
	e, err := b.under.Get(ctx, keyringPath)
	if err != nil {
		return nil, fmt.Errorf("seal: read keyring: %w", err)
	}
	plain, err := openEnvelope(root, keyringPath, e.Value)
	if err != nil {
		return nil, fmt.Errorf("seal: open keyring: %w", err)
	}
	defer plain.Zero()
	kr, err := decodeKeyring(plain)
	if err != nil {
		return nil, fmt.Errorf("seal: open keyring: %w", err)
	}
	return kr, nil
}

// CheckKey authenticates a candidate unseal key against the stored sealed
// root key without unsealing: nil if it is the unseal key, ErrInvalidKey if
// not, ErrNotInitialized if there is no root key. It works sealed or
// unsealed (generate-root and rekey use it).
//
// Under an auto seal the operators hold the recovery key instead, and
// CheckKey authenticates a recovery key.
func (b *Barrier) CheckKey(ctx context.Context, unsealKey []byte) error {
	if cfg, err := b.SealConfig(ctx); err == nil && cfg.Auto() {
		return b.checkRecoveryKey(ctx, unsealKey)
	}
	root, err := b.openRootKey(ctx, unsealKey)
	if err != nil {
		return err
	}
	root.Zero()
	return nil
}

// Unseal opens the root key with unsealKey, loads the keyring and unseals
// the barrier. A key that does not authenticate, or is not 32 bytes, gives
// ErrInvalidKey and leaves the barrier sealed. Unsealing an unsealed
// barrier does nothing. unsealKey is not modified; the caller zeroes it.
func (b *Barrier) Unseal(ctx context.Context, unsealKey []byte) error {
	b.opMu.Lock()
	defer b.opMu.Unlock()
	return b.unsealLocked(ctx, unsealKey)
}

// unsealLocked is Unseal with opMu held.
func (b *Barrier) unsealLocked(ctx context.Context, unsealKey []byte) error {
	if !b.Sealed() {
		return nil
	}
	root, err := b.openRootKey(ctx, unsealKey)
	if err != nil {
		return err
	}
	kr, err := b.readKeyring(ctx, root)
	if err != nil {
		root.Zero()
		return err
	}
	b.mu.Lock()
	b.root = root
	b.kr.Store(kr)
	b.mu.Unlock()
	b.logger.Info("barrier unsealed", "term", kr.active().term)
	return nil
}

// Seal drops the keys: it zeroes the root key and every data key and
// forgets the keyring. It never blocks on storage.
func (b *Barrier) Seal() {
	b.mu.Lock()
	kr := b.kr.Swap(nil)
	b.root.Zero()
	b.root = nil
	if kr != nil {
		kr.zero()
	}
	b.mu.Unlock()
	if kr != nil {
		b.logger.Info("barrier sealed")
	}
}

// KeyStatus describes the active term (ErrSealed while sealed).
func (b *Barrier) KeyStatus() (KeyInfo, error) {
	kr := b.kr.Load()
	if kr == nil {
		return KeyInfo{}, ErrSealed
	}
	return kr.active().info(), nil
}

// rootCopy returns a copy of the root key if kr is still the installed
// keyring, else ErrSealed. The caller zeroes the copy.
func (b *Barrier) rootCopy(kr *keyring) (Secret, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if kr == nil || b.kr.Load() != kr {
		return nil, ErrSealed
	}
	return clone(b.root), nil
}

// Rotate adds a keyring term with a fresh data key and makes it active:
// new writes use it, older terms still decrypt. It first reloads the stored
// keyring, so it builds on any rotation already stored. Returns the new
// term's KeyInfo.
func (b *Barrier) Rotate(ctx context.Context) (KeyInfo, error) {
	b.opMu.Lock()
	defer b.opMu.Unlock()
	kr, err := b.reloadLocked(ctx)
	if err != nil {
		return KeyInfo{}, err
	}
	active := kr.active().term
	if active == math.MaxUint32 {
		return KeyInfo{}, fmt.Errorf("seal: rotate: term %d is the last one", active)
	}
	key, err := randomKey()
	if err != nil {
		return KeyInfo{}, err
	}
	t, err := newTermKey(active+1, key, now())
	if err != nil {
		key.Zero()
		return KeyInfo{}, err
	}
	next := kr.with(t)

	b.mu.Lock()
	if b.kr.Load() != kr {
		b.mu.Unlock()
		t.key.Zero()
		return KeyInfo{}, ErrSealed
	}
	plain := next.encode()
	root := clone(b.root)
	b.mu.Unlock()
	defer plain.Zero()
	defer root.Zero()

	ct, err := encryptEnvelope(root, keyringPath, plain)
	if err == nil {
		err = b.under.Put(ctx, &storage.Entry{Key: keyringPath, Value: ct})
	}
	if err != nil {
		t.key.Zero()
		return KeyInfo{}, fmt.Errorf("seal: rotate: write keyring: %w", err)
	}

	b.mu.Lock()
	if b.kr.Load() != kr { // sealed while writing; the next Unseal reads the new term
		b.mu.Unlock()
		t.key.Zero()
		return KeyInfo{}, ErrSealed
	}
	b.kr.Store(next)
	b.mu.Unlock()
	b.logger.Info("barrier key rotated", "term", t.term)
	return t.info(), nil
}

// Reload re-reads the stored keyring and adopts the terms another node
// added (after a rotation on the active node). Terms this node already
// holds must match the stored ones.
func (b *Barrier) Reload(ctx context.Context) error {
	b.opMu.Lock()
	defer b.opMu.Unlock()
	_, err := b.reloadLocked(ctx)
	return err
}

// reloadFor reloads the keyring unless a concurrent reload already brought
// in term, and returns the installed keyring.
func (b *Barrier) reloadFor(ctx context.Context, term uint32) (*keyring, error) {
	b.opMu.Lock()
	defer b.opMu.Unlock()
	kr := b.kr.Load()
	if kr == nil {
		return nil, ErrSealed
	}
	if kr.get(term) != nil {
		return kr, nil
	}
	return b.reloadLocked(ctx)
}

// reloadLocked does Reload with opMu held and returns the installed keyring.
func (b *Barrier) reloadLocked(ctx context.Context) (*keyring, error) {
	kr := b.kr.Load()
	root, err := b.rootCopy(kr)
	if err != nil {
		return nil, err
	}
	stored, err := b.readKeyring(ctx, root)
	root.Zero()
	if err != nil {
		return nil, err
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.kr.Load() != kr {
		stored.zero()
		return nil, ErrSealed
	}
	n := min(len(kr.terms), len(stored.terms))
	for i := 0; i < n; i++ {
		if subtle.ConstantTimeCompare(kr.terms[i].key, stored.terms[i].key) != 1 {
			stored.zero()
			return nil, fmt.Errorf("seal: reload: %w: stored key of term %d differs from the one in memory", ErrBadCiphertext, i+1)
		}
	}
	for _, t := range stored.terms[:n] {
		t.key.Zero() // duplicates of terms already installed
	}
	if len(stored.terms) <= len(kr.terms) {
		return kr, nil
	}
	terms := make([]*termKey, 0, len(stored.terms))
	terms = append(terms, kr.terms...)
	terms = append(terms, stored.terms[n:]...)
	next := &keyring{terms: terms}
	b.kr.Store(next)
	b.logger.Info("keyring reloaded", "term", next.active().term, "previous_term", kr.active().term)
	return next, nil
}

// Rekey replaces the unseal key: it makes a new random unseal key, seals
// the current root key with it and stores it with the new configuration in
// one Txn. It returns the new shares (the raw key for 1-of-1); the old
// shares no longer unseal. The data and the keyring are untouched. The
// barrier must be unsealed; authorising the rekey (collecting the old
// shares and checking them with CheckKey) is the caller's job.
//
// Under an auto seal Rekey replaces the recovery key instead (cfg's Type
// is ignored: the seal stays what it is).
func (b *Barrier) Rekey(ctx context.Context, cfg Config) (shares [][]byte, err error) {
	p, err := b.PrepareRekey(cfg)
	if err != nil {
		return nil, err
	}
	defer p.Zero()
	if err := b.CommitRekey(ctx, p); err != nil {
		return nil, err
	}
	return p.TakeShares(), nil
}

// RekeyPlan is a rekey made but not yet in force: a new unseal key and its
// shares. Nothing is written until CommitRekey, so until then the old
// shares keep working; a plan can be checked (VerifyShares), committed, or
// dropped. The caller Zeroes it.
type RekeyPlan struct {
	cfg       Config
	unsealKey Secret
	shares    [][]byte
}

// PrepareRekey makes a new unseal key for cfg and splits it, without
// writing anything.
func (b *Barrier) PrepareRekey(cfg Config) (*RekeyPlan, error) {
	if b.Sealed() {
		return nil, ErrSealed
	}
	return NewRekeyPlan(cfg)
}

// NewRekeyPlan makes a new random unseal key for cfg and splits it; only
// CommitRekey on an unsealed barrier puts it in force.
func NewRekeyPlan(cfg Config) (*RekeyPlan, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	unsealKey, err := randomKey()
	if err != nil {
		return nil, err
	}
	shares, err := makeShares(unsealKey, cfg)
	if err != nil {
		unsealKey.Zero()
		return nil, err
	}
	return &RekeyPlan{cfg: cfg, unsealKey: unsealKey, shares: shares}, nil
}

// Config is the plan's new seal configuration.
func (p *RekeyPlan) Config() Config { return p.cfg }

// Shares are the plan's new shares (owned by the plan: copy, do not keep).
func (p *RekeyPlan) Shares() [][]byte { return p.shares }

// TakeShares hands the shares over to the caller, who zeroes them.
func (p *RekeyPlan) TakeShares() [][]byte {
	s := p.shares
	p.shares = nil
	return s
}

// Matches reports, in constant time, whether key (shares of the plan
// combined by an Unsealer) is the plan's unseal key.
func (p *RekeyPlan) Matches(key []byte) bool {
	return len(p.unsealKey) > 0 && subtle.ConstantTimeCompare(p.unsealKey, key) == 1
}

// Zero wipes the plan's key and any shares it still holds.
func (p *RekeyPlan) Zero() {
	if p == nil {
		return
	}
	p.unsealKey.Zero()
	for _, s := range p.shares {
		clear(s)
	}
	p.shares = nil
}

// CommitRekey puts the plan in force: it seals the current root key with
// the plan's unseal key and stores it with the new configuration in one
// Txn. Under an auto seal the plan's key becomes the recovery key instead
// (the seal keeps the unseal key; the configuration keeps its type). The old shares no longer unseal. The data and the keyring are
// untouched. Authorising it is the caller's job.
func (b *Barrier) CommitRekey(ctx context.Context, p *RekeyPlan) error {
	if p == nil || len(p.unsealKey) == 0 {
		return fmt.Errorf("seal: rekey: empty plan")
	}
	b.opMu.Lock()
	defer b.opMu.Unlock()
	root, err := b.rootCopy(b.kr.Load())
	if err != nil {
		return err
	}
	defer root.Zero()
	cur, err := b.SealConfig(ctx)
	if err != nil {
		return err
	}
	if cur.Auto() {
		return b.commitRecoveryLocked(ctx, cur, p)
	}
	sealedRoot, err := encryptEnvelope(p.unsealKey, sealedRootKeyPath, root)
	if err != nil {
		return err
	}
	cfgJSON, err := json.Marshal(p.cfg)
	if err != nil {
		return fmt.Errorf("seal: encode seal config: %w", err)
	}
	err = b.under.Txn(ctx, []storage.Op{
		{Kind: storage.OpPut, Key: sealConfigPath, Value: cfgJSON},
		{Kind: storage.OpPut, Key: sealedRootKeyPath, Value: sealedRoot},
	})
	if err != nil {
		return fmt.Errorf("seal: rekey: %w", err)
	}
	b.logger.Info("barrier rekeyed", "shares", p.cfg.Shares, "threshold", p.cfg.Threshold)
	return nil
}
