package core

import (
	"context"
	"sync"
	"time"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// sysKeys declares the barrier key endpoints of sys/ (sys/rotate,
// sys/rotate/keyring, sys/key-status) and sys/seal, relative to the sys/
// mount. handleSys has checked the token, the ACL and sudo.
type sysKeys struct {
	c    *Core
	once sync.Once
	ep   *endpoint.Backend
}

func (k *sysKeys) Backend() *endpoint.Backend {
	k.once.Do(func() {
		rotate := map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: k.rotate}
		k.ep = &endpoint.Backend{
			Help:            "The barrier's keys and sealing.",
			StorageOptional: true,
			Paths: []*endpoint.Path{
				{Pattern: "rotate", Summary: "Add a new term to the keyring; new writes use it.", Operations: rotate},
				{Pattern: "rotate/keyring", Summary: "Add a new term to the keyring (Vault's newer path).", Operations: rotate},
				{
					Pattern: "key-status", Summary: "The keyring's current term, when it was installed and how many encryptions it did.",
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpRead: k.keyStatus},
				},
				{
					Pattern: "seal", Summary: "Seal this node: it stops serving and forgets its keys.",
					Operations: map[secrets.Operation]endpoint.Handler{secrets.OpUpdate: k.seal},
				},
			},
		}
	})
	return k.ep
}

func (k *sysKeys) rotate(ctx context.Context, _ *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
	if _, err := k.c.barrier.Rotate(ctx); err != nil {
		return nil, err
	}
	return nil, nil
}

func (k *sysKeys) keyStatus(ctx context.Context, _ *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
	ki, err := k.c.barrier.KeyStatus()
	if err != nil {
		return nil, err
	}
	rc, err := k.c.rotationConfig(ctx) // autorotate.go
	if err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{
		"term": ki.Term, "install_time": ki.InstallTime.UTC().Format(time.RFC3339Nano), "encryptions": ki.Encryptions,
		"rotation_period": intervalValue(rc.Interval), "max_operations": rc.MaxOperations, "auto_rotate": !rc.Disabled,
	}}, nil
}

func (k *sysKeys) seal(context.Context, *secrets.Request, *endpoint.Data) (*secrets.Response, error) {
	k.c.SealNode()
	return nil, nil
}
