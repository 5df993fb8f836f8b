// Package cidr parses, canonicalizes and checks the CIDR bounds of the
// auth methods under auth/ (token_bound_cidrs, secret_id_bound_cidrs,
// cidr_list) against a request's client address.
//
// A bound is a CIDR block or a single address (a /32 or /128).
// IPv4-mapped IPv6 blocks are turned into IPv4 blocks and client
// addresses are unmapped, so that a bound and a client of the same
// family always compare. Malformed bounds are refused when they are
// written (Canonical) and match nothing if one is ever read back.
//
// The package imports only the standard library and secrets.
package cidr
