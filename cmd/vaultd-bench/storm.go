package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// The login storm (issue 11): -op login drives userpass logins (bcrypt,
// CPU-heavy) and -canary writes one KV value every 200 ms through the
// active node while watching every node's sys/leader for leader changes.

const modeLogin = "login"

// stormUser and stormPassword are the benchmark's userpass credentials;
// they exist only in the cluster under test.
const (
	stormUser     = "bench"
	stormPassword = "bench-password"
)

// statusNoRetryAfter is added to a 429 or 503 that lacks Retry-After, so
// such answers show up as their own status ("429-no-retry-after").
const statusNoRetryAfter = 1000

// ErrNoActive is returned when -canary cannot find the active node.
var ErrNoActive = errors.New("no active node found for the canary")

// setupLogin enables userpass at auth/userpass (if it is not enabled yet)
// and creates the benchmark user, through addr (standbys forward).
func setupLogin(ctx context.Context, hc *http.Client, addr, token string) error {
	st, err := jsonCall(ctx, hc, http.MethodPost, addr, "sys/auth/userpass", token, map[string]any{"type": "userpass"}, nil)
	if err != nil && st != http.StatusBadRequest { // 400: already enabled
		return fmt.Errorf("%w: enabling userpass: status %s: %v", ErrSetup, statusName(st), err)
	}
	if st, err := jsonCall(ctx, hc, http.MethodPost, addr, "auth/userpass/users/"+stormUser, token,
		map[string]any{"password": stormPassword, "token_ttl": "10m", "token_max_ttl": "10m"}, nil); err != nil {
		return fmt.Errorf("%w: creating the userpass user: status %s: %v", ErrSetup, statusName(st), err)
	}
	return nil
}

// login performs one userpass login and returns the status and the
// Retry-After of a refusal. A 429 or 503 without Retry-After is reported
// as status+statusNoRetryAfter.
func (c *rawClient) login(ctx context.Context) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.addr+"/v1/auth/userpass/login/"+stormUser,
		bytes.NewReader([]byte(`{"password":"`+stormPassword+`"}`)))
	if err != nil {
		return statusTransport, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return statusTransport, 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, 0, nil
	}
	code := resp.StatusCode
	var ra time.Duration
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			ra = time.Duration(s) * time.Second
		} else {
			code += statusNoRetryAfter
		}
	}
	return code, ra, &errStatus{resp.StatusCode}
}

// jsonCall is a small JSON request helper; it returns the HTTP status.
func jsonCall(ctx context.Context, hc *http.Client, method, addr, path, token string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return statusTransport, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, addr+"/v1/"+path, body)
	if err != nil {
		return statusTransport, err
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return statusTransport, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, &errStatus{resp.StatusCode}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
}

// Canary is the -canary result: one KV write every interval through the
// active node, and the leader changes every node reported meanwhile.
type Canary struct {
	Target   string         `json:"target"`
	Writes   int            `json:"writes"`
	Failures int            `json:"failures"`
	ByStatus map[string]int `json:"failures_by_status,omitempty"`
	P50      Millis         `json:"p50_ms"`
	P99      Millis         `json:"p99_ms"`
	Max      Millis         `json:"max_ms"`
	// LeaderChanges is the highest number of changes of (leader address,
	// active time) that any one node's sys/leader showed during the run.
	LeaderChanges int `json:"leader_changes"`
	// HALeaderChanges is sys/ha-status's leader_changes (the elections the
	// active node has seen since it started) before and after the run;
	// absent when the server does not report it.
	HALeaderChanges []uint64 `json:"ha_leader_changes,omitempty"`
	// LeaderPollErrors counts sys/leader polls that failed; a node too
	// busy to answer its own health endpoint is worth knowing about.
	LeaderPollErrors int `json:"leader_poll_errors"`
}

// canary runs until ctx ends.
type canary struct {
	target   string   // the active node's address
	nodes    []string // every node, for sys/leader
	mount    string
	token    string
	interval time.Duration
	timeout  time.Duration
}

func (cn *canary) run(ctx context.Context) *Canary {
	// Its own connections, so it never queues behind the workers' pool.
	hc := &http.Client{Transport: newHTTPTransport(len(cn.nodes)+2, false), Timeout: cn.timeout}
	res := &Canary{Target: cn.target, ByStatus: map[string]int{}}
	var mu sync.Mutex
	var lat []int64
	type leaderView struct{ addr, at string }
	last := make([]*leaderView, len(cn.nodes))
	changes := make([]int, len(cn.nodes))
	haChanges := func() (uint64, bool) {
		var hs struct {
			N *uint64 `json:"leader_changes"`
		}
		hctx, cancel := context.WithTimeout(context.Background(), cn.timeout)
		defer cancel()
		if _, err := jsonCall(hctx, hc, http.MethodGet, cn.target, "sys/ha-status", cn.token, nil, &hs); err != nil || hs.N == nil {
			return 0, false
		}
		return *hs.N, true
	}
	ha0, haOK := haChanges()
	var wg sync.WaitGroup
	// Leader watch, in its own goroutine so a slow node never delays a
	// canary write: every node's sys/leader, every interval.
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(cn.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for j, n := range cn.nodes {
				var li struct {
					Addr string `json:"leader_address"`
					At   string `json:"active_time"`
				}
				pctx, cancel := context.WithTimeout(ctx, time.Second)
				_, err := jsonCall(pctx, hc, http.MethodGet, n, "sys/leader", "", nil, &li)
				cancel()
				if err != nil {
					if ctx.Err() == nil {
						mu.Lock()
						res.LeaderPollErrors++
						mu.Unlock()
					}
					continue
				}
				if li.Addr == "" {
					continue // no leader known right now; the next one counts
				}
				v := &leaderView{li.Addr, li.At}
				mu.Lock()
				if last[j] != nil && *last[j] != *v {
					changes[j]++
				}
				last[j] = v
				mu.Unlock()
			}
		}
	}()
	t := time.NewTicker(cn.interval)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			slices.Sort(lat)
			res.P50, res.P99 = Millis(percentile(lat, 50)), Millis(percentile(lat, 99))
			if len(lat) > 0 {
				res.Max = Millis(lat[len(lat)-1])
			}
			mu.Lock()
			res.LeaderChanges = slices.Max(append(changes, 0))
			mu.Unlock()
			if ha1, ok := haChanges(); ok && haOK {
				res.HALeaderChanges = []uint64{ha0, ha1}
			}
			if len(res.ByStatus) == 0 {
				res.ByStatus = nil
			}
			return res
		case <-t.C:
		}
		wg.Add(1)
		go func() { // a slow write must not delay the next one
			defer wg.Done()
			// Not bound to ctx: a write in flight at the end still counts.
			wctx, cancel := context.WithTimeout(context.Background(), cn.timeout)
			defer cancel()
			t0 := time.Now()
			st, err := jsonCall(wctx, hc, http.MethodPut, cn.target, cn.mount+"/data/canary/"+strconv.Itoa(i), cn.token,
				map[string]any{"data": map[string]any{"seq": i}}, nil)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			res.Writes++
			if err != nil {
				res.Failures++
				res.ByStatus[statusName(st)]++
				return
			}
			lat = append(lat, int64(d))
		}()
	}
}

// findActive returns the address of the node whose sys/leader says is_self.
func findActive(ctx context.Context, hc *http.Client, addrs []string) (string, error) {
	for _, a := range addrs {
		var li struct {
			IsSelf bool   `json:"is_self"`
			Addr   string `json:"leader_address"`
		}
		if _, err := jsonCall(ctx, hc, http.MethodGet, a, "sys/leader", "", nil, &li); err != nil {
			continue
		}
		if li.IsSelf {
			return a, nil
		}
		if t, err := parseTarget(li.Addr); err == nil && li.Addr != "" {
			return t, nil
		}
	}
	return "", ErrNoActive
}
