// Package tokens is vaultd's token store: tokens behind the barrier keyed
// by salted hash (the token ID itself is never stored), accessors, the
// parent → child index that revokes whole trees, limited-use accounting,
// bound CIDRs, and the expiration manager that revokes expired tokens on
// the active node; token roles; and the auth/token/* endpoints
// (Endpoints), which reach core through the three-method Host. core drives
// the store (load on setup, forget on seal).
//
// It imports storage, seal (for ErrSealed), secrets (error kinds),
// core/policies (the per-request Authz an Entry carries) and
// core/internal/reqfield.
package tokens

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"math/big"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vaultd/vaultd/core/policies"
	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// Token storage layout, all behind the barrier:
//
//	core/token-salt                           HMAC key for token IDs and accessors
//	sys/token/id/<hash(id)>                   Entry (JSON); the ID itself is never stored
//	sys/token/accessor/<hash(accessor)>       accessorEntry: the accessor and the ID hash
//	sys/token/parent/<parent hash>/<hash>     "1": parent → child index, for revoking trees
//	sys/token/roles/<name>                    tokenRole (JSON)
const (
	SaltKey          = "core/token-salt"
	tokenIDPrefix    = "sys/token/id/"
	tokenAccessorPfx = "sys/token/accessor/"
	tokenParentPfx   = "sys/token/parent/"
	RolePrefix       = "sys/token/roles/"

	// tokenCacheSize bounds the active node's read-through token cache.
	tokenCacheSize = 8192
	// lockStripes is the number of per-token locks (by hash).
	lockStripes = 64
)

// Entry is a token as stored. The token ID itself is never stored:
// the entry lives at sys/token/id/<HMAC-SHA256(salt, id)>. Treat Policies
// and Meta as read-only: entries handed out share them with the cache.
type Entry struct {
	// ID is set only in memory on the entry returned by lookup/create; it
	// is excluded from JSON so it can never reach storage.
	ID         string            `json:"-"`
	IDHash     string            `json:"id_hash"`
	Accessor   string            `json:"accessor"`
	ParentHash string            `json:"parent_hash,omitempty"`
	Policies   []string          `json:"policies"`
	Path       string            `json:"path"`
	Meta       map[string]string `json:"meta,omitempty"`
	// DisplayName is shown in lookups and audit entries.
	DisplayName string `json:"display_name"`
	// NumUses is the number of uses left (0: unlimited). -1 marks a token
	// whose last use is in flight: it is refused and revoked when that
	// request ends.
	NumUses      int       `json:"num_uses"`
	CreationTime time.Time `json:"creation_time"`
	// TTL is the TTL the token was created with.
	TTL            time.Duration `json:"ttl"`
	ExplicitMaxTTL time.Duration `json:"explicit_max_ttl"`
	// MaxTTL is the mount's (or the system's) max lease TTL at creation:
	// renewals never push ExpireTime past CreationTime+MaxTTL. 0: no bound
	// besides ExplicitMaxTTL.
	MaxTTL      time.Duration `json:"max_ttl,omitempty"`
	Period      time.Duration `json:"period"`
	ExpireTime  time.Time     `json:"expire_time"`
	LastRenewal time.Time     `json:"last_renewal,omitzero"`
	Renewable   bool          `json:"renewable"`
	Orphan      bool          `json:"orphan"`
	Type        string        `json:"type"`
	Role        string        `json:"role,omitempty"`
	EntityID    string        `json:"entity_id,omitempty"`
	// BoundCIDRs, when set, are the only client addresses the token may be
	// used from (canonical form; see CanonicalCIDRs).
	BoundCIDRs []string `json:"bound_cidrs,omitempty"`
	// Wrap is set on response-wrapping tokens.
	Wrap *WrapMeta `json:"wrap,omitempty"`

	// Authz is the resolved policies for this request; never stored.
	Authz *policies.Authz `json:"-"`
	// LastUse: this request consumed the last use; never stored.
	LastUse bool `json:"-"`
}

// WrapMeta describes what a response-wrapping token wraps.
type WrapMeta struct {
	CreationPath    string `json:"creation_path"`
	WrappedAccessor string `json:"wrapped_accessor,omitempty"`
}

// Expired reports whether the token's TTL has run out.
func (t *Entry) Expired(now time.Time) bool {
	return !t.ExpireTime.IsZero() && !now.Before(t.ExpireTime)
}

// IsRoot reports whether the token carries the root policy.
func (t *Entry) IsRoot() bool {
	for _, p := range t.Policies {
		if p == "root" {
			return true
		}
	}
	return false
}

// clone returns a shallow copy without the per-request fields.
func (t *Entry) clone() *Entry {
	cp := *t
	cp.ID, cp.Authz, cp.LastUse = "", nil, false
	return &cp
}

// Store keeps tokens behind the barrier, keyed by salted hash. On the
// active node it is the only writer of sys/token/, which is what makes its
// read-through cache exact; the cache is purged whenever the node becomes
// active, steps down or seals.
type Store struct {
	b   storage.Backend
	now func() time.Time

	mu       sync.RWMutex // guards salt, hpool and batchKey
	salt     []byte
	hpool    *sync.Pool // of hash.Hash (HMAC keyed with salt)
	batchKey []byte     // seals batch tokens (batch.go), derived from salt
	stateKey []byte     // keys X-Vault-Index state tokens (batch.go), derived from salt

	// locks serialise read-modify-write of one token (use, renew, revoke,
	// creating a child under it), striped by hash.
	locks [lockStripes]sync.Mutex

	cacheMu  sync.Mutex
	cache    map[string]*Entry // by IDHash; values are never modified
	cacheGen uint64            // bumped by InvalidateKey (guarded by cacheMu)

	hookMu   sync.RWMutex // guards onRevoke
	onRevoke func(ctx context.Context, idHash string) error

	exp expiration

	stats counters // stats.go
}

func NewStore(b storage.Backend, now func() time.Time) *Store {
	return &Store{b: b, now: now, cache: map[string]*Entry{}}
}

func (ts *Store) Load(ctx context.Context) error {
	e, err := ts.b.Get(ctx, SaltKey)
	if err != nil {
		return fmt.Errorf("tokens: token salt: %w", err)
	}
	salt := append([]byte(nil), e.Value...)
	ts.mu.Lock()
	clear(ts.salt)
	clear(ts.batchKey)
	clear(ts.stateKey)
	ts.salt = salt
	ts.hpool = &sync.Pool{New: func() any { return hmac.New(sha256.New, salt) }}
	ts.batchKey = deriveBatchKey(salt)
	ts.stateKey = deriveStateKey(salt)
	ts.mu.Unlock()
	ts.Purge()
	return nil
}

// Forget zeroes the salt and drops the cache (on seal).
func (ts *Store) Forget() {
	ts.mu.Lock()
	clear(ts.salt)
	clear(ts.batchKey)
	clear(ts.stateKey)
	ts.salt, ts.hpool, ts.batchKey, ts.stateKey = nil, nil, nil, nil
	ts.mu.Unlock()
	ts.Purge()
}

// Purge empties the token cache.
func (ts *Store) Purge() {
	ts.cacheMu.Lock()
	ts.cacheGen++ // a read in flight must not re-insert what it read before
	clear(ts.cache)
	ts.cacheMu.Unlock()
}

func (ts *Store) SetRevokeHook(f func(ctx context.Context, idHash string) error) {
	ts.hookMu.Lock()
	ts.onRevoke = f
	ts.hookMu.Unlock()
}

// Hash is the salted HMAC of a token ID or accessor, in hex.
func (ts *Store) Hash(v string) (string, error) {
	ts.mu.RLock()
	pool := ts.hpool
	ts.mu.RUnlock()
	if pool == nil {
		return "", ErrSealed
	}
	h := pool.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(v))
	var sum [sha256.Size]byte
	out := hex.EncodeToString(h.Sum(sum[:0]))
	pool.Put(h)
	return out, nil
}

func (ts *Store) lock(idHash string) func() {
	f := fnv.New32a()
	f.Write([]byte(idHash))
	m := &ts.locks[f.Sum32()%lockStripes]
	m.Lock()
	return m.Unlock
}

const base62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// RandomID returns n random base62 characters.
func RandomID(n int) (string, error) {
	out := make([]byte, n)
	max := big.NewInt(int64(len(base62)))
	for i := range out {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		out[i] = base62[v.Int64()]
	}
	return string(out), nil
}

type accessorEntry struct {
	Accessor string `json:"accessor"`
	IDHash   string `json:"id_hash"`
}

// ErrNotFound: no such token (or expired, or used up). Callers turn
// it into 403.
var ErrNotFound = errors.New("tokens: token not found")

// ErrIDInUse: a caller-chosen token ID already exists.
var ErrIDInUse = badRequest("cannot create a token with a duplicate ID")

// Create stores te under a new random ID (or id, when given) and returns
// the token ID. te.Accessor and te.IDHash are filled in. When
// te.ParentHash is set the parent must still exist; the child is indexed
// under it so that revoking the parent revokes the child.
func (ts *Store) Create(ctx context.Context, te *Entry, id string) (string, error) {
	custom := id != ""
	if !custom {
		r, err := RandomID(24)
		if err != nil {
			return "", err
		}
		id = "hvs." + r
	}
	acc, err := RandomID(24)
	if err != nil {
		return "", err
	}
	if te.IDHash, err = ts.Hash(id); err != nil {
		return "", err
	}
	accHash, err := ts.Hash(acc)
	if err != nil {
		return "", err
	}
	te.Accessor = acc
	if te.CreationTime.IsZero() {
		te.CreationTime = ts.now().UTC()
	}
	if te.Type == "" {
		te.Type = TypeService
	}
	if te.TTL > 0 && te.ExpireTime.IsZero() {
		te.ExpireTime = te.CreationTime.Add(te.TTL)
	}
	b, err := json.Marshal(te)
	if err != nil {
		return "", err
	}
	ab, err := json.Marshal(accessorEntry{Accessor: acc, IDHash: te.IDHash})
	if err != nil {
		return "", err
	}
	ops := []storage.Op{
		{Kind: storage.OpPut, Key: tokenIDPrefix + te.IDHash, Value: b},
		{Kind: storage.OpPut, Key: tokenAccessorPfx + accHash, Value: ab},
	}
	if te.ParentHash != "" {
		// Hold the parent's lock: its revocation re-checks its children
		// under the same lock, so no child can slip in after it.
		unlock := ts.lock(te.ParentHash)
		defer unlock()
		if _, err := ts.GetByHash(ctx, te.ParentHash); err != nil {
			return "", err
		}
		ops = append(ops, storage.Op{Kind: storage.OpPut, Key: tokenParentPfx + te.ParentHash + "/" + te.IDHash, Value: []byte("1")})
	}
	if custom {
		if _, err := ts.GetByHash(ctx, te.IDHash); err == nil {
			return "", ErrIDInUse
		} else if !errors.Is(err, ErrNotFound) {
			return "", err
		}
	}
	if err := ts.b.Txn(ctx, ops); err != nil {
		return "", err
	}
	ts.cachePut(te)
	ts.exp.track(te.IDHash, te.ExpireTime)
	ts.stats.created.Add(1)
	te.ID = id
	return id, nil
}

// put rewrites an existing entry. Callers hold te's lock.
func (ts *Store) put(ctx context.Context, te *Entry) error {
	b, err := json.Marshal(te)
	if err != nil {
		return err
	}
	if err := ts.b.Put(ctx, &storage.Entry{Key: tokenIDPrefix + te.IDHash, Value: b}); err != nil {
		ts.cacheDel(te.IDHash)
		return err
	}
	ts.cachePut(te)
	return nil
}

func (ts *Store) cachePut(te *Entry) {
	cp := te.clone()
	ts.cacheMu.Lock()
	if len(ts.cache) >= tokenCacheSize {
		for k := range ts.cache { // evict an arbitrary entry
			delete(ts.cache, k)
			break
		}
	}
	ts.cache[cp.IDHash] = cp
	ts.cacheMu.Unlock()
}

// cachePutIf caches te read from storage unless an invalidation happened
// since gen was taken (the read may predate the write that invalidated).
func (ts *Store) cachePutIf(te *Entry, gen uint64) {
	cp := te.clone()
	ts.cacheMu.Lock()
	defer ts.cacheMu.Unlock()
	if ts.cacheGen != gen {
		return
	}
	if len(ts.cache) >= tokenCacheSize {
		for k := range ts.cache { // evict an arbitrary entry
			delete(ts.cache, k)
			break
		}
	}
	ts.cache[cp.IDHash] = cp
}

// InvalidateKey drops what the cache holds for a storage key the token
// store owns. A standby calls it for every replicated write (core's change
// hook), so its cache never outlives a revocation or an update made on the
// active node.
func (ts *Store) InvalidateKey(key string) {
	h, ok := strings.CutPrefix(key, tokenIDPrefix)
	if !ok {
		return
	}
	ts.cacheMu.Lock()
	ts.cacheGen++
	delete(ts.cache, h)
	ts.cacheMu.Unlock()
}

func (ts *Store) cacheDel(idHash string) {
	ts.cacheMu.Lock()
	delete(ts.cache, idHash)
	ts.cacheMu.Unlock()
}

// GetByHash returns the entry stored under idHash, expired or not
// (ErrNotFound when absent). The result is a private copy.
func (ts *Store) GetByHash(ctx context.Context, idHash string) (*Entry, error) {
	ts.cacheMu.Lock()
	if te, ok := ts.cache[idHash]; ok {
		ts.cacheMu.Unlock()
		return te.clone(), nil
	}
	gen := ts.cacheGen
	ts.cacheMu.Unlock()
	e, err := ts.b.Get(ctx, tokenIDPrefix+idHash)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var te Entry
	if err := json.Unmarshal(e.Value, &te); err != nil {
		return nil, fmt.Errorf("tokens: token entry: %w", err)
	}
	// The key already binds the hash; compare anyway, in constant time, so a
	// corrupted or moved entry can never authenticate another token.
	if !hmac.Equal([]byte(te.IDHash), []byte(idHash)) {
		return nil, ErrNotFound
	}
	ts.cachePutIf(&te, gen)
	return &te, nil
}

// Lookup finds a live token by ID. Expired and used-up tokens are refused
// at once, before the expiration manager gets to them.
func (ts *Store) Lookup(ctx context.Context, id string) (*Entry, error) {
	ts.stats.lookups.Add(1)
	if id == "" {
		return nil, ErrNotFound
	}
	if IsBatch(id) {
		return ts.lookupBatch(ctx, id)
	}
	h, err := ts.Hash(id)
	if err != nil {
		return nil, err
	}
	te, err := ts.GetByHash(ctx, h)
	if err != nil {
		return nil, err
	}
	if te.Expired(ts.now()) || te.NumUses < 0 {
		return nil, ErrNotFound
	}
	te.ID = id
	return te, nil
}

// LookupFrom is lookup for a request from remote ("ip" or "ip:port"): a
// token bound to CIDR blocks that do not hold remote is refused exactly
// like an unknown one.
func (ts *Store) LookupFrom(ctx context.Context, id, remote string) (*Entry, error) {
	te, err := ts.Lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if !CIDRsAllow(te.BoundCIDRs, remote) {
		return nil, ErrNotFound
	}
	return te, nil
}

// parseCIDR parses a CIDR block or a single address (a /32 or /128);
// IPv4-mapped IPv6 blocks become IPv4 blocks so they match IPv4 clients.
func parseCIDR(s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		a, aerr := netip.ParseAddr(strings.TrimSpace(s))
		if aerr != nil || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p, true
}

// CanonicalCIDRs validates CIDR blocks and returns them sorted,
// de-duplicated and canonical (a single address without its length). An
// invalid block is a 400 naming it and field.
func CanonicalCIDRs(field string, list []string) ([]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		p, ok := parseCIDR(s)
		if !ok {
			return nil, badRequest("invalid CIDR block %q in %q", s, field)
		}
		if p.IsSingleIP() {
			out = append(out, p.Addr().String())
		} else {
			out = append(out, p.Masked().String())
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// CIDRsAllow reports whether remote ("ip" or "ip:port") lies in one of
// cidrs. No blocks allow everyone; an unparsable address matches none.
func CIDRsAllow(cidrs []string, remote string) bool {
	if len(cidrs) == 0 {
		return true
	}
	a, err := netip.ParseAddr(remote)
	if err != nil {
		ap, perr := netip.ParseAddrPort(remote)
		if perr != nil {
			return false
		}
		a = ap.Addr()
	}
	a = a.WithZone("").Unmap()
	for _, s := range cidrs {
		if p, ok := parseCIDR(s); ok && p.Contains(a) {
			return true
		}
	}
	return false
}

// LookupAccessor finds a live token by accessor. ID is left empty.
func (ts *Store) LookupAccessor(ctx context.Context, accessor string) (*Entry, error) {
	if accessor == "" {
		return nil, ErrNotFound
	}
	h, err := ts.Hash(accessor)
	if err != nil {
		return nil, err
	}
	e, err := ts.b.Get(ctx, tokenAccessorPfx+h)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var ae accessorEntry
	if err := json.Unmarshal(e.Value, &ae); err != nil {
		return nil, fmt.Errorf("tokens: accessor entry: %w", err)
	}
	te, err := ts.GetByHash(ctx, ae.IDHash)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal([]byte(te.Accessor), []byte(accessor)) || te.Expired(ts.now()) || te.NumUses < 0 {
		return nil, ErrNotFound
	}
	return te, nil
}

// Use consumes one use of a limited-use token. When it was the last one,
// the token is marked (NumUses = -1, refused from now on) and te.LastUse is
// set: the caller revokes it when the request ends.
func (ts *Store) Use(ctx context.Context, te *Entry) error {
	if te.NumUses == 0 {
		return nil
	}
	unlock := ts.lock(te.IDHash)
	defer unlock()
	cur, err := ts.GetByHash(ctx, te.IDHash)
	if err != nil {
		return err
	}
	if cur.NumUses < 0 {
		return ErrNotFound
	}
	if cur.NumUses == 0 {
		return nil
	}
	cur.NumUses--
	last := cur.NumUses == 0
	if last {
		cur.NumUses = -1
	}
	if err := ts.put(ctx, cur); err != nil {
		return err
	}
	te.NumUses, te.LastUse = cur.NumUses, last
	return nil
}

// Update applies f to the current stored entry under its lock and writes
// it back. f sees a fresh copy; an error from f aborts the write.
func (ts *Store) Update(ctx context.Context, idHash string, f func(te *Entry) error) (*Entry, error) {
	unlock := ts.lock(idHash)
	defer unlock()
	cur, err := ts.GetByHash(ctx, idHash)
	if err != nil {
		return nil, err
	}
	if err := f(cur); err != nil {
		return nil, err
	}
	if err := ts.put(ctx, cur); err != nil {
		return nil, err
	}
	ts.exp.track(cur.IDHash, cur.ExpireTime)
	return cur, nil
}

// children lists the hashes of idHash's direct children.
func (ts *Store) children(ctx context.Context, idHash string) ([]string, error) {
	keys, err := ts.b.List(ctx, tokenParentPfx+idHash+"/")
	if err != nil {
		return nil, err
	}
	out := keys[:0]
	for _, k := range keys {
		if len(k) > 0 && k[len(k)-1] != '/' {
			out = append(out, k)
		}
	}
	return out, nil
}

// RevokeTree revokes idHash and, first, all of its descendants. It is
// idempotent: revoking an absent token succeeds.
func (ts *Store) RevokeTree(ctx context.Context, idHash string) error {
	return ts.revokeTreeDepth(ctx, idHash, 0)
}

// maxTreeDepth bounds recursion; a deeper chain is revoked by repeated calls.
const maxTreeDepth = 10000

func (ts *Store) revokeTreeDepth(ctx context.Context, idHash string, depth int) error {
	if depth > maxTreeDepth {
		return fmt.Errorf("tokens: token tree deeper than %d", maxTreeDepth)
	}
	for {
		kids, err := ts.children(ctx, idHash)
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := ts.revokeTreeDepth(ctx, k, depth+1); err != nil {
				return err
			}
		}
		done, err := ts.revokeOne(ctx, idHash, true)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// RevokeOrphan revokes idHash alone; its children become orphans.
func (ts *Store) RevokeOrphan(ctx context.Context, idHash string) error {
	for {
		kids, err := ts.children(ctx, idHash)
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := ts.orphan(ctx, idHash, k); err != nil {
				return err
			}
		}
		done, err := ts.revokeOne(ctx, idHash, true)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// orphan detaches child from parent.
func (ts *Store) orphan(ctx context.Context, parent, child string) error {
	unlock := ts.lock(child)
	defer unlock()
	te, err := ts.GetByHash(ctx, child)
	if errors.Is(err, ErrNotFound) {
		return ts.b.Delete(ctx, tokenParentPfx+parent+"/"+child)
	}
	if err != nil {
		return err
	}
	te.ParentHash, te.Orphan = "", true
	b, err := json.Marshal(te)
	if err != nil {
		return err
	}
	err = ts.b.Txn(ctx, []storage.Op{
		{Kind: storage.OpPut, Key: tokenIDPrefix + child, Value: b},
		{Kind: storage.OpDelete, Key: tokenParentPfx + parent + "/" + child},
	})
	if err != nil {
		ts.cacheDel(child)
		return err
	}
	ts.cachePut(te)
	return nil
}

// revokeOne deletes one token's entries, unless (when requireLeaf) a child
// appeared meanwhile: then it returns false and the caller goes round
// again. Per-token data (cubbyhole) is destroyed after the token is gone,
// so the token is unusable first.
func (ts *Store) revokeOne(ctx context.Context, idHash string, requireLeaf bool) (bool, error) {
	unlock := ts.lock(idHash)
	if requireLeaf {
		kids, err := ts.children(ctx, idHash)
		if err != nil {
			unlock()
			return false, err
		}
		if len(kids) > 0 {
			unlock()
			return false, nil
		}
	}
	te, err := ts.GetByHash(ctx, idHash)
	if err != nil && !errors.Is(err, ErrNotFound) {
		unlock()
		return false, err
	}
	ops := []storage.Op{{Kind: storage.OpDelete, Key: tokenIDPrefix + idHash}}
	if te != nil {
		if ah, err := ts.Hash(te.Accessor); err == nil {
			ops = append(ops, storage.Op{Kind: storage.OpDelete, Key: tokenAccessorPfx + ah})
		}
		if te.ParentHash != "" {
			ops = append(ops, storage.Op{Kind: storage.OpDelete, Key: tokenParentPfx + te.ParentHash + "/" + idHash})
		}
	}
	err = ts.b.Txn(ctx, ops)
	ts.cacheDel(idHash)
	unlock()
	if err != nil {
		return false, err
	}
	ts.exp.untrack(idHash)
	ts.stats.revoked.Add(1)
	ts.hookMu.RLock()
	hook := ts.onRevoke
	ts.hookMu.RUnlock()
	if hook != nil {
		if err := hook(ctx, idHash); err != nil {
			return true, fmt.Errorf("tokens: destroying the revoked token's data: %w", err)
		}
	}
	return true, nil
}

// ForEach calls f for every stored token (straight from storage).
func (ts *Store) ForEach(ctx context.Context, f func(te *Entry) error) error {
	keys, err := ts.b.List(ctx, tokenIDPrefix)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if len(k) == 0 || k[len(k)-1] == '/' {
			continue
		}
		te, err := ts.GetByHash(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := f(te); err != nil {
			return err
		}
	}
	return nil
}

// ListAccessors returns every live token's accessor, sorted.
func (ts *Store) ListAccessors(ctx context.Context) ([]string, error) {
	keys, err := ts.b.List(ctx, tokenAccessorPfx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		e, err := ts.b.Get(ctx, tokenAccessorPfx+k)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var ae accessorEntry
		if err := json.Unmarshal(e.Value, &ae); err != nil {
			return nil, fmt.Errorf("tokens: accessor entry: %w", err)
		}
		out = append(out, ae.Accessor)
	}
	sort.Strings(out)
	return out, nil
}

// ErrSealed is seal.ErrSealed: the salt is gone while the node is sealed.
var ErrSealed = seal.ErrSealed

func badRequest(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

type remoteAddrKey struct{}

// WithRemoteAddr records the request's client address in ctx, for
// LookupBody.
func WithRemoteAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, remoteAddrKey{}, addr)
}

// RemoteAddrOf is the client address WithRemoteAddr recorded ("" if none).
func RemoteAddrOf(ctx context.Context) string {
	a, _ := ctx.Value(remoteAddrKey{}).(string)
	return a
}

// LookupBody looks up a token a request names in its body (token
// lookup/renew, sys/capabilities, sys/wrapping/*). Its token_bound_cidrs
// hold for it as for the caller's own token: from outside them, checked
// against the client address in ctx (WithRemoteAddr), it is refused like
// an unknown token (issue 10).
func (ts *Store) LookupBody(ctx context.Context, id string) (*Entry, error) {
	return ts.LookupFrom(ctx, id, RemoteAddrOf(ctx))
}
