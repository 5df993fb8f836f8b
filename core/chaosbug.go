//go:build chaosbug

package core

import (
	"sync"
	"time"
)

// The chaosbug build tag compiles two deliberate consistency bugs into
// core, for test binaries only (tests/linearizability uses them to prove
// that its checker catches real bugs; release builds never set the tag):
//
//   - chaosSkipVerifyLeader: the active node answers reads from its local
//     state without confirming its leadership with a quorum;
//   - chaosKeepServing: a node that lost raft leadership keeps acting as
//     the active node for chaosDeposedGrace, so with the first bug it
//     serves stale reads while another leader accepts writes.
const chaosSkipVerifyLeader = true

const chaosDeposedGrace = 2 * time.Second

var chaosDeposedAt sync.Map // *Core → time.Time when the step-down was first due

// chaosKeepServing reports whether c should stay active although it is no
// longer the raft leader (see above).
func chaosKeepServing(c *Core) bool {
	v, _ := chaosDeposedAt.LoadOrStore(c, time.Now())
	if time.Since(v.(time.Time)) < chaosDeposedGrace {
		return true
	}
	chaosDeposedAt.Delete(c)
	return false
}
