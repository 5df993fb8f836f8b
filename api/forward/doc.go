// Package forward sends requests that reach a standby to the active node.
//
// Forwarder.Wrap sits in front of the API's generic (non node-local)
// handler. On the active node it passes requests through. On a standby it
// asks core for the active node's addresses and proxies the request over
// the cluster port (ALPN "vaultd-fwd/1", mutual TLS, HTTP/2 with prior
// knowledge) to the active node, which serves it with the same handler
// chain; status, headers and body come back unchanged. The request carries
// X-Vaultd-Forwarded-By: <node id>; a request that already carries it is
// never forwarded again (503), so a stale view of who is active cannot
// make a loop. With X-Vault-No-Request-Forwarding the standby answers 307
// to the active node's api_addr instead (Vault semantics). When no active
// node is known, or it cannot be reached, the answer is 503 with a clear
// message within a bounded time (address lookup, dial and response-header
// timeouts); it never hangs.
//
// The package uses net/http only: the dialer is injected
// (clusterport.Port.DialForward in production).
package forward
