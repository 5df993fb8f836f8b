// Package shamir splits a secret into shares with Shamir's secret sharing
// over GF(2^8) and combines them again.
//
// Every byte of the secret is the constant term of its own random polynomial
// of degree threshold-1; a share holds that polynomial evaluated at one X
// coordinate for every byte. The share layout is Vault's: the Y bytes
// followed by one trailing X byte, so len(share) == len(secret)+1. X
// coordinates are distinct, non-zero and chosen at random.
//
// The field is GF(2^8) with the AES reduction polynomial x^8+x^4+x^3+x+1.
// Multiplication is a branch-free shift-and-add and inversion is a fixed
// exponentiation (a^254), so the arithmetic takes the same time whatever the
// secret bytes are: no table lookups indexed by secret data.
//
// Any threshold or more shares recover the secret; fewer reveal nothing
// about it (they interpolate to an unrelated value). Combine cannot tell a
// wrong combination from a right one: callers authenticate the result (the
// seal package does so by opening the sealed root key with it).
//
// A threshold of 1 is allowed only with a single part. Combine always needs
// at least two shares; with a 1-of-1 configuration the caller uses the
// secret itself as the only "share" (Vault does the same), so Combine is
// never asked to combine one share.
package shamir
