package seal

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"sync"

	"github.com/vaultd/vaultd/seal/shamir"
)

// Progress is the state of an unseal attempt, as sys/seal-status shows it:
// N shares collected of Threshold, and the attempt's Nonce ("" while no
// attempt is in progress).
type Progress struct {
	N         int
	Threshold int
	Nonce     string
}

// Unsealer collects unseal key shares on one node until the threshold is
// reached. Shares live in memory only and are zeroed on Reset and once
// combined. It is safe for concurrent use.
type Unsealer struct {
	mu     sync.Mutex // guards the fields below
	cfg    Config     // the configuration of the current (or last) attempt
	shares []Secret
	nonce  string
}

// NewUnsealer returns an Unsealer with no attempt in progress.
func NewUnsealer() *Unsealer { return &Unsealer{} }

// Add submits one share under cfg, the stored seal configuration. Below the
// threshold it returns a nil key and the progress. At the threshold it
// combines the shares, resets the progress and returns the candidate
// unseal key (the caller zeroes it): the caller tries Barrier.Unseal with
// it, which authenticates it.
//
// A share identical to one already submitted is ignored (progress stays,
// no error), as in Vault. A share of the wrong length (32 bytes for a
// 1-of-1 configuration, 33 otherwise), with X coordinate 0, or with the X
// coordinate of a different share already submitted is refused with
// ErrInvalidShare and leaves the progress unchanged. If cfg differs from
// the configuration of the attempt in progress (a rekey happened), the
// attempt is discarded and a new one starts.
func (u *Unsealer) Add(cfg Config, share []byte) (unsealKey Secret, p Progress, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := cfg.Validate(); err != nil {
		return nil, u.progressLocked(), err
	}
	if cfg != u.cfg {
		u.resetLocked()
		u.cfg = cfg
	}
	if want := cfg.shareLen(); len(share) != want {
		return nil, u.progressLocked(), fmt.Errorf("%w: %d bytes, want %d", ErrInvalidShare, len(share), want)
	}
	if cfg.Threshold == 1 {
		u.resetLocked()
		return clone(share), u.progressLocked(), nil
	}
	x := share[len(share)-1]
	if x == 0 {
		return nil, u.progressLocked(), fmt.Errorf("%w: X coordinate 0", ErrInvalidShare)
	}
	for _, s := range u.shares {
		if subtle.ConstantTimeCompare(s, share) == 1 {
			return nil, u.progressLocked(), nil // submitted before: ignored
		}
		if s[len(s)-1] == x {
			return nil, u.progressLocked(), fmt.Errorf("%w: another share with the same X coordinate was already submitted", ErrInvalidShare)
		}
	}
	if len(u.shares) == 0 {
		nonce, err := newNonce()
		if err != nil {
			return nil, u.progressLocked(), err
		}
		u.nonce = nonce
	}
	u.shares = append(u.shares, clone(share))
	if len(u.shares) < cfg.Threshold {
		return nil, u.progressLocked(), nil
	}

	parts := make([][]byte, len(u.shares))
	for i, s := range u.shares {
		parts[i] = s
	}
	key, err := shamir.Combine(parts)
	u.resetLocked()
	if err != nil {
		return nil, u.progressLocked(), fmt.Errorf("%w: %w", ErrInvalidShare, err)
	}
	return key, u.progressLocked(), nil
}

// Progress returns the current progress. Threshold is that of the last
// configuration passed to Add (0 before the first Add).
func (u *Unsealer) Progress() Progress {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.progressLocked()
}

// Reset discards (and zeroes) the shares collected so far and returns the
// empty progress.
func (u *Unsealer) Reset() Progress {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.resetLocked()
	return u.progressLocked()
}

func (u *Unsealer) progressLocked() Progress {
	return Progress{N: len(u.shares), Threshold: u.cfg.Threshold, Nonce: u.nonce}
}

func (u *Unsealer) resetLocked() {
	for _, s := range u.shares {
		s.Zero()
	}
	u.shares = nil
	u.nonce = ""
}

// newNonce returns a random UUID (version 4), the form of Vault's unseal
// nonce.
func newNonce() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("seal: reading randomness: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
