package version

import (
	"regexp"
	"testing"
)

// semver 2.0.0 with build metadata, as clients parse it.
var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$`)

func TestGet_VersionIsVaultCompatibleSemver(t *testing.T) {
	i := Get()
	if !semver.MatchString(i.Version) {
		t.Fatalf("Version = %q, not a semver", i.Version)
	}
	if want := VaultAPI + "+vaultd." + i.Release; i.Version != want {
		t.Fatalf("Version = %q, want %q", i.Version, want)
	}
}

func TestInfo_String(t *testing.T) {
	for _, tc := range []struct {
		in   Info
		want string
	}{
		{Info{Version: "1.19.0+vaultd.0.1.0"}, "vaultd v1.19.0+vaultd.0.1.0"},
		{Info{Version: "1.19.0+vaultd.0.1.0", Commit: "abc123"}, "vaultd v1.19.0+vaultd.0.1.0 (abc123)"},
		{Info{Version: "1.19.0+vaultd.0.1.0", Commit: "abc123", BuildDate: "2026-12-06T21:00:00Z"}, "vaultd v1.19.0+vaultd.0.1.0 (abc123), built 2026-12-06T21:00:00Z"},
	} {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestMetadata(t *testing.T) {
	for in, want := range map[string]string{
		"0.1.0": "0.1.0", "0.2.0-rc1": "0.2.0-rc1", "0.1.0+dirty": "0.1.0-dirty", "a..b": "a.-.b", ".x.": "x", "": "-",
	} {
		got := metadata(in)
		if got != want {
			t.Errorf("metadata(%q) = %q, want %q", in, got, want)
		}
		if !semver.MatchString("1.0.0+" + got) {
			t.Errorf("metadata(%q) = %q is not valid build metadata", in, got)
		}
	}
}
