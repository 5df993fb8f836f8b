// Package seal owns the barrier: the encryption layer between vaultd's
// logic (plaintext above) and its replicated storage (ciphertext below),
// and the keys that drive it.
//
// # Key hierarchy
//
//   - The unseal key (32 random bytes) is never stored. Initialize splits it
//     into Shamir shares (seal/shamir); with one share and threshold one the
//     single share is the raw key itself, as in Vault. An Unsealer collects
//     shares on one node and combines them.
//   - The root key (32 bytes) is stored at core/sealed-root-key, encrypted
//     by the unseal key. Opening it is how a candidate unseal key is
//     authenticated: a wrong key fails AES-GCM authentication (ErrInvalidKey).
//   - The keyring, terms 1..n of AES-256 data keys with their install
//     times, is stored at core/keyring, encrypted by the root key.
//   - Every value written through the barrier is encrypted with the active
//     term's data key. Older terms stay readable after Rotate.
//
// The seal configuration (shares, threshold) is stored in plaintext at
// core/seal-config because it must be readable while sealed. These three
// physical keys are reserved: the barrier's storage methods refuse them
// (ErrReservedKey) and List hides them, so nothing above the barrier can
// read or clobber them.
//
// # Ciphertext format
//
// Every encrypted value is
//
//	term uint32 (big endian) | version 0x02 | nonce[12] | ciphertext ‖ tag[16]
//
// sealed with AES-256-GCM and a random nonce, with the full physical storage
// key as additional data, so a ciphertext moved to another key fails to
// decrypt. The root key and keyring envelopes use the same format with term
// 0 (they are not encrypted by a keyring term).
//
// # Keyring format
//
// The keyring plaintext is "VDKR" | version 0x01 | count uint32 | count ×
// (term uint32 | install time, Unix nanoseconds int64 | key[32]), all big
// endian, with terms exactly 1..count; the last term is the active one.
//
// # Concurrency and key hygiene
//
// The keyring in memory is an immutable value: Rotate and Reload build a new
// one and swap the pointer under a mutex (copy-on-write), so the read and
// write paths take no lock. AES-GCM instances are built once per term.
// Seal zeroes the root key and every data key and drops the keyring; an
// operation already in flight when Seal runs may finish, but Get and
// Decrypt discard their plaintext and report ErrSealed if the barrier was
// sealed meanwhile. The key schedules inside crypto/aes cannot be wiped;
// they become unreachable once in-flight operations finish.
//
// A standby follows a rotation made on the active node: when it meets a
// ciphertext of a term newer than its own, it re-reads the keyring once
// (Reload) before failing.
//
// Key material is typed Secret where it is held, so it prints and logs as
// "[redacted]". Nothing in this package logs key bytes.
package seal
