package seal

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// KeyInfo describes one keyring term, as Vault's sys/key-status does.
type KeyInfo struct {
	Term        int
	InstallTime time.Time
	// Encryptions counts the values this node has encrypted with the term
	// since it was unsealed (in memory only, like Vault's counter between
	// persists); core may use it to drive automatic rotation.
	Encryptions uint64
}

// termKey is one data key of the keyring. Its fields are set before the
// termKey is published and never change, except key, which Seal zeroes:
// once installed in a Barrier, key is read or written only with Barrier.mu
// held. aead is used without a lock.
type termKey struct {
	term        uint32
	installed   time.Time
	key         Secret
	aead        cipher.AEAD
	encryptions atomic.Uint64
}

func newTermKey(term uint32, key Secret, installed time.Time) (*termKey, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &termKey{term: term, installed: installed, key: key, aead: aead}, nil
}

func (t *termKey) info() KeyInfo {
	return KeyInfo{Term: int(t.term), InstallTime: t.installed, Encryptions: t.encryptions.Load()}
}

// keyring is an immutable, never empty list of terms: terms[i].term == i+1,
// and the last one is active. Changes make a new keyring that shares the
// termKeys of the old one.
type keyring struct {
	terms []*termKey
}

func (k *keyring) active() *termKey { return k.terms[len(k.terms)-1] }

// get returns the key of term, or nil when the keyring does not hold it.
func (k *keyring) get(term uint32) *termKey {
	if term == 0 || uint64(term) > uint64(len(k.terms)) {
		return nil
	}
	return k.terms[term-1]
}

// with returns a new keyring with t appended as the active term.
func (k *keyring) with(t *termKey) *keyring {
	terms := make([]*termKey, len(k.terms), len(k.terms)+1)
	copy(terms, k.terms)
	return &keyring{terms: append(terms, t)}
}

// zero wipes every data key. The caller holds Barrier.mu if k is installed.
func (k *keyring) zero() {
	for _, t := range k.terms {
		t.key.Zero()
	}
}

// Keyring encoding (see the package doc).
const (
	keyringMagic      = "VDKR"
	keyringVersion    = 0x01
	keyringHeaderSize = len(keyringMagic) + 1 + 4
	keyringEntrySize  = 4 + 8 + keySize
)

// encode serialises the keyring. The result holds key material: the caller
// zeroes it. The caller holds Barrier.mu if k is installed.
func (k *keyring) encode() Secret {
	out := make(Secret, keyringHeaderSize, keyringHeaderSize+len(k.terms)*keyringEntrySize)
	copy(out, keyringMagic)
	out[len(keyringMagic)] = keyringVersion
	binary.BigEndian.PutUint32(out[len(keyringMagic)+1:], uint32(len(k.terms)))
	for _, t := range k.terms {
		out = binary.BigEndian.AppendUint32(out, t.term)
		out = binary.BigEndian.AppendUint64(out, uint64(t.installed.UnixNano()))
		out = append(out, t.key...)
	}
	return out
}

// decodeKeyring parses an encoded keyring. The returned keyring's keys are
// copies: the caller may zero b.
func decodeKeyring(b []byte) (*keyring, error) {
	if len(b) < keyringHeaderSize || string(b[:len(keyringMagic)]) != keyringMagic {
		return nil, fmt.Errorf("%w: keyring: bad header", ErrBadCiphertext)
	}
	if v := b[len(keyringMagic)]; v != keyringVersion {
		return nil, fmt.Errorf("%w: keyring: unknown version %#02x", ErrBadCiphertext, v)
	}
	count := uint64(binary.BigEndian.Uint32(b[len(keyringMagic)+1:]))
	body := b[keyringHeaderSize:]
	if count == 0 || uint64(len(body)) != count*keyringEntrySize {
		return nil, fmt.Errorf("%w: keyring: %d terms in %d bytes", ErrBadCiphertext, count, len(body))
	}
	kr := &keyring{terms: make([]*termKey, 0, count)}
	for i := uint64(0); i < count; i++ {
		e := body[i*keyringEntrySize : (i+1)*keyringEntrySize]
		term := binary.BigEndian.Uint32(e)
		if uint64(term) != i+1 {
			kr.zero()
			return nil, fmt.Errorf("%w: keyring: entry %d has term %d", ErrBadCiphertext, i+1, term)
		}
		installed := time.Unix(0, int64(binary.BigEndian.Uint64(e[4:]))).UTC()
		t, err := newTermKey(term, clone(e[12:]), installed)
		if err != nil {
			kr.zero()
			return nil, err
		}
		kr.terms = append(kr.terms, t)
	}
	return kr, nil
}

// AddEncryptions adds n to the encryption count of term, if the installed
// keyring holds it. Core uses it when a node becomes active to carry on the
// count the previous active node persisted (plus a margin for what it did
// not get to persist), so that automatic rotation sees the cluster-wide
// count of the term, not only this node's.
func (b *Barrier) AddEncryptions(term int, n uint64) error {
	kr := b.kr.Load()
	if kr == nil {
		return ErrSealed
	}
	if term <= 0 || term > math.MaxUint32 {
		return fmt.Errorf("seal: add encryptions: bad term %d", term)
	}
	t := kr.get(uint32(term))
	if t == nil {
		return fmt.Errorf("seal: add encryptions: unknown term %d", term)
	}
	t.encryptions.Add(n)
	return nil
}
