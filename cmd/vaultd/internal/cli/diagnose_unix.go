//go:build linux

package cli

import (
	"fmt"
	"syscall"
)

var (
	errAddrInUse            error = syscall.EADDRINUSE
	errSyncUnsupportedOnDir error = syscall.EINVAL
)

// File system magic numbers (statfs f_type) diagnose warns about.
const (
	tmpfsMagic = 0x01021994
	nfsMagic   = 0x6969
	ramfsMagic = 0x858458f6
)

// diagFS checks the file system of dir: in-memory and network file
// systems are warned about, and low free space.
func diagFS(parent *diagResult, dir string) {
	r := parent.add(&diagResult{Name: "Check File System"})
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		r.Status, r.Message = diagWarn, fmt.Sprintf("statfs %s: %v", dir, err)
		return
	}
	switch uint64(st.Type) {
	case tmpfsMagic, ramfsMagic:
		r.Status, r.Message = diagWarn, dir+" is on an in-memory file system: the data does not survive a reboot"
		return
	case nfsMagic:
		r.Status, r.Message = diagWarn, dir+" is on NFS: raft needs a local disk that honours fsync"
		return
	}
	free := st.Bavail * uint64(st.Bsize)
	total := st.Blocks * uint64(st.Bsize)
	r.Message = fmt.Sprintf("local file system, %s free of %s", bytesHuman(free), bytesHuman(total))
	if total > 0 && (free < 1<<30 || free*20 < total) {
		r.Status = diagWarn
		r.Message = fmt.Sprintf("only %s free of %s (keep at least 1 GiB and 5%%)", bytesHuman(free), bytesHuman(total))
	}
}
