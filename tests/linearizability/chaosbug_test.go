//go:build chaosbug

package linearizability

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// TestCheckerCatchesBug proves the whole pipeline (workload, recorder,
// nemesis, model, checker) can fail: the binary is built with the chaosbug
// tag, so the active node answers reads without confirming its leadership.
// A leader frozen with SIGSTOP and resumed after a new one was elected then
// serves stale reads until it notices; porcupine must report Illegal
// within a few seeds. Run it with:
//
//	go test -tags chaosbug -run TestCheckerCatchesBug ./tests/linearizability/
func TestCheckerCatchesBug(t *testing.T) {
	const seeds = 6
	for s := uint64(1); s <= seeds; s++ {
		res, info, hist, problems := runChaos(t, s, 3, 12*time.Second, true)
		t.Logf("seed %d: %s, %d other problems", s, res, len(problems))
		if res == porcupine.Illegal {
			saveArtifacts(t, s, info, hist)
			return
		}
	}
	t.Fatalf("porcupine found no violation in %d seeds with VerifyLeader skipped: the checker or the nemesis is too weak", seeds)
}
