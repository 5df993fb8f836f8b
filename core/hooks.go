package core

import "context"

// Lifecycle hooks let a feature that lives in its own file run code when
// this node becomes active (the end of setup, after the mount table and
// identity state are loaded, just before it starts serving) and when it
// stops being active (the start of teardown, right after it stopped
// serving). Features register them from an init function; they run in
// registration order, under stateMu, and must not block for long: start a
// goroutine for background work and stop it in the standby hook.
var (
	activeHooks  []func(c *Core, ctx context.Context)
	standbyHooks []func(c *Core)
)

// onActive runs the active hooks. Callers hold stateMu.
func (c *Core) onActive(ctx context.Context) {
	for _, h := range activeHooks {
		h(c, ctx)
	}
}

// onStandby runs the standby hooks. Callers hold stateMu.
func (c *Core) onStandby() {
	for _, h := range standbyHooks {
		h(c)
	}
}
