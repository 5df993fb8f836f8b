//go:build !chaosbugstandby

package core

// chaosSkipReadIndex is the chaosbugstandby switch (chaosbug_standby.go);
// off in normal builds.
const chaosSkipReadIndex = false
