// Package pgp is vaultd's OpenPGP seam, built on
// github.com/ProtonMail/go-crypto.
//
// The server side uses Encrypt as its core.ShareEncrypter: it encrypts an
// unseal key share (or a root token) to one keyholder's public key, given
// in Vault's wire form (base64 of the binary key). The CLI side reads the
// public key files operators name in -pgp-keys and -root-token-pgp-key
// (binary, ASCII-armored, or already base64), and decrypts shares with a
// keyholder's private key for `operator unseal -pgp-private-key`.
//
// Nothing here logs or keeps plaintext: callers own the buffers passed in
// and returned, and zero them after use.
package pgp
