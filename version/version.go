// Package version is vaultd's one version: the string `vaultd version`
// prints and sys/seal-status, sys/health and sys/ha-status report.
//
// Clients of Vault's API choose code paths by the server version, so the
// version is a Vault-compatible semver: the Vault API level vaultd speaks
// (VaultAPI), with vaultd's own release as semver build metadata, e.g.
// "1.19.0+vaultd.0.1.0". Version comparisons (hashicorp/go-version,
// Python's packaging, node semver) ignore build metadata, as they do for
// Vault Enterprise's "1.19.0+ent".
//
// The release, commit and build date are set at link time:
//
//	go build -ldflags "-X github.com/vaultd/vaultd/version.release=0.2.0 \
//	  -X github.com/vaultd/vaultd/version.commit=$(git rev-parse HEAD) \
//	  -X github.com/vaultd/vaultd/version.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
//
// Without them the commit and date come from the Go build information
// (vcs.revision, vcs.time) when the binary was built from a git checkout,
// and the release from the main module's version when it is a tagged one.
package version

import (
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
)

// VaultAPI is the Vault release whose HTTP API vaultd follows.
const VaultAPI = "1.19.0"

// DefaultRelease is vaultd's release when nothing else names one.
const DefaultRelease = "0.1.0"

// Set with -ldflags -X; empty means "from the build information".
var (
	release   string
	commit    string
	buildDate string
)

// Info describes this binary.
type Info struct {
	// Release is vaultd's own release, e.g. "0.1.0".
	Release string
	// Version is the Vault-compatible version servers report, e.g.
	// "1.19.0+vaultd.0.1.0".
	Version string
	// Commit is the git revision ("" when unknown).
	Commit string
	// BuildDate is the build (or commit) time in RFC 3339 ("" when unknown).
	BuildDate string
}

var info = sync.OnceValue(func() Info {
	rel, rev, date := release, commit, buildDate
	if bi, ok := debug.ReadBuildInfo(); ok {
		if rel == "" {
			if v := bi.Main.Version; v != "" && v != "(devel)" && !strings.Contains(v, "-0.") {
				rel = v // a tagged module version, not a pseudo-version
			}
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && rev == "":
				rev = s.Value
			case s.Key == "vcs.time" && date == "":
				date = s.Value
			}
		}
	}
	rel = strings.TrimPrefix(rel, "v")
	if rel == "" {
		rel = DefaultRelease
	}
	return Info{Release: rel, Version: VaultAPI + "+vaultd." + metadata(rel), Commit: rev, BuildDate: date}
})

// Get returns this binary's version information.
func Get() Info { return info() }

// String is the version line, in Vault's format but naming vaultd:
// "vaultd v1.19.0+vaultd.0.1.0 (f3c1a9e…), built 2026-12-06T21:00:00Z".
// The commit and date parts are left out when unknown.
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vaultd v%s", i.Version)
	if i.Commit != "" {
		fmt.Fprintf(&b, " (%s)", i.Commit)
	}
	if i.BuildDate != "" {
		fmt.Fprintf(&b, ", built %s", i.BuildDate)
	}
	return b.String()
}

// metadata makes s a valid semver build-metadata string: dot-separated
// identifiers of [0-9A-Za-z-]; anything else becomes '-'.
func metadata(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '.') {
			b[i] = '-'
		}
	}
	out := strings.Trim(strings.ReplaceAll(string(b), "..", ".-."), ".")
	if out == "" {
		return "-"
	}
	return out
}
