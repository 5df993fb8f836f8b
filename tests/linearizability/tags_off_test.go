//go:build !chaosbug && !chaosbugstandby

package linearizability

// buildTags are the tags the vaultd binary under test is built with.
const buildTags = ""
