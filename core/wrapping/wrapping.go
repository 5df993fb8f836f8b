// Package wrapping is vaultd's response wrapping. A request with
// X-Vault-Wrap-TTL gets, instead of its response, a fresh single-use token
// (policy "response-wrapping", orphan, TTL = the wrap TTL, not renewable)
// whose cubbyhole holds the response at "response" as
// {"response": "<json>"}. sys/wrapping/unwrap (with that token, in the
// header or the body) returns the response and revokes the token, so a
// second unwrap finds nothing.
//
// It owns no storage of its own: the payload lives in the wrapping token's
// cubbyhole, reached through the Config.Cubbyhole callback, and the token
// in core/tokens. It imports storage, secrets, core/tokens and
// core/internal/reqfield.
package wrapping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/vaultd/vaultd/core/internal/reqfield"
	"github.com/vaultd/vaultd/core/policies"
	"github.com/vaultd/vaultd/core/tokens"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// WrapInfo is the wrap_info block of a wrapped response.
type WrapInfo struct {
	Token           string `json:"token"`
	Accessor        string `json:"accessor"`
	TTL             int    `json:"ttl"`
	CreationTime    string `json:"creation_time"`
	CreationPath    string `json:"creation_path"`
	WrappedAccessor string `json:"wrapped_accessor"`
}

// Payload is a wrapped response as stored.
type Payload struct {
	Data          map[string]any       `json:"data,omitempty"`
	Warnings      []string             `json:"warnings,omitempty"`
	Auth          *tokens.ResponseAuth `json:"auth,omitempty"`
	LeaseID       string               `json:"lease_id,omitempty"`
	LeaseDuration int                  `json:"lease_duration,omitempty"`
	Renewable     bool                 `json:"renewable,omitempty"`
	MountType     string               `json:"mount_type,omitempty"`
}

// ErrBadWrapToken: an unknown or used-up wrapping token (a 400, as in
// Vault, also when the token is the request's X-Vault-Token).
var ErrBadWrapToken = errBadWrapToken

var errBadWrapToken = secrets.Errorf(secrets.ErrInvalidRequest, "wrapping token is not valid or does not exist")

func badRequest(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}

// Config configures a Service.
type Config struct {
	Tokens *tokens.Store
	// Cubbyhole returns the cubbyhole engine and its storage view (an error
	// while the node is not active or no cubbyhole is mounted).
	Cubbyhole func() (secrets.Backend, storage.Backend, error)
	// MaxTTL caps the wrap TTL (the system max lease TTL).
	MaxTTL time.Duration
	Logger *slog.Logger
}

// Service wraps and unwraps responses. Safe for concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New builds a Service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: cfg.Logger}
}

// cubbyRequest runs one internal request against a token's cubbyhole.
func (s *Service) cubbyRequest(ctx context.Context, op secrets.Operation, idHash string, data map[string]any) (*secrets.Response, error) {
	eng, view, err := s.cfg.Cubbyhole()
	if err != nil {
		return nil, err
	}
	return eng.HandleRequest(ctx, &secrets.Request{
		Operation: op, Path: "response", Data: data, Storage: view,
		MountPoint: "cubbyhole/", ClientToken: idHash,
	})
}

// wrap stores payload in a new wrapping token's cubbyhole.
func (s *Service) wrap(ctx context.Context, creationPath string, ttl time.Duration, payload []byte, wrappedAccessor string) (*WrapInfo, error) {
	if _, _, err := s.cfg.Cubbyhole(); err != nil {
		return nil, err
	}
	if ttl > s.cfg.MaxTTL {
		ttl = s.cfg.MaxTTL
	}
	if ttl < time.Second {
		return nil, badRequest("wrapping TTL must be at least one second")
	}
	wte := &tokens.Entry{
		Policies:       []string{policies.ResponseWrappingPolicy},
		Path:           creationPath,
		DisplayName:    "response-wrapping",
		NumUses:        1,
		TTL:            ttl,
		ExplicitMaxTTL: ttl,
		Orphan:         true,
		Wrap:           &tokens.WrapMeta{CreationPath: creationPath, WrappedAccessor: wrappedAccessor},
	}
	id, err := s.cfg.Tokens.Create(ctx, wte, "")
	if err != nil {
		return nil, err
	}
	if _, err := s.cubbyRequest(ctx, secrets.OpCreate, wte.IDHash, map[string]any{"response": string(payload)}); err != nil {
		if rerr := s.cfg.Tokens.RevokeTree(ctx, wte.IDHash); rerr != nil {
			s.log.Warn("revoking a wrapping token after a failed write", "error", rerr)
		}
		return nil, fmt.Errorf("wrapping: storing the wrapped response: %w", err)
	}
	return &WrapInfo{
		Token: id, Accessor: wte.Accessor, TTL: int(ttl / time.Second),
		CreationTime: wte.CreationTime.UTC().Format(time.RFC3339Nano), CreationPath: creationPath,
		WrappedAccessor: wrappedAccessor,
	}, nil
}

// Wrap stores p in a new wrapping token's cubbyhole and returns the
// wrap_info that replaces the response.
func (s *Service) Wrap(ctx context.Context, creationPath string, ttl time.Duration, p Payload) (*WrapInfo, error) {
	payload, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("wrapping: encoding the response to wrap: %w", err)
	}
	wrapped := ""
	if p.Auth != nil {
		wrapped = p.Auth.Accessor
	}
	return s.wrap(ctx, creationPath, ttl, payload, wrapped)
}

func isWrapToken(te *tokens.Entry) bool {
	return te != nil && te.Wrap != nil && slices.Equal(te.Policies, []string{policies.ResponseWrappingPolicy})
}

// consumeWrapToken resolves the wrapping token of an unwrap or rewrap
// (the body's "token", else the caller's own) and uses it up. When it is
// the caller's token, the pipeline has already consumed its single use.
func (s *Service) consumeWrapToken(ctx context.Context, d map[string]any, te *tokens.Entry) (*tokens.Entry, error) {
	tok, err := reqfield.String(d, "token")
	if err != nil {
		return nil, err
	}
	if tok == "" || (te != nil && tok == te.ID) {
		if !isWrapToken(te) {
			return nil, errBadWrapToken
		}
		return te, nil
	}
	w, err := s.cfg.Tokens.LookupBody(ctx, tok)
	if errors.Is(err, tokens.ErrNotFound) {
		return nil, errBadWrapToken
	}
	if err != nil {
		return nil, err
	}
	if !isWrapToken(w) {
		return nil, errBadWrapToken
	}
	if err := s.cfg.Tokens.Use(ctx, w); err != nil {
		if errors.Is(err, tokens.ErrNotFound) {
			return nil, errBadWrapToken
		}
		return nil, err
	}
	return w, nil
}

// readWrapped reads a (consumed) wrapping token's payload and revokes the
// token.
func (s *Service) readWrapped(ctx context.Context, w *tokens.Entry) ([]byte, error) {
	sresp, err := s.cubbyRequest(ctx, secrets.OpRead, w.IDHash, nil)
	rerr := s.cfg.Tokens.RevokeTree(ctx, w.IDHash)
	if errors.Is(err, secrets.ErrNotFound) {
		return nil, errBadWrapToken
	}
	if err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	raw, _ := sresp.Data["response"].(string)
	if raw == "" {
		return nil, errBadWrapToken
	}
	return []byte(raw), nil
}

// Request is one sys/wrapping/* request.
type Request struct {
	Operation secrets.Operation
	Path      string // the full request path ("sys/wrapping/unwrap")
	Data      map[string]any
	// WrapTTL is the request's X-Vault-Wrap-TTL.
	WrapTTL time.Duration
	// ClientToken is the request's token (sys/wrapping/lookup needs none
	// of its own).
	ClientToken string
}

// Result is what a sys/wrapping endpoint answers: a response (Payload),
// or a new wrap_info (rewrap).
type Result struct {
	Payload  Payload
	WrapInfo *WrapInfo
}

// Handle serves sys/wrapping/{wrap,unwrap,lookup,rewrap} for the caller te
// (nil only for lookup).
func (s *Service) Handle(ctx context.Context, req *Request, te *tokens.Entry) (*Result, error) {
	if req.Operation != secrets.OpUpdate && req.Operation != secrets.OpCreate {
		return nil, secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
	}
	d := req.Data
	if d == nil {
		d = map[string]any{}
	}
	switch req.Path {
	case "sys/wrapping/wrap":
		if req.WrapTTL <= 0 {
			return nil, badRequest("endpoint requires response wrapping to be used")
		}
		// An empty body wraps an empty response, as in Vault.
		return &Result{Payload: Payload{Data: d}}, nil
	case "sys/wrapping/lookup":
		data, err := s.Lookup(ctx, req)
		if err != nil {
			return nil, err
		}
		return &Result{Payload: Payload{Data: data}}, nil
	case "sys/wrapping/unwrap":
		w, err := s.consumeWrapToken(ctx, d, te)
		if err != nil {
			return nil, err
		}
		payload, err := s.readWrapped(ctx, w)
		if err != nil {
			return nil, err
		}
		var wr Payload
		if err := json.Unmarshal(payload, &wr); err != nil {
			return nil, fmt.Errorf("wrapping: decoding a wrapped response: %w", err)
		}
		return &Result{Payload: wr}, nil
	case "sys/wrapping/rewrap":
		w, err := s.consumeWrapToken(ctx, d, te)
		if err != nil {
			return nil, err
		}
		payload, err := s.readWrapped(ctx, w)
		if err != nil {
			return nil, err
		}
		wi, err := s.wrap(ctx, w.Wrap.CreationPath, w.TTL, payload, w.Wrap.WrappedAccessor)
		if err != nil {
			return nil, err
		}
		return &Result{WrapInfo: wi}, nil
	}
	return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
}

// Lookup serves sys/wrapping/lookup, which needs no token of its own:
// the wrapping token is looked up without being used.
func (s *Service) Lookup(ctx context.Context, req *Request) (map[string]any, error) {
	if req.Operation != secrets.OpUpdate && req.Operation != secrets.OpCreate {
		return nil, secrets.Errorf(secrets.ErrUnsupportedOperation, "unsupported operation")
	}
	tok, err := reqfield.String(req.Data, "token")
	if err != nil {
		return nil, err
	}
	if tok == "" {
		tok = req.ClientToken
	}
	if tok == "" {
		return nil, badRequest("missing token")
	}
	w, err := s.cfg.Tokens.LookupBody(ctx, tok)
	if errors.Is(err, tokens.ErrNotFound) || (err == nil && !isWrapToken(w)) {
		return nil, errBadWrapToken
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"creation_path": w.Wrap.CreationPath,
		"creation_time": w.CreationTime.UTC().Format(time.RFC3339Nano),
		"creation_ttl":  int64(w.TTL / time.Second),
	}, nil
}
