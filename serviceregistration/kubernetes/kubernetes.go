package kubernetes

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Label names, as Vault's.
const (
	LabelActive      = "vault-active"
	LabelSealed      = "vault-sealed"
	LabelInitialized = "vault-initialized"
	LabelPerfStandby = "vault-perf-standby"
	LabelVersion     = "vault-version"
)

// DefaultServiceAccountDir is where Kubernetes mounts the pod's
// service-account token and CA.
const DefaultServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// Timing defaults.
const (
	DefaultResync    = 60 * time.Second
	DefaultRetryMin  = time.Second
	DefaultRetryMax  = 30 * time.Second
	requestTimeout   = 10 * time.Second
	shutdownTimeout  = 2 * time.Second
	maxAnswerBytes   = 1 << 20
	patchContentType = "application/json-patch+json"
)

// ErrConfig is returned by New for a missing or unusable setting.
var ErrConfig = errors.New("service_registration \"kubernetes\"")

// State is what the labels show.
type State struct {
	Initialized, Sealed, Active bool
}

// Config configures a Registration.
type Config struct {
	// Namespace and PodName name this pod (from the stanza or
	// VAULT_K8S_NAMESPACE / VAULT_K8S_POD_NAME). Both are required.
	Namespace, PodName string
	// Host is the API server URL; "" means
	// https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT.
	Host string
	// ServiceAccountDir holds "token" and "ca.crt"; "" means
	// DefaultServiceAccountDir.
	ServiceAccountDir string
	// Version is the vault-version label.
	Version string
	// State reads the node's current state. Required.
	State func(context.Context) State
	// Resync, RetryMin, RetryMax: 0 means the defaults.
	Resync, RetryMin, RetryMax time.Duration
	Logger                     *slog.Logger
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

// Registration keeps this pod's labels current. Create it with New, run
// Run in a goroutine, and call Notify whenever the state may have changed.
type Registration struct {
	cfg    Config
	log    *slog.Logger
	podURL string
	client *http.Client
	kick   chan struct{}

	mu      sync.Mutex
	applied map[string]string // labels the API server last accepted
	hasMap  bool              // the pod is known to have a labels map
}

// New checks cfg and the in-pod files. It does not contact the API server.
func New(cfg Config) (*Registration, error) {
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.Namespace == "" {
		return nil, fmt.Errorf("%w: namespace is required (set namespace or VAULT_K8S_NAMESPACE)", ErrConfig)
	}
	if cfg.PodName == "" {
		return nil, fmt.Errorf("%w: pod_name is required (set pod_name or VAULT_K8S_POD_NAME)", ErrConfig)
	}
	if cfg.State == nil {
		return nil, fmt.Errorf("%w: no state source", ErrConfig)
	}
	if cfg.Host == "" {
		h, p := cfg.Getenv("KUBERNETES_SERVICE_HOST"), cfg.Getenv("KUBERNETES_SERVICE_PORT")
		if h == "" || p == "" {
			return nil, fmt.Errorf("%w: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: vaultd is not running in a Kubernetes pod", ErrConfig)
		}
		cfg.Host = "https://" + net.JoinHostPort(h, p)
	}
	u, err := url.Parse(cfg.Host)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%w: the API server address %q is not an https URL", ErrConfig, cfg.Host)
	}
	if cfg.ServiceAccountDir == "" {
		cfg.ServiceAccountDir = DefaultServiceAccountDir
	}
	ca, err := os.ReadFile(filepath.Join(cfg.ServiceAccountDir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the service-account CA: %v", ErrConfig, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%w: %s holds no PEM certificate", ErrConfig, filepath.Join(cfg.ServiceAccountDir, "ca.crt"))
	}
	if _, err := readToken(cfg.ServiceAccountDir); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if cfg.Resync <= 0 {
		cfg.Resync = DefaultResync
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(DefaultRetryMax, cfg.RetryMin)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Registration{
		cfg: cfg,
		log: log.With("component", "service_registration", "type", "kubernetes", "pod", cfg.Namespace+"/"+cfg.PodName),
		podURL: strings.TrimSuffix(cfg.Host, "/") + "/api/v1/namespaces/" + url.PathEscape(cfg.Namespace) +
			"/pods/" + url.PathEscape(cfg.PodName),
		client: &http.Client{
			Timeout: requestTimeout,
			Transport: &http.Transport{
				Proxy:                 nil,
				TLSClientConfig:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
				TLSHandshakeTimeout:   requestTimeout,
				ResponseHeaderTimeout: requestTimeout,
				MaxIdleConnsPerHost:   1,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return errors.New("redirects are not followed") },
		},
		kick: make(chan struct{}, 1),
	}, nil
}

func readToken(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "token"))
	if err != nil {
		return "", fmt.Errorf("reading the service-account token: %v", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", errors.New("the service-account token file is empty")
	}
	return tok, nil
}

// Notify tells the registration the state may have changed. It never
// blocks.
func (r *Registration) Notify() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Labels are the labels for state s.
func (r *Registration) Labels(s State) map[string]string {
	return map[string]string{
		LabelActive:      strconv.FormatBool(s.Active && !s.Sealed),
		LabelSealed:      strconv.FormatBool(s.Sealed),
		LabelInitialized: strconv.FormatBool(s.Initialized),
		LabelPerfStandby: "false",
		LabelVersion:     labelValue(r.cfg.Version),
	}
}

// labelValue makes a valid label value: at most 63 characters of
// [A-Za-z0-9._-], starting and ending alphanumeric.
func labelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	out := strings.Trim(string(b), "._-")
	if len(out) > 63 {
		out = strings.TrimRight(out[:63], "._-")
	}
	return out
}

// Run keeps the labels current until ctx is done, then marks the pod not
// active (bounded by shutdownTimeout).
func (r *Registration) Run(ctx context.Context) {
	resync := time.NewTimer(0)
	defer resync.Stop()
	retry := r.cfg.RetryMin
	var wait <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			r.shutdown()
			return
		case <-r.kick:
			if wait != nil {
				continue // the scheduled retry will send the state of its time
			}
		case <-resync.C:
			r.forget() // re-send even if unchanged
			if wait != nil {
				continue
			}
		case <-wait:
		}
		wait = nil
		err := r.sync(ctx, r.cfg.State(ctx))
		if err == nil {
			retry = r.cfg.RetryMin
			resync.Reset(r.cfg.Resync)
			continue
		}
		if ctx.Err() != nil {
			continue
		}
		d := retry/2 + rand.N(retry/2+1) // jitter in [retry/2, retry]
		r.log.Warn("updating pod labels failed; will retry", "error", err, "retry_in", d.Round(time.Millisecond).String())
		wait = time.After(d)
		retry = min(retry*2, r.cfg.RetryMax)
	}
}

// forget drops the record of applied labels so the next sync sends all.
func (r *Registration) forget() {
	r.mu.Lock()
	r.applied = nil
	r.mu.Unlock()
}

// shutdown marks the pod not active on the way out.
func (r *Registration) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	st := r.cfg.State(ctx)
	st.Active = false
	r.forget()
	if err := r.sync(ctx, st); err != nil {
		r.log.Warn("could not mark the pod not active on shutdown", "error", err)
	}
}

// sync sends the labels of s that differ from what was last applied.
func (r *Registration) sync(ctx context.Context, s State) error {
	want := r.Labels(s)
	r.mu.Lock()
	applied, hasMap := r.applied, r.hasMap
	r.mu.Unlock()
	var ops []patchOp
	if !hasMap {
		ok, err := r.podHasLabels(ctx)
		if err != nil {
			return err
		}
		if !ok {
			ops = append(ops, patchOp{Op: "add", Path: "/metadata/labels", Value: map[string]string{}})
		}
	}
	for _, k := range []string{LabelActive, LabelSealed, LabelInitialized, LabelPerfStandby, LabelVersion} {
		if applied == nil || applied[k] != want[k] {
			ops = append(ops, patchOp{Op: "add", Path: "/metadata/labels/" + escapePointer(k), Value: want[k]})
		}
	}
	if len(ops) == 0 {
		return nil
	}
	if err := r.patch(ctx, ops); err != nil {
		r.mu.Lock()
		r.hasMap = false // look again next time: the pod may have changed
		r.mu.Unlock()
		return err
	}
	r.mu.Lock()
	r.applied, r.hasMap = want, true
	r.mu.Unlock()
	r.log.Debug("pod labels updated", "active", want[LabelActive], "sealed", want[LabelSealed], "initialized", want[LabelInitialized])
	return nil
}

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// escapePointer escapes a JSON-pointer segment (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// podHasLabels GETs the pod and reports whether it has a labels map.
func (r *Registration) podHasLabels(ctx context.Context) (bool, error) {
	status, body, err := r.do(ctx, http.MethodGet, "", nil)
	if err != nil {
		return false, err
	}
	if status != http.StatusOK {
		return false, apiError("GET", status, body)
	}
	var pod struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(body, &pod); err != nil {
		return false, fmt.Errorf("GET pod: cannot parse the answer: %v", err)
	}
	return pod.Metadata.Labels != nil, nil
}

func (r *Registration) patch(ctx context.Context, ops []patchOp) error {
	b, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	status, body, err := r.do(ctx, http.MethodPatch, patchContentType, b)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return apiError("PATCH", status, body)
	}
	return nil
}

// do sends one request to the pod URL with the current token.
func (r *Registration) do(ctx context.Context, method, contentType string, body []byte) (int, []byte, error) {
	tok, err := readToken(r.cfg.ServiceAccountDir)
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.podURL, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, fmt.Errorf("%s pod: %v", method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return 0, nil, fmt.Errorf("%s pod: reading the answer: %v", method, err)
	}
	return resp.StatusCode, b, nil
}

// apiError describes a refusal by the API server (its Status message).
func apiError(method string, status int, body []byte) error {
	var st struct {
		Message string `json:"message"`
		Reason  string `json:"reason"`
	}
	msg := http.StatusText(status)
	if json.Unmarshal(body, &st) == nil && st.Message != "" {
		msg = st.Message
	}
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return fmt.Errorf("%s pod: the API server answered %d: %s", method, status, msg)
}
