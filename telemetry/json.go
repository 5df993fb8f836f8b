package telemetry

import (
	"math"
	"sort"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// JSON is the default sys/metrics answer, in the shape of Vault's
// go-metrics in-memory sink: Gauges, Counters and Samples (timers).
// vaultd's counters and timers are cumulative since the process started
// (Vault's cover the last 10 s interval): Rate is the mean per second
// since then. Timers carry Count, Sum and Mean; their Min, Max and Stddev
// are not kept (the Prometheus format has the buckets).
type JSON struct {
	Timestamp string          `json:"Timestamp"`
	Gauges    []JSONGauge     `json:"Gauges"`
	Points    []any           `json:"Points"`
	Counters  []JSONAggregate `json:"Counters"`
	Samples   []JSONAggregate `json:"Samples"`
}

// JSONGauge is one gauge value.
type JSONGauge struct {
	Name   string            `json:"Name"`
	Value  float64           `json:"Value"`
	Labels map[string]string `json:"Labels"`
}

// JSONAggregate is one counter or timer.
type JSONAggregate struct {
	Name   string            `json:"Name"`
	Count  float64           `json:"Count"`
	Rate   float64           `json:"Rate"`
	Sum    float64           `json:"Sum"`
	Mean   float64           `json:"Mean"`
	Labels map[string]string `json:"Labels"`
}

// JSON gathers every series into Vault's JSON shape. Names are Vault's
// dotted names where the series has one, the Prometheus name otherwise.
func (r *Registry) JSON() (JSON, error) {
	mfs, err := r.Gather()
	if err != nil {
		return JSON{}, err
	}
	now := r.cfg.Now()
	secs := math.Max(now.Sub(r.start).Seconds(), 1)
	out := JSON{Timestamp: now.UTC().Truncate(10 * time.Second).Format("2006-01-02 15:04:05 -0700 MST"),
		Gauges: []JSONGauge{}, Points: []any{}, Counters: []JSONAggregate{}, Samples: []JSONAggregate{}}
	r.mu.Lock()
	names := make(map[string]string, len(r.dotted))
	for k, v := range r.dotted {
		names[k] = v
	}
	r.mu.Unlock()
	for _, mf := range mfs {
		name := mf.GetName()
		if d, ok := names[name]; ok {
			name = d
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			switch mf.GetType() {
			case dto.MetricType_GAUGE:
				out.Gauges = append(out.Gauges, JSONGauge{Name: name, Value: m.GetGauge().GetValue(), Labels: labels})
			case dto.MetricType_COUNTER:
				v := m.GetCounter().GetValue()
				out.Counters = append(out.Counters, JSONAggregate{Name: name, Count: v, Sum: v, Mean: v, Rate: v / secs, Labels: labels})
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				a := JSONAggregate{Name: name, Count: float64(h.GetSampleCount()), Sum: h.GetSampleSum(), Labels: labels}
				a.Rate = a.Count / secs
				if a.Count > 0 {
					a.Mean = a.Sum / a.Count
				}
				out.Samples = append(out.Samples, a)
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				a := JSONAggregate{Name: name, Count: float64(s.GetSampleCount()), Sum: s.GetSampleSum(), Labels: labels}
				a.Rate = a.Count / secs
				if a.Count > 0 {
					a.Mean = a.Sum / a.Count
				}
				out.Samples = append(out.Samples, a)
			case dto.MetricType_UNTYPED:
				out.Gauges = append(out.Gauges, JSONGauge{Name: name, Value: m.GetUntyped().GetValue(), Labels: labels})
			}
		}
	}
	for _, l := range [][]JSONAggregate{out.Counters, out.Samples} {
		sort.SliceStable(l, func(i, j int) bool { return l[i].Name < l[j].Name })
	}
	sort.SliceStable(out.Gauges, func(i, j int) bool { return out.Gauges[i].Name < out.Gauges[j].Name })
	return out, nil
}
