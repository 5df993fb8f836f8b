package secrets

import "context"

// CPUGate bounds CPU-heavy work (bcrypt, RSA key generation and signing,
// PGP) across the node; *admission.Pool satisfies it. Acquire either
// returns a release func, to be called exactly once when the work is done,
// or an error to return to the client as is: a refusal that api answers
// 429 with Retry-After, or the context's error.
type CPUGate interface {
	Acquire(ctx context.Context) (release func(), err error)
}

type cpuGateKey struct{}

// WithCPUGate returns ctx carrying g; the API layer sets it on every
// request it routes to an engine.
func WithCPUGate(ctx context.Context, g CPUGate) context.Context {
	if g == nil {
		return ctx
	}
	return context.WithValue(ctx, cpuGateKey{}, g)
}

// AcquireCPU takes a slot of the node's CPU gate for one CPU-heavy call:
//
//	release, err := secrets.AcquireCPU(ctx)
//	if err != nil {
//		return nil, err
//	}
//	defer release()
//
// Without a gate in ctx (unit tests, offline tools) it admits at once.
func AcquireCPU(ctx context.Context) (release func(), err error) {
	if g, ok := ctx.Value(cpuGateKey{}).(CPUGate); ok {
		return g.Acquire(ctx)
	}
	return func() {}, nil
}
