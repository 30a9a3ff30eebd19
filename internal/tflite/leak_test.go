package tflite

import (
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/animed/animed/internal/tflite/internal/mallinfo"
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

// TestNoLeakOnRepeatedLoadClose loads a model, builds interpreters on each
// backend and closes everything, many times: the C heap and the resident
// size must stay flat. A leaked model copy or interpreter would grow them by
// kilobytes to megabytes per cycle.
func TestNoLeakOnRepeatedLoadClose(t *testing.T) {
	// One OS thread for every C call: a new thread's first malloc sets up
	// per-thread caches that would show as noise in the C heap count.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	data := leakModelBytes(t)
	small := smallModelBytes(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cycle := func(i int) {
		for _, c := range []struct {
			data    []byte
			backend Backend
		}{
			{data, BackendCPU},
			{small, BackendXNNPACK},
		} {
			m, err := NewModel(c.data)
			if err != nil {
				t.Fatal(err)
			}
			it, err := NewInterpreter(m, Options{Threads: 1, Backend: c.backend, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			if c.backend == BackendXNNPACK {
				// Runs the delegate's kernels too (only the small model: the
				// teacher takes seconds per run).
				if err := it.Invoke(); err != nil {
					t.Fatal(err)
				}
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
	}
	warm, cycles := 20, 200
	if testing.Short() {
		warm, cycles = 10, 50 // also keeps the qemu run short
	}
	for i := range warm {
		cycle(i)
	}
	runtime.GC()
	rss0, heap0 := rss(t), mallinfo.InUse()
	for i := range cycles {
		cycle(i)
	}
	runtime.GC()
	rss1, heap1 := rss(t), mallinfo.InUse()
	t.Logf("over %d cycles (%d-byte model on the CPU, %d-byte model on XNNPACK): C heap in use %d -> %d KiB, RSS %d -> %d MiB",
		cycles, len(data), len(small), heap0>>10, heap1>>10, rss0>>20, rss1>>20)
	// One leaked copy of the small model per cycle would be cycles*len(small).
	if growth, limit := heap1-heap0, int64(cycles*len(small))/4; growth > limit {
		t.Errorf("C heap grew by %d bytes over %d cycles (limit %d): something leaks", growth, cycles, limit)
	}
	if os.Getenv("ANIMED_QEMU") != "" {
		t.Log("not checking RSS under qemu-user: its translation caches grow it")
		return
	}
	if growth, limit := rss1-rss0, max(int64(cycles*len(data))/8, 16<<20); growth > limit {
		t.Errorf("RSS grew by %d KiB over %d cycles (limit %d KiB): something leaks", growth>>10, cycles, limit>>10)
	}
}
