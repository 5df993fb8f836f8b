package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/api"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/version"
)

var (
	stActive  = core.Status{Initialized: true, Active: true, Threshold: 3, Shares: 5, ClusterName: "vaultd-cluster", ClusterID: "c-1"}
	stStandby = core.Status{Initialized: true, Standby: true, Threshold: 3, Shares: 5, ClusterName: "vaultd-cluster", ClusterID: "c-1"}
	stSealed  = core.Status{Initialized: true, Sealed: true, Threshold: 3, Shares: 5, Progress: 1, Nonce: "n-1"}
	stUninit  = core.Status{Sealed: true}
)

func statusCore(st core.Status) *fakeCore {
	return &fakeCore{StatusFunc: func(context.Context) core.Status { return st }}
}

// officialHealthQuery is what vault/api's Sys().Health() sends.
const officialHealthQuery = "uninitcode=299&sealedcode=299&standbycode=299&drsecondarycode=299&performancestandbycode=299&removedcode=299&haunhealthycode=299"

func TestHealthCodes(t *testing.T) {
	tests := []struct {
		name  string
		st    core.Status
		query string
		want  int
	}{
		{"active", stActive, "", 200},
		{"active activecode", stActive, "activecode=204", 204},
		{"active activecode custom", stActive, "activecode=299", 299},
		{"active ignores other codes", stActive, "standbycode=201&sealedcode=202&uninitcode=203", 200},
		{"active perfstandbyok", stActive, "perfstandbyok=true", 200},
		{"active official client", stActive, officialHealthQuery, 200},
		{"standby", stStandby, "", 429},
		{"standby standbycode", stStandby, "standbycode=299", 299},
		{"standby standbyok", stStandby, "standbyok=true", 200},
		{"standby standbyok=1", stStandby, "standbyok=1", 200},
		{"standby standbyok activecode", stStandby, "standbyok=true&activecode=202", 202},
		{"standby standbyok=false", stStandby, "standbyok=false", 429},
		{"standby standbyok=True", stStandby, "standbyok=True", 200},
		{"standby standbyok=T", stStandby, "standbyok=T", 200},
		{"standby standbyok=False", stStandby, "standbyok=False", 429},
		{"standby standbyok=0", stStandby, "standbyok=0", 429},
		{"active perfstandbyok=True", stActive, "perfstandbyok=True", 200},
		{"standby standbyok unparsable counts as set", stStandby, "standbyok=yes", 200},
		{"standby perfstandbyok is not standbyok", stStandby, "perfstandbyok=true", 429},
		{"standby official client", stStandby, officialHealthQuery, 299},
		{"sealed", stSealed, "", 503},
		{"sealed sealedcode", stSealed, "sealedcode=299", 299},
		{"sealed sealedcode 204", stSealed, "sealedcode=204", 204},
		{"sealed standbyok does not help", stSealed, "standbyok=true", 503},
		{"sealed official client", stSealed, officialHealthQuery, 299},
		{"uninit", stUninit, "", 501},
		{"uninit uninitcode", stUninit, "uninitcode=299", 299},
		{"uninit beats sealed", stUninit, "sealedcode=299", 501},
		{"uninit official client", stUninit, officialHealthQuery, 299},
		{"helm probe", stSealed, "standbyok=true&sealedcode=204&uninitcode=204", 204},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, api.Config{}, statusCore(tc.st))
			for _, m := range []string{http.MethodGet, http.MethodHead} {
				r := do(t, srv, m, "/v1/sys/health?"+tc.query, nil, nil)
				if r.code != tc.want {
					t.Fatalf("%s: status %d, want %d", m, r.code, tc.want)
				}
				if m == http.MethodHead || tc.want == http.StatusNoContent {
					if len(r.body) != 0 {
						t.Fatalf("%s: body %q, want none", m, r.body)
					}
					continue
				}
				var h map[string]any
				if err := json.Unmarshal(r.body, &h); err != nil {
					t.Fatalf("body %q: %v", r.body, err)
				}
				if h["initialized"] != tc.st.Initialized || h["sealed"] != tc.st.Sealed || h["standby"] != tc.st.Standby {
					t.Fatalf("body %s does not match %+v", r.body, tc.st)
				}
				if r.header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
				}
			}
		})
	}
}

func TestHealthInvalidCodes(t *testing.T) {
	srv := newServer(t, api.Config{}, statusCore(stActive))
	params := []string{"activecode", "standbycode", "sealedcode", "uninitcode", "drsecondarycode",
		"performancestandbycode", "removedcode", "haunhealthycode"}
	for _, p := range params {
		for _, v := range []string{"abc", "99", "100", "101", "199", "1000", "-1", "2OO", "200.0"} {
			q := p + "=" + v
			t.Run(q, func(t *testing.T) {
				r := do(t, srv, http.MethodGet, "/v1/sys/health?"+q, nil, nil)
				if r.code != http.StatusBadRequest {
					t.Fatalf("status %d, want 400", r.code)
				}
				if msgs := errorsOf(t, r.body); len(msgs) != 1 || !strings.Contains(msgs[0], p) {
					t.Fatalf("errors %q", msgs)
				}
				if r := do(t, srv, http.MethodHead, "/v1/sys/health?"+q, nil, nil); r.code != http.StatusBadRequest || len(r.body) != 0 {
					t.Fatalf("HEAD: status %d body %q", r.code, r.body)
				}
			})
		}
	}
	for _, v := range []string{"200", "299", "999"} {
		if r := do(t, srv, http.MethodGet, "/v1/sys/health?activecode="+v, nil, nil); r.code != mustAtoi(t, v) {
			t.Fatalf("activecode=%s: status %d", v, r.code)
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHealthBody(t *testing.T) {
	for name, st := range map[string]core.Status{
		"health_active.golden": stActive,
		"health_sealed.golden": stSealed,
	} {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t, api.Config{}, statusCore(st))
			before := time.Now().Unix()
			r := do(t, srv, http.MethodGet, "/v1/sys/health?"+officialHealthQuery, nil, nil)
			var h struct {
				ServerTimeUTC int64 `json:"server_time_utc"`
			}
			if err := json.Unmarshal(r.body, &h); err != nil {
				t.Fatal(err)
			}
			if h.ServerTimeUTC < before || h.ServerTimeUTC > time.Now().Unix() {
				t.Errorf("server_time_utc %d is not now", h.ServerTimeUTC)
			}
			golden(t, name, r.body)
		})
	}
}

func TestHealthOfficialClient(t *testing.T) {
	for _, st := range []core.Status{stActive, stStandby, stSealed, stUninit} {
		srv := newServer(t, api.Config{}, statusCore(st))
		h, err := newClient(t, srv).Sys().Health()
		if err != nil {
			t.Fatalf("%+v: %v", st, err)
		}
		if h.Initialized != st.Initialized || h.Sealed != st.Sealed || h.Standby != st.Standby ||
			h.Version != version.Get().Version || h.ClusterID != st.ClusterID || h.ClusterName != st.ClusterName ||
			h.ServerTimeUTC == 0 || h.RemovedFromCluster == nil || *h.RemovedFromCluster {
			t.Fatalf("health %+v for %+v", h, st)
		}
	}
}

func TestSealStatus(t *testing.T) {
	srv := newServer(t, api.Config{StorageType: "inmem"}, statusCore(stSealed))
	r := do(t, srv, http.MethodGet, "/v1/sys/seal-status", nil, nil)
	if r.code != http.StatusOK {
		t.Fatalf("status %d", r.code)
	}
	golden(t, "seal_status_sealed.golden", r.body)

	srv = newServer(t, api.Config{}, statusCore(stActive))
	s, err := newClient(t, srv).Sys().SealStatus()
	if err != nil {
		t.Fatal(err)
	}
	want := vaultapi.SealStatusResponse{
		Type: "shamir", Initialized: true, Sealed: false, T: 3, N: 5, Version: version.Get().Version,
		ClusterName: "vaultd-cluster", ClusterID: "c-1", StorageType: "raft", RemovedFromCluster: new(bool),
	}
	if !reflect.DeepEqual(*s, want) {
		t.Fatalf("seal status\n got %+v\nwant %+v", *s, want)
	}
}

// unsealCore records the shares it is given (a copy, and the slice itself
// so the test can check it was zeroed).
type unsealCore struct {
	fakeCore
	mu     sync.Mutex
	copies [][]byte
	slices [][]byte
	resets int
}

func newUnsealCore(err error) *unsealCore {
	u := &unsealCore{}
	u.UnsealFunc = func(_ context.Context, share []byte) (core.Status, error) {
		u.mu.Lock()
		defer u.mu.Unlock()
		u.copies = append(u.copies, bytes.Clone(share))
		u.slices = append(u.slices, share)
		if err != nil {
			return core.Status{}, err
		}
		return core.Status{Initialized: true, Sealed: true, Threshold: 3, Shares: 5, Progress: len(u.copies), Nonce: "n-1"}, nil
	}
	u.ResetUnsealFunc = func(context.Context) core.Status {
		u.mu.Lock()
		defer u.mu.Unlock()
		u.resets++
		return core.Status{Initialized: true, Sealed: true, Threshold: 3, Shares: 5}
	}
	return u
}

func TestUnseal(t *testing.T) {
	share := []byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03}
	tests := []struct {
		name string
		body string
		want []byte
	}{
		{"hex", `{"key":"` + hex.EncodeToString(share) + `"}`, share},
		{"hex upper case", `{"key":"` + strings.ToUpper(hex.EncodeToString(share)) + `"}`, share},
		{"base64", `{"key":"` + base64.StdEncoding.EncodeToString(share) + `"}`, share},
		{"hex wins when both parse", `{"key":"abcd"}`, []byte{0xab, 0xcd}},
		{"migrate is accepted", `{"key":"00ff","migrate":false}`, []byte{0x00, 0xff}},
		{"reset false", `{"key":"00ff","reset":false}`, []byte{0x00, 0xff}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newUnsealCore(nil)
			srv := newServer(t, api.Config{}, u)
			for _, m := range []string{http.MethodPut, http.MethodPost} {
				r := do(t, srv, m, "/v1/sys/unseal", strings.NewReader(tc.body), nil)
				if r.code != http.StatusOK {
					t.Fatalf("%s: status %d: %s", m, r.code, r.body)
				}
				var st map[string]any
				if err := json.Unmarshal(r.body, &st); err != nil || st["sealed"] != true || st["t"] != 3.0 || st["n"] != 5.0 {
					t.Fatalf("body %s (%v)", r.body, err)
				}
				if r.header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q, want no-store", r.header.Get("Cache-Control"))
				}
			}
			u.mu.Lock()
			defer u.mu.Unlock()
			for i := range u.copies {
				if !bytes.Equal(u.copies[i], tc.want) {
					t.Fatalf("core got share %x, want %x", u.copies[i], tc.want)
				}
				if !bytes.Equal(u.slices[i], make([]byte, len(tc.want))) {
					t.Fatalf("share buffer not zeroed after Unseal: %x", u.slices[i])
				}
			}
		})
	}
}

func TestUnsealErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		coreErr error
		want    int
		msg     string // substring of the one error message
	}{
		{"empty body", "", nil, 400, "'key' must be specified"},
		{"empty object", `{}`, nil, 400, "'key' must be specified"},
		{"empty key", `{"key":""}`, nil, 400, "'key' must be specified"},
		{"null", `null`, nil, 400, "'key' must be specified"},
		{"garbage key", `{"key":"!!not a key!!"}`, nil, 400, "'key' must be a valid hex or base64 string"},
		{"odd hex, bad base64", `{"key":"abc"}`, nil, 400, "'key' must be a valid hex or base64 string"},
		{"malformed JSON", `{"key":`, nil, 400, "failed to parse JSON input"},
		{"trailing garbage", `{"key":"00ff"} x`, nil, 400, "failed to parse JSON input"},
		{"key not a string", `{"key":123}`, nil, 400, "failed to parse JSON input"},
		{"reset not a bool", `{"reset":"yes"}`, nil, 400, "failed to parse JSON input"},
		{"wrong key", `{"key":"00ff"}`, core.ErrInvalidKey, 400, "unseal key is wrong"},
		{"invalid share", `{"key":"00ff"}`, fmt.Errorf("shamir: %w", core.ErrInvalidShare), 400, ""},
		{"not initialized", `{"key":"00ff"}`, core.ErrNotInitialized, 503, "Vault is not initialized"},
		{"core failure", `{"key":"00ff"}`, errors.New("disk on fire"), 500, "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newUnsealCore(tc.coreErr)
			srv := newServer(t, api.Config{}, u)
			r := do(t, srv, http.MethodPut, "/v1/sys/unseal", strings.NewReader(tc.body), nil)
			if r.code != tc.want {
				t.Fatalf("status %d, want %d: %s", r.code, tc.want, r.body)
			}
			msgs := errorsOf(t, r.body)
			if len(msgs) != 1 || !strings.Contains(msgs[0], tc.msg) {
				t.Fatalf("errors %q, want one containing %q", msgs, tc.msg)
			}
			if strings.Contains(string(r.body), "00ff") || strings.Contains(string(r.body), "disk on fire") {
				t.Fatalf("error body echoes the key or an internal error: %s", r.body)
			}
			u.mu.Lock()
			defer u.mu.Unlock()
			if tc.coreErr == nil && len(u.copies) != 0 {
				t.Fatal("core was called for a request that should fail before it")
			}
		})
	}
}

func TestUnsealReset(t *testing.T) {
	u := newUnsealCore(nil)
	srv := newServer(t, api.Config{}, u)
	for _, body := range []string{`{"reset":true}`, `{"reset":true,"key":"00ff"}`} {
		r := do(t, srv, http.MethodPut, "/v1/sys/unseal", strings.NewReader(body), nil)
		if r.code != http.StatusOK {
			t.Fatalf("status %d: %s", r.code, r.body)
		}
		var st map[string]any
		if err := json.Unmarshal(r.body, &st); err != nil || st["progress"] != 0.0 || st["sealed"] != true {
			t.Fatalf("body %s", r.body)
		}
	}
	c := newClient(t, srv)
	if s, err := c.Sys().ResetUnsealProcess(); err != nil || !s.Sealed {
		t.Fatalf("official reset: %+v %v", s, err)
	}
	s, err := c.Sys().Unseal(hex.EncodeToString([]byte{1, 2, 3}))
	if err != nil || s.Progress != 1 || s.T != 3 || s.N != 5 || s.Nonce != "n-1" {
		t.Fatalf("official unseal: %+v %v", s, err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.resets != 3 || len(u.copies) != 1 || !bytes.Equal(u.copies[0], []byte{1, 2, 3}) {
		t.Fatalf("resets %d, unseals %x", u.resets, u.copies)
	}
}

func TestInit(t *testing.T) {
	var (
		mu       sync.Mutex
		gotReq   core.InitRequest
		gotEnc   bool
		returned []seal.Secret
	)
	fc := &fakeCore{
		InitFunc: func(_ context.Context, req core.InitRequest, enc core.ShareEncrypter) (core.InitResult, error) {
			mu.Lock()
			defer mu.Unlock()
			gotReq, gotEnc = req, enc != nil
			returned = []seal.Secret{{0x01, 0x02, 0x03}, {0xff}, {0xfb, 0xff}}
			return core.InitResult{Shares: returned, RootToken: "hvs.root"}, nil
		},
		StatusFunc: func(context.Context) core.Status { return stActive },
	}
	enc := func(plain []byte, _ string) ([]byte, error) { return plain, nil }
	srv := newServer(t, api.Config{ShareEncrypter: enc}, fc)

	body := `{"secret_shares":3,"secret_threshold":2,"pgp_keys":["k1","k2","k3"],"root_token_pgp_key":"rk","stored_shares":0,"recovery_shares":0}`
	r := do(t, srv, http.MethodPut, "/v1/sys/init", strings.NewReader(body), nil)
	if r.code != http.StatusOK {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
	golden(t, "init.golden", r.body)
	var res struct {
		Keys       []string `json:"keys"`
		KeysBase64 []string `json:"keys_base64"`
		RootToken  string   `json:"root_token"`
	}
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Keys, []string{"010203", "ff", "fbff"}) ||
		!reflect.DeepEqual(res.KeysBase64, []string{"AQID", "/w==", "+/8="}) || res.RootToken != "hvs.root" {
		t.Fatalf("init result %+v", res)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("init response (holding the root token and shares) has Cache-Control %q, want no-store", cc)
	}
	mu.Lock()
	want := core.InitRequest{SecretShares: 3, SecretThreshold: 2, PGPKeys: []string{"k1", "k2", "k3"}, RootTokenPGPKey: "rk"}
	if !reflect.DeepEqual(gotReq, want) || !gotEnc {
		t.Fatalf("core got %+v (encrypter %v), want %+v", gotReq, gotEnc, want)
	}
	for i, sh := range returned {
		if !bytes.Equal(sh, make([]byte, len(sh))) {
			t.Fatalf("share %d not zeroed after encoding: %x", i, []byte(sh))
		}
	}
	mu.Unlock()

	c := newClient(t, srv)
	ir, err := c.Sys().Init(&vaultapi.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(ir.Keys) != 3 || len(ir.KeysB64) != 3 || ir.RootToken != "hvs.root" || ir.Keys[1] != "ff" {
		t.Fatalf("official init %+v", ir)
	}
	if ok, err := c.Sys().InitStatus(); err != nil || !ok {
		t.Fatalf("init status %v %v", ok, err)
	}
}

func TestInitErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		coreErr error
		want    int
		msg     string
	}{
		{"empty body", "", nil, 400, "failed to parse JSON input"},
		{"malformed", `{"secret_shares":`, nil, 400, "failed to parse JSON input"},
		{"wrong type", `{"secret_shares":"five"}`, nil, 400, "failed to parse JSON input"},
		{"trailing garbage", `{"secret_shares":1,"secret_threshold":1} x`, nil, 400, "failed to parse JSON input"},
		{"array", `[]`, nil, 400, "failed to parse JSON input"},
		{"stored shares under shamir", `{"secret_shares":1,"secret_threshold":1,"stored_shares":1}`, nil, 400, "stored keys are not supported"},
		{"core rejects", `{"secret_shares":1,"secret_threshold":2}`, secrets.Errorf(secrets.ErrInvalidRequest, "threshold exceeds shares"), 400, "threshold exceeds shares"},
		{"already initialized", `{"secret_shares":1,"secret_threshold":1}`, core.ErrAlreadyInitialized, 400, "Vault is already initialized"},
		{"core failure", `{"secret_shares":1,"secret_threshold":1}`, errors.New("raft exploded"), 500, "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			called := make(chan struct{}, 1)
			fc := &fakeCore{InitFunc: func(context.Context, core.InitRequest, core.ShareEncrypter) (core.InitResult, error) {
				called <- struct{}{}
				if tc.coreErr != nil {
					return core.InitResult{}, tc.coreErr
				}
				return core.InitResult{}, errors.New("test: core must not be called")
			}}
			srv := newServer(t, api.Config{}, fc)
			r := do(t, srv, http.MethodPut, "/v1/sys/init", strings.NewReader(tc.body), nil)
			if r.code != tc.want {
				t.Fatalf("status %d, want %d: %s", r.code, tc.want, r.body)
			}
			if msgs := errorsOf(t, r.body); len(msgs) != 1 || !strings.Contains(msgs[0], tc.msg) || strings.Contains(msgs[0], "raft exploded") {
				t.Fatalf("errors %q, want one containing %q", msgs, tc.msg)
			}
			if tc.coreErr == nil && len(called) != 0 {
				t.Fatal("core was called for a malformed request")
			}
		})
	}
}

func TestInitStatus(t *testing.T) {
	for _, init := range []bool{false, true} {
		srv := newServer(t, api.Config{}, statusCore(core.Status{Initialized: init}))
		r := do(t, srv, http.MethodGet, "/v1/sys/init", nil, nil)
		if want := fmt.Sprintf(`{"initialized":%v}`+"\n", init); r.code != 200 || string(r.body) != want {
			t.Fatalf("got %d %q, want %q", r.code, r.body, want)
		}
	}
}

func TestLeader(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	li := core.LeaderInfo{
		HAEnabled: true, IsSelf: false, ActiveTime: at, LeaderAddress: "https://10.0.0.1:8200",
		LeaderClusterAddress: "https://10.0.0.1:8201", RaftCommittedIndex: 42, RaftAppliedIndex: 41,
	}
	fc := &fakeCore{LeaderFunc: func(context.Context) core.LeaderInfo { return li }}
	srv := newServer(t, api.Config{}, fc)
	r := do(t, srv, http.MethodGet, "/v1/sys/leader", nil, nil)
	if r.code != http.StatusOK {
		t.Fatalf("status %d", r.code)
	}
	golden(t, "leader.golden", r.body)

	l, err := newClient(t, srv).Sys().Leader()
	if err != nil {
		t.Fatal(err)
	}
	if !l.HAEnabled || l.IsSelf || !l.ActiveTime.Equal(at) || l.LeaderAddress != li.LeaderAddress ||
		l.LeaderClusterAddress != li.LeaderClusterAddress || l.RaftCommittedIndex != 42 || l.RaftAppliedIndex != 41 {
		t.Fatalf("leader %+v", l)
	}

	srv = newServer(t, api.Config{}, &fakeCore{})
	r = do(t, srv, http.MethodGet, "/v1/sys/leader", nil, nil)
	golden(t, "leader_none.golden", r.body)
}
