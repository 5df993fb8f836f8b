// Package replication is the first layer of cross-cluster DR replication
// (issue 16 item 3): the stream between a primary cluster's active node and
// a DR secondary cluster's active node, independent of the transport.
//
// The primary ([Primary]) serves, on any net.Conn it is handed, the
// committed storage transactions of its raft log (a [Source], in vaultd
// raftstore.Store.Changes): values are barrier ciphertexts, so the
// secondary never sees plaintext in transit. The secondary ([Secondary])
// pulls batches and applies each through its OWN storage (a [Target], in
// vaultd its raftstore: one Txn per batch chunk, ciphertexts as they are),
// together with the last replicated primary index in the same Txn, so its
// progress is durable and exactly what it has applied. When the primary's
// log no longer holds the next index ([ErrCompacted]) the secondary asks for
// a snapshot, restores it through its raft (Target.Restore) and continues
// from the snapshot's index. A new secondary starts the same way: its first
// pull is a snapshot, so its own earlier data never mixes with the
// primary's.
//
// # Authentication and epoch
//
// The first frame of a stream carries the secondary's token; the primary
// keeps only its SHA-256 and compares in constant time. Every batch carries
// the primary's replication epoch. A secondary refuses a batch from an
// older epoch than the one it knows ([ErrFenced]): a returning old primary
// cannot overwrite anything. A secondary that has been promoted (a new
// primary with a higher epoch) tells an old primary so when it connects,
// and the old primary's [Primary.OnFenced] hook runs (the server makes the
// node refuse writes).
//
// # Reserved keys
//
// Replication's own state lives under [LocalPrefix] in each cluster's
// storage, in the clear (indexes, epochs, token hashes; no secret). Writes
// under it never replicate: the secondary skips them in batches and clears
// the prefix after restoring a primary snapshot.
//
// # Not yet here
//
// This layer is not wired into the server: no endpoint, no cluster-port
// protocol, no promotion ceremony reach it yet (docs/replication.md).
//
// This package imports only the standard library and storage.
package replication
