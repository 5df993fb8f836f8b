//go:build chaosbugstandby

package linearizability

// buildTags: under the chaosbugstandby tag the binary's standbys answer
// reads from their local state without a read index
// (core/chaosbug_standby.go), so the checker has a real bug to find.
const buildTags = "chaosbugstandby"
