package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/vaultd/vaultd/admission"
	"github.com/vaultd/vaultd/api/forward"
	"github.com/vaultd/vaultd/api/monitor"
	"github.com/vaultd/vaultd/core"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
	"github.com/vaultd/vaultd/telemetry"
	"github.com/vaultd/vaultd/version"
)

// DefaultMaxRequestSize is Vault's default listener max_request_size (32 MiB).
const DefaultMaxRequestSize = 32 << 20

// Core is what the handlers need; *core.Core satisfies it.
type Core interface {
	Status(ctx context.Context) core.Status
	Init(ctx context.Context, req core.InitRequest, enc core.ShareEncrypter) (core.InitResult, error)
	// UnsealMigrate adds one share; migrate is sys/unseal's flag for a
	// seal migration.
	UnsealMigrate(ctx context.Context, share []byte, migrate bool) (core.Status, error)
	ResetUnseal(ctx context.Context) core.Status
	Leader(ctx context.Context) core.LeaderInfo
	HandleRequest(ctx context.Context, req *core.Request) (*core.Response, error)
}

// Config configures a Server.
type Config struct {
	// MaxRequestSize bounds request bodies (413 above it); 0 means the
	// default, a negative value disables the limit (Vault semantics).
	MaxRequestSize int64
	Logger         *slog.Logger
	// Forward, when set, wraps the handler of every request that is not
	// node-local (standby → active forwarding).
	Forward func(http.Handler) http.Handler
	// ForwardPrimary, when set, serves a request core refused with
	// core.ErrPerfSecondaryWrite (a performance secondary: a read that
	// would write, e.g. a token with num_uses or a lease): it sends the
	// request to the primary.
	ForwardPrimary http.Handler
	// ShareEncrypter encrypts init shares to OpenPGP keys (pgp_keys).
	ShareEncrypter core.ShareEncrypter
	// StorageType is reported by sys/seal-status ("raft" or "inmem").
	StorageType string
	// Extra registers additional node-local routes (raft bootstrap etc.).
	Extra []Route
	// Monitor, when set, is the node's log fan-out that GET sys/monitor
	// streams (monitor.go); the node's logger must write through it.
	Monitor *monitor.Broker
	// MaxRequestDuration bounds the handling of one request (the
	// listener's max_request_duration); 0 means no bound.
	MaxRequestDuration time.Duration
	// XFF is the listener's X-Forwarded-For handling; nil believes no
	// X-Forwarded-For header.
	XFF *XFFConfig
	// CPU, when set, bounds CPU-heavy engine work (bcrypt, RSA): engines
	// reach it through secrets.AcquireCPU; a refusal is answered 429 with
	// Retry-After.
	CPU secrets.CPUGate
	// Limiter, when set, is the adaptive request limiter applied by
	// Handler (limit.go); ClusterHandler bypasses it.
	Limiter *admission.Limiter
	// UI, when set, is the web UI handler: it serves /ui/*, and / and /ui
	// redirect to /ui/ (as Vault does with ui = true). Nil: no UI, 404.
	UI http.Handler
	// CORSOrigins returns the browser origins (scheme://host:port) allowed
	// to call /v1/* cross-origin: the api_addrs of the cluster's nodes, so
	// the UI served by one node can talk to every node directly. Nil or
	// empty: no cross-origin access. See cors.go.
	CORSOrigins func(ctx context.Context) []string
	// Telemetry, when set, serves GET /v1/sys/metrics from this node's
	// registry (metrics.go). Nil: sys/metrics is routed like any path.
	Telemetry *telemetry.Registry
	// Requests, when set, observes every request (class, method, status,
	// latency, in flight).
	Requests *telemetry.Requests
	// UnauthenticatedMetrics is the listener's telemetry
	// unauthenticated_metrics_access: sys/metrics needs no token.
	UnauthenticatedMetrics bool
}

// Route is an extra node-local route.
type Route struct {
	Method, Path string
	Handler      http.Handler
	// Sudo, when set, requires a client token with the sudo capability on
	// the route's path (without /v1/), checked by the active node; the
	// route itself is still served by this node.
	Sudo bool
}

// Server is the HTTP API of one node.
type Server struct {
	cfg  Config
	core Core
	log  *slog.Logger
	e    *echo.Echo
	// logical is the handler chain of every non-node-local request
	// (forwarded from a standby); the monitor's sudo check and the help's
	// OpenAPI document go through it.
	logical http.Handler
	// standbyRetry forwards a request that core refused with ErrStandby
	// before doing anything: the node lost leadership between the
	// forwarder's check and core's, so the request was never proposed and
	// is safe to send to the new active node (nil without Forward).
	standbyRetry http.Handler
}

// New builds the HTTP API over c.
func New(cfg Config, c Core) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxRequestSize == 0 {
		cfg.MaxRequestSize = DefaultMaxRequestSize
	}
	if cfg.StorageType == "" {
		cfg.StorageType = "raft"
	}
	s := &Server{cfg: cfg, core: c, log: cfg.Logger.With("component", "api")}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.echoError
	e.Pre(s.cors) // cors.go: before routing, so preflights never reach a 405
	e.Use(s.recoverer, s.requestMeta, s.clientAddr, s.requestDeadline, s.bodyLimit)
	if cfg.UI != nil {
		toUI := func(c echo.Context) error { return c.Redirect(http.StatusTemporaryRedirect, "/ui/") }
		e.GET("/", toUI)
		e.HEAD("/", toUI)
		e.GET("/ui", toUI)
		e.Any("/ui/*", echo.WrapHandler(cfg.UI))
	}
	v1 := e.Group("/v1")
	v1.GET("/sys/init", s.initStatus)
	v1.PUT("/sys/init", s.initialize)
	v1.POST("/sys/init", s.initialize)
	v1.GET("/sys/seal-status", s.sealStatus)
	v1.PUT("/sys/unseal", s.unseal)
	v1.POST("/sys/unseal", s.unseal)
	v1.GET("/sys/health", s.health)
	v1.HEAD("/sys/health", s.health)
	v1.GET("/sys/leader", s.leader)
	if cfg.Telemetry != nil {
		v1.GET("/sys/metrics", s.metrics) // metrics.go
	}
	for _, r := range cfg.Extra {
		h := echo.WrapHandler(r.Handler)
		if r.Sudo {
			aclPath, next := strings.TrimPrefix(r.Path, "/"), h
			h = func(c echo.Context) error {
				if ok, err := s.tokenAllows(c, aclPath, "sudo"); !ok { // metrics.go
					return err
				}
				return next(c)
			}
		}
		v1.Add(r.Method, r.Path, h)
	}
	var generic http.Handler = http.HandlerFunc(s.serveLogical)
	if cfg.Forward != nil {
		generic = cfg.Forward(generic)
		s.standbyRetry = cfg.Forward(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.respondError(w, r, core.ErrStandby) // active again: no second try
		}))
	}
	generic = s.refuseRemoved(generic) // removed.go
	s.logical = generic
	generic = s.helpWrap(generic) // ?help=1, help.go
	if cfg.Monitor != nil {
		v1.GET("/sys/monitor", s.monitor) // node-local; monitor.go
	}
	gh := echo.WrapHandler(generic)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch, "LIST"} {
		v1.Add(m, "/*", gh)
	}
	s.e = e
	return s
}

// Routes lists the routes the HTTP layer registers (method and path, the
// /v1/* catch-all that hands everything else to core included), for the
// tests that check every route is declared (core.NodeLocalEndpoints).
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.e.Routes() {
		out = append(out, Route{Method: r.Method, Path: r.Path})
	}
	return out
}

// Handler is the whole HTTP API, behind the request limiter when one is
// configured.
func (s *Server) Handler() http.Handler { return s.limit(s.e) }

// ClusterHandler is the API for requests forwarded over the cluster port:
// without the request limiter (they were admitted by the standby's limiter
// already, and the cluster port is never limited, issue 11), and believing
// the client address the standby passed (HeaderClientAddr; see
// ClusterForwarded). Serve it only on the mTLS-authenticated cluster port.
func (s *Server) ClusterHandler() http.Handler { return ClusterForwarded(s.e) }

// ---- middleware ----

type ctxKey int

const requestIDKey ctxKey = 1

// RequestID returns the request ID set by the API middleware.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func (s *Server) requestMeta(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		id, forwardedBy := uuid.NewString(), ""
		if isClusterForwarded(r.Context()) { // clientaddr.go
			// A standby forwarded it: keep its request ID (one ID per
			// request across nodes) if it is a well-formed UUID.
			if fid, err := uuid.Parse(r.Header.Get(forward.HeaderRequestID)); err == nil {
				id = fid.String()
			}
			forwardedBy = r.Header.Get(forward.HeaderForwardedBy)
		}
		c.Response().Header().Set("Cache-Control", "no-store") // as Vault: init/unseal answers hold keys
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
		start := time.Now()
		if q := s.cfg.Requests; q != nil {
			defer q.Begin()()
		}
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		if q := s.cfg.Requests; q != nil {
			q.ObserveRequest(routeClass(r.URL.Path), r.Method, c.Response().Status, time.Since(start))
		}
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			return nil // the request log line below is debug-level
		}
		// The path may name secrets but never holds values or tokens:
		// Vault's old token-in-path forms are redacted (logPath).
		attrs := []any{"method", r.Method, "path", logPath(r.URL.Path), "status", c.Response().Status,
			"request_id", id, "duration", time.Since(start)}
		if forwardedBy != "" {
			attrs = append(attrs, "forwarded_by", forwardedBy)
		}
		s.log.Debug("request", attrs...)
		return nil
	}
}

// tokenInPath are the token endpoints that, in Vault's deprecated forms,
// take the token itself as the last path segments (auth/token/lookup/<t>).
var tokenInPath = []string{"lookup", "renew", "revoke", "revoke-orphan"}

// logPath is path as the request log shows it: a token given in the path
// of a token endpoint (which vaultd does not serve, but a client may
// send) is replaced by "<redacted>", so neither the log nor the live
// stream of sys/monitor can carry it.
func logPath(path string) string {
	rest, ok := strings.CutPrefix(path, "/v1/auth/token/")
	if !ok {
		return path
	}
	for _, ep := range tokenInPath {
		if tail, ok := strings.CutPrefix(rest, ep+"/"); ok && tail != "" {
			return "/v1/auth/token/" + ep + "/<redacted>"
		}
	}
	return path
}

func (s *Server) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("panic while serving a request", "panic", fmt.Sprint(r), "path", logPath(c.Request().URL.Path))
				err = writeErrors(c, http.StatusInternalServerError, "internal error")
			}
		}()
		return next(c)
	}
}

var errBodyTooLarge = errors.New("request body too large")

func (s *Server) bodyLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.MaxRequestSize < 0 {
			return next(c)
		}
		r := c.Request()
		if r.ContentLength > s.cfg.MaxRequestSize {
			return writeErrors(c, http.StatusRequestEntityTooLarge, errBodyTooLarge.Error())
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, s.cfg.MaxRequestSize)
		return next(c)
	}
}

func (s *Server) echoError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok {
			msg = m
		}
		_ = writeErrors(c, he.Code, msg)
		return
	}
	s.respondError(c.Response(), c.Request(), err)
}

// ---- encoding ----

func writeErrors(c echo.Context, code int, msgs ...string) error {
	if msgs == nil {
		msgs = []string{}
	}
	return c.JSON(code, map[string]any{"errors": msgs})
}

func writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// statusOf maps error kinds to HTTP statuses; the first match wins.
var statusOf = []struct {
	kind error
	code int
}{
	{secrets.ErrInvalidRequest, http.StatusBadRequest},
	{secrets.ErrCASMismatch, http.StatusBadRequest},
	{core.ErrInvalidKey, http.StatusBadRequest},
	{core.ErrInvalidShare, http.StatusBadRequest},
	{core.ErrAlreadyInitialized, http.StatusBadRequest},
	{storage.ErrInvalidKey, http.StatusBadRequest},
	{secrets.ErrPermissionDenied, http.StatusForbidden},
	{secrets.ErrNotFound, http.StatusNotFound},
	{secrets.ErrUnsupportedPath, http.StatusNotFound},
	{secrets.ErrUnsupportedOperation, http.StatusMethodNotAllowed},
	{errBodyTooLarge, http.StatusRequestEntityTooLarge},
	{core.ErrSealed, http.StatusServiceUnavailable},
	{core.ErrNotInitialized, http.StatusServiceUnavailable},
	{core.ErrStandby, http.StatusServiceUnavailable},
	{core.ErrNoActiveNode, http.StatusServiceUnavailable},
	{context.DeadlineExceeded, http.StatusServiceUnavailable}, // max_request_duration
	{storage.ErrUnavailable, http.StatusServiceUnavailable},
	{core.ErrPerfSecondaryWrite, http.StatusServiceUnavailable}, // not forwarded: the primary is not configured or unreachable
	{core.ErrPerfBehind, http.StatusServiceUnavailable},
	{core.ErrPerfStateNotReached, http.StatusPreconditionFailed},
	{storage.ErrNoSpace, http.StatusInsufficientStorage},
	{storage.ErrConflict, http.StatusConflict},
}

// messageOf is the text Vault shows for errors that carry no user message.
var messageOf = map[error]string{
	core.ErrSealed:             "Vault is sealed",
	core.ErrNotInitialized:     "Vault is not initialized",
	core.ErrAlreadyInitialized: "Vault is already initialized",
	context.DeadlineExceeded:   "the request took longer than the listener's max_request_duration",
	core.ErrInvalidKey:         "cipher: message authentication failed: the unseal key is wrong; unseal progress was reset",
	core.ErrStandby:            "node is in standby mode and could not forward the request",
	core.ErrNoActiveNode:       "no active node is known; retry after the cluster has elected one",
	errBodyTooLarge:            "request body too large",
	storage.ErrNoSpace:         "the active node's storage is full: no space left on the device holding its raft data directory; writes fail until space is freed, reads go on",
	storage.ErrUnavailable:     "the active node lost leadership or storage timed out while handling the request; the outcome of a write is unknown, retry it",
	storage.ErrConflict:        "a concurrent write changed the data this request read before it was written; nothing was written, retry it",
}

func (s *Server) respondError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = errBodyTooLarge
	}
	if writeOverloaded(w, r, err) { // limit.go: 429/503 with Retry-After
		return
	}
	for _, so := range statusOf {
		if !errors.Is(err, so.kind) {
			continue
		}
		if so.kind == secrets.ErrNotFound {
			writeJSON(w, r, so.code, map[string]any{"errors": []string{}})
			return
		}
		msg := err.Error()
		var se *secrets.Error
		if !errors.As(err, &se) {
			if m, ok := messageOf[so.kind]; ok {
				msg = m
			}
		}
		if so.kind == storage.ErrUnavailable || so.kind == core.ErrNoActiveNode || so.kind == core.ErrStandby {
			w.Header().Set("Retry-After", "1")
		}
		writeJSON(w, r, so.code, map[string]any{"errors": []string{msg}})
		return
	}
	id := RequestID(r.Context())
	s.log.Error("request failed", "path", logPath(r.URL.Path), "request_id", id, "error", err)
	writeJSON(w, r, http.StatusInternalServerError, map[string]any{"errors": []string{"internal error; request_id " + id}})
}

// envelope is Vault's response body.
type envelope struct {
	RequestID     string             `json:"request_id"`
	LeaseID       string             `json:"lease_id"`
	Renewable     bool               `json:"renewable"`
	LeaseDuration int                `json:"lease_duration"`
	Data          map[string]any     `json:"data"`
	WrapInfo      any                `json:"wrap_info"`
	Warnings      []string           `json:"warnings"`
	Auth          *core.ResponseAuth `json:"auth"`
	MountType     string             `json:"mount_type"`
}

func (s *Server) respond(w http.ResponseWriter, r *http.Request, resp *core.Response) {
	if resp.Raw != nil {
		writeJSON(w, r, http.StatusOK, resp.Raw)
		return
	}
	if resp.RawBody != nil { // raft snapshot save, PKI's DER/PEM reads
		w.Header().Set("Content-Type", resp.ContentType)
		w.Header().Set("Cache-Control", "no-store")
		code := resp.StatusCode
		if code == 0 {
			code = http.StatusOK
		}
		w.WriteHeader(code)
		_, _ = io.Copy(w, resp.RawBody)
		return
	}
	code := resp.StatusCode
	if resp.Data == nil && resp.Auth == nil && resp.WrapInfo == nil && len(resp.Warnings) == 0 {
		if code == 0 {
			code = http.StatusNoContent
		}
		if code == http.StatusNoContent {
			w.WriteHeader(code)
			return
		}
	}
	if code == 0 {
		code = http.StatusOK
	}
	writeJSON(w, r, code, envelope{
		RequestID: RequestID(r.Context()), LeaseID: resp.LeaseID, Renewable: resp.Renewable,
		LeaseDuration: resp.LeaseDuration, Data: resp.Data, Warnings: resp.Warnings,
		Auth: resp.Auth, MountType: resp.MountType, WrapInfo: resp.WrapInfo, // nil → null
	})
}

// Token returns the client token from X-Vault-Token or Authorization: Bearer.
func Token(r *http.Request) string {
	if t := r.Header.Get("X-Vault-Token"); t != "" {
		return t
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// readBody reads the whole request body. With a Content-Length (which
// bodyLimit has checked against max_request_size) it reads into one buffer
// of that size instead of growing one by doubling; net/http ends the body
// at Content-Length.
func readBody(r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n > 0 && n <= presizeBodyMax {
		b := make([]byte, n)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, err // a body shorter than its Content-Length
		}
		return b, nil
	}
	return io.ReadAll(r.Body)
}

// presizeBodyMax bounds readBody's up-front buffer.
const presizeBodyMax = 1 << 20

// decodeBody parses a JSON object body; an empty body is an empty object.
// raw, when not nil, is the body already read (serveLogical keeps it for a
// retry), so it is not read and copied a second time.
func decodeBody(r *http.Request, raw []byte) (map[string]any, error) {
	b := raw
	if b == nil {
		var err error
		if b, err = readBody(r); err != nil {
			return nil, err
		}
	}
	out := map[string]any{}
	if len(bytes.TrimSpace(b)) == 0 {
		return out, nil
	}
	// UseNumber keeps big integers in secrets exact; engines accept both
	// json.Number and float64.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, secrets.Errorf(secrets.ErrInvalidRequest, "failed to parse JSON input: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF { // dec.More misses a stray '}' or ']'
		return nil, secrets.Errorf(secrets.ErrInvalidRequest, "failed to parse JSON input: trailing data after the JSON object")
	}
	return out, nil
}

// ---- the logical (routed) handler ----

func (s *Server) serveLogical(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	// Keep the body for one forward after a leadership loss (standbyRetry);
	// never for a request that was forwarded to us already, nor for raft
	// snapshot streams. bodyLimit bounds it.
	var raw []byte
	if (s.standbyRetry != nil || s.cfg.ForwardPrimary != nil) && r.Body != nil && r.Header.Get(forward.HeaderForwardedBy) == "" &&
		path != "sys/storage/raft/snapshot" && path != "sys/storage/raft/snapshot-force" {
		b, err := readBody(r)
		if err != nil {
			s.respondError(w, r, err)
			return
		}
		raw = b
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	req := &core.Request{
		ID:          RequestID(r.Context()),
		Path:        path,
		ClientToken: Token(r),
		RemoteAddr:  remoteIP(r),
	}
	q := r.URL.Query()
	switch r.Method {
	case http.MethodGet:
		req.Operation = secrets.OpRead
		if lv := q.Get("list"); lv != "" {
			// Vault parses the flag with strconv.ParseBool: "True", "1",
			// "t" all list; a value it cannot parse is a 400.
			list, err := strconv.ParseBool(lv)
			if err != nil {
				s.respondError(w, r, secrets.Errorf(secrets.ErrInvalidRequest, "invalid value %q for query parameter \"list\": must be a boolean", lv))
				return
			}
			if list {
				req.Operation = secrets.OpList
			}
		}
	case "LIST":
		req.Operation = secrets.OpList
	case http.MethodDelete:
		req.Operation = secrets.OpDelete
	case http.MethodPatch:
		req.Operation = secrets.OpPatch
	default:
		req.Operation = secrets.OpUpdate
	}
	switch req.Operation {
	case secrets.OpUpdate, secrets.OpPatch:
		if path == "sys/storage/raft/snapshot" || path == "sys/storage/raft/snapshot-force" {
			req.Data, req.Body = map[string]any{}, r.Body // binary snapshot, bounded by bodyLimit
			break
		}
		if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); strings.EqualFold(strings.TrimSpace(ct), "application/ocsp-request") {
			// An OCSP request (RFC 6960 over POST) is DER, not JSON: the
			// engine gets the bytes as Vault passes them, in http_raw_body.
			b, err := io.ReadAll(r.Body)
			if err != nil {
				s.respondError(w, r, err)
				return
			}
			req.Data = map[string]any{"http_raw_body": b}
			break
		}
		data, err := decodeBody(r, raw)
		if err != nil {
			s.respondError(w, r, err)
			return
		}
		req.Data = data
	default:
		req.Data = map[string]any{}
		for k, v := range q {
			if k == "list" {
				continue
			}
			if len(v) == 1 {
				req.Data[k] = v[0]
			} else {
				req.Data[k] = v
			}
		}
		if r.Method == http.MethodDelete && r.ContentLength != 0 { // -1: chunked
			data, err := decodeBody(r, raw)
			if err != nil {
				s.respondError(w, r, err)
				return
			}
			for k, v := range data {
				req.Data[k] = v
			}
		}
	}
	if req.Operation == secrets.OpList && !strings.HasSuffix(req.Path, "/") {
		req.Path += "/"
	}
	if wt := r.Header.Get("X-Vault-Wrap-TTL"); wt != "" {
		d, err := parseDuration(wt)
		if err != nil {
			s.respondError(w, r, secrets.Errorf(secrets.ErrInvalidRequest, "invalid X-Vault-Wrap-TTL %q", wt))
			return
		}
		req.WrapTTL = d
	}
	if ms := r.Header.Get(HeaderMaxStaleness); ms != "" {
		d, err := parseDuration(ms)
		if err != nil || d <= 0 {
			s.respondError(w, r, secrets.Errorf(secrets.ErrInvalidRequest, "invalid %s %q: want a positive duration (\"2s\", \"500ms\") or seconds", HeaderMaxStaleness, ms))
			return
		}
		req.MaxStaleness = d
	}
	req.StateTokens = r.Header.Values(HeaderIndex)
	req.InconsistentFail = strings.EqualFold(strings.TrimSpace(r.Header.Get(HeaderInconsistent)), "fail")
	resp, err := s.core.HandleRequest(secrets.WithCPUGate(r.Context(), s.cfg.CPU), req)
	if (errors.Is(err, core.ErrPerfSecondaryWrite) || errors.Is(err, core.ErrPerfBehind)) && s.cfg.ForwardPrimary != nil && (raw != nil || r.Method == http.MethodGet || r.Method == "LIST") {
		// A performance secondary: this request writes (a token with
		// num_uses, a lease); the primary answers it.
		r2 := r.Clone(r.Context())
		r2.Body, r2.ContentLength = io.NopCloser(bytes.NewReader(raw)), int64(len(raw))
		s.cfg.ForwardPrimary.ServeHTTP(w, r2)
		return
	}
	if errors.Is(err, core.ErrForward) && s.standbyRetry != nil && raw != nil {
		// A standby declined to answer this itself (standby reads): the
		// active node does.
		r2 := forward.ForceForward(r.Clone(r.Context()))
		r2.Body, r2.ContentLength = io.NopCloser(bytes.NewReader(raw)), int64(len(raw))
		s.standbyRetry.ServeHTTP(w, r2)
		return
	}
	if errors.Is(err, core.ErrStandby) && s.standbyRetry != nil && raw != nil {
		s.log.Info("node stopped being active before the request started; forwarding it to the new active node",
			"path", r.URL.Path, "request_id", req.ID)
		r2 := forward.ForceForward(r.Clone(r.Context()))
		r2.Body, r2.ContentLength = io.NopCloser(bytes.NewReader(raw)), int64(len(raw))
		s.standbyRetry.ServeHTTP(w, r2)
		return
	}
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	if sc, ok := s.core.(stateTokener); ok { // core/stateindex.go
		if st := sc.StateToken(); st != "" {
			w.Header().Set(HeaderIndex, st)
		}
	}
	s.respond(w, r, resp)
}

// parseDuration accepts Go durations and plain seconds.
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > int64((1<<63-1)/time.Second) {
			return 0, fmt.Errorf("duration %q out of range", v)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err == nil && d < 0 {
		return 0, fmt.Errorf("negative duration %q", v)
	}
	return d, err
}

// ---- node-local sys handlers ----

func (s *Server) initStatus(c echo.Context) error {
	st := s.core.Status(c.Request().Context())
	return c.JSON(http.StatusOK, map[string]any{"initialized": st.Initialized})
}

func (s *Server) initialize(c echo.Context) error {
	r := c.Request()
	var body struct {
		SecretShares      int      `json:"secret_shares"`
		SecretThreshold   int      `json:"secret_threshold"`
		PGPKeys           []string `json:"pgp_keys"`
		RootTokenPGPKey   string   `json:"root_token_pgp_key"`
		StoredShares      int      `json:"stored_shares"`
		RecoveryShares    int      `json:"recovery_shares"`
		RecoveryThreshold int      `json:"recovery_threshold"`
		RecoveryPGPKeys   []string `json:"recovery_pgp_keys"`
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		s.respondError(c.Response(), r, err)
		return nil
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return writeErrors(c, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
	}
	if body.StoredShares != 0 {
		// Vault: stored keys exist only under an auto seal, where the
		// unseal key is always stored wrapped by the seal; under Shamir a
		// request for them is refused, not ignored.
		if st := s.core.Status(r.Context()); st.SealType == "" || st.SealType == "shamir" {
			return writeErrors(c, http.StatusBadRequest, "stored keys are not supported by the current seal type")
		}
	}
	res, err := s.core.Init(r.Context(), core.InitRequest{
		SecretShares: body.SecretShares, SecretThreshold: body.SecretThreshold,
		PGPKeys: body.PGPKeys, RootTokenPGPKey: body.RootTokenPGPKey,
		RecoveryShares: body.RecoveryShares, RecoveryThreshold: body.RecoveryThreshold, RecoveryPGPKeys: body.RecoveryPGPKeys,
	}, s.cfg.ShareEncrypter)
	if err != nil {
		s.respondError(c.Response(), r, err)
		return nil
	}
	keys, keysB64 := encodeShares(res.Shares)
	out := map[string]any{"keys": keys, "keys_base64": keysB64, "root_token": res.RootToken}
	if res.RecoveryShares != nil {
		out["recovery_keys"], out["recovery_keys_base64"] = encodeShares(res.RecoveryShares)
	}
	return c.JSON(http.StatusOK, out)
}

// encodeShares returns the hex and base64 forms of key shares and wipes
// the shares.
func encodeShares[S ~[]byte](shares []S) (hexs, b64s []string) {
	hexs, b64s = make([]string, len(shares)), make([]string, len(shares))
	for i, sh := range shares {
		hexs[i] = hex.EncodeToString(sh)
		b64s[i] = base64.StdEncoding.EncodeToString(sh)
		clear(sh)
	}
	return hexs, b64s
}

func (s *Server) sealStatusBody(st core.Status) map[string]any {
	sealType := st.SealType
	if sealType == "" {
		sealType = "shamir"
	}
	return map[string]any{
		"type": sealType, "initialized": st.Initialized, "sealed": st.Sealed,
		"t": st.Threshold, "n": st.Shares, "progress": st.Progress, "nonce": st.Nonce,
		"version": version.Get().Version, "build_date": version.Get().BuildDate, "migration": st.Migration,
		"cluster_name": st.ClusterName, "cluster_id": st.ClusterID,
		"recovery_seal": st.RecoverySeal, "storage_type": s.cfg.StorageType, "removed_from_cluster": s.removedFromCluster(),
	}
}

func (s *Server) sealStatus(c echo.Context) error {
	return c.JSON(http.StatusOK, s.sealStatusBody(s.core.Status(c.Request().Context())))
}

func (s *Server) unseal(c echo.Context) error {
	r := c.Request()
	var body struct {
		Key     string `json:"key"`
		Reset   bool   `json:"reset"`
		Migrate bool   `json:"migrate"`
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		s.respondError(c.Response(), r, err)
		return nil
	}
	if len(strings.TrimSpace(string(raw))) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			return writeErrors(c, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		}
	}
	clear(raw)
	ctx := r.Context()
	if s.removedFromCluster() { // removed.go
		return writeErrors(c, http.StatusServiceUnavailable, errRemovedMsg)
	}
	if body.Reset {
		return c.JSON(http.StatusOK, s.sealStatusBody(s.core.ResetUnseal(ctx)))
	}
	if body.Key == "" {
		return writeErrors(c, http.StatusBadRequest, "'key' must be specified in request body as JSON, or 'reset' set to true")
	}
	share, err := hex.DecodeString(body.Key)
	if err != nil {
		share, err = base64.StdEncoding.DecodeString(body.Key)
		if err != nil {
			return writeErrors(c, http.StatusBadRequest, "'key' must be a valid hex or base64 string")
		}
	}
	st, err := s.core.UnsealMigrate(ctx, share, body.Migrate)
	clear(share)
	if err != nil {
		s.respondError(c.Response(), r, err)
		return nil
	}
	return c.JSON(http.StatusOK, s.sealStatusBody(st))
}

// health implements sys/health with all of Vault's query parameters.
func (s *Server) health(c echo.Context) error {
	r := c.Request()
	q := r.URL.Query()
	code := func(name string, def int) (int, error) {
		v := q.Get(name)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 200 || n > 999 { // a 1xx is not a final status
			return 0, fmt.Errorf("invalid %s %q", name, v)
		}
		return n, nil
	}
	boolParam := func(name string) bool {
		v := q.Get(name)
		if v == "" {
			return false
		}
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
		return true // Vault treats a present, unparsable flag as set
	}
	codes := map[string]int{}
	for name, def := range map[string]int{
		"activecode": 200, "standbycode": 429, "drsecondarycode": 472, "performancestandbycode": 473,
		"sealedcode": 503, "uninitcode": 501, "removedcode": 530, "haunhealthycode": 474,
	} {
		n, err := code(name, def)
		if err != nil {
			return writeErrors(c, http.StatusBadRequest, err.Error())
		}
		codes[name] = n
	}
	removed := s.removedFromCluster() // removed.go; seals a removed node, so before Status
	st := s.core.Status(r.Context())
	status := codes["activecode"]
	switch {
	case removed:
		status = codes["removedcode"]
	case !st.Initialized:
		status = codes["uninitcode"]
	case st.Sealed:
		status = codes["sealedcode"]
	case st.DRMode == "secondary":
		status = codes["drsecondarycode"]
	case st.Standby:
		status = codes["standbycode"]
		if boolParam("standbyok") {
			status = codes["activecode"]
		}
	}
	body := map[string]any{
		"initialized": st.Initialized, "sealed": st.Sealed, "standby": st.Standby,
		"performance_standby": false, "replication_performance_mode": cmp.Or(st.PerfMode, "disabled"),
		"replication_dr_mode": cmp.Or(st.DRMode, "disabled"), "server_time_utc": time.Now().Unix(),
		"version": version.Get().Version, "enterprise": false, "echo_duration_ms": 0, "clock_skew_ms": 0,
		"removed_from_cluster": removed,
	}
	if st.ClusterID != "" {
		body["cluster_name"], body["cluster_id"] = st.ClusterName, st.ClusterID
	}
	writeJSON(c.Response(), r, status, body)
	return nil
}

func (s *Server) leader(c echo.Context) error {
	li := s.core.Leader(c.Request().Context())
	at := "0001-01-01T00:00:00Z"
	if !li.ActiveTime.IsZero() {
		at = li.ActiveTime.UTC().Format(time.RFC3339Nano)
	}
	return c.JSON(http.StatusOK, map[string]any{
		"ha_enabled": li.HAEnabled, "is_self": li.IsSelf, "active_time": at,
		"leader_address": li.LeaderAddress, "leader_cluster_address": li.LeaderClusterAddress,
		"performance_standby": false, "performance_standby_last_remote_wal": 0,
		"raft_committed_index": li.RaftCommittedIndex, "raft_applied_index": li.RaftAppliedIndex,
	})
}
