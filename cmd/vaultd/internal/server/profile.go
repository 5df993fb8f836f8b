package server

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
)

// profileEnv names a directory: when set, the server profiles its CPU from
// start to shutdown and writes <dir>/vaultd-<pid>.cpu.pprof and, at
// shutdown, <dir>/vaultd-<pid>.allocs.pprof (for benchmarks: see
// docs/benchmarks.md). Profiles hold function names and sample counts,
// never request data.
const profileEnv = "VAULTD_PROFILE_DIR"

// startProfile starts the CPU profile if profileEnv is set and returns the
// function that writes both profiles; it fails the start rather than
// silently not profiling when the directory is unusable.
func startProfile(log *slog.Logger) (stop func(), err error) {
	dir := os.Getenv(profileEnv)
	if dir == "" {
		return func() {}, nil
	}
	base := filepath.Join(dir, "vaultd-"+strconv.Itoa(os.Getpid()))
	f, err := os.OpenFile(base+".cpu.pprof", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", profileEnv, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", profileEnv, err)
	}
	log.Info("profiling CPU and allocations until shutdown", "files", base+".{cpu,allocs}.pprof")
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			log.Warn("writing the CPU profile", "error", err)
		}
		af, err := os.OpenFile(base+".allocs.pprof", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			log.Warn("writing the allocation profile", "error", err)
			return
		}
		defer af.Close()
		if err := pprof.Lookup("allocs").WriteTo(af, 0); err != nil {
			log.Warn("writing the allocation profile", "error", err)
		}
	}, nil
}
