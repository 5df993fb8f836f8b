//go:build chaosbug

package core

// chaosSkipVerifyLeader is true only in test binaries built with
// -tags chaosbug: the active node then answers reads from its local state
// without confirming its leadership with a quorum, so a deposed leader can
// serve stale reads. tests/linearizability uses it to prove that its
// checker catches that bug. Release builds never set the tag.
const chaosSkipVerifyLeader = true
