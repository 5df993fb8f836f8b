package raftstore

import (
	"time"

	"github.com/hashicorp/raft"
)

// truncateChunk is how many log entries one bolt transaction deletes when
// raft truncates the log after a snapshot.
const truncateChunk = 512

// chunkedTruncate splits raft's log truncation (one DeleteRange of every
// entry the last snapshot covers, often 10–20 k entries) into transactions
// of truncateChunk entries, oldest first, with a short pause between them.
//
// Why: bolt has a single writer. One big delete transaction holds it for
// tens of milliseconds, and every StoreLogs of the write path (the leader's
// log appends, a follower's appendEntries) waits behind it: a stall of all
// writes on every snapshot. In chunks, appends get the writer between
// chunks. Deleting from the oldest entry up keeps the log contiguous at
// every step, so a crash in the middle leaves a valid, shorter log (every
// deleted entry is covered by the snapshot already). Only a strict prefix
// is split (the range starts at the first entry and ends before the last):
// a delete that reaches the last entry (a follower dropping a conflicting
// tail, or the whole log after a restore) goes through in one piece, as
// raft expects, so no crash can leave a gap in front of the log.
type chunkedTruncate struct {
	raft.LogStore
	pause time.Duration
}

func (c chunkedTruncate) DeleteRange(lo, hi uint64) error {
	if hi < lo || hi-lo < truncateChunk {
		return c.LogStore.DeleteRange(lo, hi)
	}
	first, err := c.FirstIndex()
	if err != nil || lo != first {
		return c.LogStore.DeleteRange(lo, hi)
	}
	last, err := c.LastIndex()
	if err != nil || hi >= last {
		return c.LogStore.DeleteRange(lo, hi)
	}
	for from := lo; from <= hi; {
		to := min(hi, from+truncateChunk-1)
		if err := c.LogStore.DeleteRange(from, to); err != nil {
			return err
		}
		if to == hi {
			break
		}
		from = to + 1
		time.Sleep(c.pause)
	}
	return nil
}
