// Package acl parses and evaluates ACL policies in HashiCorp Vault's policy
// language (HCL v1 or JSON), with Vault's documented semantics. It is pure:
// no storage, no clock, no logging. It imports only the standard library
// and github.com/hashicorp/hcl.
//
// # Language
//
// A policy is a list of path stanzas:
//
//	path "secret/data/app/*" {
//	  capabilities = ["create", "read", "update", "patch", "delete", "list"]
//	}
//
// Capabilities are create, read, update, patch, delete, list, sudo and deny.
// The legacy `policy = "deny|read|write|sudo"` form is accepted and mapped as
// Vault maps it (read = read+list; write = create+read+update+delete+list;
// sudo = write+sudo). Stanzas may also set allowed_parameters,
// denied_parameters, required_parameters, min_wrapping_ttl and
// max_wrapping_ttl; Check enforces them.
//
// Paths: a trailing "*" is a prefix glob ("secret/zip-*" matches
// "secret/zip-zap/zong"); a segment that is exactly "+" matches any one
// segment ("secret/+/teamb"). Policy paths lose one leading "/"; request
// paths lose all leading slashes.
//
// # Evaluation
//
// New compiles a set of policies into an immutable ACL. Rules with the same
// path, in one policy or several, are merged: capabilities are unioned and a
// deny in any of them denies. For a request path, an exact rule wins;
// otherwise the single highest-priority matching glob or wildcard rule
// decides, by Vault's documented order, for candidates P1 and P2:
//
//  1. if the first wildcard (+) or glob (*) occurs earlier in P1, P1 is lower priority;
//  2. if P1 ends in * and P2 doesn't, P1 is lower priority;
//  3. if P1 has more + (wildcard) segments, P1 is lower priority;
//  4. if P1 is shorter, it is lower priority;
//  5. if P1 is smaller lexicographically, it is lower priority.
//
// The deciding rule alone determines the outcome: deny in it denies
// everything, and nothing matching is a deny (default deny). sudo is
// reported separately; core requires it on root-protected paths. LIST
// requests (and Capabilities) also try the path without its trailing "/",
// as Vault does. Check does not allocate.
//
// # Differences from Vault
//
// vaultd is deliberately stricter where Vault would silently accept a policy
// that does not mean what it appears to mean:
//
//   - a "*" anywhere but at the end of a path is an error (Vault treats it
//     as a literal character);
//   - Enterprise/OpenBao-only stanza keys (mfa_methods, control_group,
//     pagination_limit, expiration, ...) are errors rather than ignored;
//   - a key repeated inside a stanza, a non-list where a list is expected,
//     and a "*" parameter with values are errors;
//   - the name "root" cannot be parsed: Root is the only root ACL.
//
// Identity-templated paths ("{{identity.entity.id}}") are validated and
// kept in the Policy; New skips them, so they never match, as in Vault for
// a token without an entity. Policy.Render fills them in for one entity
// (core/identity answers the parameters) before New.
package acl
