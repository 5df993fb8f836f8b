// Package jwtverify is what the jwt and kubernetes auth methods share to
// check a signed JWT: the asymmetric signature algorithms they accept,
// PEM public keys, signature verification against configured keys only
// (go-jose does the cryptography), time checks with Vault's leeways,
// glob matching of bound values, and a bounded HTTPS client for key
// discovery and TokenReview calls.
//
// Invariants:
//   - Only asymmetric algorithms (RS*, PS*, ES*, EdDSA) are ever accepted:
//     "none" and every HMAC algorithm are refused before any key is tried,
//     so a public key can never be used as an HMAC secret.
//   - A token is verified only against keys the operator configured (or
//     fetched from the configured JWKS/discovery URL); keys or URLs carried
//     in the token's own header (jwk, jku, x5u, x5c) are never used.
//   - A key whose JWK "alg" names another algorithm, or whose "use" is not
//     "sig", is not used for the token.
//   - Tokens, keys and bodies are never logged.
package jwtverify
