package clusterops

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/vaultd/vaultd/storage"
)

// The leader side of Vault's join flow: the joiner asks the active node
// for a challenge, the operators unseal the joiner with the cluster's
// shares, the joiner opens the challenge with the keyring it can now
// decrypt and answers, and only then does the leader add it to raft and
// hand it the cluster TLS material. (The joiner's side is part of core's
// unseal.)
//
// The challenge carries the leader's barrier entries (seal config, sealed
// root key, keyring): ciphertexts under the unseal key, so anyone who can
// reach the endpoint learns no more than what a stolen disk gives. The
// leader remembers at most MaxChallenges nonces for ChallengeTTL, one per
// server ID and at most MaxChallengesPerSource per client address, and
// burns a nonce on its first answer from the address that asked for it,
// right or wrong. A live challenge is never replaced or burned from another
// address, so an anonymous caller can neither fill the table for everyone
// nor take over or spoil another joiner's pending challenge (issue 10).

// Join limits.
const (
	ChallengeTTL  = 5 * time.Minute
	MaxChallenges = 64
	// MaxChallengesPerSource bounds one client address's pending challenges.
	MaxChallengesPerSource = 4
)

// ErrJoinChallenge: the join answer does not match a pending challenge
// (wrong, expired, or never asked).
var ErrJoinChallenge = errors.New("core: join challenge failed")

// ServerIDPattern is what a raft server ID may look like.
var ServerIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// JoinChallenge is the leader's answer to bootstrap/challenge. The three
// physical values are the barrier's own entries (plaintext seal config,
// sealed root key and keyring ciphertexts): useless without the unseal key,
// they let the joiner check its combined key and open the challenge.
type JoinChallenge struct {
	SealConfig    []byte
	SealedRootKey []byte
	Keyring       []byte
	// WrappedKey is the unseal key wrapped by the auto seal (nil under
	// Shamir): a joiner configured with the same seal unwraps it to answer
	// without operators, which proves it can reach the seal's key.
	WrappedKey []byte
	Challenge  []byte // barrier ciphertext of the nonce, path core/raft-challenge/<id>
}

// JoinAnswer is the joiner's bootstrap/answer.
type JoinAnswer struct {
	ServerID    string
	Answer      []byte
	ClusterAddr string // host:port peers dial
	APIAddr     string
	NonVoter    bool
}

// JoinAnswerResult carries the TLS material for the joiner, encrypted
// under the barrier (path core/raft-tls/<id>).
type JoinAnswerResult struct {
	TLS []byte
}

// Members is the part of raft membership the leader side of a join needs.
type Members interface {
	AddNonvoter(ctx context.Context, id, addr string) error
	AddVoter(ctx context.Context, id, addr string) error
}

// JoinConfig configures a Joins.
type JoinConfig struct {
	// Barrier encrypts the challenge nonce and the joiner's TLS material.
	Barrier Sealer
	// Physical is the storage under the barrier (its three entries go to
	// the joiner as they are).
	Physical storage.Backend
	// Members adds the joiner to raft; nil when the storage cannot be
	// joined (a 400).
	Members Members
	// Active reports whether the node may answer (nil) or why not
	// (sealed, standby).
	Active func() error
	// NodeTLS issues the joiner's cluster TLS material from the cluster
	// CA, encoded; Joins encrypts it and zeroes it.
	NodeTLS func(ctx context.Context, serverID string) ([]byte, error)
	// RecordNode remembers how to reach the joiner.
	RecordNode func(ctx context.Context, id, apiAddr, clusterAddr string) error
	// WantVoter records a joiner that asked for a vote; autopilot promotes
	// it once it has caught up and is stable (Service.WantVoter). Nil
	// leaves every joiner a non-voter.
	WantVoter func(ctx context.Context, id, addr string) error
	// Busy wraps the error for "too many pending challenges" or "another
	// address holds this server_id's challenge" (core's ErrJoinBusy, a 429
	// with Retry-After the joiner retries).
	Busy   error
	Now    func() time.Time
	Logger *slog.Logger
}

// Joins is the leader side of joins. Safe for concurrent use.
type Joins struct {
	cfg JoinConfig
	log *slog.Logger

	mu         sync.Mutex
	challenges map[string]*pendingChallenge
}

type pendingChallenge struct {
	nonce   []byte
	expires time.Time
	source  string // client address that asked for it
}

// NewJoins builds the leader side of joins.
func NewJoins(cfg JoinConfig) *Joins {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Busy == nil {
		cfg.Busy = errors.New("clusterops: busy")
	}
	return &Joins{cfg: cfg, log: cfg.Logger}
}

// Challenge answers sys/storage/raft/bootstrap/challenge on the active
// node: a fresh nonce encrypted with the barrier, remembered for
// ChallengeTTL (one per server ID; at most MaxChallenges pending).
func (j *Joins) Challenge(ctx context.Context, serverID string) (*JoinChallenge, error) {
	return j.ChallengeFrom(ctx, serverID, "")
}

// ChallengeFrom is Challenge for a caller at source (its client address).
func (j *Joins) ChallengeFrom(ctx context.Context, serverID, source string) (*JoinChallenge, error) {
	if err := j.cfg.Active(); err != nil {
		return nil, err
	}
	if !ServerIDPattern.MatchString(serverID) {
		return nil, badRequest("invalid server_id %q", serverID)
	}
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	ct, err := j.cfg.Barrier.Encrypt("core/raft-challenge/"+serverID, nonce)
	if err != nil {
		clear(nonce)
		return nil, err
	}
	out := &JoinChallenge{Challenge: ct}
	for _, kv := range []struct {
		k string
		v *[]byte
	}{{"core/seal-config", &out.SealConfig}, {"core/sealed-root-key", &out.SealedRootKey}, {"core/keyring", &out.Keyring}} {
		e, err := j.cfg.Physical.Get(ctx, kv.k)
		if err != nil {
			clear(nonce)
			return nil, fmt.Errorf("core: challenge: read %s: %w", kv.k, err)
		}
		*kv.v = e.Value
	}
	if e, err := j.cfg.Physical.Get(ctx, "core/wrapped-unseal-key"); err == nil {
		out.WrappedKey = e.Value
	} else if !errors.Is(err, storage.ErrNotFound) {
		clear(nonce)
		return nil, fmt.Errorf("core: challenge: read core/wrapped-unseal-key: %w", err)
	}
	now := j.cfg.Now()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.challenges == nil {
		j.challenges = map[string]*pendingChallenge{}
	}
	for id, pc := range j.challenges {
		if now.After(pc.expires) {
			clear(pc.nonce)
			delete(j.challenges, id)
		}
	}
	if old, ok := j.challenges[serverID]; ok {
		if old.source != source {
			clear(nonce)
			return nil, fmt.Errorf("%w: server_id %q has a pending challenge asked for from another address; retry after it expires", j.cfg.Busy, serverID)
		}
		clear(old.nonce) // the same joiner asking again: its new challenge replaces its old one
		delete(j.challenges, serverID)
	}
	perSource := 0
	for _, pc := range j.challenges {
		if pc.source == source {
			perSource++
		}
	}
	if perSource >= MaxChallengesPerSource || len(j.challenges) >= MaxChallenges {
		clear(nonce)
		return nil, fmt.Errorf("%w: too many pending join challenges; retry later", j.cfg.Busy)
	}
	j.challenges[serverID] = &pendingChallenge{nonce: nonce, expires: now.Add(ChallengeTTL), source: source}
	return out, nil
}

// Answer checks a joiner's answer (constant time; one attempt per
// challenge), adds it to raft and returns its TLS material encrypted under
// the barrier. The joiner becomes a non-voter at once; unless it asked to
// stay one, it is recorded for autopilot, which promotes it to voter only
// once it has caught up and been healthy for server_stabilization_time
// (a voter that is still installing the snapshot would stall commits or
// lower the failure tolerance).
func (j *Joins) Answer(ctx context.Context, a JoinAnswer) (*JoinAnswerResult, error) {
	return j.AnswerFrom(ctx, a, "")
}

// AnswerFrom is Answer for a caller at source: only the address that asked
// for the challenge can answer (and so burn) it.
func (j *Joins) AnswerFrom(ctx context.Context, a JoinAnswer, source string) (*JoinAnswerResult, error) {
	if err := j.cfg.Active(); err != nil {
		return nil, err
	}
	if !ServerIDPattern.MatchString(a.ServerID) {
		return nil, badRequest("invalid server_id %q", a.ServerID)
	}
	addr := HostPort(a.ClusterAddr)
	if addr == "" {
		return nil, badRequest("invalid cluster_addr %q", a.ClusterAddr)
	}
	j.mu.Lock()
	pc := j.challenges[a.ServerID]
	if pc != nil && pc.source != source {
		pc = nil // someone else's challenge: leave it alone
	} else {
		delete(j.challenges, a.ServerID)
	}
	j.mu.Unlock()
	if pc == nil {
		return nil, fmt.Errorf("%w: no pending challenge for server_id %q", ErrJoinChallenge, a.ServerID)
	}
	defer clear(pc.nonce)
	if j.cfg.Now().After(pc.expires) || subtle.ConstantTimeCompare(pc.nonce, a.Answer) != 1 {
		j.log.Warn("join answer refused", "server_id", a.ServerID)
		return nil, fmt.Errorf("%w: wrong or expired answer", ErrJoinChallenge)
	}
	if j.cfg.Members == nil {
		return nil, badRequest("this node's storage cannot be joined")
	}
	enc, err := j.cfg.NodeTLS(ctx, a.ServerID)
	if err != nil {
		return nil, err
	}
	ct, err := j.cfg.Barrier.Encrypt("core/raft-tls/"+a.ServerID, enc)
	clear(enc)
	if err != nil {
		return nil, err
	}
	if err := j.cfg.RecordNode(ctx, a.ServerID, a.APIAddr, a.ClusterAddr); err != nil {
		return nil, err
	}
	if !a.NonVoter && j.cfg.WantVoter != nil {
		// Recorded before the node is added, so that a member that wants a
		// vote always has its record (a failed add leaves a record that
		// autopilot drops once it is old).
		if err := j.cfg.WantVoter(ctx, a.ServerID, addr); err != nil {
			return nil, fmt.Errorf("core: join: %w", err)
		}
	}
	if err := j.cfg.Members.AddNonvoter(ctx, a.ServerID, addr); err != nil {
		return nil, fmt.Errorf("core: join: add %s to raft: %w", a.ServerID, err)
	}
	j.log.Info("node joined as non-voter", "server_id", a.ServerID, "cluster_addr", addr)
	if !a.NonVoter && j.cfg.WantVoter != nil {
		j.log.Info("joined node will be promoted to voter once it has caught up and is stable", "server_id", a.ServerID)
	}
	return &JoinAnswerResult{TLS: ct}, nil
}

// HostPort turns "https://h:p" or "h:p" into "h:p", or "" if invalid.
func HostPort(a string) string {
	if strings.Contains(a, "://") {
		u, err := url.Parse(a)
		if err != nil {
			return ""
		}
		a = u.Host
	}
	if _, _, err := net.SplitHostPort(a); err != nil {
		return ""
	}
	return a
}
