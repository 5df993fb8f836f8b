package admission

import (
	"math"
	"sync"
	"time"
)

// LimiterConfig configures a Limiter. Zero values take the defaults.
type LimiterConfig struct {
	// MinLimit and MaxLimit bound the concurrency limit; defaults 32 and
	// 4096. InitialLimit defaults to 256 (clamped into the bounds).
	MinLimit, MaxLimit, InitialLimit int
	// Tolerance is how much slower than the long-term latency the recent
	// latency may be before the limit shrinks; default 2 (Vault's gradient
	// limiter default is 1.5–2).
	Tolerance float64
}

// Limiter is an adaptive concurrency limit in the spirit of Netflix's
// gradient2 (which Vault 1.16's request limiter uses): every window of
// samples it compares the recent mean latency with a long-term mean;
// while they agree the limit grows by about √limit, and when recent
// latency climbs above Tolerance × long-term the limit shrinks in
// proportion. Requests above the limit are refused at once (503 with
// Retry-After), so queues stay short and latency stays bounded.
type Limiter struct {
	min, max  float64
	tolerance float64
	now       func() time.Time

	mu       sync.Mutex
	limit    float64
	inflight int
	maxInWin int // highest inflight seen in the current window

	winStart time.Time
	winSum   time.Duration
	winN     int
	longRTT  float64 // EWMA of window means, in seconds
	longN    int

	admitted, rejected uint64
}

const (
	windowSamples = 16
	windowMin     = 50 * time.Millisecond
	longWindows   = 60 // EWMA span of the long-term mean, in windows
	smoothing     = 0.2
)

// NewLimiter builds a limiter from cfg.
func NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.MinLimit <= 0 {
		cfg.MinLimit = 32
	}
	if cfg.MaxLimit <= 0 {
		cfg.MaxLimit = 4096
	}
	if cfg.MaxLimit < cfg.MinLimit {
		cfg.MaxLimit = cfg.MinLimit
	}
	if cfg.InitialLimit <= 0 {
		cfg.InitialLimit = 256
	}
	if cfg.Tolerance < 1 {
		cfg.Tolerance = 2
	}
	l := &Limiter{min: float64(cfg.MinLimit), max: float64(cfg.MaxLimit), tolerance: cfg.Tolerance, now: time.Now}
	l.limit = math.Min(math.Max(float64(cfg.InitialLimit), l.min), l.max)
	return l
}

// Acquire admits one request or refuses it with a *Rejection (503). done
// must be called exactly once when the request has been answered.
func (l *Limiter) Acquire() (done func(), err error) {
	l.mu.Lock()
	if l.inflight >= int(l.limit) {
		l.rejected++
		l.mu.Unlock()
		return nil, &Rejection{What: "request", RetryAfter: time.Second, Unavailable: true}
	}
	l.inflight++
	l.admitted++
	if l.inflight > l.maxInWin {
		l.maxInWin = l.inflight
	}
	l.mu.Unlock()
	start := l.now()
	var once sync.Once
	return func() { once.Do(func() { l.finish(l.now().Sub(start)) }) }, nil
}

func (l *Limiter) finish(rtt time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	now := l.now()
	if l.winN == 0 {
		l.winStart = now
	}
	l.winSum += rtt
	l.winN++
	if l.winN < windowSamples || now.Sub(l.winStart) < windowMin {
		return
	}
	short := (l.winSum / time.Duration(l.winN)).Seconds()
	appLimited := float64(l.maxInWin) < l.limit/2
	l.winSum, l.winN, l.maxInWin = 0, 0, l.inflight
	if short <= 0 {
		return
	}
	if l.longN < longWindows {
		l.longN++
	}
	l.longRTT += (short - l.longRTT) / float64(l.longN)
	if l.longRTT/short > 2 { // recovered from a spell of high latency: forget it faster
		l.longRTT *= 0.9
	}
	if appLimited { // nothing learned about capacity
		return
	}
	gradient := math.Max(0.5, math.Min(1, l.tolerance*l.longRTT/short))
	next := l.limit*gradient + math.Sqrt(l.limit)
	l.limit = math.Min(l.max, math.Max(l.min, l.limit*(1-smoothing)+next*smoothing))
}

// LimiterStats is a snapshot of a Limiter.
type LimiterStats struct {
	Limit, InFlight    int
	Admitted, Rejected uint64
}

// Stats reports the limiter's state.
func (l *Limiter) Stats() LimiterStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LimiterStats{Limit: int(l.limit), InFlight: l.inflight, Admitted: l.admitted, Rejected: l.rejected}
}
