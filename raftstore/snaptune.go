package raftstore

import (
	"time"

	"github.com/hashicorp/raft"
)

// tuneEvery is how often tuneSnapshots looks at the sizes.
const tuneEvery = 5 * time.Second

// tuneSnapshots keeps raft's SnapshotThreshold at
//
//	max(Config.SnapshotThreshold, state bytes / (2 × mean entry bytes))
//
// A snapshot writes the whole state, so with a fixed threshold a large
// state would be rewritten every few thousand writes; with this bound the
// bytes snapshots write are at most twice the bytes the log took, while a
// small state (the common case) is snapshotted, and its log truncated,
// every SnapshotThreshold entries, which keeps the data directory small.
// raft reads the threshold at each SnapshotInterval check (ReloadConfig);
// the timeouts are passed through unchanged (the leader lease depends on
// HeartbeatTimeout).
func (s *Store) tuneSnapshots() {
	defer s.leaseWG.Done()
	t := time.NewTicker(tuneEvery)
	defer t.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-t.C:
		}
		want := snapshotThresholdFor(s.cfg.SnapshotThreshold, s.fsm.bytes.Load(), s.logBytes.Load(), s.logEntries.Load())
		cur := s.snapThreshold.Load()
		diff := max(want, cur) - min(want, cur)
		if want == cur || diff < cur/10 && want != s.cfg.SnapshotThreshold {
			continue // within 10 %: not worth a reload
		}
		rc := s.cfg.raftConfig(nil, nil)
		err := s.raft.ReloadConfig(raft.ReloadableConfig{
			TrailingLogs:      rc.TrailingLogs,
			SnapshotInterval:  rc.SnapshotInterval,
			SnapshotThreshold: want,
			HeartbeatTimeout:  rc.HeartbeatTimeout,
			ElectionTimeout:   rc.ElectionTimeout,
		})
		if err != nil {
			s.log.Warn("adjusting the snapshot threshold", "threshold", want, "error", err)
			continue
		}
		s.snapThreshold.Store(want)
		s.log.Debug("snapshot threshold adjusted to the state size", "threshold", want, "state_bytes", s.fsm.bytes.Load())
	}
}

// snapshotThresholdFor is tuneSnapshots' rule (see there).
func snapshotThresholdFor(base uint64, stateBytes int64, logBytes, logEntries uint64) uint64 {
	if logEntries < 64 || logBytes == 0 || stateBytes <= 0 {
		return base
	}
	mean := max(logBytes/logEntries, 1)
	return max(base, uint64(stateBytes)/(2*mean))
}
