// Package kubernetes is Vault's service_registration "kubernetes": from
// inside its pod, a node keeps the labels of its own pod current so that
// Kubernetes Services can select the active node, the unsealed nodes, and
// so on:
//
//	vault-active        "true" on the node that serves requests
//	vault-sealed        "true" while the node is sealed
//	vault-initialized   "true" once the cluster is initialized
//	vault-perf-standby  always "false" (vaultd has no performance standbys)
//	vault-version       the server's version
//
// Labels are written with JSON-patch requests (Content-Type
// application/json-patch+json) to PATCH /api/v1/namespaces/NS/pods/POD of
// the API server at https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT,
// authenticated with the pod's service-account token (re-read before each
// request: projected tokens rotate) over TLS verified against the pod's
// service-account CA. The pod needs get and patch on pods (the Helm
// chart's Role).
//
// Invariants:
//   - Never blocking: core calls Notify, which only nudges a channel; a
//     single goroutine (Run) reads the state and talks to the API server.
//     A slow or unreachable API server delays labels, never unseal nor
//     requests.
//   - Always converging: each attempt sends the labels of the state read
//     just before it (not a queue of past states); failures are retried
//     with exponential backoff (1s doubling to 30s, with jitter), and the
//     labels are re-sent every resync interval even without a change.
//   - On shutdown a last, bounded (2s) patch marks the pod not active, so
//     the -active Service stops selecting it at once.
//   - The token is never logged.
package kubernetes
