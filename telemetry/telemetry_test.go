package telemetry

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// A labelled request series not updated within the retention time is
// dropped at the next scrape; one still in use stays.
func TestRetentionDropsStaleSeries(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	r := New(Config{PrometheusRetention: time.Minute, Now: c.now})
	q := NewRequests(r)
	q.ObserveRequest("logical", "GET", 200, 3*time.Millisecond)
	q.ObserveRequest("sys", "PUT", 204, time.Millisecond)
	old := `vault_core_handle_request_count{class="sys",code="204",method="PUT"} 1`
	live := `vault_core_handle_request_count{class="logical",code="200",method="GET"} 2`
	c.add(45 * time.Second)
	q.ObserveRequest("logical", "GET", 200, 3*time.Millisecond)
	if s := scrape(t, r); !strings.Contains(s, old) || !strings.Contains(s, live) {
		t.Fatalf("before retention:\n%s", s)
	}
	c.add(30 * time.Second)
	s := scrape(t, r)
	if strings.Contains(s, `class="sys"`) {
		t.Errorf("a series idle for 75s survived a 60s retention")
	}
	if !strings.Contains(s, live) {
		t.Errorf("the series in use was dropped")
	}
}

func TestHostLabelAndNames(t *testing.T) {
	r := New(Config{PrometheusRetention: time.Hour, HostLabel: "h1"})
	r.NewCounter("vault.x.y", "test").Inc()
	s := scrape(t, r)
	if !strings.Contains(s, `vault_x_y{host="h1"} 1`) || !strings.Contains(s, `go_goroutines{host="h1"}`) {
		t.Errorf("no host label:\n%.400s", s)
	}
	j, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range j.Counters {
		if c.Name == "vault.x.y" && c.Labels["host"] == "h1" && c.Count == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("JSON counters %+v lack vault.x.y", j.Counters)
	}
	names := strings.Join(r.Names(), " ")
	for _, want := range []string{"vault_x_y", "go_goroutines", "process_start_time_seconds"} {
		if !strings.Contains(names, want) {
			t.Errorf("Names() lacks %s: %s", want, names)
		}
	}
}

func TestPrometheusDisabled(t *testing.T) {
	r := New(Config{})
	if err := r.WritePrometheus(&bytes.Buffer{}); err != ErrPrometheusDisabled {
		t.Errorf("err = %v", err)
	}
}
