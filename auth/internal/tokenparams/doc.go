// Package tokenparams holds the token_* fields that Vault's auth methods
// store with a user or role (token_policies, token_ttl, token_max_ttl,
// token_explicit_max_ttl, token_period, token_num_uses,
// token_bound_cidrs, token_no_default_policy, token_type): how a write
// declares them (Fields, for the endpoint package), how a write parses
// them, how a read shows them and how a login turns them into a
// secrets.Auth.
//
// Params is embedded in the auth methods' stored records, so its JSON
// field names are part of their storage format and must not change.
//
// Invariants kept by Params.Parse: policy names are lowercased,
// de-duplicated and sorted, and "root" is refused; bound CIDRs are
// canonical; durations and use counts are not negative; a batch token is
// neither periodic nor use-limited; token_ttl is at most token_max_ttl
// when both are set.
//
// The package imports only the standard library, secrets, endpoint and
// the other auth/internal packages.
package tokenparams
