package raftstore

import (
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// voteRecorder is the inner transport: it counts the vote requests that
// reach it.
type voteRecorder struct {
	raft.Transport
	votes, preVotes int
}

func (v *voteRecorder) RequestVote(raft.ServerID, raft.ServerAddress, *raft.RequestVoteRequest, *raft.RequestVoteResponse) error {
	v.votes++
	return nil
}

func (v *voteRecorder) RequestPreVote(raft.ServerID, raft.ServerAddress, *raft.RequestPreVoteRequest, *raft.RequestPreVoteResponse) error {
	v.preVotes++
	return nil
}

// TestCampaignHold: while a node holds off after a step-down, its own
// pre-vote and vote requests fail before they reach the network, except
// a vote in an election a leader asked it to run (a transfer); the hold
// ends by itself.
func TestCampaignHold(t *testing.T) {
	in := &voteRecorder{}
	tr := &leaseTransport{Transport: in, base: time.Now()}
	vote := func(transfer bool) error {
		return tr.RequestVote("n2", "a2", &raft.RequestVoteRequest{LeadershipTransfer: transfer}, &raft.RequestVoteResponse{})
	}
	preVote := func() error {
		return tr.RequestPreVote("n2", "a2", &raft.RequestPreVoteRequest{}, &raft.RequestPreVoteResponse{})
	}
	if vote(false) != nil || preVote() != nil || in.votes != 1 || in.preVotes != 1 {
		t.Fatal("requests without a hold did not pass")
	}
	tr.holdCampaigns(300 * time.Millisecond)
	if err := vote(false); !errors.Is(err, errCampaignHold) {
		t.Fatalf("vote during the hold: %v", err)
	}
	if err := preVote(); !errors.Is(err, errCampaignHold) {
		t.Fatalf("pre-vote during the hold: %v", err)
	}
	if err := vote(true); err != nil || in.votes != 2 {
		t.Fatalf("a transfer's vote during the hold: %v (votes %d)", err, in.votes)
	}
	deadline := time.Now().Add(10 * time.Second)
	for tr.holding() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if vote(false) != nil || preVote() != nil || in.votes != 3 || in.preVotes != 2 {
		t.Fatal("requests after the hold did not pass")
	}
}
