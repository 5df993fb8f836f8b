// Package userpass is Vault's username & password auth method behind the
// secrets.Backend contract: core mounts it under auth/<path>/, routes
// requests to it with the mount's storage view, skips the token check for
// UnauthenticatedPaths ("login/*") and mints a token from Response.Auth.
//
// The engine declares its paths and fields through the endpoint package
// and imports only the standard library, storage, secrets, endpoint and
// the helpers it shares with the other auth method under auth/internal
// (cidr, tokenparams, keylock).
//
// # Paths
//
// Relative to the mount, as in Vault's HTTP API:
//
//	users                     list
//	users/:username           read, create/update, delete
//	                          password | password_hash, token_policies (or policies),
//	                          token_ttl (ttl), token_max_ttl (max_ttl),
//	                          token_explicit_max_ttl, token_period, token_num_uses,
//	                          token_bound_cidrs (bound_cidrs), token_no_default_policy,
//	                          token_type
//	users/:username/password  update {password}
//	users/:username/policies  update {token_policies}
//	login/:username           update {password} → Response.Auth (no token needed)
//
// Lists are a JSON array or a comma-separated string; durations are
// seconds or a duration string ("1h", "7d"). When a deprecated field and
// its token_* successor are both given, the token_* field wins. Policy
// names are lowercased, de-duplicated and sorted; "root" is refused.
//
// # Storage layout
//
//	user/<username>   JSON {password_hash (bcrypt, base64), token_* fields}
//
// # Invariants
//
//   - Usernames are case-insensitive: they are lowercased before any use,
//     and must match Vault's rule (letters, digits, "_", "-", "."; no
//     leading "-" or "."; no trailing "."), so a username is always one
//     safe storage segment.
//   - Passwords are never stored, logged or returned: only their bcrypt
//     hash (bcrypt.DefaultCost) is kept, and reads show the token fields
//     only. Passwords over bcrypt's 72-byte limit are refused rather than
//     truncated.
//   - Login answers one error, "invalid username or password" (400), for
//     an unknown user and for a wrong password. An unknown (or invalid)
//     username is compared against a dummy bcrypt hash of a random
//     password, made at the same cost when the engine starts, so both
//     failures cost one bcrypt comparison.
//   - token_bound_cidrs are checked against Request.RemoteAddr at login;
//     a client outside them gets 403 after a correct password.
//   - Every read-modify-write of a user runs under a per-user lock (256
//     striped mutexes keyed by username); password hashing happens before
//     the lock is taken.
package userpass
