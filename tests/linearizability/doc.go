// Package linearizability checks that vaultd's KV v2 API is linearizable
// under faults, in the style of etcd's robustness tests: several clients,
// each bound to a different node (so standby → active forwarding is
// exercised), run get/put/cas on a handful of keys while a seeded nemesis
// kills (-9) and restarts the active node or freezes it (SIGSTOP) for longer
// than the election timeout. Every call is recorded with one monotonic
// clock; porcupine checks the history against a sequential KV v2 model
// partitioned by key. The run ends by healing everything and reading every
// key, and every acknowledged write must still be readable at the version
// it was acknowledged with.
//
// The checker is itself tested: a unit test feeds it hand-made illegal
// histories (a stale read, a lost write), and under the build tag chaosbug
// (which compiles a vaultd that skips the leadership check before reads) a
// test expects porcupine to report Illegal within a few seeds.
//
// Flags: -chaos.duration (default 15s of load; longer runs are the soak
// test), -chaos.seed, -chaos.nodes, -chaos.artifacts (where a failing run
// writes its history and porcupine's HTML visualisation).
package linearizability
