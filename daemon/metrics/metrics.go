// Package metrics counts what the daemon does and serves it in the
// Prometheus text exposition format on /metrics, with /healthz beside it.
//
// /metrics also carries the process figures (resident memory, open
// descriptors, CPU time; process.go), a few Go runtime ones (GC cycles,
// heap, goroutines) and animed_build_info, under the names
// prometheus/client_golang's collectors use. The format is written by hand:
// client_golang v1.25.0 with those collectors adds 7 modules and 4.3 MB to
// a binary, for a dozen lines of text.
//
// /healthz runs the Checkers components register (health.go): 200 "ok",
// or 503 with one line per failing check.
package metrics

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Buckets are the latency histogram bounds in seconds.
var Buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Metrics is safe for concurrent use. The zero value is not usable; call New.
type Metrics struct {
	mu        sync.Mutex
	processed uint64
	failed    uint64
	queue     func() int
	stages    map[string]*histogram
	started   time.Time
	checks    map[string]registered
	build     BuildInfo
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	sum    float64
	n      uint64
}

// New returns empty metrics.
func New() *Metrics {
	return &Metrics{stages: map[string]*histogram{}, started: time.Now(), checks: map[string]registered{}}
}

// Processed counts a photo that has a durable result.
func (m *Metrics) Processed() {
	m.mu.Lock()
	m.processed++
	m.mu.Unlock()
}

// Failed counts a photo moved to the failed folder.
func (m *Metrics) Failed() {
	m.mu.Lock()
	m.failed++
	m.mu.Unlock()
}

// SetQueue sets the function that reports the queue depth.
func (m *Metrics) SetQueue(f func() int) {
	m.mu.Lock()
	m.queue = f
	m.mu.Unlock()
}

// Observe records how long a stage ("decode", "infer", "encode", "write",
// "total") took for one photo.
func (m *Metrics) Observe(stage string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.stages[stage]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(Buckets))}
		m.stages[stage] = h
	}
	s := d.Seconds()
	for i, b := range Buckets {
		if s <= b {
			h.counts[i]++
			break
		}
	}
	h.sum += s
	h.n++
}

// WriteTo writes the metrics in the Prometheus text format.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cw := &countWriter{w: w}
	fmt.Fprintf(cw, "# HELP animed_photos_processed_total Photos with a durable result.\n# TYPE animed_photos_processed_total counter\nanimed_photos_processed_total %d\n", m.processed)
	fmt.Fprintf(cw, "# HELP animed_photos_failed_total Photos moved to the failed folder.\n# TYPE animed_photos_failed_total counter\nanimed_photos_failed_total %d\n", m.failed)
	q := 0
	if m.queue != nil {
		q = m.queue()
	}
	fmt.Fprintf(cw, "# HELP animed_queue_depth Settled photos waiting for the worker.\n# TYPE animed_queue_depth gauge\nanimed_queue_depth %d\n", q)
	fmt.Fprintf(cw, "# HELP animed_uptime_seconds Seconds since the daemon started.\n# TYPE animed_uptime_seconds gauge\nanimed_uptime_seconds %.3f\n", time.Since(m.started).Seconds())
	fmt.Fprintf(cw, "# HELP animed_stage_seconds Time per photo and pipeline stage.\n# TYPE animed_stage_seconds histogram\n")
	names := make([]string, 0, len(m.stages))
	for n := range m.stages {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		h := m.stages[n]
		var cum uint64
		for i, b := range Buckets {
			cum += h.counts[i]
			fmt.Fprintf(cw, "animed_stage_seconds_bucket{stage=%q,le=\"%g\"} %d\n", n, b, cum)
		}
		fmt.Fprintf(cw, "animed_stage_seconds_bucket{stage=%q,le=\"+Inf\"} %d\n", n, h.n)
		fmt.Fprintf(cw, "animed_stage_seconds_sum{stage=%q} %g\n", n, h.sum)
		fmt.Fprintf(cw, "animed_stage_seconds_count{stage=%q} %d\n", n, h.n)
	}
	m.writeProcess(cw)
	return cw.n, cw.err
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// Handler serves /metrics and /healthz.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.WriteTo(w)
	})
	mux.HandleFunc("GET /healthz", m.serveHealth)
	return mux
}
