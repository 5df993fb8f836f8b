package raftstore

import (
	"context"
	"fmt"

	"github.com/hashicorp/raft"
)

// AddNonvoter adds a member that receives the log but does not vote, so
// adding it never changes the quorum. A joining node is added this way
// first and promoted with AddVoter once it can talk to the cluster; adding
// a voter that cannot be reached yet would stall every commit. If id is
// already a voter this only updates its address.
func (s *Store) AddNonvoter(ctx context.Context, id, addr string) error {
	if id == "" || addr == "" {
		return fmt.Errorf("raftstore: add non-voter: %w: empty id or address", ErrInvalidArgument)
	}
	ctx, cancel, timeout := s.opCtx(ctx)
	defer cancel()
	return mapErr("add non-voter", s.wait(ctx, s.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), 0, timeout)))
}
