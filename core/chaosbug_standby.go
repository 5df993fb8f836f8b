//go:build chaosbugstandby

package core

// The chaosbugstandby build tag compiles a deliberate consistency bug into
// core, for test binaries only (tests/linearizability proves its checker
// catches it; release builds never set the tag): a standby answers reads
// from its local state without a read index, so it serves stale data
// whenever it lags behind the active node or is cut off from it.
const chaosSkipReadIndex = true
