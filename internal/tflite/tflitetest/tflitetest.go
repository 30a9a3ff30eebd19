// Package tflitetest runs a TFLite model once for tests: the load,
// interpreter, feed, invoke and read every test would otherwise repeat.
package tflitetest

import (
	"testing"

	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/internal/tflitefile"
)

// Result is one output of a run.
type Result struct {
	Data  []float32
	Shape []int
}

// Run loads data, runs it once on backend (one thread) with float32
// inputs at the model's own sizes, and returns every output; any failure
// fails t.
func Run(t testing.TB, data []byte, backend tflite.Backend, inputs ...[]float32) []Result {
	t.Helper()
	m, err := tflite.NewModel(data)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	it, err := tflite.NewInterpreter(m, tflite.Options{Backend: backend, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for i, in := range inputs {
		if err := it.Input(i).SetFloat32(in); err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	out := make([]Result, it.OutputCount())
	for i := range out {
		o := it.Output(i)
		out[i] = Result{Data: make([]float32, o.Len()), Shape: o.Shape()}
		if err := o.ReadFloat32(out[i].Data); err != nil {
			t.Fatalf("output %d: %v", i, err)
		}
	}
	return out
}

// Marshal serializes m; a failure fails t.
func Marshal(t testing.TB, m *tflitefile.Model) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RequireXNNPACK fails t unless the XNNPACK delegate takes the whole
// model (with its INT8 kernels) instead of falling back to the builtin
// kernels.
func RequireXNNPACK(t testing.TB, model []byte) {
	t.Helper()
	tm, err := tflite.NewModel(model)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	it, err := tflite.NewInterpreter(tm, tflite.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if it.Backend() != tflite.BackendXNNPACK {
		t.Errorf("XNNPACK did not take the INT8 model: %s", it.FallbackReason())
	}
}
