package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// statusTransport is the pseudo status of a request that got no HTTP
// response (connection refused, reset, timeout).
const statusTransport = 0

// kvClient is one way of talking KV v2 to one node.
type kvClient interface {
	// Write stores the benchmark value at key. cas < 0 writes
	// unconditionally; otherwise it is the check-and-set version. It
	// returns the new version (only when wantVersion), the HTTP status
	// and an error for anything but 2xx.
	Write(ctx context.Context, key string, cas int, wantVersion bool) (version, status int, err error)
	// Read reads key and returns its current version (only when
	// wantVersion), the HTTP status and an error for anything but 2xx.
	Read(ctx context.Context, key string, wantVersion bool) (version, status int, err error)
}

// errStatus is a non-2xx answer.
type errStatus struct{ code int }

func (e *errStatus) Error() string { return "HTTP " + strconv.Itoa(e.code) }

// ErrNoVersion is returned when a response lacks the KV v2 version.
var ErrNoVersion = errors.New("response has no version")

// newHTTPTransport is a keep-alive transport sized for the worker count, so
// no request pays for a new connection once the pool is warm.
func newHTTPTransport(conns int, insecure bool) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12}, //nolint:gosec // loopback bench only, opt-in flag
		ForceAttemptHTTP2:   false,
	}
}

// rawClient speaks KV v2 over net/http with prebuilt bodies and decodes a
// response only when a version is wanted.
type rawClient struct {
	hc    *http.Client
	addr  string // http://127.0.0.1:8200
	base  string // http://127.0.0.1:8200/v1/<mount>/data/
	token string
	value []byte // JSON string literal of the value, quotes included
	// maxStaleness, when set, goes out as X-Vaultd-Max-Staleness.
	maxStaleness time.Duration
}

func newRawClient(addr, mount, token string, value string, tr *http.Transport, timeout time.Duration) *rawClient {
	lit, _ := json.Marshal(value) // a string always marshals
	return &rawClient{
		hc:    &http.Client{Transport: tr, Timeout: timeout},
		addr:  addr,
		base:  addr + "/v1/" + mount + "/data/",
		token: token,
		value: lit,
	}
}

func (c *rawClient) body(cas int) []byte {
	b := make([]byte, 0, len(c.value)+48)
	if cas >= 0 {
		b = append(b, `{"options":{"cas":`...)
		b = strconv.AppendInt(b, int64(cas), 10)
		b = append(b, `},"data":{"v":`...)
	} else {
		b = append(b, `{"data":{"v":`...)
	}
	b = append(b, c.value...)
	return append(b, "}}"...)
}

func (c *rawClient) do(ctx context.Context, method, key string, body []byte, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+key, rd)
	if err != nil {
		return statusTransport, err
	}
	req.Header.Set("X-Vault-Token", c.token)
	req.Header.Set("X-Vault-Request", "true")
	if c.maxStaleness > 0 {
		req.Header.Set("X-Vaultd-Max-Staleness", c.maxStaleness.String())
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return statusTransport, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 || out == nil {
		_, _ = io.Copy(io.Discard, resp.Body) // drain so the connection is reused
		if resp.StatusCode/100 != 2 {
			return resp.StatusCode, &errStatus{resp.StatusCode}
		}
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, fmt.Errorf("decoding response: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func (c *rawClient) Write(ctx context.Context, key string, cas int, wantVersion bool) (int, int, error) {
	if !wantVersion {
		st, err := c.do(ctx, http.MethodPut, key, c.body(cas), nil)
		return 0, st, err
	}
	var out struct {
		Data struct {
			Version *int `json:"version"`
		} `json:"data"`
	}
	st, err := c.do(ctx, http.MethodPut, key, c.body(cas), &out)
	if err != nil {
		return 0, st, err
	}
	if out.Data.Version == nil {
		return 0, st, ErrNoVersion
	}
	return *out.Data.Version, st, nil
}

func (c *rawClient) Read(ctx context.Context, key string, wantVersion bool) (int, int, error) {
	if !wantVersion {
		st, err := c.do(ctx, http.MethodGet, key, nil, nil)
		return 0, st, err
	}
	var out struct {
		Data struct {
			Metadata struct {
				Version *int `json:"version"`
			} `json:"metadata"`
		} `json:"data"`
	}
	st, err := c.do(ctx, http.MethodGet, key, nil, &out)
	if err != nil {
		return 0, st, err
	}
	if out.Data.Metadata.Version == nil {
		return 0, st, ErrNoVersion
	}
	return *out.Data.Metadata.Version, st, nil
}

// apiClient speaks KV v2 through the official github.com/hashicorp/vault/api
// client (Logical(), which is what the KVv2 helper calls underneath).
type apiClient struct {
	c     *vaultapi.Client
	path  string // <mount>/data/
	value string
}

func newAPIClient(addr, mount, token, value string, tr *http.Transport, timeout time.Duration) (*apiClient, error) {
	cfg := vaultapi.DefaultConfig()
	if cfg.Error != nil {
		return nil, cfg.Error
	}
	cfg.Address = addr
	cfg.MaxRetries = 0
	cfg.Timeout = timeout
	cfg.HttpClient = &http.Client{Transport: tr, Timeout: timeout}
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	return &apiClient{c: c, path: mount + "/data/", value: value}, nil
}

func apiStatus(err error) int {
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return statusTransport
}

func jsonInt(v any) (int, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	case float64:
		return int(n), true
	}
	return 0, false
}

func (a *apiClient) Write(ctx context.Context, key string, cas int, wantVersion bool) (int, int, error) {
	body := map[string]any{"data": map[string]any{"v": a.value}}
	if cas >= 0 {
		body["options"] = map[string]any{"cas": cas}
	}
	s, err := a.c.Logical().WriteWithContext(ctx, a.path+key, body)
	if err != nil {
		return 0, apiStatus(err), err
	}
	if !wantVersion {
		return 0, http.StatusOK, nil
	}
	if s == nil {
		return 0, http.StatusNoContent, ErrNoVersion
	}
	v, ok := jsonInt(s.Data["version"])
	if !ok {
		return 0, http.StatusOK, ErrNoVersion
	}
	return v, http.StatusOK, nil
}

func (a *apiClient) Read(ctx context.Context, key string, wantVersion bool) (int, int, error) {
	s, err := a.c.Logical().ReadWithContext(ctx, a.path+key)
	if err != nil {
		return 0, apiStatus(err), err
	}
	if s == nil { // the client turns a 404 into (nil, nil)
		return 0, http.StatusNotFound, &errStatus{http.StatusNotFound}
	}
	if !wantVersion {
		return 0, http.StatusOK, nil
	}
	md, _ := s.Data["metadata"].(map[string]any)
	v, ok := jsonInt(md["version"])
	if !ok {
		return 0, http.StatusOK, ErrNoVersion
	}
	return v, http.StatusOK, nil
}

// appliedIndex reads raft_applied_index from sys/leader (unauthenticated);
// false when the node does not report one (e.g. the dev server).
func appliedIndex(ctx context.Context, tr *http.Transport, addr string) (uint64, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr+"/v1/sys/leader", nil)
	if err != nil {
		return 0, false
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var li struct {
		Index *uint64 `json:"raft_applied_index"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&li) != nil || li.Index == nil || *li.Index == 0 {
		return 0, false
	}
	return *li.Index, true
}
