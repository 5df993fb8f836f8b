// Package pki is Vault's PKI secrets engine: an X.509 certificate
// authority built on the standard library's crypto/x509 (and
// golang.org/x/crypto/ocsp for OCSP responses).
//
// A mount holds keys and issuers (Vault ≥ 1.11's multi-issuer model):
// root/generate and intermediate/generate make keys (RSA, EC, Ed25519;
// internal, exported or existing), intermediate/set-signed, config/ca
// and issuers/import/* import CA certificates (and keys), and every
// issuer is linked to the stored key with its public key. One issuer is
// the default (config/issuers). Roles (roles/:name) say which names,
// IPs, URIs, key types, usages and TTLs issue/:role and sign/:role may
// produce; sign-verbatim signs a CSR as it is. Issued certificates are
// stored by serial (unless the role says no_store), can be revoked, and
// appear on their issuer's CRL, which every revocation rebuilds, and in
// OCSP answers. tidy removes expired certificates.
//
// The CA, chain, CRL, single certificates and OCSP are unauthenticated
// reads (UnauthenticatedPaths); the CA and CRL come back as raw DER or
// PEM bodies through secrets.Response.RawBody.
//
// Private keys live only in the mount's storage (behind the barrier).
// They are returned once, when generated with type "exported" or issued
// by issue/:role, and never logged.
//
// Differences from Vault: generate_lease=true is refused (no leases); delta
// CRLs, unified/cross-cluster CRLs, ACME, EST, managed keys (kms),
// otherName SANs, identity templating in roles and AIA templating are
// refused with a clear error when asked for; tidy runs synchronously
// (it still answers 202).
package pki
