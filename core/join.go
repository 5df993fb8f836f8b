package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vaultd/vaultd/clusterport/clustertls"
	"github.com/vaultd/vaultd/core/clusterops"
	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

// Join flow (Vault's): the joiner asks the leader for a challenge, the
// operators unseal the joiner with the cluster's shares, the joiner opens
// the challenge with the keyring it can now decrypt and answers, and only
// then does the leader add it to raft and hand it the cluster TLS material.
//
// The leader's side lives in core/clusterops (Joins); this file is the
// joiner's side, which is part of unseal.
//
// Two clusters never form: a node configured with retry_join never
// bootstraps (Config.NoBootstrap refuses sys/init there), a node that
// joined or was initialised refuses Join (ErrAlreadyJoined), and Init
// refuses a node that holds raft state. sys/init sent to two fresh nodes at
// once therefore initialises at most the one without retry_join.

// Join limits.
const (
	joinFinishTimeout = 2 * time.Minute
)

// Join errors.
var (
	// ErrAlreadyJoined: join on a node that is initialised or already
	// belongs to a raft cluster.
	ErrAlreadyJoined = errors.New("core: node is already initialized or part of a cluster")
	// ErrJoinChallenge: the join answer does not match a pending challenge
	// (wrong, expired, or never asked).
	ErrJoinChallenge = clusterops.ErrJoinChallenge
	// ErrJoinBusy: the challenge table has no room for this caller now, or
	// server_id has a live challenge that another address asked for; the
	// caller should retry later (HTTP 429 with Retry-After).
	ErrJoinBusy = errors.New("core: join challenges busy")
)

// The join wire types (core/clusterops).
type (
	JoinChallenge    = clusterops.JoinChallenge
	JoinAnswer       = clusterops.JoinAnswer
	JoinAnswerResult = clusterops.JoinAnswerResult
)

// JoinTransport talks to one leader candidate's API.
type JoinTransport interface {
	// Leader is the leader_api_addr (for messages).
	Leader() string
	Challenge(ctx context.Context, serverID string) (*JoinChallenge, error)
	Answer(ctx context.Context, a JoinAnswer) (*JoinAnswerResult, error)
}

type pendingJoin struct {
	t         JoinTransport
	cfg       seal.Config
	under     storage.Backend // inmem copy of the leader's barrier entries
	challenge []byte
	answered  bool
	done      chan struct{} // closed when the finisher ends
}

// canJoin: neither initialised nor holding raft state.
func (c *Core) canJoin(ctx context.Context) error {
	if ok, err := c.barrier.Initialized(ctx); err != nil {
		return err
	} else if ok {
		return ErrAlreadyJoined
	}
	if b, isB := c.cluster.(Bootstrapper); isB {
		has, err := b.HasState()
		if err != nil {
			return err
		}
		if has {
			return ErrAlreadyJoined
		}
	}
	return nil
}

// JoinPending reports whether a join waits for the operators' unseal.
func (c *Core) JoinPending() bool {
	c.ha.joinMu.Lock()
	defer c.ha.joinMu.Unlock()
	return c.ha.join != nil
}

// Join asks t's leader for a join challenge and remembers it; the node is
// then unsealed with the cluster's shares, which completes the join. It
// fails with ErrAlreadyJoined on a node that belongs to a cluster.
func (c *Core) Join(ctx context.Context, t JoinTransport) error {
	if err := c.canJoin(ctx); err != nil {
		return err
	}
	ch, err := t.Challenge(ctx, c.cfg.NodeID)
	if err != nil {
		return fmt.Errorf("core: join %s: challenge: %w", t.Leader(), err)
	}
	under := inmem.New()
	for _, kv := range []struct {
		k string
		v []byte
	}{{"core/seal-config", ch.SealConfig}, {"core/sealed-root-key", ch.SealedRootKey}, {"core/keyring", ch.Keyring}} {
		if len(kv.v) == 0 {
			return fmt.Errorf("core: join %s: challenge lacks %s", t.Leader(), kv.k)
		}
		if err := under.Put(ctx, &storage.Entry{Key: kv.k, Value: kv.v}); err != nil {
			return err
		}
	}
	if len(ch.WrappedKey) > 0 {
		if err := seal.PutWrappedKey(ctx, under, ch.WrappedKey); err != nil {
			return err
		}
	}
	cfg, err := seal.NewBarrier(under, c.log).SealConfig(ctx)
	if err != nil {
		return fmt.Errorf("core: join %s: seal configuration: %w", t.Leader(), err)
	}
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	if err := c.canJoin(ctx); err != nil {
		return err
	}
	if cfg.Auto() && (c.cfg.Seal == nil || c.cfg.Seal.Type() != cfg.Type) {
		return fmt.Errorf("core: join %s: the cluster is protected by a %q seal; configure the same seal stanza on this node", t.Leader(), cfg.Type)
	}
	c.ha.joinMu.Lock()
	if c.ha.join != nil && c.ha.join.answered {
		c.ha.joinMu.Unlock()
		return ErrAlreadyJoined
	}
	c.unsealer.Reset()
	pj := &pendingJoin{t: t, cfg: *cfg, under: under, challenge: ch.Challenge}
	c.ha.join = pj
	c.ha.joinMu.Unlock()
	if !cfg.Auto() {
		c.log.Info("join challenge received; unseal this node with the cluster's key shares", "leader", t.Leader())
		return nil
	}
	// Auto seal: the joiner proves it can reach the cluster's seal key by
	// unwrapping the unseal key itself and opening the challenge with it.
	key, err := seal.NewBarrier(under, c.log).UnwrapKey(ctx, c.cfg.Seal)
	if err == nil {
		_, err = c.answerJoinLocked(ctx, pj, key)
	}
	if err != nil {
		c.ha.joinMu.Lock()
		if c.ha.join == pj {
			c.ha.join = nil
		}
		c.ha.joinMu.Unlock()
		return fmt.Errorf("core: join %s with the %s seal: %w", t.Leader(), cfg.Type, err)
	}
	return nil
}

// joinStatus fills seal-status fields while a join is pending.
func (c *Core) joinStatus(st *Status) {
	c.ha.joinMu.Lock()
	pj := c.ha.join
	c.ha.joinMu.Unlock()
	if pj == nil || (st.Initialized && st.Threshold > 0) {
		return
	}
	st.Initialized = true
	st.Threshold, st.Shares = pj.cfg.Threshold, pj.cfg.Shares
}

// unsealJoin handles an unseal share on a joining node (stateMu held).
// It returns a channel closed once the node has finished joining (or nil).
func (c *Core) unsealJoin(ctx context.Context, share []byte) (handled bool, wait <-chan struct{}, err error) {
	c.ha.joinMu.Lock()
	pj := c.ha.join
	c.ha.joinMu.Unlock()
	if pj == nil {
		return false, nil, nil
	}
	if ok, _ := c.barrier.Initialized(ctx); ok && !pj.answered {
		return false, nil, nil
	}
	if pj.answered {
		return true, pj.done, nil
	}
	if pj.cfg.Auto() {
		return true, nil, badRequest("this node joins a cluster protected by its %s seal: the join completes without key shares", pj.cfg.Type)
	}
	key, _, err := c.unsealer.Add(pj.cfg, share)
	if err != nil || key == nil {
		return true, nil, err
	}
	wait, err = c.answerJoinLocked(ctx, pj, key)
	return true, wait, err
}

// answerJoinLocked opens the challenge with the cluster's unseal key,
// answers the leader, installs the TLS material it returns and starts
// finishJoin, which owns key from then on (on error key is zeroed).
// stateMu is held.
func (c *Core) answerJoinLocked(ctx context.Context, pj *pendingJoin, key seal.Secret) (<-chan struct{}, error) {
	tmp := seal.NewBarrier(pj.under, c.log)
	if err := tmp.Unseal(ctx, key); err != nil {
		key.Zero()
		c.unsealer.Reset()
		c.log.Warn("join: the combined key does not open the cluster's root key; progress reset")
		return nil, err
	}
	defer tmp.Seal()
	nonce, err := tmp.Decrypt("core/raft-challenge/"+c.cfg.NodeID, pj.challenge)
	if err != nil {
		key.Zero()
		c.unsealer.Reset()
		return nil, fmt.Errorf("%w: cannot open the challenge: %v", ErrJoinChallenge, err)
	}
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	res, err := pj.t.Answer(actx, JoinAnswer{
		ServerID: c.cfg.NodeID, Answer: nonce, ClusterAddr: hostPortOf(c.cfg.ClusterAddr), APIAddr: c.cfg.APIAddr,
	})
	cancel()
	clear(nonce)
	if err != nil {
		key.Zero()
		c.unsealer.Reset()
		// The leader allows one answer per challenge and forgets it at
		// the first (even when adding the node then fails, as when it
		// loses leadership meanwhile), so this challenge is spent: drop
		// it, and the join loop asks for a new one at its next attempt.
		// Keeping it would refuse every later unseal until the loop's
		// re-ask after minutes.
		c.ha.joinMu.Lock()
		if c.ha.join == pj {
			c.ha.join = nil
		}
		c.ha.joinMu.Unlock()
		c.log.Warn("join: the leader did not take this node's answer; a new join challenge will be asked for, then submit the key shares again",
			"leader", pj.t.Leader(), "error", err)
		return nil, fmt.Errorf("core: join %s: answer: %w (the join challenge is spent: submit the key shares again once this node has a new one)", pj.t.Leader(), err)
	}
	plain, err := tmp.Decrypt("core/raft-tls/"+c.cfg.NodeID, res.TLS)
	if err != nil {
		key.Zero()
		return nil, fmt.Errorf("core: join: TLS material: %w", err)
	}
	m, err := clustertls.DecodeMaterial(plain)
	clear(plain)
	if err == nil && c.cfg.ClusterTLS != nil {
		err = c.cfg.ClusterTLS(m)
	}
	if err != nil {
		key.Zero()
		return nil, fmt.Errorf("core: join: TLS material: %w", err)
	}
	c.unsealer.Reset()
	pj.answered = true
	pj.done = make(chan struct{})
	c.log.Info("join answered; catching up with the cluster", "leader", pj.t.Leader())
	go c.finishJoin(pj, key)
	return pj.done, nil
}

// finishJoin waits until raft has replicated the barrier entries to this
// node, then unseals the node's own barrier with key (and zeroes it).
func (c *Core) finishJoin(pj *pendingJoin, key seal.Secret) {
	defer close(pj.done)
	defer key.Zero()
	ctx, cancel := context.WithTimeout(context.Background(), joinFinishTimeout)
	defer cancel()
	for {
		if ok, _ := c.barrier.Initialized(ctx); ok {
			if _, err := c.barrier.SealConfig(ctx); err == nil {
				c.stateMu.Lock()
				err := c.barrier.Unseal(ctx, key)
				if err == nil {
					c.initialized.Store(true)
					c.ha.joinMu.Lock()
					c.ha.join = nil
					c.ha.joinMu.Unlock()
					if terr := c.loadClusterTLS(ctx); terr != nil {
						c.log.Debug("join: cluster TLS from storage not loaded yet", "error", terr)
					}
				}
				c.stateMu.Unlock()
				if err == nil {
					c.log.Info("joined the cluster and unsealed")
					c.poke()
					return
				}
				c.log.Debug("join: unseal after catch-up failed; retrying", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			c.log.Error("join: the cluster's data did not reach this node in time; unseal it again once it has caught up")
			c.ha.joinMu.Lock()
			c.ha.join = nil
			c.ha.joinMu.Unlock()
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ---- leader side (core/clusterops.Joins) ----

func (c *Core) requireActive() error {
	if c.barrier.Sealed() {
		return ErrSealed
	}
	if !c.active.Load() {
		return ErrStandby
	}
	return nil
}

// joinLeader: joins are answered by the active node, or on a DR
// secondary (which has none) by its raft leader once it is unsealed with
// the primary's keys (replication.go).
func (c *Core) joinLeader() error {
	if c.IsDRSecondary() {
		if c.barrier.Sealed() {
			return ErrSealed
		}
		if !c.cluster.IsLeader() {
			return ErrStandby
		}
		return nil
	}
	return c.requireActive()
}

// recordJoiner records a joiner's addresses, except on a DR secondary,
// which writes nothing outside replication-local/ (its storage is the
// primary's).
func (c *Core) recordJoiner(ctx context.Context, id, apiAddr, clusterAddr string) error {
	if c.repl.role().isSecondary() { // a performance secondary's storage is the primary's too
		return nil
	}
	return c.recordNode(ctx, id, apiAddr, clusterAddr)
}

// newJoins builds the leader side of joins (core/clusterops).
func (c *Core) newJoins() *clusterops.Joins {
	jc := clusterops.JoinConfig{
		Barrier: c.barrier, Physical: c.physical, Active: c.joinLeader,
		NodeTLS: c.issueNodeTLS, RecordNode: c.recordJoiner,
		Busy: ErrJoinBusy, Now: c.now, Logger: c.log,
	}
	if c.cfg.Members != nil {
		jc.Members = c.cfg.Members
	}
	return clusterops.NewJoins(jc)
}

// issueNodeTLS issues a joiner's cluster TLS material from the cluster CA,
// encoded (the caller zeroes it).
func (c *Core) issueNodeTLS(ctx context.Context, serverID string) ([]byte, error) {
	ca, err := c.clusterCA(ctx)
	if err != nil {
		return nil, err
	}
	m, err := ca.Issue(serverID)
	ca.KeyPEM.Zero()
	if err != nil {
		return nil, err
	}
	enc, err := m.Encode()
	m.NodeKeyPEM.Zero()
	if err != nil {
		return nil, err
	}
	return enc, nil
}

// RaftChallenge answers sys/storage/raft/bootstrap/challenge on the active
// node (core/clusterops.Joins.Challenge).
func (c *Core) RaftChallenge(ctx context.Context, serverID string) (*JoinChallenge, error) {
	return c.joins.Challenge(ctx, serverID)
}

// RaftAnswer checks a joiner's answer, adds it to raft and returns its TLS
// material encrypted under the barrier (core/clusterops.Joins.Answer).
func (c *Core) RaftAnswer(ctx context.Context, a JoinAnswer) (*JoinAnswerResult, error) {
	return c.joins.Answer(ctx, a)
}

// RaftChallengeFrom and RaftAnswerFrom are RaftChallenge and RaftAnswer
// for a caller at source (its client address): pending challenges are
// bounded per source and never replaced or burned from another address.
func (c *Core) RaftChallengeFrom(ctx context.Context, serverID, source string) (*JoinChallenge, error) {
	return c.joins.ChallengeFrom(ctx, serverID, source)
}

func (c *Core) RaftAnswerFrom(ctx context.Context, a JoinAnswer, source string) (*JoinAnswerResult, error) {
	return c.joins.AnswerFrom(ctx, a, source)
}
