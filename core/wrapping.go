package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vaultd/vaultd/core/tokens"
	"slices"
	"time"

	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// Response wrapping. A request with X-Vault-Wrap-TTL gets, instead of its
// response, a fresh single-use token (policy "response-wrapping", orphan,
// TTL = the wrap TTL, not renewable) whose cubbyhole holds the response at
// "response" as {"response": "<json>"}. sys/wrapping/unwrap (with that
// token, in the header or the body) returns the response and revokes the
// token, so a second unwrap finds nothing.

// WrapInfo is the wrap_info block of a wrapped response.
type WrapInfo struct {
	Token           string `json:"token"`
	Accessor        string `json:"accessor"`
	TTL             int    `json:"ttl"`
	CreationTime    string `json:"creation_time"`
	CreationPath    string `json:"creation_path"`
	WrappedAccessor string `json:"wrapped_accessor"`
}

// wireResponse is a wrapped response as stored.
type wireResponse struct {
	Data          map[string]any `json:"data,omitempty"`
	Warnings      []string       `json:"warnings,omitempty"`
	Auth          *ResponseAuth  `json:"auth,omitempty"`
	LeaseID       string         `json:"lease_id,omitempty"`
	LeaseDuration int            `json:"lease_duration,omitempty"`
	Renewable     bool           `json:"renewable,omitempty"`
	MountType     string         `json:"mount_type,omitempty"`
}

var errBadWrapToken = badRequest("wrapping token is not valid or does not exist")

// cubbyhole returns the cubbyhole engine and its view.
func (c *Core) cubbyhole() (secrets.Backend, storage.Backend, error) {
	mt := c.mounts.Load()
	if mt == nil {
		return nil, nil, ErrStandby
	}
	for _, me := range mt.entries {
		if me.Type == "cubbyhole" {
			return mt.engines[me.Path], mt.views[me.Path], nil
		}
	}
	return nil, nil, badRequest("response wrapping requires the cubbyhole secrets engine")
}

// tokenDataDestroyer is implemented by engines that keep data per token
// (cubbyhole): core calls it when a token is revoked.
type tokenDataDestroyer interface {
	DestroyTokenData(ctx context.Context, s storage.Backend, clientToken string) error
}

// destroyTokenData is the token store's revoke hook: it deletes the
// revoked token's cubbyhole.
func (c *Core) destroyTokenData(ctx context.Context, idHash string) error {
	eng, view, err := c.cubbyhole()
	if err != nil {
		return nil // no cubbyhole mounted: nothing to destroy
	}
	if d, ok := eng.(tokenDataDestroyer); ok {
		return d.DestroyTokenData(ctx, view, idHash)
	}
	return nil
}

// cubbyRequest runs one internal request against a token's cubbyhole.
func (c *Core) cubbyRequest(ctx context.Context, op secrets.Operation, idHash string, data map[string]any) (*secrets.Response, error) {
	eng, view, err := c.cubbyhole()
	if err != nil {
		return nil, err
	}
	return eng.HandleRequest(ctx, &secrets.Request{
		Operation: op, Path: "response", Data: data, Storage: view,
		MountPoint: "cubbyhole/", ClientToken: idHash,
	})
}

// wrap stores payload in a new wrapping token's cubbyhole.
func (c *Core) wrap(ctx context.Context, creationPath string, ttl time.Duration, payload []byte, wrappedAccessor string) (*WrapInfo, error) {
	if _, _, err := c.cubbyhole(); err != nil {
		return nil, err
	}
	if ttl > c.cfg.MaxLeaseTTL {
		ttl = c.cfg.MaxLeaseTTL
	}
	if ttl < time.Second {
		return nil, badRequest("wrapping TTL must be at least one second")
	}
	wte := &TokenEntry{
		Policies:       []string{responseWrappingPolicy},
		Path:           creationPath,
		DisplayName:    "response-wrapping",
		NumUses:        1,
		TTL:            ttl,
		ExplicitMaxTTL: ttl,
		Orphan:         true,
		Wrap:           &tokens.WrapMeta{CreationPath: creationPath, WrappedAccessor: wrappedAccessor},
	}
	id, err := c.tokens.Create(ctx, wte, "")
	if err != nil {
		return nil, err
	}
	if _, err := c.cubbyRequest(ctx, secrets.OpCreate, wte.IDHash, map[string]any{"response": string(payload)}); err != nil {
		if rerr := c.tokens.RevokeTree(ctx, wte.IDHash); rerr != nil {
			c.log.Warn("revoking a wrapping token after a failed write", "error", rerr)
		}
		return nil, fmt.Errorf("core: storing the wrapped response: %w", err)
	}
	return &WrapInfo{
		Token: id, Accessor: wte.Accessor, TTL: int(ttl / time.Second),
		CreationTime: wte.CreationTime.UTC().Format(time.RFC3339Nano), CreationPath: creationPath,
		WrappedAccessor: wrappedAccessor,
	}, nil
}

// wrapResponse replaces resp by a wrapping token holding it.
func (c *Core) wrapResponse(ctx context.Context, creationPath string, ttl time.Duration, resp *Response) (*Response, error) {
	w := wireResponse{
		Data: resp.Data, Warnings: resp.Warnings, Auth: resp.Auth, LeaseID: resp.LeaseID,
		LeaseDuration: resp.LeaseDuration, Renewable: resp.Renewable, MountType: resp.MountType,
	}
	payload, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("core: encoding the response to wrap: %w", err)
	}
	wrapped := ""
	if resp.Auth != nil {
		wrapped = resp.Auth.Accessor
	}
	wi, err := c.wrap(ctx, creationPath, ttl, payload, wrapped)
	if err != nil {
		return nil, err
	}
	return &Response{WrapInfo: wi}, nil
}

func isWrapToken(te *TokenEntry) bool {
	return te != nil && te.Wrap != nil && slices.Equal(te.Policies, []string{responseWrappingPolicy})
}

// consumeWrapToken resolves the wrapping token of an unwrap or rewrap
// (the body's "token", else the caller's own) and uses it up. When it is
// the caller's token, the pipeline has already consumed its single use.
func (c *Core) consumeWrapToken(ctx context.Context, d map[string]any, te *TokenEntry) (*TokenEntry, error) {
	tok, err := strField(d, "token")
	if err != nil {
		return nil, err
	}
	if tok == "" || (te != nil && tok == te.ID) {
		if !isWrapToken(te) {
			return nil, errBadWrapToken
		}
		return te, nil
	}
	w, err := c.tokens.Lookup(ctx, tok)
	if errors.Is(err, tokens.ErrNotFound) {
		return nil, errBadWrapToken
	}
	if err != nil {
		return nil, err
	}
	if !isWrapToken(w) {
		return nil, errBadWrapToken
	}
	if err := c.tokens.Use(ctx, w); err != nil {
		if errors.Is(err, tokens.ErrNotFound) {
			return nil, errBadWrapToken
		}
		return nil, err
	}
	return w, nil
}

// readWrapped reads a (consumed) wrapping token's payload and revokes the
// token.
func (c *Core) readWrapped(ctx context.Context, w *TokenEntry) ([]byte, error) {
	sresp, err := c.cubbyRequest(ctx, secrets.OpRead, w.IDHash, nil)
	rerr := c.tokens.RevokeTree(ctx, w.IDHash)
	if errors.Is(err, secrets.ErrNotFound) {
		return nil, errBadWrapToken
	}
	if err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	s, _ := sresp.Data["response"].(string)
	if s == "" {
		return nil, errBadWrapToken
	}
	return []byte(s), nil
}

// sysWrapping serves sys/wrapping/{wrap,unwrap,lookup,rewrap}.
func (c *Core) sysWrapping(ctx context.Context, op secrets.Operation, path string, req *Request, te *TokenEntry) (*Response, error) {
	if op != secrets.OpUpdate && op != secrets.OpCreate {
		return nil, unsupportedOp()
	}
	d := req.Data
	if d == nil {
		d = map[string]any{}
	}
	switch path {
	case "sys/wrapping/wrap":
		if req.WrapTTL <= 0 {
			return nil, badRequest("endpoint requires response wrapping to be used")
		}
		if len(d) == 0 {
			return nil, badRequest("no data provided to wrap")
		}
		return &Response{Data: d}, nil
	case "sys/wrapping/lookup":
		return c.wrapLookup(ctx, req)
	case "sys/wrapping/unwrap":
		w, err := c.consumeWrapToken(ctx, d, te)
		if err != nil {
			return nil, err
		}
		payload, err := c.readWrapped(ctx, w)
		if err != nil {
			return nil, err
		}
		var wr wireResponse
		if err := json.Unmarshal(payload, &wr); err != nil {
			return nil, fmt.Errorf("core: decoding a wrapped response: %w", err)
		}
		return &Response{
			Data: wr.Data, Warnings: wr.Warnings, Auth: wr.Auth, LeaseID: wr.LeaseID,
			LeaseDuration: wr.LeaseDuration, Renewable: wr.Renewable, MountType: wr.MountType,
		}, nil
	case "sys/wrapping/rewrap":
		w, err := c.consumeWrapToken(ctx, d, te)
		if err != nil {
			return nil, err
		}
		payload, err := c.readWrapped(ctx, w)
		if err != nil {
			return nil, err
		}
		wi, err := c.wrap(ctx, w.Wrap.CreationPath, w.TTL, payload, w.Wrap.WrappedAccessor)
		if err != nil {
			return nil, err
		}
		return &Response{WrapInfo: wi}, nil
	}
	return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
}

// wrapLookup serves sys/wrapping/lookup, which needs no token of its own:
// the wrapping token is looked up without being used.
func (c *Core) wrapLookup(ctx context.Context, req *Request) (*Response, error) {
	if req.Operation != secrets.OpUpdate && req.Operation != secrets.OpCreate {
		return nil, unsupportedOp()
	}
	tok, err := strField(req.Data, "token")
	if err != nil {
		return nil, err
	}
	if tok == "" {
		tok = req.ClientToken
	}
	if tok == "" {
		return nil, badRequest("missing token")
	}
	w, err := c.tokens.Lookup(ctx, tok)
	if errors.Is(err, tokens.ErrNotFound) || (err == nil && !isWrapToken(w)) {
		return nil, errBadWrapToken
	}
	if err != nil {
		return nil, err
	}
	return &Response{Data: map[string]any{
		"creation_path": w.Wrap.CreationPath,
		"creation_time": w.CreationTime.UTC().Format(time.RFC3339Nano),
		"creation_ttl":  secs(w.TTL),
	}}, nil
}
