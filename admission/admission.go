package admission

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrOverloaded matches every refusal of this package.
var ErrOverloaded = errors.New("admission: overloaded")

// Rejection is a refusal: the caller should retry after RetryAfter. It
// matches ErrOverloaded.
type Rejection struct {
	// What was refused, for the message ("CPU-heavy request", "request").
	What string
	// RetryAfter is the hint for the Retry-After header (whole seconds, ≥ 1s).
	RetryAfter time.Duration
	// Unavailable selects 503 instead of 429 (the request limiter answers
	// 503 like Vault's; the CPU pool answers 429).
	Unavailable bool
}

func (r *Rejection) Error() string {
	return fmt.Sprintf("server is overloaded: too many concurrent %ss; retry after %ds", r.What, RetryAfterSeconds(r))
}

// Unwrap lets errors.Is(err, ErrOverloaded) match.
func (r *Rejection) Unwrap() error { return ErrOverloaded }

// RetryAfterSeconds is r.RetryAfter rounded up to whole seconds, at least 1.
func RetryAfterSeconds(r *Rejection) int {
	s := int(math.Ceil(r.RetryAfter.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

// retryHint turns an expected wait into a Retry-After hint in [1s, 30s].
func retryHint(d time.Duration) time.Duration {
	switch {
	case d < time.Second:
		return time.Second
	case d > 30*time.Second:
		return 30 * time.Second
	}
	return d
}

// Gate is what the engines' secrets.CPUGate needs; *Pool satisfies it.
type Gate interface {
	Acquire(ctx context.Context) (release func(), err error)
}
