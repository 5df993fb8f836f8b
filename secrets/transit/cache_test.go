package transit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/storage/inmem"
)

func newCacheEngine(t testing.TB) (*engine, storage.Backend) {
	t.Helper()
	b, err := Factory(context.Background(), secrets.Config{Type: "transit", Storage: inmem.New()})
	if err != nil {
		t.Fatal(err)
	}
	return b.(*engine), inmem.New()
}

func send(t testing.TB, e *engine, s storage.Backend, op secrets.Operation, path string, data map[string]any) *secrets.Response {
	t.Helper()
	resp, err := e.HandleRequest(context.Background(), &secrets.Request{Operation: op, Path: path, Data: data, Storage: s, MountPoint: "transit/"})
	if err != nil {
		t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// isZero reports whether every byte of every version's key material was
// overwritten.
func isZero(p *policy) bool {
	for _, kv := range p.Versions {
		if !bytes.Equal(kv.Key, make([]byte, len(kv.Key))) || !bytes.Equal(kv.HMACKey, make([]byte, len(kv.HMACKey))) || kv.signer != nil {
			return false
		}
	}
	return true
}

// A key used twice is parsed once: the second use gets the same parse.
func TestPolicyCache_ReusesTheParse(t *testing.T) {
	e, s := newCacheEngine(t)
	send(t, e, s, secrets.OpCreate, "keys/r", map[string]any{"type": "rsa-2048"})
	p1, rel1, err := e.readKey(context.Background(), s, "r")
	if err != nil || p1 == nil {
		t.Fatal(p1, err)
	}
	p2, rel2, err := e.readKey(context.Background(), s, "r")
	if err != nil || p2 != p1 {
		t.Fatalf("second read: %p %v, want the cached %p", p2, err, p1)
	}
	rel1()
	rel2()
	rel2() // releasing twice is harmless
	if e.cache.len() != 1 || isZero(p1) {
		t.Fatal("the cached key must stay, unzeroed, while it is current")
	}
	send(t, e, s, secrets.OpUpdate, "encrypt/r", map[string]any{"plaintext": "aGk="})
}

// A cached parse is used only for the exact record it came from: any
// change of the stored record, by this engine or behind its back (another
// node, a snapshot restore), is seen by the next request, and the old
// parse is zeroed once its last user releases it.
func TestPolicyCache_SelfValidating(t *testing.T) {
	ctx := context.Background()
	e, s := newCacheEngine(t)
	send(t, e, s, secrets.OpCreate, "keys/k", nil)
	ct1 := send(t, e, s, secrets.OpUpdate, "encrypt/k", map[string]any{"plaintext": "aGk="}).Data["ciphertext"].(string)
	held, release, err := e.readKey(ctx, s, "k")
	if err != nil || held == nil {
		t.Fatal(err)
	}

	// Through the API: rotate, then encryption uses version 2.
	send(t, e, s, secrets.OpUpdate, "keys/k/rotate", nil)
	if v := send(t, e, s, secrets.OpUpdate, "encrypt/k", map[string]any{"plaintext": "aGk="}).Data["key_version"]; v != 2 {
		t.Fatalf("after rotate: key_version %v, want 2", v)
	}
	if isZero(held) {
		t.Fatal("a replaced parse was zeroed while a request still used it")
	}
	release()
	if !isZero(held) {
		t.Fatal("a replaced parse was not zeroed when released")
	}

	// Behind the engine's back: restore the version-1-only record (as a
	// snapshot restore would); version 2 is gone again.
	ent, err := s.Get(ctx, policyKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(ent.Value, &rec); err != nil {
		t.Fatal(err)
	}
	var vers map[string]json.RawMessage
	_ = json.Unmarshal(rec["versions"], &vers)
	delete(vers, "2")
	rec["versions"], _ = json.Marshal(vers)
	rec["latest_version"] = json.RawMessage("1")
	b, _ := json.Marshal(rec)
	if err := s.Put(ctx, &storage.Entry{Key: policyKey("k"), Value: b}); err != nil {
		t.Fatal(err)
	}
	if v := send(t, e, s, secrets.OpUpdate, "encrypt/k", map[string]any{"plaintext": "aGk="}).Data["key_version"]; v != 1 {
		t.Fatalf("after an outside change: key_version %v, want 1", v)
	}
	if pt := send(t, e, s, secrets.OpUpdate, "decrypt/k", map[string]any{"ciphertext": ct1}).Data["plaintext"]; pt != "aGk=" {
		t.Fatalf("decrypt: %v", pt)
	}

	// Deleted: the cache does not answer for an absent record.
	send(t, e, s, secrets.OpUpdate, "keys/k/config", map[string]any{"deletion_allowed": true})
	send(t, e, s, secrets.OpDelete, "keys/k", nil)
	if _, err := e.HandleRequest(ctx, &secrets.Request{Operation: secrets.OpUpdate, Path: "decrypt/k", Data: map[string]any{"ciphertext": ct1}, Storage: s}); err == nil {
		t.Fatal("decrypt with a deleted key succeeded")
	}
}

// Cleanup (unmount, step-down, seal) zeroes cached keys, those in use when
// released, and the engine caches nothing afterwards.
func TestPolicyCache_CleanupZeroes(t *testing.T) {
	ctx := context.Background()
	e, s := newCacheEngine(t)
	send(t, e, s, secrets.OpCreate, "keys/a", map[string]any{"type": "ecdsa-p256"})
	send(t, e, s, secrets.OpCreate, "keys/b", nil)
	pb, relB, _ := e.readKey(ctx, s, "b")
	relB()
	inUse, relInUse, _ := e.readKey(ctx, s, "a")
	e.Cleanup()
	if !isZero(pb) {
		t.Error("an idle cached key was not zeroed by Cleanup")
	}
	if isZero(inUse) {
		t.Error("a key in use was zeroed under its request")
	}
	relInUse()
	if e.cache.len() != 0 {
		t.Error("entries left after Cleanup")
	}
	// Still serves in-flight stragglers, caching nothing and zeroing on release.
	p, rel, err := e.readKey(ctx, s, "b")
	if err != nil || p == nil || e.cache.len() != 0 {
		t.Fatalf("after Cleanup: %v %v len %d", p, err, e.cache.len())
	}
	rel()
	if !isZero(p) {
		t.Error("a key read after Cleanup was not zeroed on release")
	}
}

// The cache is bounded; an evicted key is zeroed.
func TestPolicyCache_Bounded(t *testing.T) {
	c := newPolicyCache(4)
	var ps []*policy
	for i := range 10 {
		p := &policy{Versions: map[int]*keyVersion{1: {Key: secretBytes{1, 2, 3}, HMACKey: secretBytes{4}}}}
		got, rel := c.put(string(rune('a'+i)), sha256.Sum256([]byte{byte(i)}), p)
		if got != p {
			t.Fatal("put returned another policy")
		}
		rel()
		ps = append(ps, p)
	}
	if n := c.len(); n > 4 {
		t.Fatalf("cache holds %d keys, bound 4", n)
	}
	zeroed := 0
	for _, p := range ps {
		if isZero(p) {
			zeroed++
		}
	}
	if zeroed != 10-c.len() {
		t.Fatalf("%d evicted keys zeroed, want %d", zeroed, 10-c.len())
	}
}

// Concurrent use while the key rotates: every ciphertext decrypts, and no
// request ever sees zeroed key material (run with -race).
func TestPolicyCache_ConcurrentRotate(t *testing.T) {
	e, s := newCacheEngine(t)
	send(t, e, s, secrets.OpCreate, "keys/c", nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := e.HandleRequest(context.Background(), &secrets.Request{Operation: secrets.OpUpdate, Path: "encrypt/c", Data: map[string]any{"plaintext": "aGVsbG8="}, Storage: s})
				if err == nil {
					resp, err = e.HandleRequest(context.Background(), &secrets.Request{Operation: secrets.OpUpdate, Path: "decrypt/c", Data: map[string]any{"ciphertext": resp.Data["ciphertext"]}, Storage: s})
				}
				if err == nil && resp.Data["plaintext"] != "aGVsbG8=" {
					err = errBadRoundTrip
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 20 {
		send(t, e, s, secrets.OpUpdate, "keys/c/rotate", nil)
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

var errBadRoundTrip = &secrets.Error{Kind: secrets.ErrInvalidRequest, Msg: "round trip changed the plaintext"}
