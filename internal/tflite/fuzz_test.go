package tflite

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/animed/animed/internal/testmodel"
)

// FuzzModelBytes feeds corrupted models through load, interpreter creation
// and a run: every outcome must be an error or a result, never a crash.
// The seeds are the generated models; `go test -fuzz FuzzModelBytes` mutates
// them further.
func FuzzModelBytes(f *testing.F) {
	for _, c := range []testmodel.Config{{H: 8, W: 8}, {Int8: true, H: 8, W: 8}, {Int8: true, Int8IO: true, H: 8, W: 8}} {
		f.Add(testmodel.MustBuild(c))
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		exercise(data, quiet)
	})
}

// exercise loads data and runs it on the CPU and XNNPACK backends, ignoring
// errors. It reports whether the model loaded and how many runs completed.
func exercise(data []byte, log *slog.Logger) (loaded bool, ran int) {
	m, err := NewModel(data)
	if err != nil {
		return false, 0
	}
	defer m.Close()
	for _, b := range []Backend{BackendCPU, BackendXNNPACK} {
		it, err := NewInterpreter(m, Options{Threads: 1, Backend: b, Logger: log})
		if err != nil {
			continue
		}
		if in := it.Input(0); in != nil && in.Len() <= 1<<16 {
			_ = in.SetFloat32(make([]float32, in.Len()))
		}
		if it.Invoke() == nil {
			ran++
		}
		it.Close()
	}
	return true, ran
}

// TestCorruptModelsNeverCrash runs a fixed set of randomly corrupted
// copies of the generated INT8 model: TFLite's verifier passes many of them,
// and without the binding's own shape checks some made TFLite 2.9 abort the
// process (a dimension corrupted into the billions).
func TestCorruptModelsNeverCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping 300 corrupted models in -short mode")
	}
	base := testmodel.MustBuild(testmodel.Config{Int8: true, H: 8, W: 8})
	r := rand.New(rand.NewPCG(0, 7)) // without the shape checks, this sequence aborts the process
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	loaded, ran := 0, 0
	for range 300 {
		d := slices.Clone(base)
		for range 1 + r.IntN(4) {
			d[8+r.IntN(len(d)-8)] = byte(r.IntN(256))
		}
		ok, n := exercise(d, quiet)
		if ok {
			loaded++
		}
		ran += n
	}
	t.Logf("300 corrupted models: %d loaded, %d runs completed, none crashed", loaded, ran)
}
