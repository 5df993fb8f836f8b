// Package approle is Vault's AppRole auth method behind the
// secrets.Backend contract: core mounts it under auth/<path>/, routes
// requests to it with the mount's storage view, skips the token check for
// UnauthenticatedPaths ("login") and mints a token from Response.Auth.
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
//	role                                       list
//	role/:role_name                            read, create/update, delete
//	                                           bind_secret_id (default true), secret_id_bound_cidrs,
//	                                           secret_id_num_uses, secret_id_ttl, local_secret_ids,
//	                                           role_id, token_policies (policies), token_ttl,
//	                                           token_max_ttl, token_explicit_max_ttl,
//	                                           token_period (period), token_num_uses,
//	                                           token_bound_cidrs, token_no_default_policy, token_type
//	role/:role_name/role-id                    read; update {role_id}
//	role/:role_name/secret-id                  update (generate) {metadata, cidr_list,
//	                                           token_bound_cidrs, num_uses, ttl}; list (accessors)
//	role/:role_name/custom-secret-id           update {secret_id, ...as above}
//	role/:role_name/secret-id/lookup           update {secret_id}
//	role/:role_name/secret-id/destroy          update, delete {secret_id}
//	role/:role_name/secret-id-accessor/lookup  update {secret_id_accessor}
//	role/:role_name/secret-id-accessor/destroy update, delete {secret_id_accessor}
//	login                                      update {role_id, secret_id} → Response.Auth (no token needed)
//	tidy/secret-id                             update: delete expired secret IDs now
//
// A role needs at least one constraint: bind_secret_id, or
// secret_id_bound_cidrs, or token_bound_cidrs. A secret ID's num_uses and
// ttl default to the role's secret_id_num_uses and secret_id_ttl and may
// not exceed them; its cidr_list and token_bound_cidrs must lie within the
// role's.
//
// # Storage layout
//
//	salt                                          32 random bytes: the mount's HMAC-SHA256 key,
//	                                              made on the first write that needs it
//	role/<role_name>                              JSON role (role_id, bounds, token_* fields)
//	role-id/<hmac(role_id)>                       JSON {name}: the role_id index
//	secret-id/<hmac(role_name)>/<hmac(secret_id)> JSON {secret_id_hmac, secret_id_accessor, num_uses,
//	                                              ttl, creation/expiration/last_updated time,
//	                                              metadata, cidr_list, token_bound_cidrs}
//	accessor/<hmac(accessor)>                     JSON {role_name_hmac, secret_id_hmac}
//
// Each HMAC is hex, keyed by the salt, over the length of a domain tag
// ("role_id", "role_name", "secret_id", "secret_id_accessor"), the tag and
// the value.
//
// # Invariants
//
//   - Secret IDs are never stored, logged or shown again after they are
//     issued: only their HMAC is kept, as the entry's key and inside it,
//     and it is compared in constant time. The salt is typed so that it
//     formats and logs as "[redacted]".
//   - Login answers one error, "invalid role or secret ID" (400), for an
//     unknown role_id, a wrong, missing, expired or used-up secret_id, and
//     every such failure does the same HMACs and storage reads (keys under
//     a role name no role can have stand in for unknown ones). Only a
//     secret ID that is valid learns about CIDR refusals.
//   - secret_id_num_uses is consumed under the secret ID's lock: with n
//     uses, exactly n concurrent logins succeed, and the last deletes the
//     entry and its accessor in one transaction. An expired secret ID
//     (Config.Now at or after its expiration_time) is refused and deleted.
//   - CIDR bounds are checked against Request.RemoteAddr before a use is
//     consumed: cidr_list and secret_id_bound_cidrs answer 400, token bound
//     CIDRs (the secret ID's, else the role's) 403.
//   - Locks: a role's lock (256 stripes by name), then roleIDMu (role_id
//     uniqueness), then a secret ID's lock (256 stripes by HMAC). Deleting
//     a role takes its write lock and removes the role, its role_id index
//     and all its secret IDs and accessors in one transaction, so a
//     recreated role never inherits old secret IDs.
//   - Role names are lowercased and limited to letters, digits, space,
//     "-", "_" and "."; every other key segment is a hex HMAC, so no
//     request can name a key outside the view.
package approle
