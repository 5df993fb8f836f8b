//go:build !chaosbug

package core

// The chaosbug switches (see chaosbug.go); off in normal builds, so the
// compiler drops the branches.
const chaosSkipVerifyLeader = false

func chaosKeepServing(*Core) bool { return false }
