//go:build chaosbug

package linearizability

// buildTags: under the chaosbug tag the binary skips VerifyLeader before
// reads (core/chaosbug.go), so the checker has a real bug to find.
const buildTags = "chaosbug"
