package telemetry

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// DefaultPrometheusRetention is Vault's default prometheus_retention_time.
const DefaultPrometheusRetention = 24 * time.Hour

// ErrPrometheusDisabled: the Prometheus format was asked for while
// prometheus_retention_time is 0 (Vault's switch for it).
var ErrPrometheusDisabled = errors.New("prometheus is not enabled")

// Config is the part of the telemetry stanza that the registry applies.
type Config struct {
	// PrometheusRetention is prometheus_retention_time: 0 disables the
	// Prometheus format (as in Vault); otherwise a labelled series that has
	// not been updated for this long is dropped at the next scrape (a
	// request class nobody called since, a peer that left the cluster).
	PrometheusRetention time.Duration
	// HostLabel, when not empty, is added as the constant label host to
	// every series (enable_hostname_label).
	HostLabel string
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Registry is one node's metrics.
type Registry struct {
	cfg   Config
	reg   *prometheus.Registry
	wrap  prometheus.Registerer
	start time.Time

	mu         sync.Mutex
	dotted     map[string]string // Prometheus name → Vault's dotted name (JSON format)
	stale      []staleTracker
	collectors []prometheus.Collector // for Names
}

// staleTracker drops labelled series that retention says are gone.
type staleTracker interface {
	dropStale(now time.Time, retention time.Duration)
}

// New builds a registry with the Go runtime and process collectors.
func New(cfg Config) *Registry {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Registry{cfg: cfg, reg: prometheus.NewRegistry(), dotted: map[string]string{}, start: cfg.Now()}
	r.wrap = r.reg
	if cfg.HostLabel != "" {
		r.wrap = prometheus.WrapRegistererWith(prometheus.Labels{"host": cfg.HostLabel}, r.reg)
	}
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Config returns the configuration the registry applies.
func (r *Registry) Config() Config { return r.cfg }

// MustRegister registers collectors; a duplicate is a programming error.
func (r *Registry) MustRegister(cs ...prometheus.Collector) {
	r.wrap.MustRegister(cs...)
	r.mu.Lock()
	r.collectors = append(r.collectors, cs...)
	r.mu.Unlock()
}

// Names returns the name of every series family the registry can
// report, whether or not it has samples yet (a labelled series appears
// only once observed; the dashboard and docs tests need all of them).
func (r *Registry) Names() []string {
	r.mu.Lock()
	cs := append([]prometheus.Collector(nil), r.collectors...)
	r.mu.Unlock()
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range cs {
			c.Describe(ch)
		}
		close(ch)
	}()
	seen := map[string]bool{}
	for d := range ch {
		// Desc has no name accessor; its String form is stable:
		// Desc{fqName: "name", help: ...}.
		s := d.String()
		if _, rest, ok := strings.Cut(s, `fqName: "`); ok {
			if name, _, ok := strings.Cut(rest, `"`); ok {
				seen[name] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Gatherer is the registry as a prometheus.Gatherer (tests, sys/metrics).
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// name records Vault's dotted name of a series and returns its Prometheus
// name ("vault.core.handle_request" → "vault_core_handle_request").
func (r *Registry) name(dotted string) string {
	prom := strings.NewReplacer(".", "_", "-", "_").Replace(dotted)
	r.mu.Lock()
	r.dotted[prom] = dotted
	r.mu.Unlock()
	return prom
}

func (r *Registry) track(t staleTracker) {
	r.mu.Lock()
	r.stale = append(r.stale, t)
	r.mu.Unlock()
}

// Gather collects every series, after dropping the stale ones.
func (r *Registry) Gather() ([]*dto.MetricFamily, error) {
	if ret := r.cfg.PrometheusRetention; ret > 0 {
		now := r.cfg.Now()
		r.mu.Lock()
		ts := append([]staleTracker(nil), r.stale...)
		r.mu.Unlock()
		for _, t := range ts {
			t.dropStale(now, ret)
		}
	}
	return r.reg.Gather()
}

// WritePrometheus writes every series in the Prometheus text format.
func (r *Registry) WritePrometheus(w io.Writer) error {
	if r.cfg.PrometheusRetention <= 0 {
		return ErrPrometheusDisabled
	}
	mfs, err := r.Gather()
	if err != nil {
		return fmt.Errorf("gathering metrics: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return nil
}

// PrometheusContentType is the Content-Type of WritePrometheus's output.
var PrometheusContentType = string(expfmt.NewFormat(expfmt.TypeTextPlain))

// NewCounter registers a counter under Vault's dotted name.
func (r *Registry) NewCounter(dotted, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: r.name(dotted), Help: help})
	r.MustRegister(c)
	return c
}

// NewGauge registers a gauge under Vault's dotted name.
func (r *Registry) NewGauge(dotted, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: r.name(dotted), Help: help})
	r.MustRegister(g)
	return g
}

// NewGaugeFunc registers a gauge whose value f computes at scrape time.
func (r *Registry) NewGaugeFunc(dotted, help string, f func() float64) {
	r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: r.name(dotted), Help: help}, f))
}

// NewCounterFunc registers a counter whose value f reads at scrape time
// (a subsystem's own atomic counter).
func (r *Registry) NewCounterFunc(dotted, help string, f func() float64) {
	r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: r.name(dotted), Help: help}, f))
}

// MillisecondBuckets are the latency buckets of every timer, in ms.
var MillisecondBuckets = []float64{0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

// NewTimer registers a latency histogram in milliseconds.
func (r *Registry) NewTimer(dotted, help string) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: r.name(dotted), Help: help + " (milliseconds)", Buckets: MillisecondBuckets})
	r.MustRegister(h)
	return h
}

// Ms is d in (fractional) milliseconds, the unit of every timer.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// NewDesc describes a series of a custom collector under Vault's dotted
// name (so that the JSON format shows the dotted name).
func (r *Registry) NewDesc(dotted, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(r.name(dotted), help, labels, nil)
}
