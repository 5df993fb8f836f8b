package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaultd/vaultd/core/mounts"
	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// Standby reads (issue 12, docs/consistency.md "Reads on a standby").
//
// A standby answers a pure read itself, still linearizably: it asks the
// active node for a read index (ReadIndexer.ReadIndex, over the cluster
// port; concurrent reads share one request), waits until its own FSM has
// applied that index, and then runs token lookup, ACL and the read
// against its local copy of the state. Its in-memory state (mount tables,
// policies, token cache, identity store, salts) is loaded on demand and
// kept exact by Invalidate, which the storage layer calls for every
// applied write before it releases the readers waiting for that write.
//
// Everything else is forwarded: core answers ErrForward and the HTTP layer
// sends the request to the active node. That covers every write, every
// path outside the engines listed in localReadMountTypes, tokens with
// num_uses, wrapping, and any read that tried to write (the standby's
// storage refuses writes). A standby audits what it answers on its own
// audit devices (the table is the cluster's; each node writes its own
// files), failing closed as the active node does.

// ReadIndexer is what a standby needs to serve reads locally; the
// composition root implements it over the cluster port and raftstore. nil
// in Config.Reads: standbys forward everything.
type ReadIndexer interface {
	// ReadIndex asks the active node for a read index: an index such that
	// every write acknowledged before the call is at or below it.
	ReadIndex(ctx context.Context) (uint64, error)
	// WaitApplied returns once this node has applied index (and Invalidate
	// has seen every write up to it), or ctx's error.
	WaitApplied(ctx context.Context, index uint64) error
	// AppliedIndex is the index this node has applied (X-Vault-Index).
	AppliedIndex() uint64
}

// ErrForward: a standby does not answer this request itself; the HTTP
// layer forwards it to the active node. It is an ErrStandby.
var ErrForward = fmt.Errorf("%w: the request must be served by the active node", ErrStandby)

// localReadMountTypes are the engines whose read and list operations are
// pure (they never write, create a lease or mint a token) and may be
// served by a standby. Everything else is forwarded. transit (reads of key
// configuration are pure, but encrypt/sign are updates anyway), pki (a CRL
// read may rebuild the CRL) and the auth methods stay on the active node.
var localReadMountTypes = map[string]bool{"kv": true, "generic": true, "cubbyhole": true}

// readIndexTimeout bounds getting and waiting for a read index; past it
// the read is forwarded (which fails with 503 when the active node is
// unreachable too).
const readIndexTimeout = 2 * time.Second

// replica is a standby's copy of the in-memory state and its freshness.
type replica struct {
	// coreGen counts applied writes to core/ keys that the loaded state
	// derives from (mount and auth tables, audit table, salts, keyring);
	// identGen those to the identity store. Bumped by Invalidate.
	coreGen, identGen atomic.Uint64

	mu                    sync.RWMutex // readers: local reads; writer: load and drop
	loaded                bool
	builtCore, builtIdent uint64 // the generations the loaded state includes

	// invalidators are the loaded engines that cache storage-derived state,
	// by their view prefix ("logical/<uuid>/", "auth/<uuid>/").
	invalidators atomic.Pointer[map[string]secrets.Invalidator]

	batch indexBatcher
	// fresh is the newest completed read index: every write acknowledged
	// before at is at or below index (bounded-staleness reads).
	fresh atomic.Pointer[freshMark]

	served, forwarded atomic.Uint64 // local reads answered, reads sent on
}

type freshMark struct {
	at    time.Time // when the read index request started (monotonic)
	index uint64
}

type localReadKey struct{}

// isLocalRead reports whether ctx belongs to a read a standby serves
// itself after a read index (no leadership check of its own).
func isLocalRead(ctx context.Context) bool { return ctx.Value(localReadKey{}) != nil }

// ServesLocalReads reports whether this node may try to answer reads
// itself: an unsealed standby with a ReadIndexer.
func (c *Core) ServesLocalReads() bool {
	return c.cfg.Reads != nil && !c.active.Load() && !c.barrier.Sealed()
}

// LocalReadStats are the counters of standby reads on this node.
func (c *Core) LocalReadStats() (served, forwarded, readIndexRequests uint64) {
	return c.replica.served.Load(), c.replica.forwarded.Load(), c.replica.batch.rounds.Load()
}

// handleStandbyRead serves req on a standby, or answers ErrForward.
func (c *Core) handleStandbyRead(ctx context.Context, req *Request) (*Response, error) {
	resp, err := c.standbyRead(ctx, req)
	if errors.Is(err, ErrForward) {
		c.replica.forwarded.Add(1)
	} else {
		c.replica.served.Add(1)
	}
	return resp, err
}

func (c *Core) standbyRead(ctx context.Context, req *Request) (*Response, error) {
	if c.cfg.Reads == nil || req.WrapTTL > 0 || req.Operation != secrets.OpRead && req.Operation != secrets.OpList {
		return nil, ErrForward
	}
	if err := checkPath(req.Path); err != nil {
		return nil, err
	}
	if p := req.Path; p == "sys" || strings.HasPrefix(p, "sys/") || strings.HasPrefix(p, "auth/") || p == "identity" || strings.HasPrefix(p, "identity/") {
		return nil, ErrForward
	}
	minIndex, err := c.stateIndex(req.StateTokens) // stateindex.go
	if err != nil {
		return nil, err
	}
	if err := c.readBarrier(ctx, req.MaxStaleness, minIndex); err != nil {
		c.log.Debug("no read index; forwarding the read", "request_id", req.ID, "error", err)
		return nil, ErrForward
	}
	// The generations the state must include: every write up to the read
	// index has been seen by Invalidate.
	needCore, needIdent := c.replica.coreGen.Load(), c.replica.identGen.Load()
	unlock, err := c.replicaRLock(ctx, needCore, needIdent)
	if err != nil {
		c.log.Debug("standby state not loaded; forwarding the read", "request_id", req.ID, "error", err)
		return nil, ErrForward
	}
	defer unlock()
	mt := c.mounts.Current()
	if mt == nil {
		return nil, ErrForward
	}
	me := mt.Match(req.Path)
	if me == nil || !localReadMountTypes[me.Type] || c.isUnauthenticated(req.Path) {
		return nil, ErrForward
	}
	ctx = tokens.WithRemoteAddr(ctx, req.RemoteAddr)
	te, err := c.tokens.LookupFrom(ctx, req.ClientToken, req.RemoteAddr)
	if errors.Is(err, tokens.ErrNotFound) {
		return nil, c.auditRefused(ctx, req, permissionDenied())
	}
	if err != nil {
		return nil, ErrForward
	}
	if te.NumUses != 0 {
		return nil, ErrForward // using it is a write
	}
	if te.Authz, _, err = c.effectiveAuthz(ctx, te); err != nil {
		if errors.Is(err, secrets.ErrPermissionDenied) {
			return nil, c.auditRefused(ctx, req, err)
		}
		return nil, ErrForward
	}
	// Audited here, on this node's own devices (as Vault's performance
	// standbys do), failing closed like the active node.
	a := c.newAuditor(req, te)
	if err := a.request(ctx, ""); err != nil {
		c.log.Error("refusing a request that no audit device recorded", "request_id", req.ID)
		return nil, err
	}
	resp, err := c.dispatch(context.WithValue(ctx, localReadKey{}, true), req, te, mt)
	if err != nil && (errors.Is(err, storage.ErrUnavailable) || errors.Is(err, ErrNoActiveNode)) ||
		resp != nil && (resp.Auth != nil || resp.LeaseID != "" || resp.WrapInfo != nil) {
		// The read tried to write (a standby's storage refuses; nothing
		// was written), or answered what only the active node may (never
		// for the engines above): the active node answers instead, and
		// audits it too.
		_ = a.response(ctx, nil, ErrForward)
		return nil, ErrForward
	}
	if aerr := a.response(ctx, resp, err); aerr != nil {
		c.log.Error("no audit device recorded a response; failing the request", "request_id", req.ID)
		return nil, aerr
	}
	return resp, err
}

// auditRefused audits a request refused before it ran (as HandleRequest
// does) and returns err.
func (c *Core) auditRefused(ctx context.Context, req *Request, err error) error {
	a := c.newAuditor(req, nil)
	if aerr := a.request(ctx, err.Error()); aerr != nil {
		c.log.Error("audit failed for a refused request", "error", aerr)
	} else if aerr := a.response(ctx, nil, err); aerr != nil {
		c.log.Error("audit failed for a refused request", "error", aerr)
	}
	return err
}

// readBarrier makes the local state fresh enough for a read: with
// maxStale > 0, a read index completed less than maxStale ago is enough;
// otherwise (or when there is none) it gets a new read index from the
// active node and waits until it is applied here. Either way the node
// must also have applied minIndex (the request's X-Vault-Index tokens).
func (c *Core) readBarrier(ctx context.Context, maxStale time.Duration, minIndex uint64) error {
	if chaosSkipReadIndex { // chaosbug_standby.go: the deliberately broken build
		return nil
	}
	r := &c.replica
	if maxStale > 0 {
		if m := r.fresh.Load(); m != nil {
			if age := time.Since(m.at); age < maxStale {
				wctx, cancel := context.WithTimeout(ctx, maxStale-age)
				err := c.cfg.Reads.WaitApplied(wctx, maxU(m.index, minIndex))
				cancel()
				if err == nil {
					return nil
				}
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, readIndexTimeout)
	defer cancel()
	idx, at, err := r.batch.get(ctx, c.cfg.Reads.ReadIndex)
	if err != nil {
		return err
	}
	if err := c.cfg.Reads.WaitApplied(ctx, maxU(idx, minIndex)); err != nil {
		return err
	}
	for {
		old := r.fresh.Load()
		if old != nil && !old.at.Before(at) {
			return nil
		}
		if r.fresh.CompareAndSwap(old, &freshMark{at: at, index: idx}) {
			return nil
		}
	}
}

// replicaRLock returns with the standby state loaded at generations of at
// least needCore/needIdent, read-locked; call unlock when done.
func (c *Core) replicaRLock(ctx context.Context, needCore, needIdent uint64) (unlock func(), err error) {
	r := &c.replica
	for range 3 {
		r.mu.RLock()
		if r.loaded && r.builtCore >= needCore && r.builtIdent >= needIdent && !c.active.Load() {
			return r.mu.RUnlock, nil
		}
		r.mu.RUnlock()
		if err := c.loadReplica(ctx); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("core: standby state kept changing while loading")
}

// loadReplica (re)loads what changed of the standby's state. It never
// blocks behind a setup, seal or unseal: it gives up instead (the read is
// forwarded).
func (c *Core) loadReplica(ctx context.Context) error {
	if !c.stateMu.TryLock() {
		return errors.New("core: node state is changing")
	}
	defer c.stateMu.Unlock()
	if c.active.Load() || c.barrier.Sealed() {
		return ErrForward
	}
	r := &c.replica
	r.mu.Lock()
	defer r.mu.Unlock()
	cg, ig := r.coreGen.Load(), r.identGen.Load()
	if !r.loaded || r.builtCore != cg {
		r.loaded = false
		if err := c.barrier.Reload(ctx); err != nil {
			return fmt.Errorf("core: standby keyring: %w", err)
		}
		if err := c.loadClusterInfo(ctx); err != nil { // the ID state tokens name
			return err
		}
		if err := c.tokens.Load(ctx); err != nil { // salt; purges the cache
			return err
		}
		if err := c.mounts.Load(ctx, nil); err != nil {
			return fmt.Errorf("core: standby mount table: %w", err)
		}
		if err := c.ident.auth.Load(ctx, nil); err != nil {
			return fmt.Errorf("core: standby auth table: %w", err)
		}
		c.ident.policies.Reset(c.barrier)
		c.teardownAudit() // reopened with the table as it is now
		if err := c.setupAudit(ctx); err != nil {
			return fmt.Errorf("core: standby audit devices: %w", err)
		}
		c.installInvalidators()
		r.builtCore = cg
	}
	if !r.loaded || r.builtIdent != ig {
		if err := c.ident.store.Load(ctx, storage.NewView(c.barrier, identityStoragePrefix)); err != nil {
			return fmt.Errorf("core: standby identity store: %w", err)
		}
		r.builtIdent = ig
	}
	r.loaded = true
	return nil
}

// installInvalidators records the loaded engines that cache storage state.
func (c *Core) installInvalidators() {
	m := map[string]secrets.Invalidator{}
	for _, set := range []*mounts.Set{c.mounts, c.ident.auth} {
		t := set.Current()
		if t == nil {
			continue
		}
		for _, me := range t.Entries() {
			if inv, ok := t.Engine(me.Path).(secrets.Invalidator); ok {
				m[set.ViewPrefixOf(me)] = inv
			}
		}
	}
	c.replica.invalidators.Store(&m)
}

// dropReplica forgets the standby state (becoming active, sealing).
// Callers hold stateMu.
func (c *Core) dropReplica() {
	r := &c.replica
	r.mu.Lock()
	c.teardownAudit() // the standby's devices (idempotent); setup opens the active's
	r.loaded = false
	r.invalidators.Store(nil)
	r.mu.Unlock()
}

// Invalidate is the storage layer's change hook (raftstore's ChangeHook,
// wired by the composition root): keys are the storage keys of applied
// writes, all is set after a snapshot restore replaced everything. It
// runs before readers waiting for those writes are released, and only
// marks state stale or drops cache entries; it never reads or blocks.
// The active node is the only writer and keeps its caches exact itself,
// so there it does nothing (its state is reloaded when it becomes active).
func (c *Core) Invalidate(keys []string, all bool) {
	if c.active.Load() {
		return
	}
	r := &c.replica
	if all {
		r.coreGen.Add(1)
		r.identGen.Add(1)
		c.tokens.Purge()
		c.ident.policies.Reset(c.barrier)
		return
	}
	var invs map[string]secrets.Invalidator
	if p := r.invalidators.Load(); p != nil {
		invs = *p
	}
	for _, k := range keys {
		switch {
		case strings.HasPrefix(k, identityStoragePrefix):
			r.identGen.Add(1)
		case strings.HasPrefix(k, "core/leader/"), strings.HasPrefix(k, nodeRecordsKey):
			// read from storage when needed, never cached
		case strings.HasPrefix(k, "core/"):
			r.coreGen.Add(1)
		case strings.HasPrefix(k, "sys/policy/"):
			c.ident.policies.InvalidateKey(k)
		case strings.HasPrefix(k, "sys/token/"):
			c.tokens.InvalidateKey(k)
		case len(invs) > 0 && (strings.HasPrefix(k, "logical/") || strings.HasPrefix(k, "auth/")):
			top, rest, ok := strings.Cut(k, "/")
			if !ok {
				continue
			}
			id, sub, ok := strings.Cut(rest, "/")
			if !ok {
				continue
			}
			if inv := invs[top+"/"+id+"/"]; inv != nil {
				inv.Invalidate(context.Background(), sub)
			}
		}
	}
}

// indexBatcher shares read index requests: every caller joins the next
// request that starts after it called (never one already in flight, which
// may have been answered before the caller's read arrived), so one request
// serves every read that arrived while the previous one was in flight.
type indexBatcher struct {
	mu      sync.Mutex
	running bool
	pending *indexRound
	rounds  atomic.Uint64
}

type indexRound struct {
	done    chan struct{}
	index   uint64
	at      time.Time
	err     error
	waiters int // callers that joined (guarded by indexBatcher.mu)
}

func (b *indexBatcher) get(ctx context.Context, fetch func(context.Context) (uint64, error)) (uint64, time.Time, error) {
	b.mu.Lock()
	if b.pending == nil {
		b.pending = &indexRound{done: make(chan struct{})}
	}
	r := b.pending
	r.waiters++
	if !b.running {
		b.running = true
		b.pending = nil
		go b.run(r, fetch)
	}
	b.mu.Unlock()
	select {
	case <-r.done:
		return r.index, r.at, r.err
	case <-ctx.Done():
		return 0, time.Time{}, ctx.Err()
	}
}

func (b *indexBatcher) run(r *indexRound, fetch func(context.Context) (uint64, error)) {
	for r != nil {
		b.rounds.Add(1)
		r.at = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), readIndexTimeout)
		r.index, r.err = fetch(ctx)
		cancel()
		close(r.done)
		b.mu.Lock()
		r = b.pending
		b.pending = nil
		if r == nil {
			b.running = false
		}
		b.mu.Unlock()
	}
}
