// Package security is vaultd's attacker-style test suite: every row of the
// threat-model table in docs/security.md is tried, as an attacker would,
// against a real 3-node cluster of vaultd processes on loopback, through
// the HTTP API. A test here fails when a protection stops holding.
package security
