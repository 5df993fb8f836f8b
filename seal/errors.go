package seal

import "errors"

// Errors returned by the barrier and the unsealer. Match them with errors.Is.
var (
	// ErrSealed: the barrier is sealed, so it holds no keys.
	ErrSealed = errors.New("seal: vault is sealed")
	// ErrNotInitialized: the storage holds no seal configuration or root key.
	ErrNotInitialized = errors.New("seal: vault is not initialized")
	// ErrAlreadyInitialized: Initialize on storage that is initialized.
	ErrAlreadyInitialized = errors.New("seal: vault is already initialized")
	// ErrInvalidKey: an unseal key that does not open the sealed root key
	// (wrong key, or not 32 bytes).
	ErrInvalidKey = errors.New("seal: invalid unseal key")
	// ErrInvalidShare: a key share of the wrong length or a malformed one.
	ErrInvalidShare = errors.New("seal: invalid key share")
	// ErrReservedKey: a storage operation on one of the barrier's own keys
	// (core/seal-config, core/sealed-root-key, core/keyring).
	ErrReservedKey = errors.New("seal: reserved storage key")
	// ErrBadCiphertext: a value that is truncated, has an unknown version
	// or key term, or fails authentication (tampered, or moved to another
	// path).
	ErrBadCiphertext = errors.New("seal: invalid ciphertext")
	// ErrInvalidConfig: a seal configuration outside
	// 1 ≤ threshold ≤ shares ≤ 255 (threshold 1 only with one share).
	ErrInvalidConfig = errors.New("seal: invalid seal configuration")
)
