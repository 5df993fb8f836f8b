package core

import "context"

// StandaloneCluster is the Cluster of a node whose storage is not
// replicated (storage/inmem): it is always the leader of a cluster of one.
type StandaloneCluster struct {
	ID string
	ch chan bool
}

var _ Cluster = (*StandaloneCluster)(nil)

// NewStandaloneCluster returns a one-node, always-leader Cluster.
func NewStandaloneCluster(id string) *StandaloneCluster {
	ch := make(chan bool, 1)
	ch <- true
	return &StandaloneCluster{ID: id, ch: ch}
}

// LocalID implements Cluster.
func (s *StandaloneCluster) LocalID() string { return s.ID }

// IsLeader implements Cluster: always true.
func (s *StandaloneCluster) IsLeader() bool { return true }

// Leader implements Cluster.
func (s *StandaloneCluster) Leader() (string, string) { return s.ID, "" }

// LeadershipChanges implements Cluster.
func (s *StandaloneCluster) LeadershipChanges() <-chan bool { return s.ch }

// Barrier implements Cluster: there is nothing to wait for.
func (s *StandaloneCluster) Barrier(context.Context) error { return nil }

// VerifyLeader implements Cluster: a cluster of one always leads.
func (s *StandaloneCluster) VerifyLeader(context.Context) error { return nil }
