package tflite

import (
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// rss returns the resident set size of this process in bytes.
func rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("skipping: %v (needs Linux /proc)", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// TestNoLeakOnRepeatedLoadClose loads a model, builds and runs interpreters
// and closes everything, many times: resident memory must stay flat. A leaked
// model copy or interpreter would grow it by megabytes per cycle.
func TestNoLeakOnRepeatedLoadClose(t *testing.T) {
	data := leakModelBytes(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cycle := func(i int) {
		m, err := NewModel(data)
		if err != nil {
			t.Fatal(err)
		}
		it, err := NewInterpreter(m, Options{Threads: 1, Backend: BackendCPU, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		// Alternate the close order: the model's memory must go either way.
		if i%2 == 0 {
			m.Close()
			it.Close()
		} else {
			it.Close()
			m.Close()
		}
	}
	const warm, cycles = 20, 200
	for i := range warm {
		cycle(i)
	}
	runtime.GC()
	before := rss(t)
	for i := range cycles {
		cycle(i)
	}
	runtime.GC()
	after := rss(t)
	growth := after - before
	t.Logf("RSS %d MiB -> %d MiB over %d load/close cycles of a %d-byte model", before>>20, after>>20, cycles, len(data))
	// One leaked copy of the model per cycle alone would be cycles*len(data).
	if limit := max(int64(cycles*len(data))/8, 16<<20); growth > limit {
		t.Errorf("RSS grew by %d KiB over %d cycles (limit %d KiB): something leaks", growth>>10, cycles, limit>>10)
	}
}
