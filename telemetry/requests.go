package telemetry

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// labelledTimer is a histogram vector whose series expire after the
// retention time without an observation.
type labelledTimer struct {
	vec  *prometheus.HistogramVec
	now  func() time.Time
	mu   sync.Mutex
	last map[string]labelledSeen
}

type labelledSeen struct {
	at     time.Time
	values []string
}

func (r *Registry) newLabelledTimer(dotted, help string, labels ...string) *labelledTimer {
	t := &labelledTimer{
		vec: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: r.name(dotted), Help: help + " (milliseconds)", Buckets: MillisecondBuckets}, labels),
		now: r.cfg.Now, last: map[string]labelledSeen{},
	}
	r.MustRegister(t.vec)
	r.track(t)
	return t
}

func (t *labelledTimer) observe(d time.Duration, values ...string) {
	t.vec.WithLabelValues(values...).Observe(Ms(d))
	k := strings.Join(values, "\x00")
	t.mu.Lock()
	t.last[k] = labelledSeen{at: t.now(), values: values}
	t.mu.Unlock()
}

func (t *labelledTimer) dropStale(now time.Time, retention time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, s := range t.last {
		if now.Sub(s.at) > retention {
			t.vec.DeleteLabelValues(s.values...)
			delete(t.last, k)
		}
	}
}

// Requests observes the HTTP API: every request by route class, method
// and status, the requests in flight, and the requests a standby
// forwarded to the active node.
type Requests struct {
	handle   *labelledTimer
	inFlight prometheus.Gauge
	forward  prometheus.Histogram
	fwdErrs  prometheus.Counter
}

// NewRequests registers the request series.
func NewRequests(r *Registry) *Requests {
	return &Requests{
		handle: r.newLabelledTimer("vault.core.handle_request",
			"Time to answer an API request, by route class, method and HTTP status", "class", "method", "code"),
		inFlight: r.NewGauge("vault.core.in_flight_requests", "API requests being served right now"),
		forward:  r.NewTimer("vault.ha.rpc.client.forward", "Time a standby spent forwarding a request to the active node"),
		fwdErrs:  r.NewCounter("vault.ha.rpc.client.forward.errors", "Requests a standby could not forward (no active node known or unreachable)"),
	}
}

// Begin counts a request in flight; call the returned func when it ends.
func (q *Requests) Begin() func() {
	q.inFlight.Inc()
	return q.inFlight.Dec
}

// ObserveRequest records one answered request.
func (q *Requests) ObserveRequest(class, method string, code int, d time.Duration) {
	q.handle.observe(d, class, method, strconv.Itoa(code))
}

// ObserveForward records one request forwarded by this standby and
// whether forwarding it failed (a 503 from the forwarder itself).
func (q *Requests) ObserveForward(d time.Duration, failed bool) {
	q.forward.Observe(Ms(d))
	if failed {
		q.fwdErrs.Inc()
	}
}
