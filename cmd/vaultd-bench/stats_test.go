package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	s := make([]int64, 100)
	for i := range s {
		s[i] = int64(i + 1)
	}
	for _, tc := range []struct {
		p    float64
		want int64
	}{{50, 50}, {90, 90}, {99, 99}, {100, 100}, {0, 1}, {0.5, 1}} {
		if got := percentile(s, tc.p); got != tc.want {
			t.Errorf("percentile(%v) = %d, want %d", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile(nil) = %d", got)
	}
	if got := percentile([]int64{7}, 99); got != 7 {
		t.Errorf("percentile([7], 99) = %d", got)
	}
}

func TestSummarizeAndReport(t *testing.T) {
	a, b := newRecorder(), newRecorder()
	for i := 1; i <= 10; i++ {
		a.add(opWrite, time.Duration(i)*time.Millisecond, 200, nil)
	}
	b.add(opWrite, 0, 503, &errStatus{503})
	b.add(opWrite, 0, statusTransport, errStatus404())
	b.add(opRead, 2*time.Millisecond, 200, nil)
	res := summarize([]*recorder{a, b}, 2*time.Second)
	if len(res) != 2 || res[0].Op != "write" || res[1].Op != "read" {
		t.Fatalf("results = %+v", res)
	}
	w := res[0]
	if w.OK != 10 || w.Errors != 2 || w.OpsPerSec != 5 || w.P50 != Millis(5*time.Millisecond) ||
		w.P90 != Millis(9*time.Millisecond) || w.Max != Millis(10*time.Millisecond) || w.Mean != Millis(5500*time.Microsecond) {
		t.Errorf("write = %+v", w)
	}
	if w.ByStatus["503"] != 1 || w.ByStatus["transport"] != 1 {
		t.Errorf("by status = %v", w.ByStatus)
	}
	rep := &Report{Targets: []string{"http://127.0.0.1:1"}, Client: "http", Op: "mixed", Results: res, TotalOps: 5.5}
	var tbl bytes.Buffer
	if err := rep.writeTable(&tbl); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"write", "5.50ms", "10.0ms", "write errors by status: 503=1 transport=1", "total: 6 ops/s"} {
		if !strings.Contains(tbl.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, tbl.String())
		}
	}
	var js bytes.Buffer
	if err := rep.writeJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Results []struct {
			Op  string  `json:"op"`
			P99 float64 `json:"p99_ms"`
		} `json:"results"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Results) != 2 || back.Results[0].P99 != 10 {
		t.Errorf("json = %s, %v", js.String(), err)
	}
}

func errStatus404() error { return &errStatus{404} }
