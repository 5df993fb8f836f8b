package core

import (
	"context"
	"time"

	"github.com/vaultd/vaultd/core/wrapping"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// WrapInfo is the wrap_info block of a wrapped response (core/wrapping).
type WrapInfo = wrapping.WrapInfo

// newWrapping builds the node's response wrapping (core/wrapping).
func (c *Core) newWrapping() *wrapping.Service {
	return wrapping.New(wrapping.Config{Tokens: c.tokens, Cubbyhole: c.cubbyhole, MaxTTL: c.cfg.MaxLeaseTTL, Logger: c.log})
}

// wrapResponse replaces resp by a wrapping token holding it.
func (c *Core) wrapResponse(ctx context.Context, creationPath string, ttl time.Duration, resp *Response) (*Response, error) {
	wi, err := c.wrapping.Wrap(ctx, creationPath, ttl, wrapping.Payload{
		Data: resp.Data, Warnings: resp.Warnings, Auth: resp.Auth, LeaseID: resp.LeaseID,
		LeaseDuration: resp.LeaseDuration, Renewable: resp.Renewable, MountType: resp.MountType,
	})
	if err != nil {
		return nil, err
	}
	return &Response{WrapInfo: wi}, nil
}

// sysWrapping serves sys/wrapping/{wrap,unwrap,lookup,rewrap}; path is
// the request path without a trailing slash.
func (c *Core) sysWrapping(ctx context.Context, path string, req *Request, te *TokenEntry) (*Response, error) {
	r, err := c.wrapping.Handle(ctx, &wrapping.Request{
		Operation: req.Operation, Path: path, Data: req.Data, WrapTTL: req.WrapTTL, ClientToken: req.ClientToken,
	}, te)
	if err != nil {
		return nil, err
	}
	if r.WrapInfo != nil {
		return &Response{WrapInfo: r.WrapInfo}, nil
	}
	p := r.Payload
	return &Response{
		Data: p.Data, Warnings: p.Warnings, Auth: p.Auth, LeaseID: p.LeaseID,
		LeaseDuration: p.LeaseDuration, Renewable: p.Renewable, MountType: p.MountType,
	}, nil
}

// wrapLookup serves sys/wrapping/lookup, which needs no token of its own.
func (c *Core) wrapLookup(ctx context.Context, req *Request) (*Response, error) {
	data, err := c.wrapping.Lookup(ctx, &wrapping.Request{
		Operation: req.Operation, Path: req.Path, Data: req.Data, ClientToken: req.ClientToken,
	})
	if err != nil {
		return nil, err
	}
	return &Response{Data: data}, nil
}

// cubbyhole returns the cubbyhole engine and its view.
func (c *Core) cubbyhole() (secrets.Backend, storage.Backend, error) {
	mt := c.mounts.Current()
	if mt == nil {
		return nil, nil, ErrStandby
	}
	for _, me := range mt.Entries() {
		if me.Type == "cubbyhole" {
			return mt.Engine(me.Path), mt.View(me.Path), nil
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
