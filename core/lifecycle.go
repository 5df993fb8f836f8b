package core

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/vaultd/vaultd/core/mounts"
	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/seal/shamir"
	"github.com/vaultd/vaultd/storage"
)

// InitRequest is sys/init's body.
type InitRequest struct {
	SecretShares    int
	SecretThreshold int
	// PGPKeys, when set, hold one base64 OpenPGP public key per share; each
	// share is then returned encrypted to its key.
	PGPKeys []string
	// RootTokenPGPKey encrypts the root token to an OpenPGP key.
	RootTokenPGPKey string
	// RootTokenID overrides the generated root token (server -dev only;
	// never reachable from HTTP).
	RootTokenID string
	// RecoveryShares, RecoveryThreshold and RecoveryPGPKeys configure the
	// recovery key under an auto seal (refused under Shamir).
	RecoveryShares    int
	RecoveryThreshold int
	RecoveryPGPKeys   []string
}

// InitResult is what sys/init returns: the shares and the root token.
// The caller must hand them to the operator and forget them.
type InitResult struct {
	Shares []seal.Secret
	// RecoveryShares are the recovery key's shares (auto seal only; Shares
	// is then empty).
	RecoveryShares []seal.Secret
	RootToken      string
}

// ShareEncrypter encrypts unseal key shares (or the root token) to OpenPGP
// public keys. Injected by the composition root so core stays free of
// OpenPGP code.
type ShareEncrypter func(plain []byte, base64PubKey string) ([]byte, error)

// Init initialises a brand-new cluster: it bootstraps single-node raft if
// needed, creates the barrier keys, the cluster identity, the default
// mounts and the root token, and leaves the node sealed.
func (c *Core) Init(ctx context.Context, req InitRequest, enc ShareEncrypter) (InitResult, error) {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	auto := c.cfg.Seal != nil
	cfg := seal.Config{Shares: req.SecretShares, Threshold: req.SecretThreshold}
	pgpKeys := req.PGPKeys
	if auto {
		// As Vault: the unseal key belongs to the seal, so secret_shares
		// and secret_threshold do not apply; the operators get recovery
		// shares.
		if len(req.PGPKeys) > 0 {
			return InitResult{}, badRequest("pgp_keys encrypts unseal key shares, which an auto seal does not hand out; use recovery_pgp_keys")
		}
		cfg = seal.Config{Type: c.cfg.Seal.Type(), Shares: req.RecoveryShares, Threshold: req.RecoveryThreshold}
		pgpKeys = req.RecoveryPGPKeys
		if err := cfg.Validate(); err != nil {
			return InitResult{}, badRequest("invalid recovery configuration: %s", err.Error())
		}
	} else {
		if req.RecoveryShares != 0 || req.RecoveryThreshold != 0 || len(req.RecoveryPGPKeys) > 0 {
			return InitResult{}, badRequest("parameters recovery_shares, recovery_threshold and recovery_pgp_keys are not applicable to seal type shamir")
		}
		if err := cfg.Validate(); err != nil {
			return InitResult{}, badRequest("%s", err.Error())
		}
	}
	if len(pgpKeys) > 0 && len(pgpKeys) != cfg.Shares {
		return InitResult{}, badRequest("incorrect number of PGP keys: %d, want %d (one per share)", len(pgpKeys), cfg.Shares)
	}
	if (len(pgpKeys) > 0 || req.RootTokenPGPKey != "") && enc == nil {
		return InitResult{}, badRequest("PGP encryption is not available")
	}
	// Check every key before anything is written: a key that fails after
	// the barrier is initialised would lose its share, and the vault.
	for i, k := range pgpKeys {
		if _, err := enc([]byte("vaultd key check"), k); err != nil {
			return InitResult{}, badRequest("PGP key %d: %v", i+1, err)
		}
	}
	if req.RootTokenPGPKey != "" {
		if _, err := enc([]byte("vaultd key check"), req.RootTokenPGPKey); err != nil {
			return InitResult{}, badRequest("root token PGP key: %v", err)
		}
	}
	if ok, err := c.barrier.Initialized(ctx); err != nil {
		return InitResult{}, err
	} else if ok {
		return InitResult{}, ErrAlreadyInitialized
	}
	if err := c.bootstrap(ctx); err != nil {
		return InitResult{}, err
	}
	var shares [][]byte
	var err error
	if auto {
		shares, err = c.barrier.InitializeAuto(ctx, cfg, c.cfg.Seal)
	} else {
		shares, err = c.barrier.Initialize(ctx, cfg)
	}
	if err != nil {
		return InitResult{}, err
	}
	out := make([]seal.Secret, len(shares))
	for i, s := range shares {
		out[i] = seal.Secret(s)
	}
	res := InitResult{Shares: out}
	if auto {
		res = InitResult{Shares: []seal.Secret{}, RecoveryShares: out} // InitializeAuto left the barrier unsealed
	} else {
		var key seal.Secret
		key, err = combine(cfg, shares)
		if err != nil {
			return InitResult{}, err
		}
		err = c.barrier.Unseal(ctx, key)
		key.Zero()
	}
	if err != nil {
		return InitResult{}, fmt.Errorf("core: unseal after init: %w", err)
	}
	root, err := c.firstSetup(ctx, req.RootTokenID)
	if err == nil {
		err = c.initClusterTLS(ctx) // cluster.go
	}
	c.barrier.Seal()
	if err != nil {
		return InitResult{}, err
	}
	res.RootToken = root
	c.initialized.Store(true)
	c.stateChanged()
	if auto {
		// As Vault: an auto-sealed vault is unsealed right after init.
		if err := c.barrier.UnsealAuto(ctx, c.cfg.Seal); err != nil {
			c.log.Warn("unseal after init failed; the auto-unseal loop retries", "error", err)
		} else {
			c.afterUnsealLocked(ctx, "vault unsealed by its "+cfg.Type+" seal")
		}
	}
	if len(pgpKeys) > 0 {
		for i, s := range out {
			// Vault encrypts the hex form, so `base64 -d | gpg -d` prints
			// a share the CLI accepts.
			h := []byte(hex.EncodeToString(s))
			ct, err := enc(h, pgpKeys[i])
			clear(h)
			if err != nil {
				return InitResult{}, badRequest("encrypting share %d: %v", i+1, err)
			}
			s.Zero()
			out[i] = ct
		}
	}
	if req.RootTokenPGPKey != "" {
		ct, err := enc([]byte(root), req.RootTokenPGPKey)
		if err != nil {
			return InitResult{}, badRequest("encrypting root token: %v", err)
		}
		res.RootToken = base64.StdEncoding.EncodeToString(ct) // as Vault returns it
	}
	c.log.Info("vault initialized", "seal_type", cfg.TypeName(), "shares", cfg.Shares, "threshold", cfg.Threshold)
	return res, nil
}

// combine rebuilds the unseal key from freshly made shares.
func combine(cfg seal.Config, shares [][]byte) (seal.Secret, error) {
	if cfg.Threshold == 1 {
		return seal.Secret(append([]byte(nil), shares[0]...)), nil
	}
	k, err := shamir.Combine(shares[:cfg.Threshold])
	if err != nil {
		return nil, fmt.Errorf("core: combine: %w", err)
	}
	return seal.Secret(k), nil
}

// bootstrap makes this node a one-node raft cluster when it is not part of
// one yet, and waits until it leads.
func (c *Core) bootstrap(ctx context.Context) error {
	if b, ok := c.cluster.(Bootstrapper); ok {
		has, err := b.HasState()
		if err != nil {
			return err
		}
		if !has {
			if c.cfg.NoBootstrap {
				return badRequest("this node is configured to join a cluster (retry_join); initialize the cluster's first node instead")
			}
			if err := b.Bootstrap(ctx); err != nil {
				return fmt.Errorf("core: bootstrap: %w", err)
			}
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for !c.cluster.IsLeader() {
		select {
		case <-wctx.Done():
			return fmt.Errorf("core: init: this node did not become the raft leader: %w", ErrNoActiveNode)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return c.cluster.Barrier(wctx)
}

// firstSetup writes everything a new cluster needs behind the barrier.
func (c *Core) firstSetup(ctx context.Context, rootID string) (string, error) {
	name := c.cfg.ClusterName
	if name == "" {
		name = "vault-cluster-" + uuid.NewString()[:8]
	}
	ci, err := json.Marshal(clusterInfo{Name: name, ID: uuid.NewString()})
	if err != nil {
		return "", err
	}
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	mt, err := c.defaultMounts()
	if err != nil {
		return "", err
	}
	mtb, err := mounts.Encode(mt) // the first mount table (core/mounts)
	if err != nil {
		return "", err
	}
	err = c.barrier.Txn(ctx, []storage.Op{
		{Kind: storage.OpPut, Key: "core/cluster-info", Value: ci},
		{Kind: storage.OpPut, Key: tokens.SaltKey, Value: salt},
		{Kind: storage.OpPut, Key: mountTableKey, Value: mtb},
	})
	if err != nil {
		return "", fmt.Errorf("core: first setup: %w", err)
	}
	if err := c.tokens.Load(ctx); err != nil {
		return "", err
	}
	root, err := c.tokens.Create(ctx, &TokenEntry{
		Policies:    []string{"root"},
		Path:        "auth/token/root",
		DisplayName: "root",
		Orphan:      true,
	}, rootID)
	if err != nil {
		return "", fmt.Errorf("core: root token: %w", err)
	}
	c.tokens.Forget()
	return root, nil
}

// Unseal adds one key share. At the threshold it tries the combined key;
// a wrong key resets progress and returns ErrInvalidKey.
func (c *Core) Unseal(ctx context.Context, share []byte) (Status, error) {
	return c.UnsealMigrate(ctx, share, false)
}

// UnsealMigrate is Unseal with sys/unseal's migrate flag: during a seal
// migration (autoseal.go) the shares must be given with migrate=true, and
// only then.
func (c *Core) UnsealMigrate(ctx context.Context, share []byte, migrate bool) (Status, error) {
	c.stateMu.Lock()
	joining, wait, err := c.unsealJoin(ctx, share) // join.go
	if !joining {
		err = c.unsealLocked(ctx, share, migrate)
	}
	c.stateMu.Unlock()
	if wait != nil {
		select { // the join finishes once raft has replicated the keys here
		case <-wait:
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
	}
	if err == nil {
		c.poke()
		c.stateChanged()
	}
	return c.Status(ctx), err
}

func (c *Core) unsealLocked(ctx context.Context, share []byte, migrate bool) error {
	if !c.isInitialized(ctx) {
		return ErrNotInitialized
	}
	if !c.barrier.Sealed() {
		return nil
	}
	cfg, err := c.sealConfig(ctx)
	if err != nil {
		return err
	}
	mode, err := c.checkUnsealMode(cfg, migrate) // autoseal.go
	if err != nil {
		return err
	}
	key, _, err := c.unsealer.Add(*cfg, share)
	if err != nil {
		return err
	}
	if key == nil {
		return nil
	}
	defer key.Zero()
	if err := c.unsealKeyLocked(ctx, mode, key); err != nil {
		c.unsealer.Reset()
		if errors.Is(err, seal.ErrInvalidKey) {
			c.log.Warn("unseal failed: the combined key is wrong; progress reset")
		}
		return err
	}
	c.log.Info("vault unsealed")
	if err := c.loadClusterTLS(ctx); err != nil { // cluster.go; reconcile retries
		c.log.Warn("cluster TLS not loaded at unseal; will retry", "error", err)
	}
	return nil
}

// ResetUnseal discards the shares collected so far.
func (c *Core) ResetUnseal(ctx context.Context) Status {
	c.unsealer.Reset()
	return c.Status(ctx)
}

// SealNode seals this node: it stops serving first, then drops the keys.
// The caller (sys/seal) has already authorised the request.
func (c *Core) SealNode() {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	c.teardown()
	c.dropReplica() // standby.go
	if c.cfg.Seal != nil {
		// As Vault: an auto-sealed node sealed by an operator stays sealed
		// until it restarts or is unsealed with the recovery shares.
		c.manualSeal.Store(true)
	}
	c.handOffLeadership()
	c.barrier.Seal()
	c.unsealer.Reset()
	c.tokens.Forget()
	c.info.Store(nil)
	c.log.Info("vault sealed")
	c.stateChanged()
}

// handOffLeadership moves raft leadership away from a node that is being
// sealed, as Vault's active node steps down when it seals: a sealed leader
// would otherwise leave the cluster with no active node until an operator
// unsealed it again. Best effort and bounded; a single-node cluster has no
// one to hand off to.
func (c *Core) handOffLeadership() {
	if c.cfg.Members == nil || !c.cluster.IsLeader() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range 3 {
		err := c.cfg.Members.TransferLeadership(ctx)
		if err == nil || !c.cluster.IsLeader() {
			return
		}
		c.log.Debug("handing off leadership before sealing failed; retrying", "error", err)
	}
}
