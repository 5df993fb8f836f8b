// Package admission keeps a node answering under client overload.
//
// Two mechanisms, both refusing fast instead of queueing without bound:
//
//   - Pool bounds CPU-heavy work (bcrypt, RSA key generation and signing,
//     PGP): at most Size calls run at once, at most Queue more wait, each
//     for at most MaxWait. What does not fit is refused with a *Rejection
//     (errors.Is(err, ErrOverloaded)) that carries a Retry-After hint. With
//     the pool sized to the cores, a login storm cannot fill the Go
//     scheduler's run queues, so raft's heartbeat goroutines keep running
//     on time and the leader keeps its leadership.
//   - Limiter is an adaptive, latency-based concurrency limit for the whole
//     HTTP request path, in the spirit of Vault 1.16's request limiter: it
//     grows the limit additively while latency stays near the best seen
//     and shrinks it multiplicatively when latency climbs, and refuses
//     requests above the limit at once. The api package applies it as
//     middleware, never to node-local paths (sys/health, seal/unseal,
//     sys/seal-status, sys/leader, raft bootstrap) nor to the cluster port.
//
// Engines never import this package: they reach the pool through the
// narrow secrets.CPUGate interface carried by the request context
// (secrets.AcquireCPU).
//
// The package uses the standard library only.
package admission
