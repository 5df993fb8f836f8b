//go:build !chaosbug

package core

// chaosSkipVerifyLeader is the chaosbug switch (see chaosbug.go); always
// false in normal builds, so the compiler drops the branch.
const chaosSkipVerifyLeader = false
