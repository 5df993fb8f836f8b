//go:build chaosbugstandby

package linearizability

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// TestCheckerCatchesStandbyBug proves the checker catches standby reads
// served without the read index: the binary is built with the
// chaosbugstandby tag, so a standby answers reads from whatever it has
// applied. A standby that is cut off, frozen and resumed, or simply one
// replication round behind then returns values older than writes already
// acknowledged; porcupine must report Illegal within a few seeds. Run it
// with:
//
//	go test -tags chaosbugstandby -run TestCheckerCatchesStandbyBug ./tests/linearizability/
func TestCheckerCatchesStandbyBug(t *testing.T) {
	const seeds = 6
	for s := uint64(1); s <= seeds; s++ {
		res, info, hist, problems := runChaos(t, s, 3, 12*time.Second, false)
		t.Logf("seed %d: %s, %d other problems", s, res, len(problems))
		if res == porcupine.Illegal {
			saveArtifacts(t, s, info, hist)
			return
		}
	}
	t.Fatalf("porcupine found no violation in %d seeds with standby reads served without a read index: the checker or the nemesis is too weak", seeds)
}
