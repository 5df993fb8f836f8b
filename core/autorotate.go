package core

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/vaultd/vaultd/core/internal/reqfield"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// Automatic rotation of the barrier's data key (Vault's sys/rotate/config).
//
// Data is sealed with AES-256-GCM under random 96-bit nonces, which NIST SP
// 800-38D bounds at 2^32 encryptions per key. The active node counts the
// encryptions of the active term (seal.KeyInfo.Encryptions) and rotates the
// key before max_operations (default 3,865,470,566, just under 2^32) or
// once the term is older than interval. Rotation is Barrier.Rotate: the new
// keyring is one raft write, so it is replicated and either happened or
// did not; standbys pick the new term up on their next read.
//
// The count is in memory; the active node persists it (through the
// barrier, so it replicates) every rotationPersistEvery encryptions. A node
// that becomes active resumes from the persisted count plus
// rotationPersistEvery, the most the previous active node can have done
// without persisting, so a crash or failover never resets the count.
const (
	rotationConfigKey  = "core/rotation-config"
	encryptionCountKey = "core/encryption-count"

	defaultRotationMaxOps uint64 = 3865470566
	minRotationMaxOps     uint64 = 1000000
	minRotationInterval          = 24 * time.Hour

	rotationPersistEvery uint64 = 10000
)

// rotationCheckEvery is how often the active node checks (a variable so
// that in-package tests can shorten it).
var rotationCheckEvery = time.Second

type rotationConfig struct {
	MaxOperations uint64        `json:"max_operations"`
	Interval      time.Duration `json:"interval"`
	Disabled      bool          `json:"disabled"`
}

type encryptionCount struct {
	Term  int    `json:"term"`
	Count uint64 `json:"count"`
}

// autoRotator is the active node's rotation loop.
type autoRotator struct {
	mu        sync.Mutex
	cancel    context.CancelFunc
	done      chan struct{}
	persisted uint64 // last persisted count of the active term
	term      int
}

func init() {
	activeHooks = append(activeHooks, func(c *Core, ctx context.Context) { c.startAutoRotate() })
	standbyHooks = append(standbyHooks, func(c *Core) { c.stopAutoRotate() })
}

func (c *Core) startAutoRotate() {
	c.rotator.mu.Lock()
	defer c.rotator.mu.Unlock()
	if c.rotator.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.rotator.cancel, c.rotator.done = cancel, make(chan struct{})
	c.rotator.term, c.rotator.persisted = 0, 0 // persist on the first check
	go func(done chan struct{}) {
		defer close(done)
		c.resumeEncryptionCount(ctx)
		t := time.NewTicker(rotationCheckEvery)
		defer t.Stop()
		for {
			c.checkRotation(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}(c.rotator.done)
}

func (c *Core) stopAutoRotate() {
	c.rotator.mu.Lock()
	cancel, done := c.rotator.cancel, c.rotator.done
	c.rotator.cancel, c.rotator.done = nil, nil
	c.rotator.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// resumeEncryptionCount carries on the persisted count of the active term.
func (c *Core) resumeEncryptionCount(ctx context.Context) {
	ki, err := c.barrier.KeyStatus()
	if err != nil {
		return
	}
	var ec encryptionCount
	if err := c.getJSON(ctx, encryptionCountKey, &ec); err != nil && !errors.Is(err, storage.ErrNotFound) {
		c.log.Warn("reading the persisted encryption count failed; counting from a safe margin", "error", err)
	}
	add := rotationPersistEvery
	if ec.Term == ki.Term {
		add += ec.Count
	}
	if err := c.barrier.AddEncryptions(ki.Term, add); err != nil {
		c.log.Warn("restoring the encryption count failed", "error", err)
	}
}

func (c *Core) rotationConfig(ctx context.Context) (rotationConfig, error) {
	rc := rotationConfig{MaxOperations: defaultRotationMaxOps}
	err := c.getJSON(ctx, rotationConfigKey, &rc)
	if errors.Is(err, storage.ErrNotFound) {
		err = nil
	}
	if rc.MaxOperations == 0 {
		rc.MaxOperations = defaultRotationMaxOps
	}
	return rc, err
}

// checkRotation persists the count when due and rotates when a limit is
// reached.
func (c *Core) checkRotation(ctx context.Context) {
	if !c.active.Load() {
		return
	}
	ki, err := c.barrier.KeyStatus()
	if err != nil {
		return
	}
	rc, err := c.rotationConfig(ctx)
	if err != nil {
		c.log.Warn("reading the rotation config failed", "error", err)
		return
	}
	due := ki.Encryptions >= rc.MaxOperations || (rc.Interval > 0 && c.now().Sub(ki.InstallTime) >= rc.Interval)
	if due && !rc.Disabled {
		nk, err := c.barrier.Rotate(ctx)
		if err != nil {
			c.log.Warn("automatic key rotation failed; will retry", "term", ki.Term, "error", err)
			return
		}
		c.log.Info("barrier key rotated automatically", "old_term", ki.Term, "new_term", nk.Term, "encryptions", ki.Encryptions)
		ki = nk
	}
	if ki.Term != c.rotator.term || ki.Encryptions >= c.rotator.persisted+rotationPersistEvery {
		if err := c.putJSON(ctx, encryptionCountKey, encryptionCount{Term: ki.Term, Count: ki.Encryptions}); err != nil {
			c.log.Warn("persisting the encryption count failed", "error", err)
			return
		}
		c.rotator.term, c.rotator.persisted = ki.Term, ki.Encryptions
	}
}

func (c *Core) getJSON(ctx context.Context, key string, v any) error {
	e, err := c.barrier.Get(ctx, key)
	if err != nil {
		return err
	}
	return json.Unmarshal(e.Value, v)
}

func (c *Core) putJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.barrier.Put(ctx, &storage.Entry{Key: key, Value: b})
}

// sysRotateConfig is sys/rotate/config (and sys/rotate/keyring/config).
func (c *Core) sysRotateConfig(ctx context.Context, op secrets.Operation, d map[string]any) (*Response, error) {
	rc, err := c.rotationConfig(ctx)
	if err != nil {
		return nil, err
	}
	switch op {
	case secrets.OpRead:
		return &Response{Data: rotationConfigData(rc)}, nil
	case secrets.OpUpdate, secrets.OpCreate:
	default:
		return nil, unsupportedOp()
	}
	if n, set, err := uint64Field(d, "max_operations"); err != nil {
		return nil, err
	} else if set {
		if n < minRotationMaxOps || n > defaultRotationMaxOps {
			return nil, badRequest("max_operations must be between %d and %d", minRotationMaxOps, defaultRotationMaxOps)
		}
		rc.MaxOperations = n
	}
	if iv, set, err := reqfield.Duration(d, "interval"); err != nil {
		return nil, err
	} else if set {
		if iv != 0 && iv < minRotationInterval {
			return nil, badRequest("interval must be 0 (none) or at least %s", minRotationInterval)
		}
		rc.Interval = iv
	}
	if en, set, err := reqfield.Bool(d, "enabled"); err != nil {
		return nil, err
	} else if set {
		rc.Disabled = !en
	}
	if err := c.putJSON(ctx, rotationConfigKey, rc); err != nil {
		return nil, err
	}
	return &Response{}, nil
}

func rotationConfigData(rc rotationConfig) map[string]any {
	return map[string]any{"max_operations": rc.MaxOperations, "interval": intervalValue(rc.Interval), "enabled": !rc.Disabled}
}

// intervalValue is Vault's answer shape: a duration string, or 0 when unset.
func intervalValue(d time.Duration) any {
	if d <= 0 {
		return 0
	}
	return d.String()
}

// uint64Field reads a non-negative integer field (above int32, unlike
// reqfield.Int); set is false when absent or "".
func uint64Field(d map[string]any, k string) (uint64, bool, error) {
	var s string
	switch v := d[k].(type) {
	case nil:
		return 0, false, nil
	case json.Number:
		s = v.String()
	case string:
		if v == "" {
			return 0, false, nil
		}
		s = v
	case float64:
		if v < 0 || v != math.Trunc(v) || v > math.MaxUint32*2 {
			return 0, false, badRequest("field %q must be a non-negative integer", k)
		}
		return uint64(v), true, nil
	case int:
		if v < 0 {
			return 0, false, badRequest("field %q must be a non-negative integer", k)
		}
		return uint64(v), true, nil
	default:
		return 0, false, badRequest("field %q must be a non-negative integer", k)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, badRequest("field %q must be a non-negative integer", k)
	}
	return n, true, nil
}
