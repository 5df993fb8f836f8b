package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var (
	// repoRoot is the module root (the Docker build context).
	repoRoot string
	// vaultdBin is vaultd built the way the Dockerfile builds it.
	vaultdBin string
	// buildDir holds the binaries built for this run.
	buildDir string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	repoRoot, err = filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	buildDir, err = os.MkdirTemp("", "vaultd-deploy-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(buildDir)
	df, err := readDockerfile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "reading the Dockerfile:", err)
		return 1
	}
	vaultdBin = filepath.Join(buildDir, "vaultd")
	if err := buildLikeDockerfile(df, repoRoot, vaultdBin); err != nil {
		fmt.Fprintln(os.Stderr, "building vaultd as the Dockerfile does:", err)
		return 1
	}
	return m.Run()
}
