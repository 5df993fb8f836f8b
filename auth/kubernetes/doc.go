// Package kubernetes is Vault's Kubernetes auth method behind the
// secrets.Backend contract: a pod presents its service-account token and
// gets a token with the policies of a role bound to its service account
// and namespace.
//
// # Paths
//
// Relative to the mount, as in Vault's HTTP API:
//
//	config        read, update {kubernetes_host (required), kubernetes_ca_cert,
//	              token_reviewer_jwt, pem_keys, issuer, disable_iss_validation,
//	              disable_local_ca_jwt}
//	role          list
//	role/:name    read, create/update, delete {bound_service_account_names,
//	              bound_service_account_namespaces (both required; globs),
//	              audience, alias_name_source, token_*}
//	login         update {role, jwt} → Response.Auth (no token needed)
//
// # Login
//
//  1. The token is decoded (only asymmetric algorithms; "none" and HMAC
//     are refused). With pem_keys its signature is verified locally first,
//     so a forged token never reaches the API server. With
//     disable_iss_validation=false, iss must equal issuer (default
//     "kubernetes/serviceaccount"). An exp, when present, is checked.
//  2. The service account (projected "kubernetes.io" claims, or the legacy
//     "kubernetes.io/serviceaccount/*" claims) must match the role's name
//     and namespace globs, and aud must contain the role's audience.
//  3. A TokenReview (POST /apis/authentication.k8s.io/v1/tokenreviews) is
//     sent to kubernetes_host with, as bearer, token_reviewer_jwt, else the
//     pod's own token file (unless disable_local_ca_jwt), else the client's
//     JWT. The API server must answer authenticated, for the same
//     system:serviceaccount:NS:NAME and uid, and for the audience.
//
// The alias is the service account's uid (alias_name_source
// serviceaccount_uid, the default) or "namespace/name".
//
// # Invariants
//
//   - Outbound requests go only to kubernetes_host, over TLS verified
//     against kubernetes_ca_cert (else the pod's CA file unless
//     disable_local_ca_jwt, else the system roots); 10s timeout, 1 MiB
//     answers, no redirects, no proxy.
//   - token_reviewer_jwt is never returned (config read shows
//     token_reviewer_jwt_set) nor logged; neither is a client token.
//   - Failures after the role is found are 403s, distinct messages for
//     name, namespace, audience and review failures (as Vault).
//
// # Storage layout
//
//	config        JSON config (holds token_reviewer_jwt, behind the barrier)
//	role/<name>   JSON role; names are lowercased
package kubernetes
