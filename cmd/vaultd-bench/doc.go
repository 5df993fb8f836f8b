// Command vaultd-bench is vaultd's load generator: it drives KV v2 writes,
// reads, mixed traffic or check-and-set writes against one or more vaultd
// nodes on the loopback interface and reports throughput, latency
// percentiles and errors by HTTP status, as a table or as JSON.
//
// It can bring up its own target (-spawn): a dev server (in-memory
// storage), a single raft-backed node, or an N-node raft cluster joined with
// retry_join, which it initialises, unseals and mounts itself. With
// -failover it measures how long writes stay unavailable after the active
// node of a spawned cluster is killed with SIGKILL.
//
// With -op login it drives userpass logins (bcrypt: the CPU-heavy storm of
// issue 11); -canary writes one KV value every 200 ms through the active
// node and watches every node's sys/leader for leader changes;
// -no-admission spawns nodes without the CPU pool and request limiter, for
// comparison.
//
// The workloads of HashiCorp's vault-benchmark (-op kvv2-write, kvv2-read,
// kvv1-write, kvv1-read, transit-encrypt, transit-decrypt, approle-login,
// userpass-login, or a weighted -op mix) set themselves up as its tests do
// (fresh mounts, key, role, user) and run against any Vault-API server,
// so vaultd, OpenBao and Vault can be measured in one sitting.
//
// -op scale fills a spawned cluster with KV v2 secrets in steps
// (-scale-steps) and reports memory, disk and latency per step, then the
// time of an operator snapshot, a standby restart and a node joining.
//
// It refuses non-loopback targets: it is a tool for measuring a build on
// the machine it runs on, not for load-testing someone else's server.
//
//	go run ./cmd/vaultd-bench -spawn 1 -op write -workers 10 -duration 10s
//	go run ./cmd/vaultd-bench -addr http://127.0.0.1:8200 -token $VAULT_TOKEN -op read
//
// See docs/benchmarks.md for the measured numbers and how to reproduce them.
package main
