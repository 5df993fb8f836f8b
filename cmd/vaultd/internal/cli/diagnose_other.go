//go:build !linux

package cli

import (
	"errors"
	"syscall"
)

var (
	errAddrInUse            error = syscall.EADDRINUSE
	errSyncUnsupportedOnDir error = errors.New("never")
)

func diagFS(parent *diagResult, dir string) {
	parent.add(&diagResult{Name: "Check File System", Status: diagSkip, Message: "only checked on Linux"})
}
