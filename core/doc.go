// Package core is a vaultd node's state machine and request pipeline.
//
// Lifecycle: uninitialized → sealed → unsealed{standby | active}. A node is
// active when it is unsealed and the raft leader, and only after it has run
// its setup (raft Barrier, keyring reload, mount table, token store, leader
// advertisement). Losing leadership or sealing flips it out of active first,
// before anything is torn down, so a deposed node never serves.
//
// Requests: HandleRequest takes a Request from api and runs
// token lookup (+ num_uses) → audit (request) → ACL → router → engine →
// response wrapping → audit (response). Reads on the active node are
// preceded by Cluster.VerifyLeader so they are linearizable. The token,
// policy and audit model is described in docs/security.md.
//
// Storage layout (all behind the barrier unless noted): core/mounts (mount
// table), core/auth (auth method table), core/audit (audit table),
// core/audit-salt/<device uuid>, core/cluster-info, core/token-salt,
// sys/token/id/<salted hash>, sys/token/accessor/<salted hash>,
// sys/token/parent/<parent hash>/<child hash>, sys/token/roles/<name>,
// sys/policy/<name>, logical/<mount uuid>/... (engine data),
// auth/<mount uuid>/... (auth method data).
// core/seal-config (plaintext), core/sealed-root-key and core/keyring are
// owned by seal.Barrier.
package core
