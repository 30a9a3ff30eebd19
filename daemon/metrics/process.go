package metrics

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"syscall"
)

// BuildInfo labels animed_build_info.
type BuildInfo struct {
	Version string // animed's
	TFLite  string // TensorFlow Lite's
	Model   string // the model in use
}

// SetBuildInfo sets the labels of animed_build_info.
func (m *Metrics) SetBuildInfo(b BuildInfo) {
	m.mu.Lock()
	m.build = b
	m.mu.Unlock()
}

// runtimeSamples are the runtime/metrics read on each scrape, with the
// name and help they are exposed under (as prometheus/client_golang's Go
// collector names them, where it has them).
var runtimeSamples = []struct {
	key, name, typ, help string
}{
	{"/gc/cycles/total:gc-cycles", "go_gc_cycles_total", "counter", "Completed GC cycles."},
	{"/gc/heap/goal:bytes", "go_gc_heap_goal_bytes", "gauge", "Heap size the next GC cycle aims at."},
	{"/memory/classes/heap/objects:bytes", "go_memory_heap_objects_bytes", "gauge", "Memory occupied by live and not yet swept heap objects."},
	{"/memory/classes/total:bytes", "go_memory_total_bytes", "gauge", "All memory mapped by the Go runtime (not the C heap of TFLite)."},
	{"/sched/goroutines:goroutines", "go_goroutines", "gauge", "Live goroutines."},
}

// writeProcess writes the process metrics (as client_golang's process
// collector names them: resident memory, open and allowed descriptors, CPU
// time, start time), the Go runtime's and animed_build_info. It reads
// /proc/self; a value it cannot read is left out.
func (m *Metrics) writeProcess(w io.Writer) {
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := bytes.Fields(b); len(f) > 1 {
			if pages, err := strconv.ParseInt(string(f[1]), 10, 64); err == nil {
				gauge(w, "process_resident_memory_bytes", "Resident memory size in bytes (Go heap, TFLite and the model).", float64(pages*int64(os.Getpagesize())))
			}
		}
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		gauge(w, "process_open_fds", "Open file descriptors.", float64(len(fds)-1)) // less ReadDir's own
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		gauge(w, "process_max_fds", "Limit on open file descriptors.", float64(lim.Cur))
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu := float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
		fmt.Fprintf(w, "# HELP process_cpu_seconds_total User and system CPU time in seconds.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %g\n", cpu)
	}
	gauge(w, "process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.", float64(m.started.UnixMilli())/1000)

	samples := make([]metrics.Sample, len(runtimeSamples))
	for i, s := range runtimeSamples {
		samples[i].Name = s.key
	}
	metrics.Read(samples)
	for i, s := range runtimeSamples {
		var v float64
		switch samples[i].Value.Kind() {
		case metrics.KindUint64:
			v = float64(samples[i].Value.Uint64())
		case metrics.KindFloat64:
			v = samples[i].Value.Float64()
		default:
			continue // not in this Go version
		}
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", s.name, s.help, s.name, s.typ, s.name, v)
	}
	fmt.Fprintf(w, "# HELP animed_build_info The animed build, its TFLite and Go versions and the model; always 1.\n# TYPE animed_build_info gauge\n"+
		"animed_build_info{version=%q,tflite=%q,goversion=%q,model=%q} 1\n", m.build.Version, m.build.TFLite, runtime.Version(), m.build.Model)
}

func gauge(w io.Writer, name, help string, v float64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", name, help, name, name, v)
}
