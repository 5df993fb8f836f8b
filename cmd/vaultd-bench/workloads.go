package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The vault-benchmark workloads. Each one does what HashiCorp's
// vault-benchmark test of the same name does before and during its run
// (read from its test definitions; nothing copied), so vaultd-bench can be
// pointed at OpenBao, Vault and vaultd in one sitting:
//
//	kvv2-write, kvv2-read  kv-v2 mount; -keys secrets "secret-1".."secret-N"
//	                       seeded before the run; body {"data":{"foo":"a"*size}}
//	kvv1-write, kvv1-read  the same on a kv (v1) mount
//	transit-encrypt        transit mount, key "test" (-transit-key-type,
//	transit-decrypt        vault-benchmark's default rsa-2048), a random
//	                       128-byte plaintext (decrypt: its ciphertext,
//	                       made once before the run)
//	approle-login          approle at a fresh auth path, role "benchmark-role",
//	                       one secret-id, login with role_id + secret_id
//	userpass-login         userpass at a fresh auth path, user
//	                       "benchmark-user" with a random password
//	mix                    a weighted mix of the above (-mix)
//
// Every workload mounts its engine at a fresh random path (vault-benchmark's
// random_mounts), and removes it after the run unless -keep-mounts.

// Workload names (-op).
const (
	wlKVv2Write      = "kvv2-write"
	wlKVv2Read       = "kvv2-read"
	wlKVv1Write      = "kvv1-write"
	wlKVv1Read       = "kvv1-read"
	wlTransitEncrypt = "transit-encrypt"
	wlTransitDecrypt = "transit-decrypt"
	wlApproleLogin   = "approle-login"
	wlUserpassLogin  = "userpass-login"
	modeMix          = "mix"
)

// defaultMix is -mix's default: mostly reads, some writes and logins.
const defaultMix = "kvv2-read=40,kvv2-write=20,kvv1-read=10,kvv1-write=10,transit-encrypt=10,approle-login=10"

var workloadKinds = map[string]opKind{
	wlKVv2Write: opWrite, wlKVv2Read: opRead,
	wlKVv1Write: opKVv1Write, wlKVv1Read: opKVv1Read,
	wlTransitEncrypt: opEncrypt, wlTransitDecrypt: opDecrypt,
	wlApproleLogin: opApprole, wlUserpassLogin: opLogin,
}

// isWorkload reports whether op is one of the workloads above (or mix).
func isWorkload(op string) bool {
	_, ok := workloadKinds[op]
	return ok || op == modeMix
}

// workloadNames lists them for usage messages.
func workloadNames() []string {
	ns := make([]string, 0, len(workloadKinds)+1)
	for n := range workloadKinds {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return append(ns, modeMix)
}

// parseMix parses "name=weight,name=weight".
func parseMix(s string) ([]mixEntry, error) {
	var out []mixEntry
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%w: -mix: %q is not name=weight", ErrUsage, part)
		}
		if _, known := workloadKinds[name]; !known {
			return nil, fmt.Errorf("%w: -mix: unknown workload %q (one of %s)", ErrUsage, name, strings.Join(workloadNames()[:len(workloadKinds)], ", "))
		}
		n, err := strconv.Atoi(w)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: -mix: weight of %s must be an integer >= 0", ErrUsage, name)
		}
		if n > 0 {
			out = append(out, mixEntry{name: name, weight: n})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: -mix has no workload with a weight > 0", ErrUsage)
	}
	return out, nil
}

type mixEntry struct {
	name   string
	weight int
}

// wlRequest is one request a workload sends: path below /v1/, a prebuilt
// body (nil for GET) and whether it carries the token.
type wlRequest struct {
	method string
	path   string
	body   []byte
	auth   bool
}

// workload generates the requests of one vault-benchmark test after its
// setup has run.
type workload struct {
	name   string
	kind   opKind
	weight int
	next   func(rng *rand.Rand) wlRequest
	// cleanup removes what setup created (mounts); best effort.
	cleanup func(ctx context.Context) error
}

// wlEnv is what setup needs: a client for the setup calls and the options.
type wlEnv struct {
	hc          *http.Client
	addr, token string
	keys        int
	valueSize   int
	keyType     string
}

// randomMount is a fresh mount path like vault-benchmark's random mounts.
func randomMount(prefix string) string {
	var b [6]byte
	_, _ = crand.Read(b[:]) // crypto/rand never fails on Linux
	return prefix + "-" + hex.EncodeToString(b[:])
}

// setupWorkload mounts and seeds what workload name needs.
func setupWorkload(ctx context.Context, e wlEnv, name string) (*workload, error) {
	fail := func(what string, st int, err error) (*workload, error) {
		return nil, fmt.Errorf("%w: %s: %s: status %s: %v", ErrSetup, name, what, statusName(st), err)
	}
	unmount := func(path string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := jsonCall(ctx, e.hc, http.MethodDelete, e.addr, path, e.token, nil, nil)
			return err
		}
	}
	w := &workload{name: name, kind: workloadKinds[name]}
	switch name {
	case wlKVv2Write, wlKVv2Read, wlKVv1Write, wlKVv1Read:
		v2 := name == wlKVv2Write || name == wlKVv2Read
		m := randomMount("vb-kvv1")
		in := map[string]any{"type": "kv"}
		if v2 {
			m = randomMount("vb-kvv2")
			in["options"] = map[string]string{"version": "2"}
		}
		if st, err := jsonCall(ctx, e.hc, http.MethodPost, e.addr, "sys/mounts/"+m, e.token, in, nil); err != nil {
			return fail("mounting", st, err)
		}
		w.cleanup = unmount("sys/mounts/" + m)
		base := m + "/"
		if v2 {
			base = m + "/data/"
		}
		// Seed every secret once, as vault-benchmark does ({"foo": 1}),
		// spread over a few concurrent writers.
		seed := []byte(`{"data":{"foo":1}}`)
		if err := parallel(ctx, min(e.keys, 16), e.keys, func(i int) error {
			st, err := rawCall(ctx, e.hc, http.MethodPost, e.addr, base+"secret-"+strconv.Itoa(i+1), e.token, seed)
			if err != nil {
				return fmt.Errorf("seeding secret-%d: status %s: %w", i+1, statusName(st), err)
			}
			return nil
		}); err != nil {
			_ = w.cleanup(ctx)
			return nil, fmt.Errorf("%w: %s: %w", ErrSetup, name, err)
		}
		write := name == wlKVv2Write || name == wlKVv1Write
		body := []byte(`{"data":{"foo":"` + strings.Repeat("a", e.valueSize) + `"}}`)
		paths := make([]string, e.keys)
		for i := range paths {
			paths[i] = base + "secret-" + strconv.Itoa(i+1)
		}
		w.next = func(rng *rand.Rand) wlRequest {
			p := paths[rng.IntN(len(paths))]
			if write {
				return wlRequest{method: http.MethodPost, path: p, body: body, auth: true}
			}
			return wlRequest{method: http.MethodGet, path: p, auth: true}
		}
	case wlTransitEncrypt, wlTransitDecrypt:
		m := randomMount("vb-transit")
		if st, err := jsonCall(ctx, e.hc, http.MethodPost, e.addr, "sys/mounts/"+m, e.token,
			map[string]any{"type": "transit", "config": map[string]any{"max_lease_ttl": "87600h"}}, nil); err != nil {
			return fail("mounting", st, err)
		}
		w.cleanup = unmount("sys/mounts/" + m)
		if st, err := jsonCall(ctx, e.hc, http.MethodPost, e.addr, m+"/keys/test", e.token,
			map[string]any{"type": e.keyType}, nil); err != nil {
			_ = w.cleanup(ctx)
			return fail("creating key test", st, err)
		}
		pt := make([]byte, 128)
		_, _ = crand.Read(pt)
		plain := base64.StdEncoding.EncodeToString(pt)
		body, _ := json.Marshal(map[string]string{"plaintext": plain})
		path := m + "/encrypt/test"
		if name == wlTransitDecrypt {
			var out struct {
				Data struct {
					Ciphertext string `json:"ciphertext"`
				} `json:"data"`
			}
			if st, err := jsonCall(ctx, e.hc, http.MethodPost, e.addr, path, e.token, map[string]string{"plaintext": plain}, &out); err != nil || out.Data.Ciphertext == "" {
				_ = w.cleanup(ctx)
				if err == nil {
					err = fmt.Errorf("no ciphertext in the answer")
				}
				return fail("encrypting the payload", st, err)
			}
			body, _ = json.Marshal(map[string]string{"ciphertext": out.Data.Ciphertext})
			path = m + "/decrypt/test"
		}
		w.next = func(*rand.Rand) wlRequest {
			return wlRequest{method: http.MethodPost, path: path, body: body, auth: true}
		}
	case wlApproleLogin:
		m := randomMount("vb-approle")
		if st, err := jsonCall(ctx, e.hc, http.MethodPost, e.addr, "sys/auth/"+m, e.token, map[string]any{"type": "approle"}, nil); err != nil {
			return fail("enabling approle", st, err)
		}
		w.cleanup = unmount("sys/auth/" + m)
		role := "auth/" + m + "/role/benchmark-role"
		var rid, sid struct {
			Data struct {
				RoleID   string `json:"role_id"`
				SecretID string `json:"secret_id"`
			} `json:"data"`
		}
		steps := []struct {
			what, method, path string
			in, out            any
		}{
			{"creating the role", http.MethodPost, role, map[string]any{"bind_secret_id": true}, nil},
			{"reading the role-id", http.MethodGet, role + "/role-id", nil, &rid},
			{"generating a secret-id", http.MethodPost, role + "/secret-id", map[string]any{}, &sid},
		}
		for _, s := range steps {
			if st, err := jsonCall(ctx, e.hc, s.method, e.addr, s.path, e.token, s.in, s.out); err != nil {
				_ = w.cleanup(ctx)
				return fail(s.what, st, err)
			}
		}
		if rid.Data.RoleID == "" || sid.Data.SecretID == "" {
			_ = w.cleanup(ctx)
			return fail("role-id/secret-id", http.StatusOK, fmt.Errorf("missing in the answers"))
		}
		body, _ := json.Marshal(map[string]string{"role_id": rid.Data.RoleID, "secret_id": sid.Data.SecretID})
		path := "auth/" + m + "/login"
		w.next = func(*rand.Rand) wlRequest {
			return wlRequest{method: http.MethodPost, path: path, body: body}
		}
	case wlUserpassLogin:
		m := randomMount("vb-userpass")
		if st, err := jsonCall(ctx, e.hc, http.MethodPost, e.addr, "sys/auth/"+m, e.token, map[string]any{"type": "userpass"}, nil); err != nil {
			return fail("enabling userpass", st, err)
		}
		w.cleanup = unmount("sys/auth/" + m)
		var pw [24]byte
		_, _ = crand.Read(pw[:])
		password := base64.RawURLEncoding.EncodeToString(pw[:])
		if st, err := jsonCall(ctx, e.hc, http.MethodPost, e.addr, "auth/"+m+"/users/benchmark-user", e.token,
			map[string]any{"password": password}, nil); err != nil {
			_ = w.cleanup(ctx)
			return fail("creating the user", st, err)
		}
		body, _ := json.Marshal(map[string]string{"password": password})
		path := "auth/" + m + "/login/benchmark-user"
		w.next = func(*rand.Rand) wlRequest {
			return wlRequest{method: http.MethodPost, path: path, body: body}
		}
	default:
		return nil, fmt.Errorf("%w: unknown workload %q", ErrUsage, name)
	}
	return w, nil
}

// setupWorkloads sets up every workload of a run (one, or the -mix).
func setupWorkloads(ctx context.Context, e wlEnv, mix []mixEntry) ([]*workload, error) {
	var out []*workload
	for _, m := range mix {
		w, err := setupWorkload(ctx, e, m.name)
		if err != nil {
			cleanupWorkloads(ctx, out)
			return nil, err
		}
		w.weight = m.weight
		out = append(out, w)
	}
	return out, nil
}

func cleanupWorkloads(ctx context.Context, ws []*workload) {
	for _, w := range ws {
		if w.cleanup != nil {
			_ = w.cleanup(ctx)
		}
	}
}

// pick chooses a workload by weight.
func pick(ws []*workload, total int, rng *rand.Rand) *workload {
	if len(ws) == 1 {
		return ws[0]
	}
	n := rng.IntN(total)
	for _, w := range ws {
		if n < w.weight {
			return w
		}
		n -= w.weight
	}
	return ws[len(ws)-1]
}

// send sends one workload request through c's connection pool.
func (c *rawClient) send(ctx context.Context, r wlRequest) (int, error) {
	tok := ""
	if r.auth {
		tok = c.token
	}
	return rawCall(ctx, c.hc, r.method, c.addr, r.path, tok, r.body)
}

// rawCall sends body (nil: none) to addr/v1/path and drains the answer.
func rawCall(ctx context.Context, hc *http.Client, method, addr, path, token string, body []byte) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, addr+"/v1/"+path, rd)
	if err != nil {
		return statusTransport, err
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return statusTransport, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, &errStatus{resp.StatusCode}
	}
	return resp.StatusCode, nil
}

// parallel runs f(0..n-1) on up to workers goroutines and returns the first
// error.
func parallel(ctx context.Context, workers, n int, f func(i int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n && ctx.Err() == nil; i += max(workers, 1) {
				if err := f(i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}
